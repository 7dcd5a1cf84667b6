"""The generated Mosquitto configuration, run for real: who may connect, read and write what.

Every test starts ``mosquitto -c <generated mosquitto.conf>`` (the file an operator would run)
and talks to it with aiomqtt using the generated credentials.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import stat
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import jsonschema
import pytest

from mdacentre.alerting.alerts import Alert, AlertStatus, alert_id
from mdacentre.alerting.broker_config import TlsOptions, write_broker_config
from mdacentre.alerting.routing import SERVICE_USER, Router, load_rules
from mdacentre.model.findings import Level, TrackRef, ZoneRef
from mdacentre.sinks.broker import free_port, port_open
from mdacentre.sinks.mqtt import alert_topic

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "alerting" / "routing.toml"
PREFIX = "mdacentre/v1"
HEALTH = f"{PREFIX}/service/health"
T0 = 1_768_435_200.0


def mosquitto_exe() -> str:
    exe = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if exe is None or not Path("/usr/bin/mosquitto_passwd").exists():
        pytest.skip("Mosquitto is not installed (apt-get install mosquitto; ./run test installs it)")
    return exe


@dataclass
class Broker:
    res: dict[str, Any]
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def creds(self, user: str) -> dict[str, Any]:
        return tomllib.loads(Path(self.res["credentials"][user]).read_text(encoding="utf-8"))

    def client(self, user: str | None, ident: str, **kw: Any) -> aiomqtt.Client:
        if user is None:
            return aiomqtt.Client("127.0.0.1", self.port, identifier=ident, timeout=5, **kw)
        c = self.creds(user)
        return aiomqtt.Client(
            "127.0.0.1", kw.pop("port", self.port), username=c["username"], password=c["password"],
            identifier=ident, timeout=5, **kw,
        )  # fmt: skip


def start(res: dict[str, Any], port: int, wait_port: int | None = None) -> Broker:
    log = Path(res["conf"]).with_name("mosquitto.log")
    with open(log, "ab") as fh:
        proc = subprocess.Popen([mosquitto_exe(), "-c", res["conf"]], stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not (port_open("127.0.0.1", port) and (wait_port is None or port_open("127.0.0.1", wait_port))):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"generated mosquitto.conf did not start: {log.read_text(errors='replace')[-1000:]}")
        time.sleep(0.05)
    return Broker(res, port, proc, log)


def stop(b: Broker) -> None:
    if b.proc.poll() is None:
        b.proc.terminate()
        try:
            b.proc.wait(5)
        except subprocess.TimeoutExpired:
            b.proc.kill()
            b.proc.wait(5)


@pytest.fixture(scope="module")
def router() -> Router:
    return load_rules(RULES)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    mosquitto_exe()
    port = free_port()
    res = write_broker_config(RULES, tmp_path_factory.mktemp("acl") / "mosquitto", port=port)
    b = start(res, port)
    try:
        yield b
    finally:
        stop(b)


def make_alert(state: str | None, category: str, level: Level, mmsi: int = 306123000) -> Alert:
    zone = ZoneRef(f"{state.lower()}_ts", f"{state} territorial sea", state) if state else None
    key = (1 << 32) | mmsi
    return Alert(
        id=alert_id(category, key, zone.id if zone else "", T0 + int(level)),
        version=1,
        status=AlertStatus.OPEN,
        category=category,
        level=level,
        score=float(20 * int(level)),
        time=T0,
        started=T0 + int(level),
        track_key=key,
        track=TrackRef("vessel", str(mmsi), "SEA TEST", 17.9, -76.8, 11.0, 250.0, "CW", 81),
        zone=zone,
        reasons=("test",),
    )


def publishes(alerts: list[Alert]) -> list[tuple[str, bytes]]:
    return [
        (alert_topic(PREFIX, a.state, a.category, a.level.label), json.dumps(a.to_json()).encode())
        for a in alerts
    ]


async def listen(
    b: Broker,
    user: str | None,
    topics: list[str],
    ready: asyncio.Event,
    until: str,
    out: list[tuple[str, bytes]],
) -> None:
    """Subscribe, signal ``ready``, record everything until a message on ``until`` arrives."""
    async with b.client(user, f"test-{user}") as c:
        for t in topics:
            await c.subscribe(t, qos=1)
        ready.set()
        async for msg in c.messages:
            payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
            if str(msg.topic) == until:
                return
            out.append((str(msg.topic), payload))


# -- reading: each agency receives exactly what the routing sends it ------------------------------


def test_each_agency_receives_exactly_its_routed_alerts(broker: Broker, router: Router) -> None:
    states = ["JM", "TT", "BB", "VC", None, "HT"]
    cats = ["hazardous_cargo", "loitering", "squawk_emergency", "position_jump"]
    alerts = [make_alert(s, c, lv) for s in states for c in cats for lv in Level]
    agencies = sorted(router.agencies)
    got: dict[str, list[tuple[str, bytes]]] = {a: [] for a in agencies}

    async def main() -> None:
        readies = {a: asyncio.Event() for a in agencies}
        tasks = [
            asyncio.create_task(listen(broker, a, [f"{PREFIX}/alerts/#", HEALTH], readies[a], HEALTH, got[a]))
            for a in agencies
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in readies.values())), 10)
        async with broker.client(SERVICE_USER, "test-service") as svc:
            for topic, payload in publishes(alerts):
                await svc.publish(topic, payload, qos=1)
            await svc.publish(HEALTH, b"online", qos=1)  # sentinel: everything before it is delivered
        await asyncio.wait_for(asyncio.gather(*tasks), 15)

    asyncio.run(main())
    for a in agencies:
        expected = {x.id for x in alerts if a in router.route(x.to_json())}
        received = {json.loads(p)["id"] for _t, p in got[a]}
        assert received == expected, f"{a}: extra {received - expected}, missing {expected - received}"
    jm_high = make_alert("JM", "hazardous_cargo", Level.HIGH).id
    tt_high = make_alert("TT", "hazardous_cargo", Level.HIGH).id
    jdf = {json.loads(p)["id"] for _t, p in got["jdf-cg"]}
    assert jm_high in jdf and tt_high not in jdf
    assert all(t.startswith((f"{PREFIX}/alerts/JM/", f"{PREFIX}/alerts/XX/")) for t, _p in got["jdf-cg"])
    assert sum(len(v) for v in got.values()) > len(agencies)  # the test did deliver something


# -- connecting: no anonymous or wrong credentials ----------------------------------------------


def test_anonymous_and_wrong_passwords_are_refused(broker: Broker) -> None:
    async def connect(user: str | None, password: str | None) -> None:
        async with aiomqtt.Client("127.0.0.1", broker.port, username=user, password=password, timeout=5):
            pass

    jdf = broker.creds("jdf-cg")
    asyncio.run(connect(jdf["username"], jdf["password"]))  # the right password works
    for user, password in [
        (None, None),
        ("jdf-cg", "wrong-password"),
        (SERVICE_USER, jdf["password"]),
        ("nobody", "x"),
    ]:
        with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori[sz]ed|bad user name"):
            asyncio.run(connect(user, password))


# -- writing: an agency writes only its own acknowledgement topic --------------------------------


def test_agency_can_write_only_its_own_ack_topic(broker: Broker) -> None:
    alert = make_alert("JM", "hazardous_cargo", Level.HIGH)
    ack = {"id": alert.id, "by": "Lt Brown", "note": "CG 31 tasked", "action": "acknowledge"}
    forged = publishes([make_alert("JM", "loitering", Level.CRITICAL)])[0]
    attempts = [
        forged,  # a forged alert
        (f"{PREFIX}/tracks/vessel/306123000/status", b"{}"),
        (HEALTH, b"offline"),  # spoofing the service's health
        (f"{PREFIX}/ack/tt-cg", json.dumps(ack).encode()),  # impersonating another agency
        (f"{PREFIX}/ack/jdf-cg", json.dumps(ack).encode()),  # its own topic: allowed (last)
    ]
    seen_by_service: list[tuple[str, bytes]] = []
    seen_by_tt: list[tuple[str, bytes]] = []

    async def main() -> None:
        r1, r2 = asyncio.Event(), asyncio.Event()
        svc_task = asyncio.create_task(
            listen(broker, SERVICE_USER, [f"{PREFIX}/#"], r1, "-", seen_by_service)
        )
        tt_task = asyncio.create_task(listen(broker, "tt-cg", [f"{PREFIX}/#"], r2, HEALTH, seen_by_tt))
        await asyncio.wait_for(asyncio.gather(r1.wait(), r2.wait()), 10)
        async with broker.client("jdf-cg", "test-jdf-writer") as jdf:
            for topic, payload in attempts:
                await jdf.publish(topic, payload, qos=1)
        for _ in range(100):
            if any(t == f"{PREFIX}/ack/jdf-cg" for t, _p in seen_by_service):
                break
            await asyncio.sleep(0.05)
        async with broker.client(SERVICE_USER, "test-service-sentinel") as svc:
            await svc.publish(HEALTH, b"online", qos=1)
        await asyncio.wait_for(tt_task, 10)
        await asyncio.sleep(0.2)
        svc_task.cancel()

    asyncio.run(main())
    topics = [t for t, _p in seen_by_service if t != HEALTH]
    assert topics == [f"{PREFIX}/ack/jdf-cg"], topics
    schema = json.loads((REPO / "alerting" / "ack.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(seen_by_service[0][1]), schema)
    assert seen_by_tt == []  # nor can another agency read the acknowledgement or the forged messages


# -- the generated files ----------------------------------------------------------------------


def test_generated_files_keep_secrets_private_and_passwords_stable(tmp_path: Path) -> None:
    mosquitto_exe()
    out = tmp_path / "mq"
    res = write_broker_config(RULES, out, port=18830)
    creds = {u: tomllib.loads(Path(p).read_text()) for u, p in res["credentials"].items()}
    assert set(creds) == {SERVICE_USER, *load_rules(RULES).agencies}
    passwd = (out / "passwd").read_text()
    for u, c in creds.items():
        assert stat.S_IMODE(os.stat(res["credentials"][u]).st_mode) == 0o600
        assert c["password"] not in passwd and f"{u}:$7$" in passwd  # hashed (PBKDF2-SHA512)
    assert stat.S_IMODE(os.stat(out / "credentials").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(out / "passwd").st_mode) == 0o600
    assert (out / ".gitignore").read_text().splitlines()[-1] == "*"
    conf = (out / "mosquitto.conf").read_text()
    assert (
        "allow_anonymous false" in conf and "listener 18830 127.0.0.1" in conf and "listener 8883" not in conf
    )
    acl = (out / "acl").read_text()
    assert "user jdf-cg\n" in acl and "topic write mdacentre/v1/ack/jdf-cg\n" in acl
    assert "topic read mdacentre/v1/tracks/#" not in acl.split("user jdf-cg")[1].split("\nuser ")[0]
    # Regenerating keeps every password (agencies are not locked out); rotate=True changes them all.
    write_broker_config(RULES, out, port=18830)
    again = {u: tomllib.loads(Path(p).read_text())["password"] for u, p in res["credentials"].items()}
    assert again == {u: c["password"] for u, c in creds.items()}
    write_broker_config(RULES, out, port=18830, rotate=True)
    rotated = {u: tomllib.loads(Path(p).read_text())["password"] for u, p in res["credentials"].items()}
    assert all(rotated[u] != again[u] for u in again)


# -- TLS listener ------------------------------------------------------------------------------


def make_certs(d: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 (openssl command line)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; the TLS test needs it to make a test CA")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ext = d / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d, timeout=30)

    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=mdacentre test CA",
    )
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", str(ext))  # fmt: skip
    return d / "ca.crt", d / "server.crt", d / "server.key"


def test_tls_listener_delivers_to_agencies_that_trust_the_ca(tmp_path: Path) -> None:
    mosquitto_exe()
    ca, crt, key = make_certs(tmp_path)
    port, tls_port = free_port(), free_port()
    tls = TlsOptions(cafile=ca, certfile=crt, keyfile=key, port=tls_port, bind="127.0.0.1")
    res = write_broker_config(RULES, tmp_path / "mq", port=port, tls=tls)
    conf = Path(res["conf"]).read_text()
    assert (
        f"listener {tls_port} 127.0.0.1" in conf and f"cafile {ca}" in conf and "tls_version tlsv1.2" in conf
    )
    b = start(res, port, wait_port=tls_port)
    alert = make_alert("JM", "encounter", Level.HIGH)
    got: list[tuple[str, bytes]] = []

    async def main() -> None:
        ready = asyncio.Event()
        ctx = ssl.create_default_context(cafile=str(ca))
        c = b.creds("jdf-cg")
        assert c["tls_port"] == tls_port

        async def over_tls() -> None:
            async with aiomqtt.Client(
                "127.0.0.1",
                tls_port,
                username=c["username"],
                password=c["password"],
                tls_context=ctx,
                timeout=5,
            ) as sub:
                await sub.subscribe(f"{PREFIX}/alerts/#", qos=1)
                ready.set()
                async for msg in sub.messages:
                    got.append((str(msg.topic), msg.payload if isinstance(msg.payload, bytes) else b""))
                    return

        task = asyncio.create_task(over_tls())
        await asyncio.wait_for(ready.wait(), 10)
        async with b.client(SERVICE_USER, "test-service-tls") as svc:
            topic, payload = publishes([alert])[0]
            await svc.publish(topic, payload, qos=1)
        await asyncio.wait_for(task, 10)
        # A client that does not trust the test CA cannot connect.
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1", tls_port, username=c["username"], password=c["password"],
                tls_context=ssl.create_default_context(), timeout=5,
            ):  # fmt: skip
                pass

    try:
        asyncio.run(main())
    finally:
        stop(b)
    assert [json.loads(p)["id"] for _t, p in got] == [alert.id]


def test_run_as_hands_the_broker_files_to_the_mosquitto_user() -> None:
    """Generated as root for the Debian ``mosquitto`` user: the broker drops to it and still reads its files."""
    mosquitto_exe()
    try:
        import pwd

        pw = pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.skip("no 'mosquitto' system user on this machine")
    if os.geteuid() != 0:
        pytest.skip("handing files to another user needs root")
    base = Path(tempfile.mkdtemp(prefix="mda-runas-"))
    try:
        os.chmod(base, 0o711)  # the broker's user must be able to reach its folder
        port = free_port()
        res = write_broker_config(RULES, base / "mq", port=port, run_as="mosquitto")
        assert "user mosquitto\n" in Path(res["conf"]).read_text()
        for name in ("passwd", "acl", "mosquitto.conf", "data"):
            assert (base / "mq" / name).stat().st_uid == pw.pw_uid, name
        assert (base / "mq" / "credentials").stat().st_uid == 0  # secrets stay with root
        b = start(res, port)
        try:

            async def connect() -> None:
                async with b.client("jdf-cg", "test-runas"):
                    pass

            asyncio.run(connect())  # the broker (as user mosquitto) read passwd
        finally:
            stop(b)
    finally:
        shutil.rmtree(base, ignore_errors=True)
