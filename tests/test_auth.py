"""Sign-in, roles, per-agency scopes and request hardening, over plain HTTP against a real uvicorn server.

Alerts are real :class:`Alert` values on vessels of the recorded Caribbean AIS selection, kept in a real
SQLite alert store; scopes come from the project's routing rules (alerting/routing.toml).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from mdacentre.alerting.acks import AckAction, AckCommand
from mdacentre.alerting.alerts import Alert, AlertStatus
from mdacentre.alerting.routing import load_rules
from mdacentre.alerting.store import AlertStore
from mdacentre.api.auth import Security
from mdacentre.api.auth.routes import ack_routes
from mdacentre.api.auth.users import Role, UserError, UserStore
from mdacentre.api.mapwire import WireReader
from mdacentre.api.web import MemoryMapState, create_app
from mdacentre.model.findings import Level, TrackRef, ZoneRef
from mdacentre.runtime.audit import verify
from tests.authkit import FAST, PASSWORD, LiveServer, make_security, sign_in

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
SHARED = REPO.parent / "shared" / "data"
T0 = 1327662000.0  # 2012-01-27 11:00 UTC, the day of the recording

USERS = (
    ("watch", "watch", None),
    ("jm", "liaison", "jdf-cg"),  # Jamaica Defence Force Coast Guard: JM, every category, low and up
    ("tt", "liaison", "tt-cg"),
    ("ana", "analyst", None),
    ("root", "admin", None),
)


def recorded_vessels(n: int) -> list[TrackRef]:
    if not SHARED.exists():
        pytest.skip(f"shared test data absent at {SHARED}")
    from pyais.stream import FileReaderStream

    out: dict[int, TrackRef] = {}
    for msg in FileReaderStream(str(SHARED / "ais" / "derived_caribbean_box_selection.nmea")):
        d: dict[str, Any] = msg.decode().asdict()
        if d["msg_type"] in (1, 2, 3, 18) and d["mmsi"] not in out:
            out[d["mmsi"]] = TrackRef(
                "vessel", str(d["mmsi"]), None, d["lat"], d["lon"], d["speed"], d["course"]
            )
        if len(out) == n:
            break
    return list(out.values())


def make_alert(i: int, track: TrackRef, state: str) -> Alert:
    return Alert(
        id=f"{i:020x}",
        version=1,
        status=AlertStatus.OPEN,
        category="zone_entry",
        level=Level.HIGH,
        score=75.0,
        time=T0 + i,
        started=T0 + i,
        track_key=int(track.id),
        track=track,
        zone=ZoneRef(f"{state.lower()}_ts", f"{state} territorial sea", state),
        reasons=("entered territorial sea",),
    )


def track_json(t: TrackRef) -> dict[str, Any]:
    return {
        "key": f"vessel:{t.id}",
        "kind": "vessel",
        "id": t.id,
        "lat": t.lat,
        "lon": t.lon,
        "level": "info",
    }


@dataclass
class Site:
    server: LiveServer
    sec: Security
    state: MemoryMapState
    store: AlertStore
    alerts: dict[str, Alert]
    tracks: list[TrackRef]

    @property
    def url(self) -> str:
        return self.server.url

    @contextlib.contextmanager
    def client(self, user: str | None = None) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=self.url, timeout=10) as c:
            if user:
                c.headers["x-csrf-token"] = sign_in(c, user)
            yield c


def build_site(
    tmp: Path,
) -> tuple[Any, Security, MemoryMapState, AlertStore, dict[str, Alert], list[TrackRef]]:
    router = load_rules(REPO / "alerting" / "routing.toml")
    sec = make_security(tmp, USERS, router)
    tracks = recorded_vessels(4)
    state = MemoryMapState()
    state.upsert_tracks([track_json(t) for t in tracks])
    store = AlertStore(tmp / "alerts.sqlite")
    alerts = {"JM": make_alert(1, tracks[0], "JM"), "TT": make_alert(2, tracks[1], "TT")}
    for a in store.admit(list(alerts.values())):
        state.add_alert(a.to_json())

    def apply(cmd: AckCommand) -> dict[str, Any]:
        d = store.acknowledge(cmd.alert_id, cmd.by, cmd.note, retract=cmd.action == AckAction.RETRACT)
        state.add_alert(d)
        return d

    app = create_app(state, WEB, security=sec)
    app.include_router(ack_routes(apply, sec, store.get))
    return app, sec, state, store, alerts, tracks


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    app, sec, state, store, alerts, tracks = build_site(tmp_path)
    server = LiveServer(app)
    try:
        yield Site(server, sec, state, store, alerts, tracks)
    finally:
        server.stop()
        store.close()


# ---------------------------------------------------------------- users file


def test_users_file_holds_argon2_hashes_and_checks_roles(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json", hasher=FAST)
    store.add("alice", Role.WATCH, PASSWORD)
    store.add("jm", Role.LIAISON, PASSWORD, "jdf-cg", known_agencies={"jdf-cg"})
    text = (tmp_path / "users.json").read_text()
    assert PASSWORD not in text and text.count("$argon2id$") == 2
    assert (tmp_path / "users.json").stat().st_mode & 0o777 == 0o600
    assert store.verify("alice", PASSWORD) is not None
    assert store.verify("alice", PASSWORD + "x") is None and store.verify("nobody", PASSWORD) is None
    with pytest.raises(UserError, match="--agency"):
        store.add("bob", Role.LIAISON, PASSWORD)
    with pytest.raises(UserError, match="not in the routing rules"):
        store.add("bob", Role.LIAISON, PASSWORD, "xx-cg", known_agencies={"jdf-cg"})
    with pytest.raises(UserError, match="takes no --agency"):
        store.add("bob", Role.ANALYST, PASSWORD, "jdf-cg")
    with pytest.raises(UserError, match="12 to"):
        store.add("bob", Role.ANALYST, "short")
    store.disable("alice")
    assert store.verify("alice", PASSWORD) is None
    store.set_password("alice", "another long password")
    assert store.verify("alice", "another long password") is not None


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mdacentre", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_users_and_audit_command_line(tmp_path: Path) -> None:
    d = str(tmp_path)
    assert (
        cli("users", "add", "alice", "--role", "watch", "--data-dir", d, stdin=PASSWORD + "\n").returncode
        == 0
    )
    r = cli(
        "users",
        "add",
        "jm",
        "--role",
        "liaison",
        "--agency",
        "jdf-cg",
        "--data-dir",
        d,
        stdin=PASSWORD + "\n",
    )
    assert r.returncode == 0, r.stderr
    r = cli("users", "add", "x1", "--role", "liaison", "--agency", "nowhere", "--data-dir", d, stdin=PASSWORD)
    assert r.returncode == 2 and "not in the routing rules" in r.stderr
    assert cli("users", "passwd", "alice", "--data-dir", d, stdin="a new long password\n").returncode == 0
    assert cli("users", "disable", "jm", "--data-dir", d).returncode == 0
    listing = cli("users", "list", "--data-dir", d).stdout
    assert "alice\twatch officer" in listing and "jm\tagency liaison agency=jdf-cg (disabled)" in listing
    assert UserStore(tmp_path / "users.json").verify("alice", "a new long password") is not None
    ok = cli("audit", "verify", "--data-dir", d)
    assert ok.returncode == 0 and json.loads(ok.stdout)["records"] == 4


@pytest.mark.parametrize("tamper", ["edit", "remove_middle", "cut_tail", "reorder"])
def test_audit_verify_detects_edit_and_removal(tmp_path: Path, tamper: str) -> None:
    from mdacentre.runtime.audit import AuditEvent, AuditLog

    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(5):
        log.append(AuditEvent.ACKNOWLEDGE, f"watch{i}", {"alert": f"{i:020x}", "note": "seen"})
    assert verify(log.path).ok
    lines = log.path.read_text().splitlines()
    if tamper == "edit":
        lines[2] = lines[2].replace("watch2", "watch9")
    elif tamper == "remove_middle":
        del lines[2]
    elif tamper == "cut_tail":
        del lines[-1]
    else:
        lines[1], lines[2] = lines[2], lines[1]
    log.path.write_text("\n".join(lines) + "\n")
    res = verify(log.path)
    assert not res.ok, tamper
    r = cli("audit", "verify", "--file", str(log.path))
    assert r.returncode == 1 and r.stderr


# ---------------------------------------------------------------- sign-in over HTTP


def test_nothing_but_the_public_routes_without_signing_in(site: Site) -> None:
    with site.client() as c:
        for path in (
            "/api/tracks",
            "/api/alerts",
            "/api/zones",
            "/api/feeds",
            "/metrics",
            "/openapi.json",
            "/api/audit",
        ):
            assert c.get(path).status_code == 401, path
        r = c.get("/")
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert c.get("/healthz").status_code == 200
        page = c.get("/login")
        assert page.status_code == 200 and "login.js" in page.text and "<script>" not in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert c.get("/static/login.js").status_code == 200
        assert c.get("/static/app.js").status_code == 401
        assert c.post(f"/api/alerts/{site.alerts['JM'].id}/ack", json={}).status_code == 401


def test_sign_in_sets_httponly_samesite_cookie_and_is_audited(site: Site) -> None:
    with site.client() as c:
        bad = c.post("/api/session", json={"name": "watch", "password": "wrong password!"})
        assert bad.status_code == 401
        r = c.post("/api/session", json={"name": "watch", "password": PASSWORD})
        assert r.status_code == 200 and r.json()["role"] == "watch"
        cookies = r.headers.get_list("set-cookie")
        session = next(x for x in cookies if x.startswith("mda_session="))
        assert "HttpOnly" in session and "SameSite=strict" in session and "Path=/" in session
        assert len(c.get("/api/tracks").json()) == 4
        spec = c.get("/openapi.json").json()
        assert "/api/tracks" in spec["paths"] and "/api/alerts/{alert_id}/ack" in spec["paths"]
        assert c.get("/static/package.json").status_code == 404
        assert c.get("/static/package-lock.json").status_code == 404
        assert c.delete("/api/session", headers={"x-csrf-token": r.json()["csrf"]}).status_code == 200
        assert c.get("/api/tracks").status_code == 401
    events = [(rec["event"], rec["actor"]) for rec in site.sec.audit.tail(10)[::-1]]  # type: ignore[union-attr]
    assert events[:3] == [("sign_in_failed", "watch"), ("sign_in", "watch"), ("sign_out", "watch")]


def test_repeated_failures_pause_the_name(site: Site) -> None:
    with site.client() as c:
        codes = [
            c.post("/api/session", json={"name": "ana", "password": "wrong password!"}).status_code
            for _ in range(6)
        ]
        assert codes == [401] * 5 + [429]
        assert c.post("/api/session", json={"name": "ana", "password": PASSWORD}).status_code == 429


def test_liaison_sees_only_its_agency_alerts_and_their_tracks(site: Site) -> None:
    jm_alert, tt_alert = site.alerts["JM"], site.alerts["TT"]
    with site.client("jm") as c:
        assert [a["id"] for a in c.get("/api/alerts").json()] == [jm_alert.id]
        assert [t["key"] for t in c.get("/api/tracks").json()] == [f"vessel:{jm_alert.track.id}"]
        assert c.get("/metrics").status_code == 403
        assert c.get("/api/audit").status_code == 403
    with site.client("tt") as c:
        assert [a["id"] for a in c.get("/api/alerts").json()] == [tt_alert.id]
    with site.client("ana") as c:
        assert len(c.get("/api/alerts").json()) == 2
    with site.client("root") as c:  # administrators manage users and read the audit, not the picture
        assert c.get("/api/alerts").status_code == 403 and c.get("/api/tracks").status_code == 403
        assert c.get("/api/users").status_code == 200 and c.get("/api/audit").status_code == 200


def test_liaison_socket_never_receives_another_states_alerts(site: Site) -> None:
    jm, tt = site.alerts["JM"], site.alerts["TT"]
    with site.client() as c:
        c.post("/api/session", json={"name": "jm", "password": PASSWORD})
        cookie = f"mda_session={c.cookies['mda_session']}"

    async def run() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        url = f"ws://127.0.0.1:{site.server.port}/ws"
        async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=site.url) as ws:  # type: ignore[arg-type]
            snap = orjson.loads(await ws.recv())
            snap["tracks"] = []  # the snapshot's tracks follow in columnar frames, then "synced"
            while (frame := orjson.loads(await ws.recv()))["type"] != "synced":
                snap["tracks"].extend(WireReader().apply(frame))
            # another state's alert and track changes, then one of its own: only its own arrive
            site.state.add_alert({**tt.to_json(), "version": 2, "status": "updated"})
            site.state.upsert_tracks([track_json(site.tracks[1]), track_json(site.tracks[2])])
            site.state.add_alert({**jm.to_json(), "version": 2, "status": "updated"})
            got = []
            while True:
                msg = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                if msg["type"] == "heartbeat":
                    continue
                got.append(msg)
                if msg["type"] == "alert":
                    return snap, got

    snap, got = asyncio.run(run())
    assert [a["id"] for a in snap["alerts"]] == [jm.id]
    assert [t["key"] for t in snap["tracks"]] == [f"vessel:{jm.track.id}"]
    assert [m["type"] for m in got] == ["alert"] and got[0]["alert"]["id"] == jm.id


def test_acknowledgement_carries_the_signed_in_identity_and_keeps_every_note(site: Site) -> None:
    jm, tt = site.alerts["JM"], site.alerts["TT"]
    with site.client("jm") as c:
        r = c.post(f"/api/alerts/{jm.id}/ack", json={"note": "cutter on scene"})
        assert r.status_code == 200 and r.json()["ack"]["by"] == "jdf-cg/jm"
        assert c.post(f"/api/alerts/{jm.id}/ack", json={"note": "x", "by": "someone else"}).status_code == 422
        assert c.post(f"/api/alerts/{tt.id}/ack", json={"note": "not ours"}).status_code == 404
        assert c.post(f"/api/alerts/{jm.id}/ack", json={"action": "retract"}).status_code == 403
    with site.client("ana") as c:
        assert c.post(f"/api/alerts/{jm.id}/ack", json={"note": "analyst"}).status_code == 403
    with site.client("watch") as c:
        r = c.post(f"/api/alerts/{jm.id}/ack", json={"note": "watch floor informed"})
        assert r.status_code == 200
        notes = [(a["version"], a["by"], a["note"]) for a in r.json()["acks"]]
        assert notes == [(2, "jdf-cg/jm", "cutter on scene"), (3, "watch", "watch floor informed")]
        assert (
            c.post(f"/api/alerts/{tt.id}/ack", json={"action": "retract", "note": "raised in error"}).json()[
                "status"
            ]
            == "retracted"
        )
    assert [a["note"] for a in site.store.ack_history(jm.id)] == ["cutter on scene", "watch floor informed"]
    events = [r["event"] for r in site.sec.audit.tail(50)]  # type: ignore[union-attr]
    assert events.count("acknowledge") == 2 and "retract" in events and events.count("ack_refused") == 2
    assert verify(site.sec.audit.path).ok  # type: ignore[union-attr]


def test_cross_site_text_plain_post_is_refused(site: Site) -> None:
    jm = site.alerts["JM"]
    with site.client("watch") as c:
        evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
        r = c.post(f"/api/alerts/{jm.id}/ack", content=b'{"action":"retract"}', headers=evil)
        assert r.status_code == 403
        # same origin but without the CSRF header (what a form or a no-cors fetch could send): refused
        r = c.post(
            f"/api/alerts/{jm.id}/ack",
            json={"action": "retract"},
            headers={"Origin": site.url, "x-csrf-token": ""},
        )
        assert r.status_code == 403
        r = c.post(
            f"/api/alerts/{jm.id}/ack",
            content=b'{"action":"retract"}',
            headers={"Content-Type": "text/plain"},
        )
        assert r.status_code == 415
    assert site.store.get(jm.id)["status"] == "open"  # type: ignore[index]


def test_foreign_host_is_refused_and_its_websocket_too(site: Site) -> None:
    with site.client("watch") as c:
        cookie = f"mda_session={c.cookies['mda_session']}"
        r = c.get("/api/alerts", headers={"Host": f"evil.example:{site.server.port}"})
        assert r.status_code == 421 and "alert" not in r.text.lower().replace("answer", "")
        assert c.get("/", headers={"Host": "evil.example"}).status_code == 421

    async def try_ws(host: str, origin: str) -> str:
        url = f"ws://127.0.0.1:{site.server.port}/ws"
        hdrs = {"Cookie": cookie, "Host": host}
        try:
            async with websockets.connect(url, additional_headers=hdrs, origin=origin) as ws:  # type: ignore[arg-type]
                return str(orjson.loads(await ws.recv())["type"])
        except websockets.exceptions.InvalidStatus as exc:
            return f"refused {exc.response.status_code}"

    evil = f"evil.example:{site.server.port}"
    assert asyncio.run(try_ws(evil, f"http://{evil}")) == "refused 403"
    assert asyncio.run(try_ws(f"127.0.0.1:{site.server.port}", "http://evil.example")) == "refused 403"
    assert asyncio.run(try_ws(f"127.0.0.1:{site.server.port}", site.url)) == "snapshot"


def test_body_limit_applies_before_the_body_is_read(site: Site) -> None:
    jm = site.alerts["JM"]
    with site.client("watch") as c:
        csrf = c.headers["x-csrf-token"]
        cookie = f"mda_session={c.cookies['mda_session']}"
    conn = http.client.HTTPConnection("127.0.0.1", site.server.port, timeout=10)
    # 300 MB announced, nothing sent: the answer comes at once from the headers alone
    conn.putrequest("POST", f"/api/alerts/{jm.id}/ack")
    for k, v in (("Content-Type", "application/json"), ("Content-Length", str(300 * 2**20)), ("Cookie", cookie),
                 ("X-CSRF-Token", csrf), ("Origin", site.url)):  # fmt: skip
        conn.putheader(k, v)
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        yield b'{"note": "'
        for _ in range(64):
            yield b"x" * 1024
        yield b'"}'

    with httpx.Client(base_url=site.url, timeout=10) as c2:
        r = c2.post(
            f"/api/alerts/{jm.id}/ack",
            content=chunks(),
            headers={"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": csrf},
        )
    assert r.status_code == 413
    assert site.store.get(jm.id)["status"] == "open"  # type: ignore[index]


def test_disabled_user_loses_the_session(site: Site) -> None:
    with site.client("ana") as c:
        assert c.get("/api/alerts").status_code == 200
        os.utime(site.sec.users.path, None)  # type: ignore[union-attr]
        site.sec.users.disable("ana")  # type: ignore[union-attr]
        assert c.get("/api/alerts").status_code == 401


def test_without_security_nobody_gets_in(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    c = TestClient(create_app(MemoryMapState(), WEB), base_url="http://127.0.0.1")
    assert c.get("/api/tracks").status_code == 401
    assert c.post("/api/session", json={"name": "watch", "password": PASSWORD}).status_code == 401
    assert c.get("/healthz").status_code == 200


def test_a_route_added_later_is_protected_by_default_and_history_reads_are_audited(tmp_path: Path) -> None:
    app, sec, _state, store, _alerts, _tracks = build_site(tmp_path)

    @app.get("/api/tracks/{kind}/{ident}/history")
    def history(kind: str, ident: str) -> dict[str, Any]:
        return {"kind": kind, "id": ident, "points": []}

    @app.get("/api/tracks/{kind}/{ident}/dossier")
    def dossier(kind: str, ident: str) -> dict[str, Any]:
        return {"kind": kind, "id": ident}

    @app.post("/api/new-write")
    def new_write() -> dict[str, Any]:
        return {"done": True}

    server = LiveServer(app)
    try:
        site = Site(server, sec, None, store, {}, [])  # type: ignore[arg-type]
        with site.client() as c:
            assert c.get("/api/tracks/vessel/1/history").status_code == 401
        with site.client("jm") as c:  # a scoped role only gets routes reviewed for scoping
            assert c.get("/api/tracks/vessel/1/dossier").status_code == 403
        with site.client("watch") as c:
            assert c.get("/api/tracks/vessel/1/history?since=2012").json()["id"] == "1"
            assert c.post("/api/new-write", json={}).status_code == 403  # unlisted writes: nobody
        with site.client("root") as c:
            records = c.get("/api/audit").json()
        assert any(
            r["event"] == "export" and r["actor"] == "watch" and r["details"]["query"] == "since=2012"
            for r in records
        )
    finally:
        server.stop()
        store.close()
