"""A served replay's clock: pause, speed and seek (also backward) never change the alerts, and the
control route is a signed-in, CSRF-checked, audited write for watch officers and analysts only."""

from __future__ import annotations

import functools
import io
import math
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO
from fastapi.testclient import TestClient

from mdacentre.api.replayctl import replay_router
from mdacentre.api.web import create_app
from mdacentre.cli.replay import run_replay
from mdacentre.cli.replayserve import OncePerStep, ReplayMapState, ServedReplay, recording_span
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import JsonlSink
from mdacentre.service.replayclock import ClockError, ClockState, ReplayClock
from tests.authkit import make_security, sign_in

DEMO = REPO / "feeds" / "demo" / "caribbean_ais.nmea"
LINES = 20_000  # about two hours of the demo recording: encounters, a rendezvous, identity conflicts


@functools.cache
def recording(tmp: str) -> Path:
    lines = DEMO.read_bytes().splitlines(keepends=True)[:LINES]
    p = Path(tmp) / "demo_part.nmea"
    p.write_bytes(b"".join(lines))
    return p


@pytest.fixture(scope="module")
def part(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DEMO.is_file():
        pytest.skip("the demo recording is missing")
    return recording(str(tmp_path_factory.mktemp("replay-clock")))


def settings(tmp: Path) -> Settings:
    return Settings(data_dir=tmp)


def wait_until(cond: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_pause_speed_and_seeks_give_the_alerts_of_an_unpaced_replay(part: Path, tmp_path: Path) -> None:
    ref = io.BytesIO()
    run_replay(settings(tmp_path), [part], JsonlSink(ref))
    assert ref.getvalue().count(b"\n") >= 5  # the slice raises alerts, so the comparison means something

    start, end = recording_span([part])
    assert math.isfinite(start) and end - start > 3600
    clock = ReplayClock(60.0, start=start, end=end)
    clock.pause()  # paused before the first step
    state = ReplayMapState()
    out = io.BytesIO()
    served = ServedReplay(settings(tmp_path), [part], clock, state, OncePerStep(JsonlSink(out)))
    served.start()
    try:
        time.sleep(0.5)
        # paused before the first step: nothing is shown, the clock has not moved
        assert clock.status().state == ClockState.PAUSED
        assert math.isnan(clock.status().event_time) and state.tracks() == []
        # forward to 90 min in (unpaced), still paused there
        clock.seek(start + 5400)
        wait_until(lambda: clock.status().state == ClockState.PAUSED, "the forward seek")
        # the picture stops at the last step before the target (steps are 60 s of event time)
        assert start + 5400 - 61 <= clock.status().event_time <= start + 5400
        far = len(state.alerts(1000))
        # back to 20 min in: the replay is rebuilt from the start and stops there
        clock.seek(start + 1200)
        wait_until(
            lambda: clock.status().state == ClockState.PAUSED and clock.status().passes == 2, "the rewind"
        )
        now = clock.status().event_time
        assert start + 1200 - 61 <= now <= start + 1200
        # the tracks shown are those of that time (the table reads ahead by at most one small chunk)
        latest = max(t["t"] for t in state.tracks())
        assert latest <= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 90))
        assert len(state.alerts(1000)) <= far
        # at speed 3600 to the end
        clock.set_speed(3600)
        clock.resume()
        wait_until(lambda: clock.status().state == ClockState.FINISHED, "the end of the recording")
    finally:
        served.stop()
    assert served.error is None
    assert out.getvalue() == ref.getvalue()  # the same alert versions, byte for byte, written once


def test_clock_refuses_bad_speeds_and_clamps_seeks() -> None:
    clock = ReplayClock(60.0, start=1000.0, end=5000.0)
    with pytest.raises(ClockError):
        clock.set_speed(0)
    with pytest.raises(ClockError):
        clock.set_speed(float("nan"))
    assert clock.seek(-1e12).target == 1000.0
    assert clock.seek(1e12).target == 5000.0


def test_control_route_is_signed_in_csrf_checked_audited_and_role_bound(tmp_path: Path) -> None:
    sec = make_security(
        tmp_path,
        users=(("watch", "watch", None), ("ana", "analyst", None), ("liz", "liaison", "jm-cg")),
    )
    clock = ReplayClock(60.0, start=1000.0, end=5000.0)
    app = create_app(ReplayMapState(), REPO / "web", security=sec)
    app.include_router(replay_router(clock, sec))
    with TestClient(app) as anon:
        assert anon.post("/api/replay/clock", json={"action": "pause"}).status_code == 401
    with TestClient(app) as c:
        csrf = sign_in(c, "watch")
        assert c.post("/api/replay/clock", json={"action": "pause"}).status_code == 403  # no CSRF token
        r = c.post("/api/replay/clock", json={"action": "pause"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["state"] == "paused"
        r = c.post("/api/replay/clock", json={"action": "speed", "speed": 0}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422
        r = c.post(
            "/api/replay/clock", json={"action": "seek", "to": "yesterday"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 422
        r = c.post(
            "/api/replay/clock",
            json={"action": "seek", "to": "1970-01-01T00:50:00Z"},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 200 and r.json()["seek_target"] == "1970-01-01T00:50:00Z"
        assert c.get("/api/replay/clock").json()["state"] == "seeking"
    with TestClient(app) as c:
        csrf = sign_in(c, "ana")
        r = c.post("/api/replay/clock", json={"action": "resume"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200
    with TestClient(app) as c:
        csrf = sign_in(c, "liz")
        r = c.post("/api/replay/clock", json={"action": "pause"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403
    assert sec.audit is not None
    records = sorted(
        (r for r in sec.audit.tail(100) if r["event"] == "replay_control"), key=lambda r: r["seq"]
    )
    assert [(r["actor"], r["details"]["action"]) for r in records] == [
        ("watch", "pause"),
        ("watch", "seek"),
        ("ana", "resume"),
    ]
