"""The replay clock a served replay is paced by: pause, resume, speed and seek, from any thread.

The replay thread calls :meth:`ReplayClock.wait_for` with each step's event time before the step's
results leave (alerts to the sink, tracks and alerts to the map). The clock only decides *when* that
happens, never *what* is computed: the pipeline sees the same reports in the same event-time steps
whatever the person does with the controls, so the alerts are the same as an unpaced replay of the
recording (docs/time.md, "Time controls of a served replay").

* pause: ``wait_for`` blocks until resume; the picture stays at the step shown last.
* speed: event seconds per wall second; the pace is re-anchored at the current step, so a change
  of speed never makes the replay race to catch up.
* seek forward: steps before the target are not paced (they run as fast as the machine allows).
* seek backward: the state of every detector cannot be unwound, so the replay is rebuilt from the
  start of the recording: ``wait_for`` raises :class:`Rewind`, the runner starts a fresh core and
  fast-forwards to the target.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mdacentre.model.errors import MdaError
from mdacentre.model.findings import iso

MIN_SPEED = 0.1
MAX_SPEED = 100_000.0
WAIT_SLICE_S = 0.25  # a paced wait wakes at least this often (a control changes it at once anyway)


class ClockError(MdaError):
    """A replay-clock command that cannot be applied (bad speed, time outside the recording)."""


class Rewind(MdaError):  # noqa: N818 (a control-flow signal, not a failure)
    """Raised in the replay thread: a seek went back in time, the replay must restart from the start."""


class Stopped(MdaError):  # noqa: N818
    """Raised in the replay thread: the service is stopping."""


class ClockState(StrEnum):
    PLAYING = "playing"
    PAUSED = "paused"
    SEEKING = "seeking"  # running unpaced towards a seek target
    FINISHED = "finished"  # the recording is played out (a seek backward starts it again)


class ClockAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    SPEED = "speed"
    SEEK = "seek"


@dataclass(frozen=True)
class ClockStatus:
    state: ClockState
    speed: float
    event_time: float  # event time of the step shown last (NaN before the first)
    start: float  # first event time of the recording (NaN when unknown)
    end: float  # last event time of the recording (NaN until known)
    target: float  # seek target (NaN when none)
    passes: int  # how many times the recording was started (1 + seeks backward)

    def as_json(self) -> dict[str, Any]:
        def t(v: float) -> str | None:
            return iso(v) if math.isfinite(v) else None

        return {
            "state": self.state.value,
            "speed": self.speed,
            "event_time": t(self.event_time),
            "start": t(self.start),
            "end": t(self.end),
            "seek_target": t(self.target),
            "passes": self.passes,
        }


def check_speed(speed: float) -> float:
    if not (math.isfinite(speed) and MIN_SPEED <= speed <= MAX_SPEED):
        raise ClockError(
            f"speed must be between {MIN_SPEED:g} and {MAX_SPEED:g} times real time, got {speed!r}"
        )
    return float(speed)


class ReplayClock:
    """Thread-safe pacing of one served replay. ``idle`` is called (in the replay thread) before a wait."""

    def __init__(
        self,
        speed: float,
        *,
        start: float = math.nan,
        end: float = math.nan,
        idle: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cond = threading.Condition()
        self._speed = check_speed(speed)
        self._paused = False
        self._target = math.nan
        self._rewind = False
        self._stop = False
        self._finished = False
        self._t = math.nan  # event time of the step shown last
        self._anchor: tuple[float, float] | None = None  # (event time, wall time) the pace counts from
        self.start, self.end = start, end
        self.passes = 1
        self.idle = idle
        self._now = monotonic

    # -- controls (web thread) --------------------------------------------------------------------
    def status(self) -> ClockStatus:
        with self._cond:
            if self._finished:
                st = ClockState.FINISHED
            elif math.isfinite(self._target) or self._rewind:
                st = ClockState.SEEKING
            elif self._paused:
                st = ClockState.PAUSED
            else:
                st = ClockState.PLAYING
            return ClockStatus(st, self._speed, self._t, self.start, self.end, self._target, self.passes)

    def pause(self) -> ClockStatus:
        with self._cond:
            self._paused = True
            self._cond.notify_all()
        return self.status()

    def resume(self) -> ClockStatus:
        with self._cond:
            self._paused = False
            self._anchor = None  # the pace counts from the step shown now
            self._cond.notify_all()
        return self.status()

    def set_speed(self, speed: float) -> ClockStatus:
        speed = check_speed(speed)
        with self._cond:
            self._speed = speed
            self._anchor = None
            self._cond.notify_all()
        return self.status()

    def seek(self, t: float) -> ClockStatus:
        """Go to event time ``t`` (clamped to the recording); back in time rebuilds from the start."""
        if not math.isfinite(t):
            raise ClockError("seek needs a time")
        with self._cond:
            if math.isfinite(self.start):
                t = max(t, self.start)
            if math.isfinite(self.end):
                t = min(t, self.end)
            if math.isfinite(self._t) and t < self._t or self._finished:
                self._rewind = True
            self._target = t
            self._anchor = None
            self._cond.notify_all()
        return self.status()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    # -- replay thread ----------------------------------------------------------------------------
    def begin_pass(self) -> bool:
        """Called before each pass of the recording; False when the service is stopping."""
        with self._cond:
            self._rewind = False
            self._finished = False
            self._t = math.nan
            self._anchor = None
            return not self._stop

    def finished(self, end: float) -> None:
        """The pass reached the end of the recording; blocks until a seek backward or stop."""
        with self._cond:
            if math.isfinite(end):
                self.end = end if not math.isfinite(self.end) else max(self.end, end)
            self._finished = True
            self._target = math.nan if not self._rewind else self._target
        if self.idle is not None:
            self.idle()
        with self._cond:
            while not (self._rewind or self._stop):
                self._cond.wait()

    @property
    def seeking(self) -> bool:
        with self._cond:
            return math.isfinite(self._target)

    def wait_for(self, t: float) -> None:
        """Block until the step at event time ``t`` may be shown (or raise :class:`Rewind`/:class:`Stopped`)."""
        idled = False
        with self._cond:
            while True:
                if self._stop:
                    raise Stopped("the replay is stopping")
                if self._rewind:
                    raise Rewind("seek backward: rebuild from the start")
                if math.isfinite(self._target):
                    if not math.isfinite(t) or t < self._target:
                        break  # fast-forward to the target
                    self._target = math.nan
                    self._anchor = None
                if not math.isfinite(t):
                    break
                if self._paused:
                    delay = math.inf
                else:
                    if self._anchor is None:
                        self._anchor = (t if not math.isfinite(self._t) else self._t, self._now())
                    t0, wall0 = self._anchor
                    delay = wall0 + (t - t0) / self._speed - self._now()
                    if delay <= 0:
                        break
                if not idled and self.idle is not None:
                    idled = True
                    self._cond.release()
                    try:
                        self.idle()
                    finally:
                        self._cond.acquire()
                    continue
                self._cond.wait(min(delay, WAIT_SLICE_S))
            if math.isfinite(t):
                self._t = t if not math.isfinite(self._t) else max(self._t, t)
