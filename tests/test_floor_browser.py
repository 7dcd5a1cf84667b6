"""The watch floor in real headless Chromium against a real uvicorn server: inbox, actions, track panel,
search and table, layout at 800 px (issue 17). Server and browser set-up: tests/test_map_browser.py."""

from __future__ import annotations

# ruff: noqa: F811  (the fixtures imported from test_map_browser are named as test arguments)
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from mdacentre.api.web import MemoryMapState
from tests import floorkit
from tests.test_map_browser import (  # noqa: F401  (fixtures)
    CANVAS_2D,
    DRAWN_AT,
    Served,
    Watch,
    alert_for,
    browser_ctx,
    feeds,
    iso,
    open_map,
    page,
    real_aircraft,
    real_vessels,
    serve,
    zones,
)

pytestmark = [pytest.mark.browser]


def aid(n: int) -> str:
    return f"{n:020x}"


def floor_state() -> tuple[MemoryMapState, list[dict[str, Any]], dict[str, Any], float]:
    """Four vessels and an aircraft from the recordings, and alerts in every state an officer meets."""
    state = MemoryMapState()
    plane = real_aircraft()
    t = datetime.fromisoformat(plane["t"]).timestamp()
    vessels = real_vessels(4, t - 30)
    vessels[0].update(name="CARIB TRADER", flag="PA", ship_type=70, level="high", score=82)
    vessels[1].update(name="NIGHT HERON", flag="JM", ship_type=30, level="critical", score=95)
    vessels[2].update(name="PORT TENDER", flag="TT")
    state.upsert_tracks([*vessels, plane])

    def add(n: int, tr: dict[str, Any], dt: float, level: str, cat: str, **kw: Any) -> None:
        a = alert_for(tr, aid(n), iso(t + dt), level, cat)
        a.update(kw)
        state.add_alert(a)

    add(1, vessels[2], 50, "info", "zone_entry")  # routine, newest
    add(2, vessels[0], 20, "medium", "loitering")
    add(
        3,
        vessels[0],
        10,
        "critical",
        "identity_conflict",
        status="acknowledged",
        ack={"by": "watch/Earlier", "note": "seen", "at": iso(t)},
    )
    add(4, vessels[1], -40, "high", "squawk_7500", status="closed")  # closed before anyone acknowledged it
    add(5, vessels[1], -20, "critical", "dark_target")
    state.set_zones(zones())
    state.set_feeds(feeds())
    return state, vessels, plane, t


@pytest.fixture
def floor() -> Iterator[Served]:
    state, vessels, plane, _t = floor_state()
    s = serve(state)
    s.vessels, s.aircraft = vessels, plane
    yield s
    s.stop()
    floorkit.HISTORY.clear()


def inbox_ids(pg: Any) -> list[str]:
    return pg.eval_on_selector_all("#alert-list > li", "els => els.map(e => e.dataset.alertId)")


def test_inbox_puts_what_needs_a_person_first_and_filters(floor: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    open_map(pg, floor, 5)
    alerts = pg.get_by_role("list", name="Alerts")
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length === 4")
    # open critical, closed-unseen high, open medium; then the acknowledged critical; the routine info is out
    assert inbox_ids(pg) == [aid(5), aid(4), aid(2), aid(3)]
    unseen = alerts.locator(f"li[data-alert-id='{aid(4)}']")
    assert "closed, never acknowledged" in unseen.text_content()
    assert "needs-attention" in (unseen.get_attribute("class") or "")
    assert "watch/Earlier" in alerts.locator(f"li[data-alert-id='{aid(3)}']").text_content()
    assert pg.title().startswith("(2) ")  # two urgent alerts wait for a person
    # filters with counts
    labels = pg.eval_on_selector_all("#filter-level option", "els => els.map(e => e.textContent)")
    assert "critical (2)" in labels and "high (1)" in labels
    pg.select_option("#filter-level", "critical")
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length === 2")
    assert inbox_ids(pg) == [aid(5), aid(3)]
    pg.select_option("#filter-level", "")
    pg.select_option("#filter-status", "closed")
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length === 1")
    pg.select_option("#filter-status", "")
    pg.check("#filter-routine")
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length === 5")
    assert watch.errors == [] and watch.foreign() == []


def test_new_urgent_alert_draws_attention(floor: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    open_map(pg, floor, 5)
    pg.wait_for_function("() => document.title.startsWith('(2) ')")
    t = datetime.fromisoformat(floor.aircraft["t"]).timestamp()
    floor.state.add_alert(alert_for(floor.vessels[3], aid(9), iso(t + 90), "critical", "dark_target"))
    pg.wait_for_function("() => document.title.startsWith('(3) ')", timeout=5000)
    first = pg.locator("#alert-list > li").first
    assert first.get_attribute("data-alert-id") == aid(9)
    assert "fresh" in (first.get_attribute("class") or "")
    assert watch.errors == []


TAG_ROWS = (
    "() => { for (const li of document.querySelectorAll('#alert-list > li')) li.__row = li.dataset.alertId; }"
)
SAME_ROWS = "() => Array.from(document.querySelectorAll('#alert-list > li')).filter((li) => li.__row === li.dataset.alertId).map((li) => li.dataset.alertId)"


def test_inbox_updates_only_the_rows_an_alert_touches(floor: Served, page: tuple[Any, Watch]) -> None:
    """A new alert inserts its row, a new version fills its row in place and moves it; the other rows'
    nodes, the focused row and the scroll position stay (the whole list was rebuilt per alert before)."""
    pg, watch = page
    t = datetime.fromisoformat(floor.aircraft["t"]).timestamp()
    for n in range(20, 40):  # enough open low alerts that the list scrolls
        floor.state.add_alert(alert_for(floor.vessels[2], aid(n), iso(t - 100 - n), "low", "loitering"))
    open_map(pg, floor, 5)
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length === 24")
    before = inbox_ids(pg)
    assert before[:3] == [aid(5), aid(4), aid(2)] and before[-1] == aid(3)
    pg.evaluate(TAG_ROWS)
    # focus a row far down the list, scrolled into view
    row = pg.locator(f"#alert-list > li[data-alert-id='{aid(30)}']")
    row.focus()
    row.scroll_into_view_if_needed()
    scroll = pg.evaluate("() => document.getElementById('alert-list').scrollTop")
    assert scroll > 0  # the list does scroll: the test would say nothing otherwise
    y0 = row.bounding_box()["y"]
    # an unrelated urgent alert arrives: one row inserted at the top, nothing else rebuilt
    floor.state.add_alert(alert_for(floor.vessels[3], aid(9), iso(t + 90), "critical", "dark_target"))
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length === 25")
    assert inbox_ids(pg) == [aid(9), *before]
    assert pg.evaluate(SAME_ROWS) == before  # every older row is the same node
    assert pg.evaluate("() => document.activeElement.dataset.alertId") == aid(30)
    assert abs(row.bounding_box()["y"] - y0) <= 2  # the focused row did not jump
    labels = pg.eval_on_selector_all("#filter-level option", "els => els.map(e => e.textContent)")
    assert "critical (3)" in labels and "low (20)" in labels
    # a new version of the first critical (acknowledged elsewhere): its row is filled again in place and
    # moves down among the acknowledged ones, by time; the focused row keeps focus
    acked = alert_for(floor.vessels[1], aid(5), iso(t - 20), "critical", "dark_target")
    acked.update(version=2, status="acknowledged", ack={"by": "watch/Other", "note": "on it", "at": iso(t)})
    floor.state.add_alert(acked)
    pg.wait_for_function(
        f"() => document.querySelector(\"#alert-list > li[data-alert-id='{aid(5)}']\").classList.contains('acked')"
    )
    after = inbox_ids(pg)
    opened = [aid(9), aid(4), aid(2), *[aid(n) for n in range(20, 40)]]
    assert after == [*opened, aid(3), aid(5)]
    assert "closed, never acknowledged" in pg.text_content(f"#alert-list > li[data-alert-id='{aid(4)}']")
    assert pg.evaluate(SAME_ROWS) == [aid(4), aid(2), *[aid(n) for n in range(20, 40)], aid(3), aid(5)]
    assert pg.evaluate("() => document.activeElement.dataset.alertId") == aid(30)
    assert "watch/Other" in pg.text_content(f"#alert-list > li[data-alert-id='{aid(5)}']")
    assert pg.title().startswith("(2) ")  # the new critical and the closed-unseen high
    # keyboard navigation still follows the order on screen
    pg.keyboard.press("ArrowDown")
    assert pg.evaluate("() => document.activeElement.dataset.alertId") == aid(31)
    assert watch.errors == []


def test_acknowledge_note_retract_and_hand_over_from_the_inbox(
    floor: Served, page: tuple[Any, Watch]
) -> None:
    pg, watch = page
    open_map(pg, floor, 5)
    item = pg.locator(f"#alert-list > li[data-alert-id='{aid(5)}']")
    # signed in: one click acknowledges, the server takes the signed-in identity (no name is asked)
    item.get_by_role("button", name="Acknowledge").click()
    pg.wait_for_function(
        f"() => document.querySelector(\"li[data-alert-id='{aid(5)}']\").classList.contains('acked')"
    )
    assert item.get_by_label("Your name").count() == 0
    first_ack = {a["id"]: a for a in floor.state.alerts(100)}[aid(5)]["acks"][0]
    assert first_ack["by"] == "watch" and "acknowledged" in item.text_content()
    assert pg.title().startswith("(1) ")  # one urgent alert left
    # notes, then a hand-over: every note is kept, each with who and when
    for note in ("calling the patrol boat", "boat on scene 14:10"):
        item.get_by_role("button", name="Add note").click()
        item.get_by_label("Note", exact=True).fill(note)
        item.locator("button.act-submit").click()
        pg.wait_for_function(
            f"() => document.querySelector(\"li[data-alert-id='{aid(5)}']\").textContent.includes({note!r})"
        )
    item.get_by_role("button", name="Hand over").click()
    item.get_by_label("Agency (id, e.g. jdf-coastguard)").fill("Not An Id")
    item.locator("button.act-submit").click()
    assert "lower-case" in item.locator(".act-error").text_content()
    item.get_by_label("Agency (id, e.g. jdf-coastguard)").fill("jdf-coastguard")
    item.locator("button.act-submit").click()
    pg.wait_for_function(
        f"() => document.querySelectorAll(\"li[data-alert-id='{aid(5)}'] .ack-entry\").length === 4"
    )
    text = item.text_content()
    for needle in ("calling the patrol boat", "boat on scene 14:10", "Handed over to jdf-coastguard"):
        assert needle in text
    acks = {a["id"]: a for a in floor.state.alerts(100)}[aid(5)]["acks"]
    assert [a["note"] for a in acks][1:3] == ["calling the patrol boat", "boat on scene 14:10"]
    assert {a["by"] for a in acks} == {"watch"}
    # a retraction needs a reason
    other = pg.locator(f"#alert-list > li[data-alert-id='{aid(2)}']")
    other.get_by_role("button", name="Retract").click()
    other.locator("button.act-submit").click()
    assert "needs a reason" in other.locator(".act-error").text_content()
    other.get_by_label("Reason").fill("radar ghost")
    other.locator("button.act-submit").click()
    pg.wait_for_function(
        f"() => document.querySelector(\"li[data-alert-id='{aid(2)}']\").classList.contains('status-retracted')"
    )
    assert {a["id"]: a for a in floor.state.alerts(100)}[aid(2)]["status"] == "retracted"
    assert watch.errors == []


def test_track_panel_trail_timeline_and_action(floor: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    v = floor.vessels[1]
    t = datetime.fromisoformat(v["t"]).timestamp()
    floorkit.HISTORY[v["key"]] = [(t - 3600 + 600 * i, v["lat"] - 0.05 * (6 - i), v["lon"]) for i in range(6)]
    open_map(pg, floor, 5)
    pg.evaluate("(k) => mdaMap.openTrack(k)", v["key"])
    panel = pg.get_by_role("region", name="Selected track")
    panel.wait_for()
    text = panel.text_content()
    for needle in ("NIGHT HERON", v["id"], "JM", "30 fishing", "dark target", "squawk 7500", "Destination"):
        assert needle in text, f"{needle!r} missing from the track panel: {text!r}"
    pg.wait_for_function("() => mdaMap.trailLength() === 7")  # six archived points and the current one
    assert "server history" in panel.text_content()
    # act from the track: acknowledge the open critical alert
    entry = panel.locator(f"li[data-alert-id='{aid(5)}']")
    entry.get_by_role("button", name="Acknowledge").click()
    pg.wait_for_function("() => document.title.startsWith('(1) ')")
    assert {a["id"]: a for a in floor.state.alerts(100)}[aid(5)]["acks"][-1]["by"] == "watch"
    # aircraft: squawk, altitude; a critical aircraft silent for 2 h is aged out and not drawn in red
    plane = dict(floor.aircraft, squawk="7500", level="critical", score=95, vrate_fpm=-640.0, on_ground=False)
    plane["t"] = iso(datetime.fromisoformat(floor.aircraft["t"]).timestamp() - 7200)
    floor.state.upsert_tracks([plane])
    pg.evaluate("(k) => mdaMap.openTrack(k)", plane["key"])
    pg.wait_for_function("() => document.getElementById('track-panel').textContent.includes('-640 ft/min')")
    text = panel.text_content()
    assert "-640 ft/min" in text and "aged out" in text and "ft" in text
    pg.wait_for_function(DRAWN_AT, arg=plane["key"])  # drawn, in the aged-out grey
    assert pg.evaluate(PIXEL_RED, plane["key"]) is False
    assert watch.errors == []


PIXEL_RED = (
    """(key) => {
  const p = window.mdaMap.screenPoint(key);
  const dpr = window.devicePixelRatio || 1;
  const c = document.querySelector('canvas.mda-track-canvas');
  const d = """
    + CANVAS_2D
    + """(c).getImageData(Math.round(p.x * dpr) - 3, Math.round(p.y * dpr) - 3, 7, 7).data;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] > 200 && d[i + 1] < 90) return true;
  return false;
}"""
)


def test_search_and_track_table(floor: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    open_map(pg, floor, 5)
    box = pg.get_by_role("searchbox", name="Search")
    box.fill("heron")
    hits = pg.locator("#search-results .search-hit")
    hits.first.wait_for()
    assert hits.count() == 1 and "NIGHT HERON" in hits.first.text_content()
    box.fill(floor.vessels[0]["id"])  # by MMSI
    pg.wait_for_function(
        "() => document.querySelector('#search-results .search-hit')?.textContent.includes('CARIB')"
    )
    box.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for(timeout=8000)
    assert "CARIB TRADER" in pg.text_content(".leaflet-popup-content")
    box.fill(floor.aircraft["id"])  # by ICAO address
    pg.wait_for_function("() => document.querySelectorAll('#search-results .search-hit').length === 1")
    box.fill("")
    pg.get_by_role("button", name="Track table").click()
    pg.wait_for_function("() => document.querySelectorAll('#track-tbody tr').length === 5")
    first_name = "() => document.querySelector('#track-tbody tr td').textContent"
    assert pg.evaluate(first_name) == "NIGHT HERON"  # by level, highest first
    pg.locator("#track-table th[data-col=name] button").click()
    pg.wait_for_function(f"() => ({first_name})() === ''")  # ascending: the unnamed first
    pg.locator("#track-table th[data-col=name] button").click()
    names = (
        "() => Array.from(document.querySelectorAll('#track-tbody tr td:first-child'), (e) => e.textContent)"
    )
    pg.wait_for_function(f"() => ({names})()[0] !== ''")
    got = pg.evaluate(names)
    assert got == sorted(got, key=str.lower, reverse=True) and "PORT TENDER" in got
    pg.select_option("#table-kind", "aircraft")
    pg.wait_for_function("() => document.querySelectorAll('#track-tbody tr').length === 1")
    assert watch.errors == []


def test_keyboard_and_800px_layout(floor: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    pg.set_viewport_size({"width": 800, "height": 900})
    open_map(pg, floor, 5)
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length === 4")
    strip = pg.locator("#feed-strip").bounding_box()
    alerts = pg.locator("#alerts").bounding_box()
    overlap_x = min(strip["x"] + strip["width"], alerts["x"] + alerts["width"]) - max(strip["x"], alerts["x"])
    overlap_y = min(strip["y"] + strip["height"], alerts["y"] + alerts["height"]) - max(
        strip["y"], alerts["y"]
    )
    assert overlap_x <= 0 or overlap_y <= 0, (strip, alerts)
    assert strip["x"] + strip["width"] <= 800 + 1
    pg.screenshot(path="/tmp/floor_800.png", full_page=True)
    # keyboard: focus the first alert, move down, Enter flies to its track
    pg.locator("#alert-list > li").first.focus()
    pg.keyboard.press("ArrowDown")
    assert pg.evaluate("() => document.activeElement.dataset.alertId") == aid(4)
    pg.keyboard.press("Enter")
    pg.locator(".leaflet-popup-content").wait_for(timeout=8000)
    assert "NIGHT HERON" in pg.text_content(".leaflet-popup-content")
    assert watch.errors == []


def test_map_aids_and_shared_url(floor: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    v = floor.vessels[1]
    pg.goto(floor.url + f"#8/18.0000/-77.0000&track={v['key']}&level=critical")
    pg.wait_for_function("() => window.mdaMap && mdaMap.connected() && mdaMap.trackCount() === 5")
    assert pg.evaluate("() => mdaMap.map().getZoom()") == 8
    assert pg.evaluate("() => mdaMap.filters().level") == "critical"
    pg.get_by_role("region", name="Selected track").wait_for()
    assert "NIGHT HERON" in pg.text_content("#track-panel")
    pg.wait_for_function("() => location.hash.includes('level=critical') && location.hash.includes('track=')")
    box = pg.locator("#map").bounding_box()
    pg.mouse.move(box["x"] + 200, box["y"] + 300)
    assert "°N" in pg.text_content("#cursor-pos") and "°W" in pg.text_content("#cursor-pos")
    assert pg.get_by_text("Graticule").count() == 1
    # range and bearing between two clicked points, checked against the page's own projection
    pg.get_by_role("button", name="Range & bearing").click()
    pg.mouse.click(box["x"] + 150, box["y"] + 500)
    pg.mouse.click(box["x"] + 450, box["y"] + 500)
    out = pg.text_content("#range-out")
    assert "NM" in out and "°T" in out
    assert 85 <= float(out.split("·")[1].strip()[:3]) <= 95, out  # due east, give or take the projection
    assert watch.errors == []
