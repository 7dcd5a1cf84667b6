"""The live map's HTTP/WebSocket server: a FastAPI app over a :class:`MapState`.

The service owns the real picture and implements :class:`MapState`; :class:`MemoryMapState`
is a small real implementation that holds plain dicts (used by tests and replays).

Routes (all same-origin, no CORS, strict security headers)::

    GET /                    web/index.html (or a page saying to run `npm ci --prefix web`)
    GET /static/<file>       files under web/ (never node_modules, never hidden files)
    GET /vendor/leaflet/<f>  web/node_modules/leaflet/dist/<f>
    GET /api/tracks          [track, ...]
    GET /api/alerts?limit=N  [alert, ...] newest first, 1 <= N <= 1000
    GET /api/zones           GeoJSON FeatureCollection
    GET /api/feeds           [feed, ...]
    GET /api/vocabulary      levels, alert statuses, track kinds, categories, track-key format
    GET /metrics             Prometheus text
    GET /healthz             {"status": "ok", "leaflet": bool}; the service's liveness report instead
                             when it passes its health router (api/health.py), which adds GET /readyz
    WS  /ws                  snapshot, its tracks in columnar frames, synced; then tracks / alert /
                             feeds / heartbeat messages (api/mapwire.py, docs/map.md)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, FastAPI, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mdacentre.alerting.alerts import AlertStatus
from mdacentre.api.auth import Security, protect
from mdacentre.api.auth.scope import shared_scope
from mdacentre.api.mapstate import MapState
from mdacentre.api.mapwire import SEQ, ScopeFrames, SharedFrames, TrackWire
from mdacentre.api.vocabulary import vocabulary as default_vocabulary
from mdacentre.model.batch import TrackKind
from mdacentre.model.errors import MdaError
from mdacentre.model.findings import Level
from mdacentre.runtime.metrics import Metrics

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
SNAPSHOT_ALERTS = 200
MAX_ALERTS_LIMIT = 1000
RESYNC_TYPE = "resync"  # internal: a client queue overflowed, send it a fresh snapshot

STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".map": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")

NPM_MISSING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mdacentre map: setup needed</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css"></head>
<body class="setup"><main class="setup-box">
<h1>Map library not installed</h1>
<p>The map page needs Leaflet from the npm registry, installed next to the page.
On the server, in the repository root, run:</p>
<pre>npm ci --prefix web</pre>
<p>then reload this page. The data API (<a href="/api/tracks">/api/tracks</a>,
<a href="/api/alerts">/api/alerts</a>, <a href="/healthz">/healthz</a>) works meanwhile.</p>
</main></body></html>
"""


class MapStateError(MdaError):
    """A track, alert or zone document handed to the map state is malformed."""


LEVELS = [lv.label for lv in Level]  # the alert levels as they appear in JSON
STATUSES = [st.value for st in AlertStatus]


class MessageType(StrEnum):
    SNAPSHOT = "snapshot"
    TRACKS = "tracks"
    ALERT = "alert"
    FEEDS = "feeds"
    HEARTBEAT = "heartbeat"
    HEALTH = "health"
    SYNCED = "synced"  # the snapshot's last tracks frame was sent


TRACK_KINDS = frozenset(k.label for k in TrackKind)


# --------------------------------------------------------------------------- in-memory state


def check_track(track: dict[str, Any]) -> None:
    """Raise :class:`MapStateError` unless ``track`` has the fields the page needs."""
    key = track.get("key")
    kind = track.get("kind")
    if not isinstance(key, str) or kind not in TRACK_KINDS:
        raise MapStateError(f"track {track!r} needs a string 'key' and a 'kind' in {sorted(TRACK_KINDS)}")
    lat, lon = track.get("lat"), track.get("lon")
    if not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)):
        raise MapStateError(f"track {key}: 'lat' and 'lon' must be numbers in degrees, got {lat!r}, {lon!r}")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise MapStateError(f"track {key}: position ({lat}, {lon}) is outside -90..90 / -180..180 degrees")
    if track.get("level", Level.INFO.label) not in LEVELS:
        raise MapStateError(f"track {key}: level {track.get('level')!r} must be one of {LEVELS}")


def check_alert(alert: dict[str, Any]) -> None:
    """Raise :class:`MapStateError` unless ``alert`` has an id, a known status and level, and a track."""
    if not alert.get("id"):
        raise MapStateError(f"alert {alert!r} needs a non-empty 'id'")
    if alert.get("status") not in STATUSES:
        raise MapStateError(f"alert {alert['id']}: status must be one of {STATUSES}")
    if alert.get("level") not in LEVELS:
        raise MapStateError(f"alert {alert['id']}: level must be one of {LEVELS}")
    if not isinstance(alert.get("track"), dict):
        raise MapStateError(f"alert {alert['id']}: 'track' must be an object with kind, id, lat, lon")


def _event_seconds(iso: Any) -> float:
    """ISO-8601 time to epoch seconds; unparseable times sort last (0.0)."""
    if not isinstance(iso, str):
        return 0.0
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return 0.0
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class MemoryMapState:
    """A real, simple :class:`MapState`: plain dicts behind a lock, fan-out to subscriber queues.

    ``publish`` may be called from any thread; each subscriber queue is fed on its own event loop.
    A subscriber that falls ``queue_size`` messages behind is reset to one ``resync`` message (the
    server then sends it a fresh snapshot) and the overflow is counted in ``mda_map_client_resyncs_total``.
    """

    def __init__(
        self, metrics: Metrics | None = None, queue_size: int = 1000, max_alerts: int = 1000
    ) -> None:
        if queue_size < 2 or max_alerts < 1:
            raise MapStateError(f"queue_size ({queue_size}) must be >= 2 and max_alerts ({max_alerts}) >= 1")
        self.metrics = metrics if metrics is not None else Metrics()
        self._queue_size = queue_size
        self._max_alerts = max_alerts
        self._lock = threading.Lock()
        self._tracks: dict[str, dict[str, Any]] = {}
        self._alerts: dict[str, dict[str, Any]] = {}
        self._zones: dict[str, Any] = {"type": "FeatureCollection", "features": []}
        self._feeds: list[dict[str, Any]] = []
        self._health: dict[str, Any] | None = None
        self._subs: dict[asyncio.Queue[dict[str, Any]], asyncio.AbstractEventLoop] = {}
        self._seq = 0  # numbers the tracks messages, so a scope's clients share their encoding

    # -- MapState reads
    def tracks(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._tracks.values())

    def alerts(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._alerts.values())
        items.sort(key=lambda a: _event_seconds(a.get("time")), reverse=True)
        return items[: max(0, limit)]

    def zones_geojson(self) -> dict[str, Any]:
        with self._lock:
            return self._zones

    def feeds(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._feeds)

    def metrics_text(self) -> str:
        return self.metrics.prometheus()

    # -- hub
    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=self._queue_size)
        with self._lock:
            self._subs[q] = asyncio.get_running_loop()
            n = len(self._subs)
        self.metrics.set("mda_map_clients", n)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subs.pop(q, None)
            n = len(self._subs)
        self.metrics.set("mda_map_clients", n)

    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)

    def publish(self, msg: dict[str, Any]) -> None:
        """Hand ``msg`` to every subscriber (thread-safe)."""
        with self._lock:
            subs = list(self._subs.items())
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for q, loop in subs:
            if loop is current:
                self._offer(q, msg)
                continue
            try:
                loop.call_soon_threadsafe(self._offer, q, msg)
            except RuntimeError:  # that loop is closed: the client is gone
                self.unsubscribe(q)

    def _offer(self, q: asyncio.Queue[dict[str, Any]], msg: dict[str, Any]) -> None:
        try:
            q.put_nowait(msg)
        except asyncio.QueueFull:
            while not q.empty():
                q.get_nowait()
            q.put_nowait({"type": RESYNC_TYPE})
            self.metrics.inc("mda_map_client_resyncs_total")

    # -- writes (each publishes what changed)
    def upsert_tracks(self, tracks: Iterable[dict[str, Any]]) -> None:
        changed = list(tracks)
        for t in changed:
            check_track(t)
        with self._lock:
            for t in changed:
                self._tracks[t["key"]] = t
            self._seq += bool(changed)
            seq = self._seq
        if changed:
            self.publish({"type": MessageType.TRACKS.value, "tracks": changed, "removed": [], SEQ: seq})

    def remove_tracks(self, keys: Iterable[str]) -> None:
        with self._lock:
            removed = [k for k in keys if self._tracks.pop(k, None) is not None]
            self._seq += bool(removed)
            seq = self._seq
        if removed:
            self.publish({"type": MessageType.TRACKS.value, "tracks": [], "removed": removed, SEQ: seq})

    def add_alert(self, alert: dict[str, Any]) -> None:
        """Store (or replace, same id) an alert and push it."""
        check_alert(alert)
        with self._lock:
            self._alerts.pop(alert["id"], None)
            self._alerts[alert["id"]] = alert
            while len(self._alerts) > self._max_alerts:
                self._alerts.pop(next(iter(self._alerts)))
        self.publish({"type": MessageType.ALERT.value, "alert": alert})

    def set_feeds(self, feeds: list[dict[str, Any]]) -> None:
        with self._lock:
            self._feeds = list(feeds)
        self.publish({"type": MessageType.FEEDS.value, "feeds": list(feeds)})

    def set_health(self, report: dict[str, Any]) -> None:
        """The service's readiness report (see api/health.py); pushed when readiness or reasons change."""
        with self._lock:
            before = self._health
            self._health = report
        if before is None or (before.get("ready"), before.get("reasons")) != (
            report.get("ready"),
            report.get("reasons"),
        ):
            self.publish({"type": MessageType.HEALTH.value, "health": report})

    def health(self) -> dict[str, Any] | None:
        with self._lock:
            return self._health

    def set_zones(self, collection: dict[str, Any]) -> None:
        if collection.get("type") != "FeatureCollection" or not isinstance(collection.get("features"), list):
            raise MapStateError("zones must be a GeoJSON FeatureCollection with a 'features' list")
        with self._lock:
            self._zones = collection


# --------------------------------------------------------------------------- app


def dumps(obj: Any) -> bytes:
    """JSON bytes; NaN/inf become null, NumPy scalars/arrays are accepted."""
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def json_response(obj: Any) -> Response:
    return Response(dumps(obj), media_type="application/json")


def content_security_policy(host: str | None) -> str:
    """CSP allowing only this origin (plus ws/wss to the same host)."""
    connect = "'self'"
    if host and _HOST_RE.match(host):
        connect += f" ws://{host} wss://{host}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'none'"
    )


class SecurityHeaders:
    """ASGI middleware adding CSP, nosniff, no-referrer and friends to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", content_security_policy(host).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return str(v.decode("latin-1"))
    return None


def safe_file(root: Path, rel: str, forbidden: frozenset[str] = frozenset()) -> Path | None:
    """The file ``root/rel`` if it is a servable regular file strictly inside ``root``, else None.

    Refuses '..', empty and hidden segments, backslashes, NUL, any segment in ``forbidden``,
    unknown file types, directories and symlinks that lead outside ``root``.
    """
    if "\\" in rel or "\x00" in rel:
        return None
    parts = PurePosixPath(rel).parts
    if not parts or any(p in ("..", "/") or p.startswith(".") or p in forbidden for p in parts):
        return None
    if PurePosixPath(rel).suffix.lower() not in STATIC_TYPES:
        return None
    base = root.resolve()
    try:
        path = (base / Path(*parts)).resolve()
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


def file_response(path: Path) -> FileResponse:
    return FileResponse(
        path, media_type=STATIC_TYPES[path.suffix.lower()], headers={"Cache-Control": "no-cache"}
    )


def leaflet_dir(web_dir: Path) -> Path:
    return web_dir / "node_modules" / "leaflet" / "dist"


def same_origin(origin: str | None, host: str | None) -> bool:
    """True when a WebSocket handshake comes from this server's own page (or from a non-browser client)."""
    if origin is None:
        return True
    return bool(host) and urlsplit(origin).netloc.lower() == (host or "").lower()


def snapshot(state: MapState) -> dict[str, Any]:
    out = {
        "type": MessageType.SNAPSHOT.value,
        "tracks": state.tracks(),
        "alerts": state.alerts(SNAPSHOT_ALERTS),
        "feeds": state.feeds(),
    }
    health = getattr(state, "health", None)
    if health is not None and health() is not None:
        out["health"] = health()
    return out


async def _send_snapshot(ws: WebSocket, state: MapState, wire: TrackWire) -> None:
    """The snapshot head (alerts, feeds, health, track count), its tracks in frames, then ``synced``."""
    head = snapshot(state)
    tracks = head.pop("tracks")
    head["total"] = len(tracks)
    await _send(ws, head)
    for frame in wire.snapshot_frames(tracks):
        await _send(ws, frame)
    await _send(ws, {"type": MessageType.SYNCED.value})


async def _forward(
    ws: WebSocket, state: MapState, wire: TrackWire, msg: dict[str, Any], shared: SharedFrames | None = None
) -> None:
    """One hub message to the client: tracks as a columnar frame (the scope's shared one when the
    client has a scope to share), a resync as a fresh snapshot."""
    kind = msg.get("type")
    if kind == RESYNC_TYPE:
        await _send_snapshot(ws, state, wire)
    elif kind == MessageType.TRACKS.value and shared is not None:
        await ws.send_text(shared.text(msg, wire))
    elif kind == MessageType.TRACKS.value:
        await _send(ws, wire.frame(list(msg.get("tracks", [])), list(msg.get("removed", []))))
    else:
        await _send(ws, msg)


async def _until_disconnect(ws: WebSocket) -> None:
    """Read (and ignore) client messages until the client goes away."""
    while True:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            return


async def _pump(
    ws: WebSocket,
    state: MapState,
    q: asyncio.Queue[dict[str, Any]],
    wire: TrackWire,
    shared: SharedFrames | None = None,
) -> None:
    """Forward hub messages to one client; heartbeat when idle; stop when the client leaves."""
    closed = asyncio.create_task(_until_disconnect(ws))
    getter: asyncio.Task[dict[str, Any]] = asyncio.create_task(q.get())
    try:
        while True:
            done, _ = await asyncio.wait(
                {closed, getter}, timeout=HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED
            )
            if closed in done:
                return
            if getter not in done:
                await _send(ws, {"type": MessageType.HEARTBEAT.value, "server_time": time.time()})
                continue
            msg = getter.result()
            getter = asyncio.create_task(q.get())
            await _forward(ws, state, wire, msg, shared)
    finally:
        for task in (closed, getter):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _send(ws: WebSocket, obj: Any) -> None:
    """One JSON text frame."""
    await ws.send_text(dumps(obj).decode("utf-8"))


def create_app(
    state: MapState,
    web_dir: Path,
    extra_routers: Iterable[APIRouter] = (),
    *,
    vocabulary: dict[str, Any] | None = None,
    security: Security | None = None,
) -> FastAPI:
    """The map app serving ``web_dir`` (the repository's ``web/``) and the JSON/WebSocket API over ``state``.

    ``extra_routers`` are included first, so their routes (the service's ``/healthz``) take precedence.
    ``vocabulary`` is what ``GET /api/vocabulary`` serves (default: :func:`default_vocabulary`).
    Every route is behind :mod:`mdacentre.api.auth` (sign-in, roles, scopes); without ``security``
    nobody can sign in and only the public routes answer.
    """
    web_dir = Path(web_dir)
    if not (web_dir / "index.html").is_file():
        raise MapStateError(f"{web_dir} has no index.html; pass the repository's web/ directory as web_dir")
    app = FastAPI(title="mdacentre map", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    state = protect(app, state, web_dir, security)
    app.add_middleware(SecurityHeaders)
    for router in extra_routers:
        app.include_router(router)
    _add_page_routes(app, web_dir)
    _add_api_routes(app, state, web_dir)
    _add_ws_route(app, state)
    _add_vocabulary_route(app, default_vocabulary() if vocabulary is None else vocabulary)
    return app


def _add_page_routes(app: FastAPI, web_dir: Path) -> None:
    forbidden = frozenset({"node_modules", "package.json", "package-lock.json"})

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        if not (leaflet_dir(web_dir) / "leaflet.js").is_file():
            return HTMLResponse(NPM_MISSING_PAGE, status_code=503)
        return file_response(web_dir / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        path = safe_file(web_dir, "favicon.svg")
        return file_response(path) if path else Response(status_code=404)

    @app.get("/static/{rel:path}", include_in_schema=False)
    def static(rel: str) -> Response:
        path = safe_file(web_dir, rel, forbidden)
        return (
            file_response(path) if path else Response("not found", status_code=404, media_type="text/plain")
        )

    @app.get("/vendor/leaflet/{rel:path}", include_in_schema=False)
    def vendor(rel: str) -> Response:
        path = safe_file(leaflet_dir(web_dir), rel)
        return (
            file_response(path) if path else Response("not found", status_code=404, media_type="text/plain")
        )


def _add_api_routes(app: FastAPI, state: MapState, web_dir: Path) -> None:
    @app.get("/api/tracks")
    def api_tracks() -> Response:
        return json_response(state.tracks())

    @app.get("/api/alerts")
    def api_alerts(limit: int = Query(SNAPSHOT_ALERTS, ge=1, le=MAX_ALERTS_LIMIT)) -> Response:
        return json_response(state.alerts(limit))

    @app.get("/api/zones")
    def api_zones() -> Response:
        return Response(dumps(state.zones_geojson()), media_type="application/geo+json")

    @app.get("/api/feeds")
    def api_feeds() -> Response:
        return json_response(state.feeds())

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(state.metrics_text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/healthz")
    def healthz() -> Response:
        return json_response({"status": "ok", "leaflet": (leaflet_dir(web_dir) / "leaflet.js").is_file()})


def _add_vocabulary_route(app: FastAPI, vocab: dict[str, Any]) -> None:
    body = dumps(vocab)

    @app.get("/api/vocabulary")
    def api_vocabulary() -> Response:
        return Response(body, media_type="application/json")


def _add_ws_route(app: FastAPI, state: MapState) -> None:
    frames = ScopeFrames(dumps)
    app.state.map_frames = frames  # per-scope shared encoders (benchmarks and tests read their counts)

    @app.websocket("/ws")
    async def ws_endpoint(ws: WebSocket) -> None:
        if not same_origin(ws.headers.get("origin"), ws.headers.get("host")):
            await ws.close(code=1008, reason="cross-origin WebSocket refused")
            return
        await ws.accept()
        q = state.subscribe()
        key = shared_scope(q)
        shared = frames.join(key) if key is not None else None
        try:
            wire = TrackWire()
            await _send_snapshot(ws, state, wire)
            await _pump(ws, state, q, wire, shared)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:  # client vanished mid-send
            log.debug("map websocket closed: %r", exc)
        finally:
            state.unsubscribe(q)
            if key is not None:
                frames.leave(key)
