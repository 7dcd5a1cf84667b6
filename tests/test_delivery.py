"""No alert lost: broker restarts, service SIGKILL, boundary jitter, acknowledgements that stick."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import aiomqtt
import orjson
import pytest
from conftest import position, static

from mdacentre.alerting.alerts import AlertStatus
from mdacentre.alerting.store import AlertStore
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.sources import Chunk
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import MqttSettings, Settings
from mdacentre.service.core import Core
from mdacentre.sinks.broker import Mosquitto, free_port
from mdacentre.sinks.mqtt import MqttPublisher
from mdacentre.sinks.outbox import Outbox

T0 = 1_768_435_200.0


async def _subscriber(
    port: int, got: dict[tuple[str, int], int], stop: asyncio.Event, ident: str, retry_s: float = 0.2
) -> None:
    """A persistent-session QoS 1 subscriber that reconnects until stopped (after ``retry_s``)."""
    while not stop.is_set():
        try:
            async with aiomqtt.Client("127.0.0.1", port, identifier=ident, clean_session=False) as c:
                await c.subscribe("mdacentre/v1/alerts/#", qos=1)
                async for msg in c.messages:
                    payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                    d = orjson.loads(payload)
                    k = (d["id"], d["version"])
                    got[k] = got.get(k, 0) + 1
        except aiomqtt.MqttError:
            await asyncio.sleep(retry_s)


def test_broker_restart_mid_stream_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    broker = Mosquitto(port, workdir=tmp_path / "broker", persistence=True).start()
    outbox = Outbox(tmp_path / "outbox.sqlite")
    metrics = Metrics()
    pub = MqttPublisher(MqttSettings(client_id="mda-restart-test"), outbox, metrics)
    expected = {(f"{i:020x}", v) for i in range(100) for v in (1, 2)}

    async def main() -> dict[tuple[str, int], int]:
        got: dict[tuple[str, int], int] = {}
        stop = asyncio.Event()
        # the subscriber comes back late, so what is published meanwhile must wait in its
        # persistent session, which the broker has to have saved across its restart
        sub = asyncio.create_task(_subscriber(port, got, stop, "restart-sub", retry_s=2.0))
        await asyncio.sleep(0.5)
        runner = asyncio.create_task(pub.run("127.0.0.1", port, stop))
        items = sorted(expected, key=lambda k: (k[1], k[0]))
        for n, (aid, ver) in enumerate(items):
            payload = orjson.dumps({"id": aid, "version": ver})
            outbox.put_many([("mdacentre/v1/alerts/JM/test/low", payload, 1, False)])
            pub.notify()
            if n == 60:
                broker.stop()  # the broker goes away in the middle of the stream
            if n == 120:
                broker.start()
            await asyncio.sleep(0.01)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and set(got) != expected:
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(runner, return_exceptions=True)
        sub.cancel()
        await asyncio.gather(sub, return_exceptions=True)
        return got

    try:
        got = asyncio.run(main())
    finally:
        broker.close()
    assert set(got) == expected, f"missing {len(expected - set(got))} of {len(expected)}"
    assert outbox.stats()["queued"] == 0
    assert metrics.get("mda_mqtt_reconnects_total") >= 1


def _tanker_feed(path: Path, mmsi: int = 538009876) -> None:
    lines = static(mmsi, "KILL TEST", 83, T0 - 10)
    for i in range(30):
        lines += position(mmsi, 15.05, -58.0 - 0.1 * i, T0 + 60 * i)
    path.write_text("\n".join(lines) + "\n")


def _outbox_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as c:
            return int(c.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    except sqlite3.Error:
        return 0


def _queued_alerts(db: Path) -> set[tuple[str, int, str]]:
    """(id, version, category) of the alert versions waiting in the outbox."""
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT topic, payload FROM outbox WHERE delivered IS NULL").fetchall()
    out = set()
    for topic, payload in rows:
        if topic.startswith("mdacentre/v1/alerts/"):
            d = orjson.loads(payload)
            out.add((d["id"], d["version"], d["category"]))
    return out


def test_sigkill_with_alerts_queued_then_restart_delivers(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    _tanker_feed(tmp_path / "tanker.nmea")
    (feeds / "tanker.toml").write_text(
        f'name = "tanker"\nkind = "ais"\ntransport = "file"\npath = "{tmp_path / "tanker.nmea"}"\n'
    )
    data = tmp_path / "var"
    mqtt_port = free_port()
    env = {**os.environ, "MDA_MQTT_CLIENT_ID": "mda-kill-test"}
    cmd = [
        sys.executable,
        "-m",
        "mdacentre",
        "serve",
        "--feeds",
        str(feeds),
        "--data-dir",
        str(data),
        "--http-port",
        str(free_port()),
        "--mqtt-host",
        "127.0.0.1",
        "--mqtt-port",
        str(mqtt_port),
    ]
    # 1) No broker yet: the alert can only be queued in the outbox. Then SIGKILL.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _outbox_count(data / "mdacentre.sqlite") == 0:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.2)
        assert _outbox_count(data / "mdacentre.sqlite") > 0
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    queued = _queued_alerts(data / "mdacentre.sqlite")
    assert "hazardous_cargo" in {c for _i, _v, c in queued}
    # 2) The broker comes up, a unit subscribes, the service restarts: the queued alert arrives.
    broker = Mosquitto(mqtt_port, workdir=tmp_path / "broker").start()

    async def main() -> dict[tuple[str, int], int]:
        got: dict[tuple[str, int], int] = {}
        stop = asyncio.Event()
        sub = asyncio.create_task(_subscriber(mqtt_port, got, stop, "kill-sub"))
        await asyncio.sleep(0.5)
        proc2 = await asyncio.create_subprocess_exec(
            *cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not got:
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.0)  # the restart re-reads the same file: nothing new may come
        finally:
            proc2.send_signal(signal.SIGTERM)
            await proc2.wait()
            stop.set()
            sub.cancel()
            await asyncio.gather(sub, return_exceptions=True)
        return got

    try:
        got = asyncio.run(main())
    finally:
        broker.close()
    assert got, "the alert queued before the SIGKILL was never delivered"
    missing = {(i, v) for i, v, _c in queued} - set(got)
    assert not missing, f"queued before the SIGKILL, never delivered: {missing}"
    # each situation published once: the restart re-read the same file and raised nothing anew
    assert all(v == 1 for (_id, v) in got), got


def _jitter_chunks(mmsi: int, t0: float) -> bytes:
    """A hazardous tanker drifting across the Caribbean Sea boundary (about 60 W at 15.05 N) for an hour."""
    lines = static(mmsi, "JITTER", 81, t0 - 10)
    lines += position(mmsi, 15.05, -59.0, t0 - 600)  # clearly outside first
    for i in range(120):
        lon = -59.775 + (0.004 if i % 2 else -0.004)  # about +-430 m around the boundary
        lines += position(mmsi, 15.05, lon, t0 + 30 * i, sog=0.5)
    lines += position(mmsi, 15.05, -60.5, t0 + 3700)  # then really inside
    return ("\n".join(lines) + "\n").encode()


def _core(tmp: Path) -> Core:
    settings = replace(Settings(), data_dir=tmp)
    return Core(settings, [FeedSpec("f", FeedKind.AIS, Transport.FILE, path="x")], Metrics())


def test_jitter_one_alert_and_ack_survives_replay(tmp_path: Path) -> None:
    data = _jitter_chunks(538004242, T0)
    store = AlertStore(tmp_path / "alerts.sqlite")
    core = _core(tmp_path)
    lines = data.split(b"\n")
    alerts = []
    for i in range(0, len(lines), 7):
        chunk = b"\n".join(lines[i : i + 7]) + b"\n"
        alerts += store.admit(core.step(core.decode([Chunk(0, chunk, T0)])).alerts, core.pipeline.alerts)
    haz = [a for a in alerts if a.category == "hazardous_cargo"]
    assert [a.status for a in haz] == [AlertStatus.OPEN], [(a.status, a.time) for a in haz]
    aid = haz[0].id
    acked = store.acknowledge(
        aid, "watch officer 1", "tanker known, escort arranged", manager=core.pipeline.alerts
    )
    assert acked["status"] == "acknowledged" and acked["version"] == 2
    # The same data replayed (a restarted service, a feed that re-sends): nothing comes back.
    core2 = _core(tmp_path)
    again = []
    for i in range(0, len(lines), 7):
        chunk = b"\n".join(lines[i : i + 7]) + b"\n"
        again += store.admit(core2.step(core2.decode([Chunk(0, chunk, T0)])).alerts, core2.pipeline.alerts)
    assert [a for a in again if a.id == aid] == []
    assert store.get(aid)["status"] == "acknowledged"  # type: ignore[index]


@pytest.mark.parametrize("action", ["retract"])
def test_retracted_alert_is_not_raised_again(tmp_path: Path, action: str) -> None:
    data = _jitter_chunks(538004343, T0)
    store = AlertStore(tmp_path / "alerts.sqlite")
    core = _core(tmp_path)
    alerts = store.admit(core.step(core.decode([Chunk(0, data, T0)])).alerts, core.pipeline.alerts)
    aid = alerts[0].id
    d = store.acknowledge(aid, "duty officer", "raised in error", retract=True, manager=core.pipeline.alerts)
    assert d["status"] == "retracted"
    more = position(538004343, 15.05, -61.0, T0 + 4000)
    later = store.admit(
        core.step(core.decode([Chunk(0, ("\n".join(more) + "\n").encode(), T0)])).alerts, core.pipeline.alerts
    )
    assert later == []
