"""A hand-over reaches its agency over MQTT: the real service (run_service) against the generated broker
configuration run by a real Mosquitto, a real sign-in. The agency handed the case receives it on its own
topic, another agency's subscriber does not, only watch officers may hand over (to an agency of the
routing rules), and a hand-over accepted while the broker is down is delivered when it is back."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import jsonschema

from mdacentre.alerting.broker_config import write_broker_config
from mdacentre.alerting.routing import SERVICE_USER
from mdacentre.alerting.store import STORE_FILE
from mdacentre.runtime.settings import MqttSettings
from mdacentre.sinks.broker import free_port
from tests.authkit import make_security, sign_in, sign_in_when_up
from tests.servicekit import archived_tanker_service, running_service
from tests.test_broker_acl import REPO, RULES, Broker, mosquitto_exe, start, stop

PREFIX = "mdacentre/v1"
SCHEMA = json.loads((REPO / "alerting" / "handover.schema.json").read_text(encoding="utf-8"))


def agency_client(b: Broker, user: str) -> aiomqtt.Client:
    """The agency's persistent session (client id = user name), as an interdiction unit would keep."""
    c = b.creds(user)
    return aiomqtt.Client(
        "127.0.0.1", b.port, username=c["username"], password=c["password"], identifier=user,
        clean_session=False, timeout=5,
    )  # fmt: skip


async def subscribe(b: Broker, user: str, topics: list[str]) -> None:
    async with agency_client(b, user) as c:
        for t in topics:
            await c.subscribe(t, qos=1)


async def receive(b: Broker, user: str, want: int, wait_s: float) -> list[tuple[str, dict[str, Any]]]:
    """Messages of the agency's session (queued ones first) until ``want`` came or ``wait_s`` passed."""
    got: list[tuple[str, dict[str, Any]]] = []
    async with agency_client(b, user) as c:
        messages = aiter(c.messages)
        deadline = time.monotonic() + wait_s
        while len(got) < want and (left := deadline - time.monotonic()) > 0:
            try:
                msg = await asyncio.wait_for(anext(messages), left)
            except TimeoutError:
                break
            if str(msg.topic).startswith(f"{PREFIX}/handover/"):
                got.append(
                    (str(msg.topic), json.loads(msg.payload if isinstance(msg.payload, bytes) else b""))
                )
    return got


def outbox_rows(db: Path) -> list[tuple[str, bool]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT topic, delivered IS NOT NULL FROM outbox WHERE topic LIKE ? ORDER BY seq",
            (f"{PREFIX}/handover/%",),
        ).fetchall()
    return [(str(t), bool(d)) for t, d in rows]


def test_hand_over_goes_to_that_agency_only_and_survives_a_broker_outage(tmp_path: Path) -> None:
    mosquitto_exe()
    port = free_port()
    res = write_broker_config(RULES, tmp_path / "mosquitto", port=port)
    broker = start(res, port)
    own = broker.creds(SERVICE_USER)
    settings, feeds, http_port = archived_tanker_service(tmp_path, SERVICE_USER)
    settings = replace(
        settings,
        mqtt=MqttSettings(
            host="127.0.0.1", port=port, username=own["username"], password=own["password"],
            client_id=SERVICE_USER,
        ),
    )  # fmt: skip
    make_security(
        settings.data_dir,
        users=(("watch", "watch", None), ("liz", "liaison", "tt-cg"), ("ana", "analyst", None)),
    )
    # both agencies' sessions exist before anything is handed over (an agency subscribes once)
    asyncio.run(subscribe(broker, "tt-cg", [f"{PREFIX}/handover/tt-cg"]))
    asyncio.run(subscribe(broker, "jdf-cg", [f"{PREFIX}/handover/#", f"{PREFIX}/handover/tt-cg"]))
    db = settings.data_dir / STORE_FILE
    try:
        with (
            running_service(settings, feeds),
            httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=5) as client,
        ):
            csrf = sign_in_when_up(client)
            deadline = time.monotonic() + 30
            alert = None
            while alert is None and time.monotonic() < deadline + 30:
                alert = next(
                    (a for a in client.get("/api/alerts").json() if a["category"] == "hazardous_cargo"), None
                )
                time.sleep(0.3)
            assert alert is not None
            url = f"/api/alerts/{alert['id']}/handover"
            h = {"X-CSRF-Token": csrf}

            # refused: an agency the routing rules do not know; nothing is queued for it
            r = client.post(url, json={"agency": "xx-navy", "note": "not an agency"}, headers=h)
            assert r.status_code == 422 and "unknown agency" in r.text
            # refused: roles that may not hand over (a liaison of the very agency, an analyst)
            for who in ("liz", "ana"):
                with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=5) as other:
                    t = sign_in(other, who)
                    r = other.post(url, json={"agency": "tt-cg", "note": "mine"}, headers={"X-CSRF-Token": t})
                    assert r.status_code == 403, (who, r.text)

            r = client.post(url, json={"agency": "tt-cg", "note": "in their EEZ, boat 12 tasked"}, headers=h)
            assert r.status_code == 200, r.text
            first = r.json()
            got = asyncio.run(receive(broker, "tt-cg", 1, 20))
            assert [t for t, _ in got] == [f"{PREFIX}/handover/tt-cg"]
            msg = got[0][1]
            jsonschema.Draft202012Validator(SCHEMA).validate(msg)
            assert msg["seq"] == first["seq"] and msg["agency"] == "tt-cg" and msg["by"] == "watch"
            assert msg["note"] == "in their EEZ, boat 12 tasked" and msg["at"] == first["at"]
            assert msg["alert"]["id"] == alert["id"] and msg["alert"]["version"] == alert["version"]
            assert msg["level"] == alert["level"] and msg["track"]["id"] == alert["track"]["id"]
            assert asyncio.run(receive(broker, "jdf-cg", 1, 2)) == []  # the ACL keeps it to tt-cg

            # the broker goes down; a hand-over made meanwhile is accepted, kept, then delivered
            stop(broker)
            r = client.post(url, json={"agency": "tt-cg", "note": "while the broker is down"}, headers=h)
            assert r.status_code == 200, r.text
            time.sleep(1.0)
            assert outbox_rows(db)[-1] == (f"{PREFIX}/handover/tt-cg", False)
            broker = start(res, port)
            got = asyncio.run(receive(broker, "tt-cg", 1, 30))
            assert [m["note"] for _t, m in got] == ["while the broker is down"]
            assert asyncio.run(receive(broker, "jdf-cg", 1, 2)) == []
            deadline = time.monotonic() + 10
            while not all(d for _t, d in outbox_rows(db)) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert outbox_rows(db) == [(f"{PREFIX}/handover/tt-cg", True)] * 2  # nothing for refused ones
    finally:
        stop(broker)
    audit = [json.loads(line) for line in (settings.data_dir / "audit.jsonl").read_text().splitlines()]
    handovers = [r for r in audit if r["event"] == "handover"]
    assert [(r["actor"], r["details"]["agency"], r["details"]["topic"]) for r in handovers] == [
        ("watch", "tt-cg", f"{PREFIX}/handover/tt-cg")
    ] * 2
