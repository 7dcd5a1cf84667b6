"""Recordings decoded as a whole: a recording's first event time, and batches of whole-file flight formats."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mdacentre.decode.flightfiles import read_opensky_json, read_readsb_trace
from mdacentre.decode.registry import make_decoder
from mdacentre.ingest.feeds import FeedSpec
from mdacentre.ingest.recordings import read_chunks
from mdacentre.model.batch import Batch


def first_event_time(path: Path, spec: FeedSpec) -> float | None:
    """The earliest message time found in the first chunk of a recording (None if it has none).

    Replays use it as the recording's clock for lines that carry no time of their own, so a
    recording mixing timed and untimed lines stays in one coherent event time.
    """
    dec = make_decoder(spec, 0)
    for ch in read_chunks(path, 0, float("-inf"), size=1 << 21):
        b = dec.decode(ch.data, float("-inf"))
        t = np.concatenate([b.positions["t"], b.statics["t"]])
        t = t[np.isfinite(t)]
        return float(t.min()) if len(t) else None
    return None


def file_batches(path: Path, fmt: str, feed: int) -> Iterator[Batch]:
    """Batches from whole-file formats (OpenSky state vectors, readsb traces), in time order."""
    b = read_opensky_json(path, feed) if fmt == "opensky" else read_readsb_trace(path, feed)
    pos = b.positions[np.argsort(b.positions["t"], kind="stable")]
    step = 20000
    for i in range(0, max(1, len(pos)), step):
        yield Batch(
            positions=pos[i : i + step],
            statics=b.statics if i == 0 else Batch().statics,
            rejects=b.rejects if i == 0 else {},
            lines=len(pos[i : i + step]),
        )
