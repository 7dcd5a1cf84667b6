"""The map server's HTTP and WebSocket API over a real MemoryMapState (no mocks), and the basemap build."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from starlette.websockets import WebSocketDisconnect

from mdacentre.alerting.alerts import AlertStatus
from mdacentre.api import mapwire, web
from mdacentre.api.mapwire import TrackWire, WireError, WireReader
from mdacentre.api.vocabulary import vocabulary
from mdacentre.api.web import MapStateError, MemoryMapState, create_app, safe_file
from mdacentre.model.batch import TrackKind
from mdacentre.model.errors import ConfigError, MdaError
from mdacentre.model.findings import Level
from mdacentre.model.trackid import format_track_key, parse_track_key
from tests.authkit import make_security, sign_in
from tools.basemap import MAX_BYTES, build_land, write_basemap

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
SHARED = REPO.parent / "shared" / "data"
LEAFLET = WEB / "node_modules" / "leaflet" / "dist" / "leaflet.js"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason=f"shared test data absent at {SHARED}")
needs_leaflet = pytest.mark.skipif(
    not LEAFLET.exists(), reason="Leaflet not installed: run `npm ci --prefix web`"
)

TRACK_FIELDS = {
    "key", "kind", "id", "name", "lat", "lon", "sog", "cog", "heading", "alt_ft", "t", "flag", "ship_type",
    "score", "level", "reasons",
}  # fmt: skip
ALERT_FIELDS = {"id", "version", "status", "category", "level", "score", "time", "track", "zone", "reasons"}
FEED_FIELDS = {
    "name",
    "kind",
    "transport",
    "connected",
    "msgs_per_s",
    "last_msg_age_s",
    "rejects",
    "reconnects",
}


# ---------------------------------------------------------------- real data -> map JSON


def vessel_tracks(n: int) -> list[dict[str, Any]]:
    """``n`` vessels from the recorded Caribbean AIS selection, decoded with pyais."""
    if not SHARED.exists():
        pytest.skip(f"shared test data absent at {SHARED}")
    from pyais.stream import FileReaderStream

    out: dict[int, dict[str, Any]] = {}
    for msg in FileReaderStream(str(SHARED / "ais" / "derived_caribbean_box_selection.nmea")):
        d: dict[str, Any] = msg.decode().asdict()
        if d["msg_type"] not in (1, 2, 3, 18) or d["mmsi"] in out:
            continue
        out[d["mmsi"]] = {
            "key": format_track_key(TrackKind.VESSEL, d["mmsi"]),
            "kind": "vessel",
            "id": str(d["mmsi"]),
            "name": None,
            "lat": float(d["lat"]),
            "lon": float(d["lon"]),
            "sog": float(d["speed"]),
            "cog": float(d["course"]),
            "heading": None if d["heading"] == 511 else float(d["heading"]),
            "alt_ft": None,
            "t": f"2012-01-27T11:0{len(out)}:00Z",
            "flag": None,
            "ship_type": None,
            "score": 10 * len(out),
            "level": "info",
            "reasons": [],
        }
        if len(out) == n:
            break
    return list(out.values())


def make_alert(track: dict[str, Any], alert_id: str, time_iso: str, level: str = "high") -> dict[str, Any]:
    return {
        "id": alert_id,
        "version": 1,
        "status": "open",
        "category": "zone_entry",
        "level": level,
        "score": 75,
        "time": time_iso,
        "track": {k: track[k] for k in ("kind", "id", "name", "lat", "lon", "sog", "cog")},
        "zone": None,
        "reasons": ["entered watch area"],
    }


def zone_collection() -> dict[str, Any]:
    lib = REPO / "geofences" / "watch_areas.geojson"
    if lib.exists():
        return {"type": "FeatureCollection", "features": json.loads(lib.read_text("utf-8"))["features"][:1]}
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "id": "box",
                    "name": "Box",
                    "kind": "watch_area",
                    "state": "XX",
                    "approximate": True,
                },
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[-80, 15], [-70, 15], [-70, 20], [-80, 15]]],
                },
            }
        ],
    }


FEEDS = [
    {
        "name": "ais-1",
        "kind": "ais",
        "transport": "tcp",
        "connected": True,
        "msgs_per_s": 3.5,
        "last_msg_age_s": 0.4,
        "rejects": {"bad_checksum": 2},
        "reconnects": 0,
    }
]


@pytest.fixture
def state() -> MemoryMapState:
    s = MemoryMapState()
    tracks = vessel_tracks(3)
    s.upsert_tracks(tracks)
    s.add_alert(make_alert(tracks[0], "a-old", "2012-01-27T10:00:00Z"))
    s.add_alert(make_alert(tracks[1], "a-new", "2012-01-27T11:30:00+00:00", "critical"))
    s.set_zones(zone_collection())
    s.set_feeds(FEEDS)
    s.metrics.inc("mda_messages_total", 42, {"feed": "ais-1"})
    return s


@pytest.fixture
def client(state: MemoryMapState, tmp_path: Path) -> TestClient:
    c = TestClient(create_app(state, WEB, security=make_security(tmp_path)))
    sign_in(c)
    return c


# ---------------------------------------------------------------- pages, headers, static files


@needs_leaflet
def test_index_has_security_headers_and_no_inline_script(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "unsafe" not in csp
    assert "connect-src 'self' ws://testserver wss://testserver" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in r.text and "onclick" not in r.text.lower() and "style=" not in r.text
    for src in (
        "/vendor/leaflet/leaflet.js",
        "/static/js/main.js",
        "/static/style.css",
        "/vendor/leaflet/leaflet.css",
    ):
        assert src in r.text
        assert client.get(src).status_code == 200, src


def test_csp_drops_a_forged_host() -> None:
    assert "ws://" not in web.content_security_policy("evil.example; script-src *")
    assert "ws://[::1]:8080" in web.content_security_policy("[::1]:8080")


def test_api_has_security_headers_and_no_cors(client: TestClient) -> None:
    r = client.get("/api/tracks", headers={"Origin": "http://evil.example"})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"
    pre = client.options(
        "/api/tracks", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert pre.status_code >= 400 and "access-control-allow-origin" not in pre.headers


def test_static_types(client: TestClient) -> None:
    r = client.get("/static/js/main.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    land = client.get("/static/data/land.geojson")
    assert land.status_code == 200 and land.headers["content-type"] == "application/geo+json"
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize(
    "url",
    [
        "/static/%2e%2e/mdacentre/web.py",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2fpyproject.toml",
        "/static/%2e%2e%2fpyproject.toml",
        "/static/%5c..%5cpyproject.toml",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/node_modules/leaflet/package.json",
        "/static/node_modules/leaflet/dist/leaflet.js",
        "/static/.gitignore",
        "/static/data/",
        "/static/data",
        "/static/",
        "/static/SOURCES.md",
        "/static/js/main.js%00.png",
        "/vendor/leaflet/%2e%2e/package.json",
        "/vendor/leaflet/%2e%2e/%2e%2e/%2e%2e/index.html",
        "/vendor/leaflet/images/",
    ],
)
def test_path_traversal_and_listing_refused(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404, f"{url} answered {r.status_code}"
    assert "root:" not in r.text and "import" not in r.text


def test_symlink_out_of_web_dir_refused(tmp_path: Path) -> None:
    root = tmp_path / "web"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>x</title>", encoding="utf-8")
    secret = tmp_path / "secret.json"
    secret.write_text('{"password": "x"}', encoding="utf-8")
    (root / "leak.json").symlink_to(secret)
    (root / "ok.json").write_text("{}", encoding="utf-8")
    assert safe_file(root, "leak.json") is None
    assert safe_file(root, "ok.json") == (root / "ok.json").resolve()
    c = TestClient(create_app(MemoryMapState(), root, security=make_security(tmp_path)))
    sign_in(c)
    assert c.get("/static/leak.json").status_code == 404
    assert c.get("/static/ok.json").status_code == 200


def test_without_node_modules_the_page_says_to_run_npm_ci(tmp_path: Path) -> None:
    root = tmp_path / "web"
    root.mkdir()
    shutil.copy(WEB / "index.html", root / "index.html")
    shutil.copy(WEB / "style.css", root / "style.css")
    c = TestClient(create_app(MemoryMapState(), root, security=make_security(tmp_path)))
    sign_in(c)
    r = c.get("/")
    assert r.status_code == 503
    assert "npm ci --prefix web" in r.text and "<script" not in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert c.get("/healthz").json() == {"status": "ok", "leaflet": False}
    assert c.get("/vendor/leaflet/leaflet.js").status_code == 404
    assert c.get("/api/tracks").json() == []


def test_create_app_needs_a_web_dir_with_index(tmp_path: Path) -> None:
    with pytest.raises(MdaError, match="index.html"):
        create_app(MemoryMapState(), tmp_path)


# ---------------------------------------------------------------- JSON API


def test_tracks_shape(client: TestClient) -> None:
    r = client.get("/api/tracks")
    assert r.headers["content-type"] == "application/json"
    tracks = r.json()
    assert len(tracks) == 3
    for t in tracks:
        assert set(t) == TRACK_FIELDS
        assert t["key"] == f"{t['kind']}:{t['id']}"
        assert -90 <= t["lat"] <= 90 and -180 <= t["lon"] <= 180
        assert 5 <= t["lat"] <= 30 and -90 <= t["lon"] <= -55  # the Caribbean selection
        assert 0 <= t["score"] <= 100 and isinstance(t["reasons"], list)


def test_nan_becomes_null(state: MemoryMapState, client: TestClient) -> None:
    t = dict(state.tracks()[0], key="vessel:999", id="999", sog=math.nan, cog=math.nan)
    state.upsert_tracks([t])
    got = {x["key"]: x for x in client.get("/api/tracks").json()}["vessel:999"]
    assert got["sog"] is None and got["cog"] is None


def test_alerts_newest_first_and_limit(client: TestClient) -> None:
    alerts = client.get("/api/alerts").json()
    assert [a["id"] for a in alerts] == ["a-new", "a-old"]
    assert set(alerts[0]) == ALERT_FIELDS
    assert set(alerts[0]["track"]) == {"kind", "id", "name", "lat", "lon", "sog", "cog"}
    assert [a["id"] for a in client.get("/api/alerts?limit=1").json()] == ["a-new"]
    assert client.get("/api/alerts?limit=1000").status_code == 200


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "abc", "1.5", ""])
def test_alerts_limit_validated(client: TestClient, limit: str) -> None:
    r = client.get(f"/api/alerts?limit={limit}")
    assert r.status_code == 422
    assert "limit" in r.text


def test_alert_update_replaces_by_id(state: MemoryMapState, client: TestClient) -> None:
    upd = dict(client.get("/api/alerts?limit=1").json()[0], version=2, status="acknowledged")
    state.add_alert(upd)
    alerts = client.get("/api/alerts").json()
    assert len(alerts) == 2 and alerts[0]["version"] == 2 and alerts[0]["status"] == "acknowledged"


def test_zones_feeds_metrics_health(client: TestClient) -> None:
    r = client.get("/api/zones")
    assert r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["features"]
    for f in fc["features"]:
        assert {"id", "name", "kind", "state"} <= set(f["properties"])
        assert shape(f["geometry"]).is_valid
    feeds = client.get("/api/feeds").json()
    assert len(feeds) == 1 and set(feeds[0]) == FEED_FIELDS
    m = client.get("/metrics")
    assert m.headers["content-type"].startswith("text/plain")
    assert 'mda_messages_total{feed="ais-1"} 42' in m.text
    assert client.get("/healthz").json() == {"status": "ok", "leaflet": LEAFLET.exists()}


def test_memory_state_refuses_bad_documents() -> None:
    s = MemoryMapState()
    good = {"key": "vessel:1", "kind": "vessel", "lat": 18.0, "lon": -76.0, "level": "low"}
    s.upsert_tracks([good])
    for bad, words in [
        (dict(good, lat=91.0), "outside"),
        (dict(good, lat="18"), "numbers"),
        (dict(good, kind="ufo"), "kind"),
        (dict(good, level="severe"), "level"),
        ({k: v for k, v in good.items() if k != "key"}, "key"),
    ]:
        with pytest.raises(MapStateError, match=words):
            s.upsert_tracks([good, bad])
    assert s.tracks() == [good]  # a refused batch changes nothing
    with pytest.raises(MapStateError, match="status"):
        s.add_alert({"id": "x", "status": "new", "level": "low", "track": {}})
    with pytest.raises(MapStateError, match="FeatureCollection"):
        s.set_zones({"type": "Feature"})
    assert issubclass(MapStateError, MdaError)


def test_queue_overflow_becomes_one_resync() -> None:
    async def run() -> tuple[list[dict[str, Any]], float, int]:
        s = MemoryMapState(queue_size=3)
        q = s.subscribe()
        for i in range(5):
            s.publish({"type": "tracks", "tracks": [], "removed": [str(i)]})
        items = [q.get_nowait() for _ in range(q.qsize())]
        n = s.subscriber_count()
        s.unsubscribe(q)
        return items, s.metrics.get("mda_map_client_resyncs_total"), n

    items, resyncs, n = asyncio.run(run())
    assert items[0] == {"type": "resync"} and len(items) == 2 and items[1]["removed"] == ["4"]
    assert resyncs == 1 and n == 1


# ---------------------------------------------------------------- WebSocket


def read_snapshot(ws: Any, reader: WireReader) -> dict[str, Any]:
    """The snapshot head, then its columnar track frames until ``synced``."""
    head = ws.receive_json()
    assert head["type"] == "snapshot" and "tracks" not in head
    while (msg := ws.receive_json())["type"] != "synced":
        reader.apply(msg)
    return head


def with_columns(track: dict[str, Any]) -> dict[str, Any]:
    """A track document as the reader rebuilds it: every column field present (None when missing)."""
    return {**track, **{name: track.get(name) for name in mapwire.DYNAMIC}}


def test_websocket_snapshot_then_pushes(state: MemoryMapState, client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        reader = WireReader()
        snap = read_snapshot(ws, reader)
        assert snap["total"] == 3 and sorted(reader.tracks) == sorted(t["key"] for t in state.tracks())
        assert reader.tracks == {t["key"]: with_columns(t) for t in state.tracks()}
        assert [a["id"] for a in snap["alerts"]] == ["a-new", "a-old"]
        assert snap["feeds"] == FEEDS
        assert state.subscriber_count() == 1
        new = make_alert(state.tracks()[2], "a-3", "2012-01-27T11:45:00Z", "medium")
        state.add_alert(new)  # published from this thread into the server's event loop
        msg = ws.receive_json()
        assert msg == {"type": "alert", "alert": new}
        moved = dict(state.tracks()[0], lat=18.5, lon=-76.5)
        state.upsert_tracks([moved])
        msg = ws.receive_json()
        # a move sends the columns only: the client already has the name, kind, voyage ...
        assert msg["type"] == "tracks" and msg["keys"] == [moved["key"]] and msg["detail"] == []
        assert msg["lat"] == [18.5] and msg["lon"] == [-76.5] and msg["removed"] == []
        assert reader.apply(msg) == [with_columns(moved)]
        renamed = dict(moved, name="RENAMED")
        state.upsert_tracks([renamed])
        msg = ws.receive_json()  # a changed field that is not a column comes with the whole detail
        assert msg["detail"] and msg["detail"][0][0] == 0 and msg["detail"][0][1]["name"] == "RENAMED"
        assert reader.apply(msg) == [with_columns(renamed)]
        state.remove_tracks([moved["key"]])
        msg = ws.receive_json()
        assert msg["type"] == "tracks" and msg["keys"] == [] and msg["removed"] == [moved["key"]]
        state.set_feeds([])
        assert ws.receive_json() == {"type": "feeds", "feeds": []}
        state.publish({"type": web.RESYNC_TYPE})  # an overflowed client is resent the whole picture
        again = read_snapshot(ws, WireReader())
        assert again["total"] == 2
    deadline = time.monotonic() + 5
    while state.subscriber_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert state.subscriber_count() == 0


def test_track_wire_sends_details_only_when_they_change() -> None:
    wire = TrackWire()
    a = {"key": "vessel:1", "kind": "vessel", "id": "1", "name": "A", "lat": 1.0, "lon": 2.0, "level": "info"}
    b = {"key": "vessel:2", "kind": "vessel", "id": "2", "name": "B", "lat": 3.0, "lon": 4.0, "level": "high"}
    first = wire.frame([a, b], [])
    assert (
        first["keys"] == ["vessel:1", "vessel:2"]
        and first["lat"] == [1.0, 3.0]
        and first["cog"] == [None, None]
    )
    assert [i for i, _ in first["detail"]] == [0, 1] and "lat" not in first["detail"][0][1]
    assert "key" not in first["detail"][0][1]
    moved = wire.frame([dict(a, lat=1.5), dict(b, level="critical")], [])
    assert moved["detail"] == [] and moved["lat"] == [1.5, 3.0] and moved["level"] == ["info", "critical"]
    assert wire.frame([dict(a, name="A2")], [])["detail"] == [
        [0, {"kind": "vessel", "id": "1", "name": "A2"}]
    ]
    stray = wire.frame([{"kind": "vessel"}, dict(a, lat=1.6)], [])  # no key: left out and counted
    assert stray["keys"] == ["vessel:1"] and stray["lat"] == [1.6] and wire.skipped == 1
    wire.frame([], ["vessel:2"])  # a removed track is forgotten: it comes back with its details
    assert [i for i, _ in wire.frame([b], [])["detail"]] == [0]
    many = [dict(a, key=f"vessel:{i}", id=str(i)) for i in range(mapwire.SNAPSHOT_CHUNK + 1)]
    frames = list(wire.snapshot_frames(many))
    assert [len(f["keys"]) for f in frames] == [mapwire.SNAPSHOT_CHUNK, 1]
    assert all(len(f["detail"]) == len(f["keys"]) for f in frames)  # a snapshot resets what the client has


def test_wire_reader_refuses_malformed_frames() -> None:
    reader = WireReader()
    with pytest.raises(WireError, match="columnar"):
        reader.apply({"type": "tracks", "tracks": []})
    frame = TrackWire().frame([{"key": "vessel:1", "kind": "vessel", "lat": 1.0, "lon": 2.0}], [])
    with pytest.raises(WireError, match="'lat'"):
        reader.apply(dict(frame, lat=[]))
    with pytest.raises(WireError, match="not a string"):
        reader.apply(dict(frame, keys=[7]))
    assert reader.apply(frame)[0]["lat"] == 1.0


def test_websocket_heartbeat_when_idle(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "HEARTBEAT_S", 0.1)
    with client.websocket_connect("/ws") as ws:
        read_snapshot(ws, WireReader())
        beat = ws.receive_json()
        assert beat["type"] == "heartbeat" and abs(beat["server_time"] - time.time()) < 60


def test_websocket_cross_origin_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as err:
        with client.websocket_connect("/ws", headers={"Origin": "http://evil.example"}) as ws:
            ws.receive_json()
    assert err.value.code == 1008
    with client.websocket_connect("/ws", headers={"Origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "snapshot"


# ---------------------------------------------------------------- basemap


@needs_shared
def test_shipped_basemap_is_small_valid_and_matches_a_fresh_build(tmp_path: Path) -> None:
    shipped = WEB / "data" / "land.geojson"
    size = shipped.stat().st_size
    assert 50_000 < size < MAX_BYTES
    land = shape(json.loads(shipped.read_text("utf-8"))["features"][0]["geometry"])
    assert land.geom_type == "MultiPolygon" and land.is_valid
    coords = shapely.get_coordinates(land)
    assert (abs(coords * 1e4 - (coords * 1e4).round()) < 1e-6).all()  # on the 1e-4 grid
    assert land.contains(Point(-76.79, 18.02))  # Kingston, Jamaica
    assert land.contains(Point(-66.1, 18.4))  # San Juan, Puerto Rico
    assert not land.contains(Point(-75.0, 15.0))  # open Caribbean Sea
    assert land.contains(Point(-61.7, 12.1))  # Grenada (a small island survives)
    stats = write_basemap(SHARED / "geo", tmp_path / "land.geojson")
    fresh = shape(json.loads((tmp_path / "land.geojson").read_text("utf-8"))["features"][0]["geometry"])
    assert stats.bytes < MAX_BYTES and stats.polygons == len(fresh.geoms)
    assert fresh.symmetric_difference(land).area < 0.01  # shipped file is the current build's output


@needs_shared
def test_basemap_stays_close_to_the_source() -> None:
    sources = [
        SHARED / "geo" / n
        for n in ("ne_10m_land_caribbean.geojson", "ne_10m_minor_islands_caribbean.geojson")
    ]
    doc, stats = build_land(sources)
    land = shape(doc["features"][0]["geometry"])
    original = shapely.union_all(
        [shape(f["geometry"]) for s in sources for f in json.loads(s.read_text())["features"]]
    )
    assert abs(land.area - original.area) / original.area < 0.005
    assert land.symmetric_difference(original).area / original.area < 0.01
    assert len(original.geoms) - len(land.geoms) < 0.1 * len(original.geoms)  # islands are kept
    assert stats.vertices < 0.7 * shapely.get_num_coordinates(original)  # and the file is lighter


def test_basemap_errors_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--geo-dir"):
        build_land([tmp_path / "missing.geojson"])
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not readable GeoJSON"):
        build_land([bad])
    with pytest.raises(ConfigError, match="positive"):
        build_land([bad], tolerance=0)


# ---------------------------------------------------------------- vocabulary


def test_vocabulary_comes_from_the_enums_and_names_every_track_key(client: TestClient) -> None:

    r = client.get("/api/vocabulary")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    v = r.json()
    assert v["levels"] == [lv.label for lv in sorted(Level)]
    assert v["alert_statuses"] == [s.value for s in AlertStatus]
    assert set(v["active_statuses"]) == {"open", "updated"}
    assert {k["id"] for k in v["track_kinds"]} == {k.label for k in TrackKind}
    assert all(k["name"] for k in v["track_kinds"])
    assert v["categories"] == []
    tpl = v["track_key"]["template"]
    tracks = client.get("/api/tracks").json()
    assert tracks
    for t in tracks:  # the page builds keys from (kind, id) with the template: they must match
        assert tpl.replace("{kind}", t["kind"]).replace("{id}", t["id"]) == t["key"]
        kind, ident = parse_track_key(t["key"])
        assert kind.label == t["kind"]


def test_vocabulary_carries_the_given_categories(tmp_path: Path) -> None:
    c = TestClient(
        create_app(
            MemoryMapState(),
            WEB,
            vocabulary=vocabulary(["go_fast", "ais_gap", "go_fast"]),
            security=make_security(tmp_path),
        )
    )
    sign_in(c)
    assert c.get("/api/vocabulary").json()["categories"] == ["ais_gap", "go_fast"]
