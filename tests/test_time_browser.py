"""Time controls in real headless Chromium, signed in: a served replay paused, sped up and scrubbed from
the page (issue 17, "Time"). Browser set-up: tests/test_map_browser.py."""

from __future__ import annotations

# ruff: noqa: F811  (the fixtures imported from test_map_browser are named as test arguments)
import io
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mdacentre.api.pastpicture import picture_router
from mdacentre.api.replayctl import replay_router
from mdacentre.api.vocabulary import vocabulary
from mdacentre.api.web import MemoryMapState, create_app
from mdacentre.cli.replayserve import (
    REPLAY_FEATURES,
    OncePerStep,
    ReplayMapState,
    ServedReplay,
    recording_span,
)
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import JsonlSink
from mdacentre.service.flags import track_flags
from mdacentre.service.replayclock import ClockState, ReplayClock
from mdacentre.sinks.archive.picture import past_picture
from tests.authkit import LiveServer
from tests.test_map_browser import (  # noqa: F401  (fixtures)
    WEB,
    Watch,
    browser_ctx,
    browser_security,
    page,
    real_vessels,
    sign_in_page,
)
from tests.test_past_picture import START, archive_root
from tests.test_replay_clock import DEMO, recording, wait_until

pytestmark = [pytest.mark.browser]


@dataclass
class ReplayServed:
    clock: ReplayClock
    state: ReplayMapState
    replay: ServedReplay
    server: LiveServer
    start: float

    @property
    def url(self) -> str:
        return self.server.url + "/"


@pytest.fixture
def replay_served(tmp_path: Path) -> Iterator[ReplayServed]:
    if not DEMO.is_file():
        pytest.skip("the demo recording is missing")
    part = recording(str(tmp_path))
    start, end = recording_span([part])
    clock = ReplayClock(60.0, start=start, end=end)
    clock.pause()
    clock.seek(start + 1800)  # half an hour in, paused there
    state = ReplayMapState()
    sec = browser_security()
    replay = ServedReplay(
        Settings(data_dir=tmp_path), [part], clock, state, OncePerStep(JsonlSink(io.BytesIO()))
    )
    app = create_app(state, WEB, vocabulary=vocabulary(features=REPLAY_FEATURES), security=sec)
    app.include_router(replay_router(clock, sec))
    server = LiveServer(app)
    replay.start()
    wait_until(
        lambda: clock.status().state == ClockState.PAUSED and bool(state.tracks()), "the picture at 30 min"
    )
    yield ReplayServed(clock, state, replay, server, start)
    replay.stop()
    server.stop()


def open_replay(pg: Any, s: ReplayServed) -> None:
    sign_in_page(pg, s.url)
    pg.wait_for_function(
        "() => window.mdaMap && mdaMap.connected() && mdaMap.trackCount() > 0", timeout=15000
    )


def header(pg: Any) -> str:
    return str(pg.text_content("#conn") or "")


def test_pause_speed_and_scrub_a_served_replay_from_the_page(
    replay_served: ReplayServed, page: tuple[Any, Watch]
) -> None:
    pg, watch = page
    s = replay_served
    open_replay(pg, s)
    controls = pg.get_by_role("group", name="Replay controls")
    assert controls.is_visible()
    pg.wait_for_function("() => document.getElementById('conn').textContent === 'REPLAY · PAUSED'")
    assert "paused" in (pg.text_content("#time-status") or "")
    # resume: the server's clock plays, the header says at which speed
    controls.get_by_role("button", name="Resume").click()
    wait_until(lambda: s.clock.status().state == ClockState.PLAYING, "the clock to play", 15)
    pg.wait_for_function("() => document.getElementById('conn').textContent === 'REPLAY · 60×'")
    # speed
    pg.select_option("#time-speed", "900")
    wait_until(lambda: s.clock.status().speed == 900, "speed 900", 15)
    pg.wait_for_function("() => document.getElementById('conn').textContent === 'REPLAY · 900×'")
    # pause again, then scrub back to 10 min in: the replay is rebuilt and stops there
    controls.get_by_role("button", name="Pause").click()
    wait_until(lambda: s.clock.status().state == ClockState.PAUSED, "the pause", 15)
    before = s.clock.status().event_time
    time.sleep(0.3)
    assert s.clock.status().event_time == before
    target_ms = (s.start + 600) * 1000
    pg.eval_on_selector(
        "#time-scrub",
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('change')); }",
        target_ms,
    )
    wait_until(
        lambda: s.clock.status().passes == 2 and s.clock.status().state == ClockState.PAUSED, "the rewind", 60
    )
    now = s.clock.status().event_time
    assert math.isfinite(now) and s.start + 600 - 61 <= now <= s.start + 600
    # the page follows: its newest data is from about 10 min in, and it still says REPLAY, never STALE
    pg.wait_for_function(
        "(t) => { const st = document.getElementById('time-status').textContent;"
        " return st.startsWith('paused') && st.includes(t); }",
        arg=time.strftime("%H:%M", time.gmtime(now)),
        timeout=15000,
    )
    assert header(pg) == "REPLAY · PAUSED"
    # a recording's alerts are not acknowledged from a replay: no action buttons
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length > 0", timeout=15000)
    assert pg.locator("#alert-list button", has_text="Acknowledge").count() == 0
    assert watch.errors == [] and watch.foreign() == []
    # the control was audited under the signed-in name
    sec = browser_security()
    assert sec.audit is not None
    acts = [r["details"]["action"] for r in sec.audit.tail(50) if r["event"] == "replay_control"]
    assert {"resume", "speed", "pause", "seek"} <= set(acts)


@pytest.fixture
def history_served() -> Iterator[tuple[LiveServer, MemoryMapState, list[dict[str, Any]], Path]]:
    if not DEMO.is_file():
        pytest.skip("the demo recording is missing")
    root = archive_root()
    state = MemoryMapState()
    live = real_vessels(3, time.time() - 20)
    state.upsert_tracks(live)
    sec = browser_security()
    app = create_app(state, WEB, vocabulary=vocabulary(features=("past_picture",)), security=sec)
    app.include_router(picture_router(lambda at, lb: past_picture(root, at, lb, flags=track_flags)))
    server = LiveServer(app)
    yield server, state, live, root
    server.stop()


def test_past_picture_shown_as_history_and_played_forward(
    history_served: tuple[LiveServer, MemoryMapState, list[dict[str, Any]], Path], page: tuple[Any, Watch]
) -> None:
    pg, watch = page
    server, state, live, root = history_served
    sign_in_page(pg, server.url + "/")
    pg.wait_for_function(f"() => window.mdaMap && mdaMap.connected() && mdaMap.trackCount() === {len(live)}")
    assert not header(pg).startswith("HISTORY")
    expected = len(past_picture(root, START + 3600, 1800)["tracks"])
    pg.fill("#hist-at", "2026-01-15T01:00")
    pg.get_by_role("button", name="Show the picture at that time").click()
    pg.wait_for_function(f"() => mdaMap.trackCount() === {expected}")
    pg.wait_for_function("() => document.getElementById('conn').textContent.startsWith('HISTORY')")
    assert header(pg) == "HISTORY · 2026-01-15 01:00:00Z"
    assert "history-mode" in (pg.get_attribute("body", "class") or "")
    assert "HISTORY picture at 2026-01-15 01:00:00Z" in (pg.text_content("#hist-status") or "")
    pg.wait_for_function(f"() => mdaMap.drawnCount() === {expected}")
    # a live update meanwhile is set aside: the past picture stays as it was
    moved = dict(live[0], lat=live[0]["lat"] + 0.01)
    state.upsert_tracks([moved, dict(live[1], key="vessel:999999991", id="999999991")])
    time.sleep(0.5)
    assert pg.evaluate("() => mdaMap.trackCount()") == expected
    # step forward, then play forward
    controls = pg.get_by_role("group", name="History controls")
    controls.get_by_role("button", name="Step forward").click()
    pg.wait_for_function("() => document.getElementById('hist-at').value === '2026-01-15T01:05'")
    assert header(pg) == "HISTORY · 2026-01-15 01:05:00Z"
    controls.get_by_role("button", name="Play").click()
    pg.wait_for_function(
        "() => document.getElementById('hist-at').value >= '2026-01-15T01:15'", timeout=30000
    )
    controls.get_by_role("button", name="Stop").click()
    at = str(pg.input_value("#hist-at"))
    time.sleep(1.5)
    assert pg.input_value("#hist-at") == at  # stopped
    # back to live: the live picture with what arrived meanwhile
    controls.get_by_role("button", name="Back to live").click()
    pg.wait_for_function(
        f"() => mdaMap.connected() && mdaMap.trackCount() === {len(live) + 1}", timeout=20000
    )
    pg.wait_for_function("() => !document.getElementById('conn').textContent.startsWith('HISTORY')")
    assert "history-mode" not in (pg.get_attribute("body", "class") or "")
    assert watch.errors == [] and watch.foreign() == []


def test_a_shared_link_opens_the_same_past_picture(
    history_served: tuple[LiveServer, MemoryMapState, list[dict[str, Any]], Path], page: tuple[Any, Watch]
) -> None:
    """The URL keeps the past picture's time and lookback; opening that URL shows the same picture."""
    pg, watch = page
    server, _state, live, root = history_served
    sign_in_page(pg, server.url + "/")
    pg.wait_for_function(f"() => window.mdaMap && mdaMap.connected() && mdaMap.trackCount() === {len(live)}")
    assert "at=" not in pg.evaluate("() => location.hash")  # live: no time in the URL
    expected = len(past_picture(root, START + 3600 + 600, 600)["tracks"])
    assert expected != len(past_picture(root, START + 3600, 1800)["tracks"])  # not the default picture
    pg.goto("about:blank")  # a new load, not a fragment change of the open page
    pg.goto(server.url + "/#7/18.0000/-76.5000&at=2026-01-15T01:10Z&lookback=10")
    pg.wait_for_function("() => document.getElementById('conn').textContent.startsWith('HISTORY')")
    assert header(pg) == "HISTORY · 2026-01-15 01:10:00Z"
    pg.wait_for_function(f"() => mdaMap.trackCount() === {expected}")
    assert pg.input_value("#hist-at") == "2026-01-15T01:10"
    assert pg.input_value("#hist-lookback") == "10"
    assert "10 min before" in (pg.text_content("#hist-status") or "")
    assert pg.evaluate("() => mdaMap.map().getZoom()") == 7
    # the live updates do not replace it once the live snapshot is in
    time.sleep(1.0)
    assert pg.evaluate("() => mdaMap.trackCount()") == expected
    # a step forward is kept in the URL; back to live takes the time out of it
    pg.get_by_role("group", name="History controls").get_by_role("button", name="Step forward").click()
    pg.wait_for_function("() => location.hash.includes('at=2026-01-15T01:15Z&lookback=10')")
    shared = pg.evaluate("() => location.href")
    pg.get_by_role("group", name="History controls").get_by_role("button", name="Back to live").click()
    pg.wait_for_function("() => !location.hash.includes('at=')")
    # the link copied before opens 01:15 in a new page
    other = pg.context.new_page()
    try:
        other.goto(shared)
        other.wait_for_function("() => document.getElementById('conn').textContent.startsWith('HISTORY')")
        assert str(other.text_content("#conn")) == "HISTORY · 2026-01-15 01:15:00Z"
        n = len(past_picture(root, START + 3600 + 900, 600)["tracks"])
        other.wait_for_function(f"() => mdaMap.trackCount() === {n}")
    finally:
        other.close()
    assert watch.errors == [] and watch.foreign() == []
