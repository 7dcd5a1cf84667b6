"""Which decoder reads which feed kind: one stateful decoder per feed."""

from __future__ import annotations

from typing import Protocol

from mdacentre.decode.adsb import AvrDecoder, BeastDecoder
from mdacentre.decode.ais import AisDecoder
from mdacentre.decode.flightfiles import parse_aircraft_json
from mdacentre.decode.sbs import SbsDecoder
from mdacentre.ingest.feeds import FeedKind, FeedSpec
from mdacentre.model.batch import Batch


class Decoder(Protocol):
    def decode(self, data: bytes, receive_time: float) -> Batch: ...


class _AircraftJson:
    def __init__(self, feed: int) -> None:
        self.feed = feed

    def decode(self, data: bytes, receive_time: float) -> Batch:
        return parse_aircraft_json(data, receive_time, self.feed)


def make_decoder(spec: FeedSpec, feed_index: int) -> Decoder:
    """A fresh decoder for one feed (decoders keep per-feed state: fragments, CPR pairs)."""
    opts = spec.options
    if spec.kind == FeedKind.AIS:
        return AisDecoder(
            feed_index,
            dedup_window_s=float(opts.get("dedup_window_s", 0.0)),
            fragment_timeout_s=float(opts.get("fragment_timeout_s", 60.0)),
        )
    if spec.kind == FeedKind.SBS:
        return SbsDecoder(feed_index)
    if spec.kind == FeedKind.BEAST:
        return BeastDecoder(feed_index)
    if spec.kind == FeedKind.AVR:
        return AvrDecoder(feed_index)
    return _AircraftJson(feed_index)
