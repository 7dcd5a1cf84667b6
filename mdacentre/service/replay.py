"""Recordings as one stream of batches for a replay: each file decoded in its format, merged by event time.

A single feed recording (NMEA, SBS, Beast ...) is decoded chunk by chunk as before. Decoded
archives (MarineCadastre CSV or GeoParquet, DMA CSV), and any set of several files, are merged
in event-time order into steps of ``step_s`` seconds (:func:`mdacentre.decode.archives.merge.merge_steps`),
so files of one period in different formats replay as one picture.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from mdacentre.decode.archives import ARCHIVE_FORMATS, archive_batches
from mdacentre.decode.archives.merge import merge_steps
from mdacentre.decode.recordings import file_batches, first_event_time
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.recordings import read_chunks
from mdacentre.ingest.sources import Chunk
from mdacentre.model.batch import Batch
from mdacentre.runtime.metrics import Metrics

WHOLE_FILE_FORMATS = ("opensky", "readsb_trace")


class _Core(Protocol):
    """What a replay source needs of the service core: its decoders and its event-time watermark."""

    @property
    def pipeline(self) -> object: ...

    def decode(self, chunks: list[Chunk]) -> Batch: ...


def feed_specs(paths: Sequence[Path], fmts: Sequence[str]) -> list[FeedSpec]:
    """One file feed per recording (archives and whole-file formats get an unused AIS decoder)."""
    return [
        FeedSpec(
            name=p.name,
            kind=FeedKind(f) if f in FeedKind._value2member_map_ else FeedKind.AIS,
            transport=Transport.FILE,
            path=str(p),
        )
        for p, f in zip(paths, fmts, strict=True)
    ]


def _counted(batches: Iterator[Batch], metrics: Metrics, feed: str) -> Iterator[Batch]:
    """Batches of a reader that bypasses the core's decoders, with their rejects counted per feed."""
    for b in batches:
        if b.rejects:
            metrics.add_rejects(b.rejects, feed)
        n = len(b.positions) + len(b.statics)
        if n:
            metrics.inc("mda_records_total", n, {"feed": feed})
        yield b


def _feed_lines(core: _Core, path: Path, spec: FeedSpec, feed: int) -> Iterator[Batch]:
    start = first_event_time(path, spec)
    clock0 = start if start is not None else path.stat().st_mtime

    def recording_clock() -> float:
        wm = float(getattr(core.pipeline, "watermark", float("-inf")))
        return wm if np.isfinite(wm) and wm >= clock0 else clock0

    for ch in read_chunks(path, feed, clock0, size=1 << 18):
        yield core.decode([Chunk(ch.feed, ch.data, recording_clock())])


def recording_batches(
    core: _Core,
    paths: Sequence[Path],
    fmts: Sequence[str],
    metrics: Metrics,
    step_s: float = 60.0,
    extra: Sequence[Iterator[Batch]] = (),
) -> Iterator[Batch]:
    """Every recording's batches, merged in event-time order (``extra``: more sources, e.g. planted tracks)."""
    specs = feed_specs(paths, fmts)
    sources: list[Iterator[Batch]] = []
    for i, (p, fmt) in enumerate(zip(paths, fmts, strict=True)):
        if fmt in ARCHIVE_FORMATS:
            sources.append(_counted(archive_batches(p, i), metrics, p.name))
        elif fmt in WHOLE_FILE_FORMATS:
            sources.append(_counted(file_batches(p, fmt, i), metrics, p.name))
        else:
            sources.append(_feed_lines(core, p, specs[i], i))
    sources.extend(extra)
    if len(sources) == 1 and not extra and fmts[0] not in ARCHIVE_FORMATS:
        yield from sources[0]  # one feed recording: chunk by chunk, as the live service sees it
        return
    yield from merge_steps(sources, step_s)
