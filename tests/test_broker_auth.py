"""The service's embedded Mosquitto requires authentication, binds client ids to user names and answers
acknowledgement commands on a reply topic. Real Mosquitto, the real service (run_service)."""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from mdacentre.alerting.broker_config import write_broker_config
from mdacentre.alerting.routing import SERVICE_USER
from mdacentre.model.findings import Level
from mdacentre.runtime.settings import AuthSettings, HttpSettings, MqttSettings, Settings
from mdacentre.sinks.broker import free_port
from tests.authkit import PASSWORD
from tests.servicekit import running_service
from tests.test_broker_acl import RULES, Broker, make_alert, mosquitto_exe, publishes, start, stop

PREFIX = "mdacentre/v1"


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    mosquitto_exe()
    mqtt_port = free_port()
    settings = replace(
        Settings(),
        data_dir=tmp_path / "var",
        mqtt=MqttSettings(embedded_port=mqtt_port),
        http=HttpSettings(port=free_port()),
        auth=AuthSettings(bootstrap_password=PASSWORD),
    )
    with running_service(settings, []):
        yield mqtt_port, tmp_path / "var" / "mosquitto"


def creds(out: Path, user: str) -> dict[str, Any]:
    return tomllib.loads((out / "credentials" / f"{user}.txt").read_text(encoding="utf-8"))


def test_embedded_broker_refuses_anonymous_and_answers_refused_acks(service: tuple[int, Path]) -> None:
    port, out = service
    jdf = creds(out, "jdf-cg")

    async def main() -> list[dict[str, Any]]:
        with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori[sz]ed|bad user name"):
            async with aiomqtt.Client("127.0.0.1", port, identifier="anon", timeout=5):
                pass
        replies: list[dict[str, Any]] = []
        async with aiomqtt.Client(
            "127.0.0.1", port, username=jdf["username"], password=jdf["password"], timeout=5
        ) as c:
            await c.subscribe(f"{PREFIX}/ack/jdf-cg/reply", qos=1)
            await c.subscribe(f"{PREFIX}/service/health", qos=1)
            unknown = {"id": "0" * 20, "by": "Lt Brown", "note": "on scene", "action": "acknowledge"}
            retract = {"id": "1" * 20, "by": "Lt Brown", "action": "retract"}
            pending = [unknown, retract]
            messages = aiter(c.messages)
            while pending:
                # the service answers once it is connected (retained "online"); a command sent before it
                # subscribed is lost like any non-retained message, so it is sent again after a pause
                await c.publish(f"{PREFIX}/ack/jdf-cg", json.dumps(pending[0]).encode(), qos=1)
                try:
                    while True:
                        msg = await asyncio.wait_for(anext(messages), 3)
                        if str(msg.topic).endswith("/reply"):
                            replies.append(
                                json.loads(msg.payload if isinstance(msg.payload, bytes) else b"{}")
                            )
                            if replies[-1]["id"] == pending[0]["id"]:
                                pending.pop(0)
                                break
                except TimeoutError:
                    continue
        return replies

    replies = asyncio.run(asyncio.wait_for(main(), 60))
    assert {(r["id"], r["status"]) for r in replies} == {("0" * 20, "refused"), ("1" * 20, "refused")}
    by_id = {r["id"]: r for r in replies}
    assert "no alert" in by_id["0" * 20]["error"] and "watch floor" in by_id["1" * 20]["error"]
    audit = [json.loads(line) for line in (out.parent / "audit.jsonl").read_text().splitlines()]
    assert sum(r["event"] == "ack_refused" for r in audit) >= 2


def test_client_ids_are_bound_to_user_names(tmp_path: Path) -> None:
    """tt-cg connecting with jdf-cg's client id cannot wipe jdf-cg's persistent session and queued alerts."""
    mosquitto_exe()
    port = free_port()
    res = write_broker_config(RULES, tmp_path / "mosquitto", port=port)
    assert "use_username_as_clientid true" in Path(res["conf"]).read_text()
    b: Broker = start(res, port)
    alert = make_alert("JM", "hazardous_cargo", Level.HIGH)
    got: list[str] = []

    async def main() -> None:
        async with b.client("jdf-cg", "jdf-cg-console", clean_session=False) as c:
            await c.subscribe(f"{PREFIX}/alerts/#", qos=1)
        async with b.client(SERVICE_USER, "svc") as svc:
            for topic, payload in publishes([alert]):
                await svc.publish(topic, payload, qos=1)
        # the attacker reuses the victim's client id with a clean session: it must not reset the victim's
        async with b.client("tt-cg", "jdf-cg-console", clean_session=True):
            pass
        async with b.client("jdf-cg", "jdf-cg-console", clean_session=False) as c:
            async for msg in c.messages:
                got.append(json.loads(msg.payload if isinstance(msg.payload, bytes) else b"{}")["id"])
                return

    try:
        asyncio.run(asyncio.wait_for(main(), 20))
    finally:
        stop(b)
    assert got == [alert.id]


def test_broker_config_command_emits_a_tls_listener(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.test_broker_acl import make_certs

    mosquitto_exe()
    ca, crt, key = make_certs(tmp_path)
    out = tmp_path / "mq"
    r = subprocess.run(
        [sys.executable, "-m", "mdacentre", "broker-config", "--out", str(out), "--data-dir", str(tmp_path / "var"),
         "--tls-cafile", str(ca), "--tls-certfile", str(crt), "--tls-keyfile", str(key), "--tls-port", "18884",
         "--require-certificate"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    conf = (out / "mosquitto.conf").read_text()
    assert (
        "listener 18884 0.0.0.0" in conf and f"certfile {crt}" in conf and "require_certificate true" in conf
    )
    assert json.loads(r.stdout)["tls_listener"] == "0.0.0.0:18884"
    audit = (tmp_path / "var" / "audit.jsonl").read_text()
    assert '"config_changed"' in audit
