"""``mdacentre evaluate``: replay real days, with planted threats, and measure what the watch floor would see.

The recordings are replayed through the service core (zone library, risk profiles, detectors as
configured) by the replay's own loop, in the same event-time steps as ``mdacentre replay``; planted scenarios (:mod:`.scenarios`, built by
:mod:`.synth`) are merged into the same stream at their re-timed event times. The report
(:mod:`.report`) gives, per alert category, the alerts per day and the share of the real tracks
flagged (the false-alarm side), the recall on the planted threats and the near misses that fired.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mdacentre.decode.archives import read_archive
from mdacentre.decode.archives.build import time_slices
from mdacentre.decode.recordings import first_event_time
from mdacentre.ingest.recordings import ARCHIVE_FORMATS
from mdacentre.model.batch import Batch
from mdacentre.model.errors import MdaError
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import Core
from mdacentre.service.evaluate.report import AlertLog, build_report, format_table
from mdacentre.service.evaluate.scenarios import load_scenarios
from mdacentre.service.evaluate.synth import Planted, plant
from mdacentre.service.pipeline import StepResult
from mdacentre.service.replayrun import BatchFeed, ReplayFeed, group_feeds, replay_steps

DAY = 86400.0


class _Seen:
    """Keys and event times of the real positions that went by (for track counts and the day span)."""

    def __init__(self, planted: np.ndarray) -> None:
        self.planted = planted
        self.keys: list[np.ndarray] = []
        self.t0, self.t1, self.positions = math.inf, -math.inf, 0

    def note(self, b: Batch) -> None:
        """Note the real positions (not those of the planted keys) of one pipeline step."""
        p = b.positions
        ok = np.isfinite(p["t"]) & np.isfinite(p["lat"]) & np.isfinite(p["lon"])
        if len(self.planted):
            ok &= ~np.isin(p["key"], self.planted)
        if ok.any():
            self.keys.append(np.unique(p["key"][ok]))
            self.t0 = min(self.t0, float(p["t"][ok].min()))
            self.t1 = max(self.t1, float(p["t"][ok].max()))
            self.positions += int(ok.sum())

    def unique_keys(self) -> np.ndarray:
        return np.unique(np.concatenate(self.keys)) if self.keys else np.empty(0, np.int64)


class _ObservedCore(Core):
    """The service core, noting the real positions of every event-time step it runs."""

    seen: _Seen | None = None

    def step(self, batch: Batch, now: float | None = None) -> StepResult:
        if self.seen is not None:
            self.seen.note(batch)
        return super().step(batch, now)


@dataclass
class Evaluation:
    """What a replay for evaluation gives: every alert, the planted threats, the real tracks seen."""

    log: AlertLog
    planted: list[Planted]
    seen: _Seen
    core: Core


def evaluate(
    paths: list[Path],
    settings: Settings,
    scenarios: Path | None = None,
    fmt: str = "auto",
    step_s: float | None = None,
) -> dict[str, Any]:
    """Replay ``paths`` as ``mdacentre replay`` does, with the planted ``scenarios``; the report as a dict."""
    ev = run_evaluation(paths, settings, scenarios, fmt, step_s)
    seen = ev.seen
    real = seen.unique_keys()
    step = ev.core.settings.time.step_s
    span = max(seen.t1 - seen.t0, 0.0) if np.isfinite(seen.t0) else 0.0
    days = max(math.ceil(span / step) * step, step) / DAY
    profile_categories = {p.category for p in ev.core.pipeline.profiles}
    return build_report(
        ev.log, ev.planted, int(len(real)), seen.positions, days, [p.name for p in paths], profile_categories
    )


def run_evaluation(
    paths: list[Path],
    settings: Settings,
    scenarios: Path | None = None,
    fmt: str = "auto",
    step_s: float | None = None,
) -> Evaluation:
    """The replay behind :func:`evaluate`.

    The recordings and the planted tracks go through the replay's own loop
    (:func:`mdacentre.service.replayrun.replay_steps`): the same feeds, the same event-time steps,
    hence without scenarios the same alerts as a replay. ``step_s``: another width of the
    event-time steps than the settings' ``[time] step_s``.
    """
    for p in paths:
        if not p.is_file():
            raise MdaError(f"evaluate: {p} is not a file")
    if step_s is not None and step_s != settings.time.step_s:
        settings = dataclasses.replace(settings, time=dataclasses.replace(settings.time, step_s=step_s))
    groups = group_feeds(paths, fmt)
    # archives are read here once (for the first time and the planted keys' check), then fed as
    # the same batches the replay reads from them
    archives = {i: read_archive(f.paths[0], i) for i, f in enumerate(groups) if f.fmt in ARCHIVE_FORMATS}
    starts = [float(b.positions["t"][0]) for b in archives.values() if len(b.positions)]
    for i, f in enumerate(groups):
        if i not in archives:
            t = first_event_time(f.paths[0], f.spec)
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
    feeds: list[ReplayFeed | BatchFeed] = [
        BatchFeed(f.name, time_slices(archives[i])) if i in archives else f for i, f in enumerate(groups)
    ]
    if planted:
        pb = Batch.concat([p.batch() for p in planted])
        pb.positions = pb.positions[np.argsort(pb.positions["t"], kind="stable")]
        pb.statics = pb.statics[np.argsort(pb.statics["t"], kind="stable")]
        feeds.append(BatchFeed("planted scenarios", time_slices(pb, rows=4096)))
    core = _ObservedCore(settings, [f.spec for f in feeds], Metrics())
    seen = _Seen(planted_keys)
    core.seen = seen
    log = AlertLog()
    for _nbytes, results in replay_steps(core, feeds):
        for r in results:
            log.add(r.alerts)
    return Evaluation(log, planted, seen, core)


__all__ = ["Evaluation", "evaluate", "format_table", "run_evaluation"]
