"""Every refusal of a signed-in person is in the audit trail, once a minute at most; unsigned requests are not.

The whole service runs (`run_service`, as `mdacentre serve`, with its embedded Mosquitto) with real
sign-in and its real `audit.jsonl`; each test compares the records the file gained with the expected ones
and checks that the hash chain still verifies.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Origin

from mdacentre.api.auth.refusals import Refusal, RefusalAudit
from mdacentre.api.auth.sessions import Principal
from mdacentre.api.auth.users import Role
from mdacentre.runtime.audit import AuditEvent, AuditLog, verify
from tests.authkit import make_security, sign_in, sign_in_when_up
from tests.servicekit import archived_tanker_service, running_service

USERS = (
    ("watch", "watch", None),
    ("liz", "liaison", "tt-cg"),
    ("ana", "analyst", None),
    ("root", "admin", None),
)


@dataclass
class Service:
    port: int
    audit: Path
    alert: str  # the id of a live alert (the tanker's hazardous cargo)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("refusals")
    settings, feeds, port = archived_tanker_service(tmp, "mda-refusals")
    make_security(settings.data_dir, users=USERS)
    with running_service(settings, feeds), httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
        sign_in_when_up(c)
        alert = None
        deadline = time.monotonic() + 60
        while alert is None and time.monotonic() < deadline:
            r = c.get("/api/alerts")
            alert = next((a for a in r.json() if a["category"] == "hazardous_cargo"), None)
            if alert is None:
                time.sleep(0.3)
        assert alert is not None, "the tanker's hazardous-cargo alert did not come"
        yield Service(port, settings.data_dir / "audit.jsonl", str(alert["id"]))


def added(service: Service, before: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The records written since the file had ``before`` records, and the chain still verifies."""
    res = verify(service.audit)
    assert res.ok, res.problems
    return [(r["event"], r["actor"], r["details"]) for r in service.records()[before:]]


def test_a_hand_over_to_an_agency_the_routing_does_not_know_is_audited(service: Service) -> None:
    with service.client() as c:
        h = {"X-CSRF-Token": sign_in(c, "watch")}
        before = len(service.records())
        url = f"/api/alerts/{service.alert}/handover"
        r = c.post(url, json={"agency": "xx-navy", "note": "not one of ours"}, headers=h)
        assert r.status_code == 422 and "unknown agency" in r.text
        [(event, actor, details)] = added(service, before)
        assert (event, actor) == (AuditEvent.HANDOVER_REFUSED.value, "watch")
        assert details["alert"] == service.alert and details["agency"] == "xx-navy"
        assert details["status"] == 422 and details["reason"] == r.json()["error"]

        # an alert that does not exist: a hand-over and a note, each refused and audited
        before = len(service.records())
        missing = "f" * 20
        r = c.post(f"/api/alerts/{missing}/handover", json={"agency": "tt-cg", "note": ""}, headers=h)
        assert r.status_code == 404
        assert c.post(f"/api/alerts/{missing}/note", json={"text": "x"}, headers=h).status_code == 404
        got = added(service, before)
        assert [(e, a, d["alert"], d.get("agency"), d["status"]) for e, a, d in got] == [
            (AuditEvent.HANDOVER_REFUSED.value, "watch", missing, "tt-cg", 404),
            (AuditEvent.NOTE_REFUSED.value, "watch", missing, None, 404),
        ]

        # a body that does not validate is answered by the framework and is not audited
        before = len(service.records())
        assert c.post(url, json={"agency": "tt-cg", "by": "eve"}, headers=h).status_code == 422
        assert added(service, before) == []


def test_a_liaisons_hand_over_and_analyst_only_query_are_refused_and_audited_once_a_minute(
    service: Service,
) -> None:
    with service.client() as c:
        h = {"X-CSRF-Token": sign_in(c, "liz")}
        before = len(service.records())
        url = f"/api/alerts/{service.alert}/handover"
        assert c.post(url, json={"agency": "tt-cg", "note": "ours"}, headers=h).status_code == 403
        for _ in range(3):  # the analysts' SQL over the archive, asked three times: one record
            r = c.post("/api/history/sql", json={"sql": "SELECT 1"}, headers=h)
            assert r.status_code == 403, r.text
        got = added(service, before)
    base = {"reason": Refusal.ROLE.value, "status": 403, "role": "liaison"}
    assert got == [
        (AuditEvent.ACCESS_REFUSED.value, "tt-cg/liz", {"method": "POST", "path": url, **base}),
        (
            AuditEvent.ACCESS_REFUSED.value,
            "tt-cg/liz",
            {"method": "POST", "path": "/api/history/sql", **base},
        ),
    ]


def test_a_write_without_the_csrf_token_is_refused_and_audited(service: Service) -> None:
    with service.client() as c:
        sign_in(c, "watch")
        before = len(service.records())
        url = f"/api/alerts/{service.alert}/note"
        r = c.post(url, json={"text": "no token"})
        assert r.status_code == 403 and "CSRF" in r.text
        r = c.post(url, json={"text": "wrong token"}, headers={"X-CSRF-Token": "0" * 43})
        assert r.status_code == 403  # the same refusal within the minute: counted, not written again
        got = added(service, before)
    assert got == [
        (
            AuditEvent.ACCESS_REFUSED.value,
            "watch",
            {"method": "POST", "path": url, "reason": "csrf", "status": 403, "role": "watch"},
        )
    ]


def test_a_signed_in_websocket_its_role_may_not_open_is_audited(service: Service) -> None:
    async def open_ws(cookie: str) -> str:
        url = f"ws://127.0.0.1:{service.port}/ws"
        try:
            hdrs = {"Cookie": cookie}
            async with websockets.connect(url, additional_headers=hdrs, origin=Origin(service.url)) as ws:
                return str(json.loads(await ws.recv())["type"])
        except websockets.exceptions.InvalidStatus as exc:
            return f"refused {exc.response.status_code}"

    with service.client() as c:
        sign_in(c, "root")  # administrators manage users and the audit trail; they do not see the picture
        before = len(service.records())
        assert asyncio.run(open_ws(f"mda_session={c.cookies['mda_session']}")) == "refused 403"
        got = added(service, before)
    assert got == [
        (
            AuditEvent.ACCESS_REFUSED.value,
            "root",
            {"method": "WEBSOCKET", "path": "/ws", "reason": "role", "status": 1008, "role": "admin"},
        )
    ]


def test_unsigned_requests_leave_no_record_where_a_signed_in_one_does(service: Service) -> None:
    url = f"/api/alerts/{service.alert}/handover"
    body = {"agency": "tt-cg", "note": "who am I"}
    before = len(service.records())
    with service.client() as c:
        assert c.post(url, json=body).status_code == 401
        assert c.post("/api/history/sql", json={"sql": "SELECT 1"}).status_code == 401
        assert c.get("/api/audit").status_code == 401
        assert c.get("/", follow_redirects=False).status_code == 303
        c.cookies.set("mda_session", "not-a-session")  # a made-up cookie is no session either
        assert c.post(url, json=body, headers={"X-CSRF-Token": "x"}).status_code == 401
    assert added(service, before) == []
    # the same write by a signed-in analyst (whose role may not hand over) is recorded
    with service.client() as c:
        h = {"X-CSRF-Token": sign_in(c, "ana")}
        before = len(service.records())
        assert c.post(url, json=body, headers=h).status_code == 403
        assert [(e, a, d["path"]) for e, a, d in added(service, before)] == [
            (AuditEvent.ACCESS_REFUSED.value, "ana", url)
        ]


def test_a_repeated_refusal_is_written_again_after_the_window_with_the_count_left_out(tmp_path: Path) -> None:
    threads: list[int] = []

    class Watched(AuditLog):
        def append(self, *args: Any, **kw: Any) -> dict[str, Any]:
            threads.append(threading.get_ident())
            return super().append(*args, **kw)

    log = Watched(tmp_path / "audit.jsonl")
    refusals = RefusalAudit(log, window_s=0.5)
    liz = Principal("liz", Role.LIAISON, "tt-cg")

    async def refuse(n: int, reason: Refusal = Refusal.ROLE, path: str = "/api/history/sql") -> None:
        for _ in range(n):
            await refusals.record(liz, "POST", path, reason, 403)

    asyncio.run(refuse(3))
    asyncio.run(refuse(1, Refusal.CSRF))  # another reason, another path: their own records
    asyncio.run(refuse(1, path="/api/replay/clock"))
    time.sleep(0.6)
    asyncio.run(refuse(1))
    recs = log.tail(10)[::-1]
    assert [(r["details"]["path"], r["details"]["reason"], r["details"].get("suppressed")) for r in recs] == [
        ("/api/history/sql", "role", None),
        ("/api/history/sql", "csrf", None),
        ("/api/replay/clock", "role", None),
        ("/api/history/sql", "role", 2),
    ]
    assert verify(log.path).ok
    assert len(threads) == 4 and threading.get_ident() not in threads  # the fsync is not on the loop's thread
