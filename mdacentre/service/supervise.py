"""Supervision of the service's long-running stages (feeds, core loop, MQTT, web, health).

Every stage runs inside one :class:`asyncio.TaskGroup`, wrapped by :meth:`Supervisor.supervise`.
An unexpected exception is logged with its traceback and counted in
``mda_stage_failures_total{stage}``; the stage is then restarted after a jittered backoff. A stage
that fails ``max_restarts`` times within ``window_s`` (or a stage that must not be restarted) ends
the whole service with :class:`StageFailed`, which the command line turns into one line on stderr
and a non-zero exit, so that the process supervisor (systemd) restarts it. Nothing is left stuck:
there is no path where a stage dies and the others carry on as if it were there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from mdacentre.model.errors import MdaError
from mdacentre.runtime.backoff import Backoff
from mdacentre.runtime.metrics import Metrics

log = logging.getLogger(__name__)


class StageFailed(MdaError):
    """A stage failed beyond its restart budget; the service stops with a non-zero exit."""


class StageState(StrEnum):
    RUNNING = "running"
    RESTARTING = "restarting"  # failed, waiting for its backoff
    FINISHED = "finished"  # returned normally (a file feed at its end)
    FAILED = "failed"  # gave up


@dataclass
class StageStatus:
    name: str
    state: StageState = StageState.RUNNING
    failures: int = 0
    last_error: str = ""
    failed_at: deque[float] = field(default_factory=deque)


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[], Awaitable[None]]
    restart: bool = True  # False: the first failure ends the service


class Supervisor:
    def __init__(
        self,
        metrics: Metrics,
        stop: asyncio.Event,
        *,
        max_restarts: int = 5,
        window_s: float = 300.0,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.metrics = metrics
        self.stop = stop
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.backoff = backoff
        self.status: dict[str, StageStatus] = {}
        metrics.describe("mda_stage_failures_total", "unexpected exceptions of a supervised stage")

    def down(self) -> list[StageStatus]:
        """Stages that are not doing their work now (restarting or given up)."""
        return [s for s in self.status.values() if s.state in (StageState.RESTARTING, StageState.FAILED)]

    async def run(self, stages: list[Stage]) -> None:
        """Run every stage until ``stop``; raise :class:`StageFailed` if one gives up."""
        try:
            async with asyncio.TaskGroup() as tg:
                for st in stages:
                    tg.create_task(self.supervise(st), name=f"stage:{st.name}")
        except* StageFailed as eg:
            raise eg.exceptions[0] from None

    async def supervise(self, stage: Stage) -> None:
        status = self.status.setdefault(stage.name, StageStatus(stage.name))
        backoff = Backoff(*self.backoff)
        while not self.stop.is_set():
            status.state = StageState.RUNNING
            started = time.monotonic()
            try:
                await stage.run()
            except (asyncio.CancelledError, StageFailed):
                raise
            except (Exception, SystemExit) as exc:  # uvicorn exits on a failed bind
                if self.stop.is_set():
                    return
                self._failed(stage, status, exc)
                if time.monotonic() - started > self.window_s:
                    backoff.reset()
                status.state = StageState.RESTARTING
                delay = backoff.next_delay()
                log.warning("stage %s restarts in %.1f s", stage.name, delay)
                try:
                    await asyncio.wait_for(self.stop.wait(), delay)
                except TimeoutError:
                    pass
                continue
            status.state = StageState.FINISHED
            return

    def _failed(self, stage: Stage, status: StageStatus, exc: BaseException) -> None:
        now = time.monotonic()
        status.failures += 1
        status.last_error = f"{type(exc).__name__}: {exc}"
        status.failed_at.append(now)
        while status.failed_at and now - status.failed_at[0] > self.window_s:
            status.failed_at.popleft()
        self.metrics.inc("mda_stage_failures_total", 1, {"stage": stage.name})
        log.error("stage %s failed: %s", stage.name, status.last_error, exc_info=exc)
        if not stage.restart or len(status.failed_at) > self.max_restarts:
            status.state = StageState.FAILED
            why = "" if stage.restart else " (not restartable)"
            raise StageFailed(
                f"stage {stage.name} failed {len(status.failed_at)} time(s) in {self.window_s:g} s{why}: "
                f"{status.last_error}"
            ) from exc
