"""Guards and sequencer together: decoded chunks of several feeds in, event-time slices out."""

from __future__ import annotations

import math
from collections import Counter
from enum import StrEnum

import numpy as np

from mdacentre.model.batch import Batch
from mdacentre.runtime.settings import TimeSettings
from mdacentre.service.eventtime import EventSequencer, Slice
from mdacentre.service.pipeline import StepResult
from mdacentre.service.watermark import ClockCheck, FeedGuard, GuardConfig


class FeedState(StrEnum):
    """What a feed's health chip says."""

    UP = "up"  # connected, and its reports reach the picture
    IDLE = "idle"  # connected, nothing received lately
    DROPPING = "dropping"  # lines arrive but none of them is used (bad clock, all late, undecodable)
    DOWN = "down"  # not connected


def feed_state(connected: bool, lines_per_s: float, used_per_s: float) -> FeedState:
    if not connected:
        return FeedState.DOWN
    if lines_per_s <= 0:
        return FeedState.IDLE
    return FeedState.UP if used_per_s > 0 else FeedState.DROPPING


def guard_config(ts: TimeSettings) -> GuardConfig:
    return GuardConfig(
        earliest=ts.earliest,
        max_ahead_s=ts.max_ahead_s,
        max_jump_s=ts.max_jump_s,
        max_behind_s=ts.max_behind_s,
        confirm_reports=ts.confirm_reports,
    )


class Timeline:
    """Per-feed clock guards in front of one :class:`EventSequencer`.

    ``live``: feeds silent for ``idle_s`` of wall time stop holding steps back (a dead receiver
    must not stall the picture). In a replay every unfinished feed holds them back, which is
    what makes the output independent of how the input was cut.
    """

    def __init__(self, n_feeds: int, ts: TimeSettings, *, live: bool = False) -> None:
        self.settings = ts
        self.live = live
        mode = ClockCheck(ts.clock_check) if live else ClockCheck.FEED
        cfg = guard_config(ts)
        self.guards = [FeedGuard(cfg, mode) for _ in range(n_feeds)]
        self.sequencer = EventSequencer(n_feeds, ts.step_s, ts.lateness_s)
        self._last_wall = [-math.inf] * n_feeds
        self._reported: list[Counter[str]] = [Counter() for _ in range(n_feeds)]
        self.used = [0] * n_feeds  # reports that passed the guard and were not late

    def add(self, feed: int, batch: Batch, wall: float) -> dict[str, int]:
        """Guard and buffer one decoded chunk; returns the clock rejects it caused, by reason."""
        self._last_wall[feed] = wall
        self._add(feed, self.guards[feed].check(batch, wall))
        return self._new_rejects(feed)

    def _add(self, feed: int, b: Batch) -> None:
        late0 = self.sequencer.feeds[feed].late
        self.sequencer.add(feed, b)
        self.used[feed] += len(b.positions) + len(b.statics) - (self.sequencer.feeds[feed].late - late0)

    def finish(self, feed: int) -> dict[str, int]:
        """The feed ended (end of a recording)."""
        self._add(feed, self.guards[feed].finish())
        self.sequencer.finish(feed)
        return self._new_rejects(feed)

    def release(self, wall: float | None = None) -> list[Slice]:
        if self.live and wall is not None:
            # Live: a report goes on as soon as every active feed has reached its time, so an alert
            # leaves when its line arrives; only ``live_hold_s`` of event time waits for stragglers.
            idle = self.settings.idle_s
            active = {i for i, w in enumerate(self._last_wall) if wall - w <= idle}
            clocks = [
                f.clock for i, f in enumerate(self.sequencer.feeds) if i in active and math.isfinite(f.clock)
            ]
            if not clocks:
                return []
            hold = self.settings.live_hold_s
            if hold <= 0:
                return self.sequencer.release_until(min(clocks) + 1e-6)
            # holding: whole slices, as a replay releases them (same steps as the replay)
            step = self.sequencer.step_s
            return self.sequencer.release_until(math.floor((min(clocks) - hold) / step) * step)
        return self.sequencer.release(None)

    def flush(self) -> list[Slice]:
        return self.sequencer.flush()

    @property
    def held(self) -> int:
        return self.sequencer.held

    def clock(self, feed: int) -> float:
        return self.sequencer.feeds[feed].clock

    def late(self, feed: int) -> int:
        return self.sequencer.feeds[feed].late

    def _new_rejects(self, feed: int) -> dict[str, int]:
        cur = self.guards[feed].rejects
        seen = self._reported[feed]
        out = {str(k): v - seen[k] for k, v in cur.items() if v != seen[k]}
        seen.update(out)
        return out


def combine_results(results: list[StepResult], watermark: float) -> StepResult:
    """Several event-time steps as one result (the live loop admits their alerts in one transaction)."""
    if len(results) == 1:
        return results[0]
    empty = np.empty(0, dtype=np.int64)
    if not results:
        from mdacentre.core.fences import FENCE_EVENT_DTYPE

        return StepResult([], np.empty(0, dtype=FENCE_EVENT_DTYPE), empty, empty, watermark)
    return StepResult(
        alerts=[a for r in results for a in r.alerts],
        fence_events=np.concatenate([r.fence_events for r in results]),
        rows=np.unique(np.concatenate([r.rows for r in results])),
        evicted=np.concatenate([r.evicted for r in results]),
        watermark=results[-1].watermark,
        late=sum(r.late for r in results),
    )
