"""One step of the core: a column batch in, track updates, fence events and alerts out.

The same :class:`Pipeline` runs live and in replay. It never reads a clock: its notion
of "now" is the event-time watermark (the newest event time it has seen).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mdacentre.alerting.alerts import Alert, AlertManager
from mdacentre.core.fences import FENCE_EVENT_DTYPE, FenceIndex, FenceTracker
from mdacentre.core.tracks import TrackTable
from mdacentre.core.zones import Zone
from mdacentre.detect.context import Detector, StepContext, in_dependency_order
from mdacentre.model.batch import Batch
from mdacentre.risk.profiles import Profile, RiskEngine

IntArray = npt.NDArray[np.int64]


@dataclass
class StepResult:
    alerts: list[Alert]
    fence_events: npt.NDArray[np.void]
    rows: IntArray  # rows touched by the step
    evicted: IntArray  # keys of tracks evicted by the step
    watermark: float
    late: int = 0


@dataclass
class PipelineConfig:
    track_ttl_s: float = 24 * 3600.0  # evict tracks silent this long (event time)
    dwell_s: float = 180.0
    hysteresis_m: float = 300.0
    grid_deg: float = 0.1


@dataclass
class Pipeline:
    zones: list[Zone]
    profiles: list[Profile]
    config: PipelineConfig = field(default_factory=PipelineConfig)
    detectors: list[Detector] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.detectors = in_dependency_order(self.detectors)  # dependents after what they read
        self.table = TrackTable()
        self.fence_index = FenceIndex(self.zones, cell_deg=self.config.grid_deg)
        self.fences = FenceTracker(
            self.fence_index, dwell_s=self.config.dwell_s, hysteresis_m=self.config.hysteresis_m
        )
        self.risk = RiskEngine(self.profiles, self.zones)
        self.alerts = AlertManager()
        self.watermark = float("-inf")
        self.positions_in = 0
        self.statics_in = 0
        self._last_evict = float("-inf")

    def step(self, batch: Batch, now: float | None = None) -> StepResult:
        """One step. ``now``: the step's event time (its slice's newest arrival time, see
        :mod:`mdacentre.service.eventtime`); without it the batch's newest time is used."""
        self.positions_in += len(batch.positions)
        self.statics_in += len(batch.statics)
        before = self.table.cols["n_positions"].copy() if len(batch.positions) else None
        up = self.table.update(batch.positions, batch.statics)
        pos = up.positions
        if now is not None:
            # statics' times never move "now": a bad identity report cannot expire anything
            self.watermark = max(self.watermark, now)
        elif len(pos):
            self.watermark = max(self.watermark, float(pos["t"].max()))
        if now is None and len(batch.statics):
            self.watermark = max(self.watermark, float(np.nanmax(batch.statics["t"])))
        fence_events = np.empty(0, dtype=FENCE_EVENT_DTYPE)
        if len(pos):
            prow = up.position_rows
            first_of_row = np.ones(len(prow), dtype=bool)
            first_of_row[1:] = prow[1:] != prow[:-1]
            prev_n = np.zeros(len(prow), np.uint32)
            if before is not None:
                known = prow < len(before)
                prev_n[known] = before[prow[known]]
            first_position = first_of_row & (prev_n == 0)
            fence_events = self.fences.update(
                prow, pos["key"], pos["t"], pos["lat"], pos["lon"], first_position
            )
        findings, cleared = self.risk.evaluate(self.table, self.fences, up.rows, fence_events)
        ctx = StepContext(self.table, up, self.fences, fence_events, self.zones, self.watermark)
        for det in self.detectors:
            f, c = det.step(ctx)
            findings.extend(f)
            cleared.extend(c)
        alerts = self.alerts.observe(findings, cleared)
        for det in self.detectors:
            take = getattr(det, "take_retracted", None)
            if take is not None and (gone := take()):
                alerts.extend(self.alerts.retract(gone, "retracted: late reports filled the silence"))
        evicted = self._evict()
        if len(evicted):
            keyset = set(int(k) for k in evicted)
            alerts.extend(self.alerts.expire_tracks(keyset, self.watermark))
            self.risk.forget(keyset)
            for det in self.detectors:
                det.forget(keyset)
        return StepResult(
            alerts=alerts,
            fence_events=fence_events,
            rows=up.rows,
            evicted=evicted,
            watermark=self.watermark,
            late=up.late,
        )

    def _evict(self) -> IntArray:
        # Evict at most once per simulated minute: eviction scans the whole table.
        if not np.isfinite(self.watermark) or self.watermark - self._last_evict < 60.0:
            return np.empty(0, dtype=np.int64)
        self._last_evict = self.watermark
        cutoff = self.watermark - self.config.track_ttl_s
        live = self.table.live_rows()
        stale_rows = live[self.table.cols["last_t"][live] < cutoff]
        if len(stale_rows) == 0:
            return np.empty(0, dtype=np.int64)
        self.fences.drop_rows(stale_rows)
        return self.table.evict_older_than(cutoff)
