"""The guarded watermark: event times that one bad clock could use to drag the whole picture along.

Each feed's reports pass a :class:`FeedGuard` before they reach the event-time sequencer. It
refuses (and counts, by reason) the times that must not be obeyed:

* ``time_before_floor`` - before the earliest plausible time (``c:0`` is 1970);
* ``time_ahead_of_wall`` - live feeds (``clock_check = "wall"``): later than the wall clock at
  receipt plus ``max_ahead_s``;
* ``time_ahead_of_feed`` - recordings and playback (``clock_check = "feed"``): more than
  ``max_jump_s`` after the feed's own newest accepted time, unless ``confirm_reports`` reports
  in a row agree on the new time (a recording that really resumes after a pause); until then the
  reports are held, and a report near the old time refutes them;
* ``time_behind`` - more than ``max_behind_s`` before the feed's newest accepted time.

A feed's first reports anchor its clock only once ``confirm_reports`` of them agree within
``max_jump_s``, so a bad first line cannot anchor it either. The decisions are taken report by
report in feed order, so they do not depend on how the feed is cut into chunks.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from mdacentre.model.batch import Batch, concat_rows, empty_positions, take_rows


class ClockCheck(StrEnum):
    """What a feed's times are checked against."""

    WALL = "wall"  # a live receiver: its times are close to the wall clock
    FEED = "feed"  # a recording or playback: its times are close to its own recent times


class ClockReject(StrEnum):
    BEFORE_FLOOR = "time_before_floor"
    AHEAD_OF_WALL = "time_ahead_of_wall"
    AHEAD_OF_FEED = "time_ahead_of_feed"
    BEHIND = "time_behind"


@dataclass(frozen=True)
class GuardConfig:
    earliest: float = 946684800.0  # 2000-01-01T00:00:00Z
    max_ahead_s: float = 300.0
    max_jump_s: float = 6 * 3600.0
    max_behind_s: float = 7 * 86400.0
    confirm_reports: int = 3


@dataclass
class FeedGuard:
    """Refuses the event times of one feed that must not move the watermark."""

    config: GuardConfig = field(default_factory=GuardConfig)
    mode: ClockCheck = ClockCheck.FEED
    clock: float = -math.inf  # newest accepted position time
    rejects: Counter[str] = field(default_factory=Counter)
    _held: npt.NDArray[np.void] = field(default_factory=empty_positions)
    _held_t0: float = math.nan
    _refuting: int = 0

    def check(self, batch: Batch, wall: float) -> Batch:
        """The batch without its refused reports (positions held for confirmation come out later)."""
        pos = self._positions(batch.positions, wall)
        st = self._statics(batch.statics, wall)
        return Batch(positions=pos, statics=st, rejects=batch.rejects, lines=batch.lines)

    def finish(self) -> Batch:
        """End of the feed: held positions are accepted if they never had a clock to disagree with."""
        held = self._held
        self._held = empty_positions()
        if len(held) and not math.isfinite(self.clock):
            self.clock = float(np.nanmax(held["t"]))
            return Batch(positions=held)
        if len(held):
            self.rejects[ClockReject.AHEAD_OF_FEED] += len(held)
        return Batch()

    # -- positions ---------------------------------------------------------------------------
    def _positions(self, pos: npt.NDArray[np.void], wall: float) -> npt.NDArray[np.void]:
        if len(pos) == 0 and len(self._held) == 0:
            return pos
        cfg = self.config
        t = pos["t"].astype(np.float64, copy=False)
        floor_bad = t < cfg.earliest
        if self.mode == ClockCheck.WALL:
            ahead = t > wall + cfg.max_ahead_s
            behind = t < self.clock - cfg.max_behind_s
            bad = floor_bad | ahead | behind
            self._count(floor_bad, ahead & ~floor_bad, behind & ~floor_bad)
            ok = take_rows(pos, ~bad)
            if len(ok):
                self.clock = max(self.clock, float(np.nanmax(np.append(ok["t"], -np.inf))))
            return ok
        if math.isfinite(self.clock) and len(self._held) == 0:
            good = ~floor_bad
            run = np.fmax.accumulate(np.concatenate(([self.clock], np.where(good, t, np.nan))))
            before = run[:-1]
            if not (good & (t > before + cfg.max_jump_s)).any():
                behind = good & (t < before - cfg.max_behind_s)
                self._count(floor_bad, np.zeros_like(floor_bad), behind)
                self.clock = float(run[-1])
                return take_rows(pos, good & ~behind)
        return self._positions_one_by_one(pos)

    def _positions_one_by_one(self, pos: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
        """The general rule, report by report: anchoring, jumps held for confirmation."""
        cfg = self.config
        rows = concat_rows([self._held, pos]) if len(self._held) else pos
        n_held = len(self._held)
        t_all = rows["t"].astype(np.float64, copy=False)
        pending = list(range(n_held))
        out: list[int] = []
        for i in range(n_held, len(rows)):
            t = float(t_all[i])
            if math.isnan(t):
                out.append(i)
                continue
            if t < cfg.earliest:
                self.rejects[ClockReject.BEFORE_FLOOR] += 1
                continue
            anchored = math.isfinite(self.clock)
            if anchored and t < self.clock - cfg.max_behind_s:
                self.rejects[ClockReject.BEHIND] += 1
                continue
            if anchored and t <= self.clock + cfg.max_jump_s:
                out.append(i)
                self.clock = max(self.clock, t)
                if pending:
                    self._refuting += 1
                    if self._refuting >= cfg.confirm_reports:
                        self.rejects[ClockReject.AHEAD_OF_FEED] += len(pending)
                        pending, self._refuting = [], 0
                continue
            # a jump ahead (or no clock yet): held until confirmed
            if pending and abs(t - self._held_t0) > cfg.max_jump_s:
                self.rejects[ClockReject.AHEAD_OF_FEED] += len(pending)
                pending = []
            if not pending:
                self._held_t0, self._refuting = t, 0
            pending.append(i)
            if len(pending) >= cfg.confirm_reports:
                out.extend(pending)
                self.clock = max(self.clock, float(np.nanmax(t_all[pending])))
                pending, self._refuting = [], 0
        self._held = take_rows(rows, np.asarray(pending, dtype=np.int64))
        return take_rows(rows, np.asarray(out, dtype=np.int64))

    # -- statics -----------------------------------------------------------------------------
    def _statics(self, st: npt.NDArray[np.void], wall: float) -> npt.NDArray[np.void]:
        if len(st) == 0:
            return st
        cfg = self.config
        t = st["t"].astype(np.float64, copy=False)
        floor_bad = t < cfg.earliest
        if self.mode == ClockCheck.WALL:
            ahead = ~floor_bad & (t > wall + cfg.max_ahead_s)
        else:
            ahead = ~floor_bad & (t > self.clock + cfg.max_jump_s)  # no clock yet: -inf, never ahead
            if not math.isfinite(self.clock):
                ahead[:] = False
        behind = ~floor_bad & (t < self.clock - cfg.max_behind_s)
        self._count(floor_bad, ahead, behind)
        return take_rows(st, ~(floor_bad | ahead | behind))

    def _count(
        self, floor_bad: npt.NDArray[np.bool_], ahead: npt.NDArray[np.bool_], behind: npt.NDArray[np.bool_]
    ) -> None:
        for reason, m in (
            (ClockReject.BEFORE_FLOOR, floor_bad),
            (ClockReject.AHEAD_OF_WALL if self.mode == ClockCheck.WALL else ClockReject.AHEAD_OF_FEED, ahead),
            (ClockReject.BEHIND, behind),
        ):
            n = int(m.sum())
            if n:
                self.rejects[reason] += n
