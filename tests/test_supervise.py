"""Supervised stages: a failure is logged with its traceback, counted, restarted, or ends the service."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from mdacentre.runtime.metrics import Metrics
from mdacentre.service.supervise import Stage, StageFailed, StageState, Supervisor


def test_a_failing_stage_is_logged_counted_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    runs: list[int] = []

    async def main() -> None:
        stop = asyncio.Event()
        sup = Supervisor(metrics, stop, max_restarts=5, backoff=(0.01, 0.02))

        async def flaky() -> None:
            runs.append(1)
            if len(runs) <= 2:
                raise KeyError("an internal bug")
            stop.set()  # third run works: the service carries on

        async def steady() -> None:
            await stop.wait()

        await sup.run([Stage("flaky", flaky), Stage("steady", steady)])
        assert sup.status["flaky"].state == StageState.FINISHED
        assert sup.status["flaky"].failures == 2

    with caplog.at_level(logging.ERROR):
        asyncio.run(asyncio.wait_for(main(), 10))
    assert len(runs) == 3
    assert metrics.get("mda_stage_failures_total", {"stage": "flaky"}) == 2
    logged = [r for r in caplog.records if "stage flaky failed" in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # with its traceback


def test_a_stage_failing_beyond_its_budget_ends_the_service() -> None:
    metrics = Metrics()

    async def main() -> None:
        stop = asyncio.Event()
        sup = Supervisor(metrics, stop, max_restarts=2, window_s=60, backoff=(0.01, 0.02))

        async def broken() -> None:
            raise TypeError("always")

        async def other() -> None:
            await asyncio.sleep(30)  # must be cancelled, not left running

        await sup.run([Stage("broken", broken), Stage("other", other)])

    with pytest.raises(StageFailed, match="stage broken failed 3 time"):
        asyncio.run(asyncio.wait_for(main(), 10))
    assert metrics.get("mda_stage_failures_total", {"stage": "broken"}) == 3


def test_a_stage_that_must_not_restart_ends_the_service_at_once() -> None:
    async def main() -> None:
        stop = asyncio.Event()
        sup = Supervisor(Metrics(), stop)

        async def web() -> None:
            raise SystemExit(1)  # what uvicorn does when it cannot bind

        await sup.run([Stage("web", web, restart=False)])

    with pytest.raises(StageFailed, match="web .*not restartable"):
        asyncio.run(asyncio.wait_for(main(), 10))


def test_sd_notify_reaches_systemd_socket(tmp_path: Path) -> None:
    import socket

    from mdacentre.runtime.watchdog import sd_notify

    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(str(path))
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": str(path)})
        assert s.recv(100) == b"READY=1"
    assert not sd_notify("READY=1", {})


def test_watchdog_ends_a_process_whose_loop_is_blocked(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import time, logging\n"
        "from mdacentre.runtime.watchdog import Watchdog\n"
        "w = Watchdog(0.5).start()\n"
        "w.beat()\n"
        "time.sleep(30)  # a step that never ends\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    assert res.returncode == 70
    assert "time.sleep(30)" in res.stderr or "line 5" in res.stderr  # the stuck stack is written out
