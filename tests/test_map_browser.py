"""The live map in real headless Chromium against a real uvicorn server (no mocks).

Needs /usr/bin/chromium (Debian package; CI installs it), the `playwright` Python package (used only
as a driver: no `playwright install`, the system Chromium is launched) and `npm ci --prefix web`.
"""

from __future__ import annotations

import functools
import gzip
import json
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from mdacentre.api.auth import Security
from mdacentre.api.vocabulary import vocabulary
from mdacentre.api.web import MemoryMapState, create_app
from mdacentre.model.batch import TrackKind
from mdacentre.model.trackid import format_track_key
from tests.authkit import PASSWORD, make_security
from tests.floorkit import floor_routers

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
SHARED = REPO.parent / "shared" / "data"
CHROMIUM = Path("/usr/bin/chromium")
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent (apt-get install chromium)"),
    pytest.mark.skipif(
        not (WEB / "node_modules" / "leaflet" / "dist" / "leaflet.js").exists(),
        reason="Leaflet not installed: run `npm ci --prefix web`",
    ),
    pytest.mark.skipif(not SHARED.exists(), reason=f"shared test data absent at {SHARED}"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (driver only)")


# ---------------------------------------------------------------- real data -> map JSON


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def real_vessels(n: int, t: float) -> list[dict[str, Any]]:
    """The first ``n`` moving vessels south of 24N in the recorded Caribbean AIS selection (pyais)."""
    from pyais.stream import FileReaderStream

    out: dict[int, dict[str, Any]] = {}
    for msg in FileReaderStream(str(SHARED / "ais" / "derived_caribbean_box_selection.nmea")):
        d: dict[str, Any] = msg.decode().asdict()
        if (
            d["msg_type"] not in (1, 2, 3, 18)
            or d["mmsi"] in out
            or not d["speed"]
            or d["speed"] < 1
            or d["lat"] > 24
        ):
            continue
        heading = None if d["heading"] in (None, 511) else float(d["heading"])
        out[d["mmsi"]] = {
            "key": format_track_key(TrackKind.VESSEL, d["mmsi"]),
            "kind": "vessel",
            "id": str(d["mmsi"]),
            "name": None,
            "lat": float(d["lat"]),
            "lon": float(d["lon"]),
            "sog": float(d["speed"]),
            "cog": float(d["course"]),
            "heading": heading,
            "alt_ft": None,
            "t": iso(t),
            "flag": None,
            "ship_type": None,
            "score": 5,
            "level": "info",
            "reasons": [],
        }
        if len(out) == n:
            break
    return list(out.values())


def real_aircraft() -> dict[str, Any]:
    """The Kingston calibration flight (OpenSky-style state vectors), mid-flight point."""
    with gzip.open(SHARED / "adsb" / "traffic_opensky_calibration_kingston.json.gz", "rt") as fh:
        rows = json.load(fh)
    r = rows[len(rows) // 2]
    return {
        "key": format_track_key(TrackKind.AIRCRAFT, int(r["icao24"], 16)),
        "kind": "aircraft",
        "id": r["icao24"].lower(),
        "name": (r.get("callsign") or "").strip() or None,
        "lat": r["latitude"],
        "lon": r["longitude"],
        "sog": float(r["groundspeed"]),
        "cog": float(r["track"]),
        "heading": None,
        "alt_ft": float(r["altitude"]),
        "t": iso(r["timestamp"] / 1000),
        "flag": None,
        "ship_type": None,
        "score": 0,
        "level": "info",
        "reasons": [],
    }


def alert_for(track: dict[str, Any], alert_id: str, t: str, level: str, category: str) -> dict[str, Any]:
    return {
        "id": alert_id,
        "version": 1,
        "status": "open",
        "category": category,
        "level": level,
        "score": 80,
        "time": t,
        "track": {k: track[k] for k in ("kind", "id", "name", "lat", "lon", "sog", "cog")},
        "zone": {"id": "jm_ts", "name": "Jamaica territorial sea (approx.)", "state": "JM"},
        "reasons": ["entered territorial sea", "AIS gap 3 h before entry"],
    }


def zones() -> dict[str, Any]:
    """A watch area from the project's zone library when present, plus a gate line and a TS ring."""
    feats: list[dict[str, Any]] = []
    lib = REPO / "geofences" / "watch_areas.geojson"
    if lib.exists():
        feats += json.loads(lib.read_text(encoding="utf-8"))["features"][:1]
    feats.append(
        {
            "type": "Feature",
            "properties": {
                "id": "windward",
                "name": "Windward Passage gate",
                "kind": "transit_gate",
                "state": "XX",
            },
            "geometry": {"type": "LineString", "coordinates": [[-74.4, 20.0], [-73.4, 19.7]]},
        }
    )
    ring = [[-78.6, 17.5], [-75.9, 17.5], [-75.9, 18.8], [-78.6, 18.8], [-78.6, 17.5]]
    feats.append(
        {
            "type": "Feature",
            "properties": {
                "id": "jm_ts",
                "name": "Jamaica TS (box)",
                "kind": "territorial_sea",
                "state": "JM",
            },
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
    )
    return {"type": "FeatureCollection", "features": feats}


def feeds() -> list[dict[str, Any]]:
    return [
        {
            "name": "ais-kingston",
            "kind": "ais",
            "transport": "tcp",
            "connected": True,
            "msgs_per_s": 12.5,
            "last_msg_age_s": 1.2,
            "rejects": {"bad_checksum": 3, "not_nmea": 240},
            "reconnects": 1,
        },
        {
            "name": "adsb-beast",
            "kind": "adsb",
            "transport": "beast",
            "connected": False,
            "msgs_per_s": 0.0,
            "last_msg_age_s": 400.0,
            "rejects": {},
            "reconnects": 7,
        },
        {  # connected and busy, but every line is dropped (bad clock): not "up"
            "name": "ais-badclock",
            "kind": "ais",
            "transport": "tcp",
            "connected": True,
            "msgs_per_s": 134.0,
            "last_msg_age_s": 0.5,
            "rejects": {},
            "reconnects": 0,
            "state": "dropping",
            "records_used_per_s": 0.0,
        },
    ]


# ---------------------------------------------------------------- server and browser


@dataclass
class Served:
    state: MemoryMapState
    port: int
    server: uvicorn.Server
    thread: threading.Thread
    vessels: list[dict[str, Any]] = field(default_factory=list)
    aircraft: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@functools.cache
def browser_security() -> Security:
    """One users file for the module (sessions survive a server restart, as they do in one process)."""
    return make_security(Path(tempfile.mkdtemp(prefix="mda-browser-auth-")))


def serve(
    state: MemoryMapState,
    port: int = 0,
    vocab: dict[str, Any] | None = None,
    security: Security | None = None,
) -> Served:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sec = security or browser_security()
    config = uvicorn.Config(
        create_app(state, WEB, floor_routers(state, sec), vocabulary=vocab, security=sec),
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.02)
    return Served(state, sock.getsockname()[1], server, thread)


def filled_state() -> tuple[MemoryMapState, list[dict[str, Any]], dict[str, Any]]:
    state = MemoryMapState()
    plane = real_aircraft()
    t = datetime.fromisoformat(plane["t"]).timestamp()
    vessels = real_vessels(3, t - 30)
    vessels[0].update(
        name="CARIB TRADER",
        flag="PA",
        ship_type=70,
        score=82,
        level="high",
        reasons=["entered territorial sea", "AIS gap 3 h before entry"],
    )
    state.upsert_tracks([*vessels, plane])
    state.add_alert(alert_for(vessels[0], "a-1", vessels[0]["t"], "high", "zone_entry"))
    state.set_zones(zones())
    state.set_feeds(feeds())
    return state, vessels, plane


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    state, vessels, plane = filled_state()
    s = serve(state)
    s.vessels, s.aircraft = vessels, plane
    yield s
    s.stop()


@dataclass
class Watch:
    """Console errors, page errors and every requested URL of one page."""

    errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        return [u for u in self.urls if urlsplit(u).hostname != "127.0.0.1"]


@pytest.fixture(scope="module")
def browser_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROME_ARGS,
            viewport={"width": 1600, "height": 900},
        )
        yield ctx
        ctx.close()


@pytest.fixture
def page(browser_ctx: Any) -> Iterator[tuple[Any, Watch]]:
    watch = Watch()
    pg = browser_ctx.new_page()
    pg.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: watch.errors.append(f"pageerror: {e}"))
    pg.on("request", lambda r: watch.urls.append(r.url))
    yield pg, watch
    pg.close()


# The map's canvas layers show their frames as ImageBitmaps (a 'bitmaprenderer' context,
# web/js/canvasframe.js): a test reads their pixels from a copy on a 2D canvas.
CANVAS_2D = (
    "((c) => { const s = document.createElement('canvas'); s.width = c.width; s.height = c.height;"
    " const g = s.getContext('2d'); g.drawImage(c, 0, 0); return g; })"
)

DRAWN_AT = (
    """(key) => {
  const p = window.mdaMap.screenPoint(key);
  if (!p) return false;
  const dpr = window.devicePixelRatio || 1;
  for (const c of document.querySelectorAll('canvas.mda-track-canvas')) {
    const d = """
    + CANVAS_2D
    + """(c).getImageData(Math.round(p.x * dpr) - 2, Math.round(p.y * dpr) - 2, 5, 5).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
  }
  return false;
}"""
)


PAN_AND_TIME = """async () => {
  const draw = [], frame = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    mdaMap.map().panBy([i % 2 ? -60 : 60, 30], {animate: false});
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    frame.push(performance.now() - t0);
    draw.push(mdaMap.lastDrawMs());
  }
  return {draw, frame};
}"""


def sign_in_page(pg: Any, base: str, name: str = "watch", password: str = PASSWORD) -> None:
    """Fill in the sign-in page like a person; the page then opens the map."""
    pg.goto(base.rstrip("/") + "/login")
    pg.fill("#login-name", name)
    pg.fill("#login-password", password)
    pg.click("#login-submit")
    pg.wait_for_url(base.rstrip("/") + "/", timeout=15000)


def open_map(pg: Any, s: Served, tracks: int) -> None:
    pg.goto(s.url)
    if urlsplit(pg.url).path == "/login":
        sign_in_page(pg, s.url)
    pg.wait_for_function(
        f"() => window.mdaMap && mdaMap.connected() && mdaMap.trackCount() === {tracks}"
        f" && mdaMap.drawnCount() === {tracks}",
        timeout=15000,
    )


# ---------------------------------------------------------------- tests


def test_page_loads_offline_and_draws_tracks(served: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    open_map(pg, served, 4)
    assert pg.get_attribute("#map", "data-track-count") == "4"
    for tr in [*served.vessels, served.aircraft]:
        assert pg.evaluate(DRAWN_AT, tr["key"]), f"no marker pixels at {tr['key']}"
    pg.wait_for_selector("#alert-list li")
    alerts = pg.locator("#alert-list li")
    assert alerts.count() == 1
    assert "CARIB TRADER" in alerts.first.inner_text()
    assert "high" in (alerts.first.get_attribute("class") or "")
    assert pg.inner_text("#count-vessel") == "3" and pg.inner_text("#count-aircraft") == "1"
    pg.wait_for_selector(".feed-bad")  # the disconnected ADS-B feed is flagged
    assert "rejects 243" in pg.inner_text("#feed-strip")
    assert pg.inner_text("#last-data").startswith(served.aircraft["t"][:10])
    # recorded data is years old and not moving: STALE once the pace is known, never before
    assert "STALE" not in pg.inner_text("#last-data-age")
    pg.wait_for_function("() => document.getElementById('last-data-age').textContent.includes('STALE')")
    assert pg.inner_text("#conn") == "STALE"  # the header does not call a stale picture LIVE
    bad_clock = pg.locator(".feed", has_text="ais-badclock")
    assert "DROPPING ALL LINES" in bad_clock.inner_text() and " up" not in bad_clock.inner_text()
    assert "feed-bad" in (bad_clock.get_attribute("class") or "")
    pg.wait_for_selector("text=Territorial seas (1)")
    pg.wait_for_selector("text=Transit gates (1)")
    # the land is SVG (rasterised off the main thread), its islands added a few at a time
    pg.wait_for_function("() => document.querySelectorAll('.leaflet-land-pane svg path').length > 10")
    pg.screenshot(path="/tmp/map.png")
    assert watch.errors == []
    assert watch.foreign() == []
    assert any(u.endswith("/static/data/land.geojson") for u in watch.urls)


def test_track_and_alert_pushed_after_load_appear(served: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    open_map(pg, served, 4)
    new = dict(served.vessels[1], key="vessel:338123456", id="338123456", name="LATE ARRIVAL")
    new.update(lat=18.3, lon=-77.5, level="critical", score=95, reasons=["dark target"])
    served.state.upsert_tracks([new])
    try:
        pg.wait_for_function("() => mdaMap.trackCount() === 5 && mdaMap.drawnCount() === 5", timeout=5000)
        assert pg.evaluate(DRAWN_AT, new["key"])
        later = iso(datetime.fromisoformat(served.aircraft["t"]).timestamp() + 60)
        served.state.add_alert(alert_for(new, "a-2", later, "critical", "dark_target"))
        pg.wait_for_function("() => document.querySelectorAll('#alert-list li').length === 2", timeout=5000)
        first = pg.locator("#alert-list li").first
        assert "LATE ARRIVAL" in first.inner_text()  # newest first
        assert "critical" in (first.get_attribute("class") or "")
    finally:
        served.state.remove_tracks([new["key"]])
    pg.wait_for_function("() => mdaMap.trackCount() === 4", timeout=5000)
    assert watch.errors == [] and watch.foreign() == []


def test_click_on_track_opens_popup_with_details(served: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    open_map(pg, served, 4)
    v = served.vessels[0]
    pt = pg.evaluate("(k) => mdaMap.screenPoint(k)", v["key"])
    box = pg.locator("#map").bounding_box()
    pg.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])
    popup = pg.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    text = popup.inner_text()
    for needle in ("CARIB TRADER", v["id"], "PA", "70 cargo", "kn", "entered territorial sea", "82 / 100"):
        assert needle in text, f"{needle!r} missing from popup: {text!r}"
    pg.screenshot(path="/tmp/map_popup.png")
    assert watch.errors == []


def test_alert_click_flies_to_track(served: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    open_map(pg, served, 4)
    zoom0 = pg.evaluate("() => mdaMap.map().getZoom()")
    pg.locator("#alert-list li", has_text="CARIB TRADER").click()
    pg.locator(".leaflet-popup-content").wait_for(timeout=8000)
    assert "CARIB TRADER" in pg.inner_text(".leaflet-popup-content")
    center = pg.evaluate("() => mdaMap.map().getCenter()")
    v = served.vessels[0]
    assert abs(center["lat"] - v["lat"]) < 0.5 and abs(center["lng"] - v["lon"]) < 0.5
    assert pg.evaluate("() => mdaMap.map().getZoom()") > zoom0
    assert watch.errors == []


def test_map_takes_its_vocabulary_from_the_server(page: tuple[Any, Watch]) -> None:
    """Key format and kind names served by /api/vocabulary are the ones the page uses (no copy in app.js)."""
    pg, watch = page
    vocab = vocabulary(["zone_entry"])
    vocab["track_key"] = dict(vocab["track_key"], template="{kind}/{id}", separator="/")
    vocab["track_kinds"] = [dict(k, name=f"{k['name']} (served)") for k in vocab["track_kinds"]]
    state, vessels, plane = filled_state()
    tracks = [dict(t, key=f"{t['kind']}/{t['id']}") for t in [*vessels, plane]]
    state.remove_tracks([t["key"] for t in [*vessels, plane]])
    state.upsert_tracks(tracks)
    s = serve(state, vocab=vocab)
    try:
        open_map(pg, s, 4)
        assert pg.evaluate("() => mdaMap.vocabulary().keyTemplate") == "{kind}/{id}"
        assert pg.evaluate("() => mdaMap.vocabulary().kinds") == [k["id"] for k in vocab["track_kinds"]]
        assert pg.inner_text("#alert-list li").count("Vessel (served)") == 1
        assert pg.inner_text("#count-vessel") == "3"
        # the alert names its track by (kind, id): the page finds it only through the served template
        pg.locator("#alert-list li", has_text="CARIB TRADER").click()
        pg.locator(".track-popup .leaflet-popup-content").wait_for(timeout=8000)
        text = pg.inner_text(".leaflet-popup-content")
        assert "82 / 100" in text and "Vessel (served)" in text and "Not in the current picture" not in text
        assert any(u.endswith("/api/vocabulary") for u in watch.urls)
        assert watch.errors == []
    finally:
        s.stop()


def test_5000_tracks_stay_fast(served: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    open_map(pg, served, 4)
    base = served.vessels[0]
    many = []
    for i in range(5000):
        lat = 8.0 + (i % 100) * 0.2
        lon = -88.0 + (i // 100) * 0.6
        many.append(
            dict(
                base,
                key=f"vessel:{900000000 + i}",
                id=str(900000000 + i),
                lat=lat,
                lon=lon,
                cog=float(i % 360),
            )
        )
    idle = sorted(pg.evaluate(PAN_AND_TIME)["frame"])
    t0 = time.perf_counter()
    served.state.upsert_tracks(many)
    try:
        pg.wait_for_function("() => mdaMap.trackCount() === 5004", timeout=15000)
        pg.wait_for_function("() => mdaMap.drawnCount() > 4000", timeout=15000)
        arrive_s = time.perf_counter() - t0
        timing = pg.evaluate(PAN_AND_TIME)
        draw, frame = sorted(timing["draw"]), sorted(timing["frame"])
        print(
            f"5000 tracks: arrived+drawn in {arrive_s:.2f} s; redraw ms median {draw[4]:.1f} max {draw[-1]:.1f};"
            f" pan-to-second-frame ms median {frame[4]:.1f} max {frame[-1]:.1f} (4 tracks: {idle[4]:.1f})"
        )
        # Software-rendered Chromium on 2 shared cores: a GPU screen is many times faster. The bounds
        # catch a DOM-marker or quadratic regression, not a 60 fps budget.
        assert draw[4] < 100, f"redrawing 5000 tracks takes {draw[4]:.0f} ms (median)"
        assert frame[4] < 400, f"a pan with 5000 tracks takes {frame[4]:.0f} ms to reach the screen (median)"
    finally:
        served.state.remove_tracks([t["key"] for t in many])
    pg.wait_for_function("() => mdaMap.trackCount() === 4", timeout=15000)
    assert watch.errors == []


def test_reconnects_after_server_restart(page: tuple[Any, Watch]) -> None:
    pg, watch = page
    state, vessels, plane = filled_state()
    s = serve(state)
    open_map(pg, s, 4)
    port = s.port
    s.stop()
    pg.wait_for_function("() => !mdaMap.connected()", timeout=10000)
    pg.wait_for_selector(".conn-bad", timeout=10000)
    assert "LINK DOWN" in pg.inner_text("#conn")
    # while retrying, the status never looks like a fresh start: sampled across several retries
    seen = {pg.inner_text("#conn").split(" ·")[0] for _ in range(12) if pg.wait_for_timeout(250) is None}
    assert seen == {"LINK DOWN"}, seen
    state.remove_tracks([plane["key"]])  # the picture changed while the link was down
    s2 = serve(state, port)
    try:
        pg.wait_for_function("() => mdaMap.connected() && mdaMap.trackCount() === 3", timeout=15000)
        # connected again; the recorded picture is years old, so the header says STALE, not LIVE
        pg.wait_for_function("() => document.getElementById('conn').textContent === 'STALE'", timeout=10000)
    finally:
        s2.stop()
    # Chromium itself logs the refused reconnection attempts; nothing else may fail.
    assert [e for e in watch.errors if "WebSocket" not in e] == []


def test_service_health_badge_follows_readiness(served: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    served.state.set_health(
        {
            "ready": False,
            "reasons": ["broker_disconnected"],
            "checks": {
                "broker": {"ok": False, "reason": "broker_disconnected", "detail": "connection refused"}
            },
        }
    )
    open_map(pg, served, len(served.vessels) + 1)
    badge = pg.locator("#service-health")
    pg.wait_for_function("() => document.getElementById('service-health').textContent.includes('NOT READY')")
    assert "broker disconnected" in badge.text_content()
    assert "connection refused" in (badge.get_attribute("title") or "")
    served.state.set_health({"ready": True, "reasons": [], "checks": {"broker": {"ok": True}}})  # pushed live
    pg.wait_for_function("() => document.getElementById('service-health').textContent === 'SERVICE READY'")
    assert "conn-ok" in (badge.get_attribute("class") or "")
    assert not watch.errors, watch.errors
