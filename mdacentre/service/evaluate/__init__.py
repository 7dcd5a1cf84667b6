"""``mdacentre evaluate``: replay real days, with planted threats, and measure what the watch floor would see.

The recordings are replayed through the service core (zone library, risk profiles, detectors as
configured) in one-minute steps of event time; planted scenarios (:mod:`.scenarios`, built by
:mod:`.synth`) are merged into the same stream at their re-timed event times. The report
(:mod:`.report`) gives, per alert category, the alerts per day and the share of the real tracks
flagged (the false-alarm side), the recall on the planted threats and the near misses that fired.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mdacentre.decode.archives import read_archive
from mdacentre.decode.archives.build import time_slices
from mdacentre.decode.recordings import first_event_time
from mdacentre.ingest.recordings import ARCHIVE_FORMATS, sniff_format
from mdacentre.model.batch import Batch
from mdacentre.model.errors import MdaError
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import Core
from mdacentre.service.evaluate.report import AlertLog, build_report, format_table
from mdacentre.service.evaluate.scenarios import load_scenarios
from mdacentre.service.evaluate.synth import Planted, plant
from mdacentre.service.replay import feed_specs, recording_batches

DAY = 86400.0


class _Seen:
    """Keys and event times of the real positions that went by (for track counts and the day span)."""

    def __init__(self) -> None:
        self.keys: list[np.ndarray] = []
        self.t0, self.t1, self.positions = math.inf, -math.inf, 0

    def watch(self, batches: Iterator[Batch], planted: np.ndarray) -> Iterator[Batch]:
        """Pass ``batches`` on, noting their real positions (not those of the ``planted`` keys)."""
        for b in batches:
            p = b.positions
            ok = np.isfinite(p["t"]) & np.isfinite(p["lat"]) & np.isfinite(p["lon"])
            if len(planted):
                ok &= ~np.isin(p["key"], planted)
            if ok.any():
                self.keys.append(np.unique(p["key"][ok]))
                self.t0 = min(self.t0, float(p["t"][ok].min()))
                self.t1 = max(self.t1, float(p["t"][ok].max()))
                self.positions += int(ok.sum())
            yield b

    def unique_keys(self) -> np.ndarray:
        return np.unique(np.concatenate(self.keys)) if self.keys else np.empty(0, np.int64)


def evaluate(
    paths: list[Path],
    settings: Settings,
    scenarios: Path | None = None,
    fmt: str = "auto",
    step_s: float = 60.0,
) -> dict[str, Any]:
    """Replay ``paths`` (merged in event time) with the planted ``scenarios``; the report as a dict."""
    for p in paths:
        if not p.is_file():
            raise MdaError(f"evaluate: {p} is not a file")
    fmts = [sniff_format(p) if fmt == "auto" else fmt for p in paths]
    metrics = Metrics()
    core = Core(settings, feed_specs(paths, fmts), metrics)
    seen = _Seen()
    archives = {
        i: read_archive(p, i)
        for i, (p, f) in enumerate(zip(paths, fmts, strict=True))
        if f in ARCHIVE_FORMATS
    }
    starts = [float(b.positions["t"][0]) for b in archives.values() if len(b.positions)]
    for i, p in enumerate(paths):
        if i not in archives:
            t = first_event_time(p, core.feeds[i])
            if t is not None:
                starts.append(t)
    if not starts:
        raise MdaError("evaluate: the recordings hold no event time")
    day0 = math.floor(min(starts) / DAY) * DAY
    planted: list[Planted] = []
    if scenarios is not None:
        planted = [plant(s, day0, i) for i, s in enumerate(load_scenarios(scenarios))]
    planted_keys = np.asarray([k for p in planted for k in p.keys], dtype=np.int64)
    for b in archives.values():
        clash = np.intersect1d(planted_keys, b.positions["key"])
        if len(clash):
            raise MdaError(f"evaluate: planted track keys {clash.tolist()} also occur in the recordings")
    feeds = [i for i in range(len(paths)) if i not in archives]
    extra: list[Iterator[Batch]] = [time_slices(b) for b in archives.values()]
    if planted:
        pb = Batch.concat([p.batch() for p in planted])
        pb.positions = pb.positions[np.argsort(pb.positions["t"], kind="stable")]
        pb.statics = pb.statics[np.argsort(pb.statics["t"], kind="stable")]
        extra.append(time_slices(pb, rows=4096))
    stream = recording_batches(
        core, [paths[i] for i in feeds], [fmts[i] for i in feeds], metrics, step_s=step_s, extra=extra
    )
    log = AlertLog()
    for batch in seen.watch(stream, planted_keys):
        log.add(core.step(batch).alerts)
    real = seen.unique_keys()
    span = max(seen.t1 - seen.t0, 0.0) if np.isfinite(seen.t0) else 0.0
    days = max(math.ceil(span / step_s) * step_s, step_s) / DAY
    profile_categories = {p.category for p in core.pipeline.profiles}
    return build_report(
        log, planted, int(len(real)), seen.positions, days, [p.name for p in paths], profile_categories
    )


__all__ = ["evaluate", "format_table"]
