"""Health that tells the truth: /healthz, /readyz, the MQTT health topic and the map show the same."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import websockets
from conftest import position, static

from mdacentre.alerting.store import STORE_FILE, StoreDb
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.sources import FeedSource
from mdacentre.ingest.udpstats import kernel_drops, parse_drops, set_receive_buffer, socket_inode
from mdacentre.runtime.health import Reason
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import (
    AuthSettings,
    HealthSettings,
    HttpSettings,
    MqttSettings,
    Settings,
    StoreSettings,
)
from mdacentre.service.coreloop import CoreLoop
from mdacentre.service.health import HealthMonitor
from mdacentre.service.supervise import Supervisor
from mdacentre.service.wiring import feed_health_json, run_service
from mdacentre.sinks.broker import Mosquitto, free_port
from mdacentre.sinks.mqtt import MqttPublisher
from mdacentre.sinks.outbox import Outbox
from tests.authkit import PASSWORD, SignedIn

USER = SignedIn()  # the service's first user (watch officer), signed in at the first 401


def _get(port: int, path: str) -> tuple[int, Any]:
    status, body = USER.request(port, path)
    return status, orjson.loads(body) if path != "/metrics" or status != 200 else body.decode()


def _tanker_lines(k: int) -> bytes:
    mmsi = 538002000 + k
    t = time.time()
    return (
        "\n".join(static(mmsi, f"HEALTH {k}", 81, t) + position(mmsi, 15.05, -61.0 - 0.05 * k, t)) + "\n"
    ).encode()


def test_broker_outage_is_reported_and_outbox_metrics_stay_right(tmp_path: Path) -> None:
    http, feed, mqtt = free_port(), free_port(), free_port()
    settings = replace(
        Settings(),
        data_dir=tmp_path / "var",
        mqtt=MqttSettings(host="127.0.0.1", port=mqtt, client_id="mda-health-test"),
        http=HttpSettings(port=http),
        auth=AuthSettings(bootstrap_password=PASSWORD),
        health=HealthSettings(interval_s=0.3, max_undelivered_age_s=1.0),
    )
    feeds = [FeedSpec("shore", FeedKind.AIS, Transport.TCP_SERVER, host="127.0.0.1", port=feed)]
    got: list[dict[str, Any]] = []
    health_msgs: list[dict[str, Any]] = []

    async def subscribe() -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", mqtt, identifier="health-sub") as c:
                    await c.subscribe("mdacentre/v1/#", qos=1)
                    async for m in c.messages:
                        d = orjson.loads(
                            m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
                        )
                        (health_msgs if str(m.topic).endswith("service/health") else got).append(d)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    async def until(pred: Any, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = await asyncio.to_thread(pred)
            if v:
                return v
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out; last /readyz {await asyncio.to_thread(_get, http, '/readyz')}")

    async def main() -> None:
        stop, started = asyncio.Event(), asyncio.Event()
        svc = asyncio.create_task(run_service(settings, feeds, stop, started=started))
        await asyncio.wait_for(started.wait(), 30)
        broker = None
        try:
            for _ in range(200):
                try:
                    _r, w = await asyncio.open_connection("127.0.0.1", feed)
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            for k in range(3):
                w.write(_tanker_lines(k))
            await w.drain()
            # 1) no broker: not ready, and says why; alive all the same
            body = await until(
                lambda: (b := _get(http, "/readyz")[1]) and "delivery_backlog" in b["reasons"] and b
            )
            assert (await asyncio.to_thread(_get, http, "/readyz"))[0] == 503
            assert "broker_disconnected" in body["reasons"] and body["checks"]["broker"]["ok"] is False
            assert body["checks"]["store"]["ok"] and body["checks"]["pipeline"]["ok"]
            code, live = await asyncio.to_thread(_get, http, "/healthz")
            assert code == 200 and live["status"] == "ok" and live["ready"] is False
            # the outbox gauges are right while the broker is down
            metrics = (await asyncio.to_thread(_get, http, "/metrics"))[1]
            queued = [ln for ln in metrics.splitlines() if ln.startswith("mda_outbox_queued ")]
            assert queued and float(queued[0].split()[1]) >= 3, queued
            assert "mda_store_bytes" in metrics
            # the map gets the same report in its snapshot
            ws_headers = {"Cookie": USER.cookie()}
            async with websockets.connect(f"ws://127.0.0.1:{http}/ws", additional_headers=ws_headers) as ws:
                snap = json.loads(await ws.recv())
            assert snap["health"]["ready"] is False and "broker_disconnected" in snap["health"]["reasons"]
            # 2) the broker comes: ready, the queued alerts arrive, the health topic says so
            broker = Mosquitto(mqtt, workdir=tmp_path / "broker").start()
            sub = asyncio.create_task(subscribe())
            await until(lambda: _get(http, "/readyz")[0] == 200)
            await until(lambda: len({d["id"] for d in got if d.get("category") == "hazardous_cargo"}) >= 3)
            await until(lambda: health_msgs and health_msgs[-1].get("ready") is True)
            assert health_msgs[-1] == {"state": "online", "ready": True, "reasons": []}
            sub.cancel()
        finally:
            stop.set()
            await asyncio.wait_for(svc, 30)
            if broker is not None:
                broker.close()

    asyncio.run(main())


def _monitor(tmp: Path, watermark: float, stalled: bool = False) -> HealthMonitor:
    metrics = Metrics()
    db = StoreDb(tmp / STORE_FILE)
    outbox = Outbox(db)
    q: asyncio.Queue[Any] = asyncio.Queue()
    loop = CoreLoop(None, q, None, None, lambda p: [], lambda: None)  # type: ignore[arg-type]
    if stalled:
        loop.busy_since = time.monotonic() - 100.0
        loop.store_error = "database is locked"
    pub = MqttPublisher(MqttSettings(), outbox, metrics)
    pub.connected = True
    return HealthMonitor(
        HealthSettings(),
        StoreSettings(),
        metrics,
        supervisor=Supervisor(metrics, asyncio.Event()),
        loop=loop,
        publisher=pub,
        db=db,
        outbox=outbox,
        sources=[],
        watermark=lambda: watermark,
    )


def test_watermark_ahead_of_the_wall_clock_is_not_sane(tmp_path: Path) -> None:
    r = _monitor(tmp_path, time.time() + 3600).report()
    assert not r.ready and r.live and r.reasons() == [Reason.WATERMARK_IN_FUTURE.value]
    assert _monitor(tmp_path, time.time() - 86400).report().ready  # old data (a replay) is fine
    assert _monitor(tmp_path, float("-inf")).report().ready  # no data yet


def test_a_stuck_pipeline_fails_liveness(tmp_path: Path) -> None:
    r = _monitor(tmp_path, float("-inf"), stalled=True).report()
    assert not r.live and not r.ready
    assert set(r.reasons()) == {"pipeline_stuck", "pipeline_stalled", "store_not_writable"}
    assert r.as_json("liveness")["reasons"] == ["pipeline_stuck"]


def test_udp_kernel_drops_are_counted_per_feed() -> None:
    metrics = Metrics()

    async def main() -> tuple[int | None, list[dict[str, Any]]]:
        stop = asyncio.Event()
        q: asyncio.Queue[Any] = asyncio.Queue()
        src = FeedSource(
            0,
            FeedSpec(
                "radio", FeedKind.AIS, Transport.UDP, host="127.0.0.1", port=0, options={"rcvbuf_bytes": 4096}
            ),
            q,
            metrics,
        )
        task = asyncio.create_task(src.run(stop))
        while src.udp_inode is None:
            await asyncio.sleep(0.01)
        assert src.rcvbuf_bytes < 65536  # the small buffer asked for was set
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(3000):  # the loop is not reading meanwhile: the kernel must drop
                s.sendto(
                    b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n", ("127.0.0.1", src.listen_port or 0)
                )
        drops = src.kernel_drops()
        health = feed_health_json([src], metrics, {})
        stop.set()
        await task
        return drops, health

    drops, health = asyncio.run(main())
    assert drops is not None and drops > 0
    assert health[0]["kernel_drops"] == drops and health[0]["rcvbuf_bytes"] > 0


def test_proc_net_udp_parsing_and_buffer_size() -> None:
    text = (
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
        "  1: 0100007F:2710 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17\n"
    )
    assert parse_drops(text) == {4242: 17}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        assert set_receive_buffer(s, 1 << 20) >= 1 << 20  # Linux reports twice what was asked
        assert kernel_drops(socket_inode(s)) == 0


def test_acknowledgement_while_the_store_is_locked_answers_at_once(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    import sqlite3

    http, feed = free_port(), free_port()
    settings = replace(
        Settings(),
        data_dir=tmp_path / "var",
        mqtt=MqttSettings(host="127.0.0.1", port=mosquitto.port, client_id="mda-ack-lock"),
        http=HttpSettings(port=http),
        auth=AuthSettings(bootstrap_password=PASSWORD),
        health=HealthSettings(interval_s=0.3),
        store=StoreSettings(busy_timeout_s=5.0),
    )
    feeds = [FeedSpec("shore", FeedKind.AIS, Transport.TCP_SERVER, host="127.0.0.1", port=feed)]

    def post(aid: str) -> tuple[int, dict[str, Any]]:
        status, body = USER.request(http, f"/api/alerts/{aid}/ack", {"note": "seen"})
        return status, orjson.loads(body)

    async def main() -> None:
        stop, started = asyncio.Event(), asyncio.Event()
        svc = asyncio.create_task(run_service(settings, feeds, stop, started=started))
        await asyncio.wait_for(started.wait(), 30)
        try:
            for _ in range(200):
                try:
                    _r, w = await asyncio.open_connection("127.0.0.1", feed)
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            w.write(_tanker_lines(7))
            await w.drain()
            alerts: list[Any] = []
            for _ in range(100):
                alerts = (await asyncio.to_thread(_get, http, "/api/alerts"))[1]
                if alerts:
                    break
                await asyncio.sleep(0.1)
            aid = alerts[0]["id"]
            other = sqlite3.connect(settings.data_dir / STORE_FILE, isolation_level=None)
            other.execute("BEGIN EXCLUSIVE")
            try:
                t = time.monotonic()
                code, body = await asyncio.to_thread(post, aid)
                assert code == 422 and "busy" in body["error"], body
                assert time.monotonic() - t < 3.0  # no 5 s wait on the event loop
            finally:
                other.execute("ROLLBACK")
                other.close()
            code, body = await asyncio.to_thread(post, aid)
            assert code == 200 and body["status"] == "acknowledged"
        finally:
            stop.set()
            await asyncio.wait_for(svc, 30)

    asyncio.run(main())


def test_udp_socket_is_drained_in_batches_while_the_pipeline_is_busy() -> None:
    """A busy pipeline (each chunk takes 20 ms) must not leave datagrams to the kernel one per loop turn."""
    metrics = Metrics()
    n = 5000

    async def main() -> tuple[int, int, int | None]:
        stop = asyncio.Event()
        q: asyncio.Queue[Any] = asyncio.Queue()
        src = FeedSource(
            0, FeedSpec("radio", FeedKind.AIS, Transport.UDP, host="127.0.0.1", port=0), q, metrics
        )
        task = asyncio.create_task(src.run(stop))
        while src.udp_inode is None:
            await asyncio.sleep(0.01)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(n):
                s.sendto(
                    b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24", ("127.0.0.1", src.listen_port or 0)
                )
                if i % 100 == 0:
                    await asyncio.sleep(0)
        lines = chunks = 0
        while lines < n:
            ch = await asyncio.wait_for(q.get(), 30)
            time.sleep(0.02)  # the pipeline step holding the loop
            lines += ch.data.count(b"\n")
            chunks += 1
        drops = src.kernel_drops()
        stop.set()
        await task
        return lines, chunks, drops

    lines, chunks, drops = asyncio.run(main())
    assert lines == n and drops == 0
    assert chunks < n // 10, chunks  # many datagrams per chunk, not one


def test_core_loop_joins_close_chunks_of_one_line_feed() -> None:
    from types import SimpleNamespace

    from mdacentre.ingest.sources import Chunk

    feeds = [
        FeedSpec("a", FeedKind.AIS, Transport.TCP_SERVER, port=1),
        FeedSpec("b", FeedKind.BEAST, Transport.TCP_CLIENT, port=2),
    ]
    loop = CoreLoop(SimpleNamespace(feeds=feeds), asyncio.Queue(), None, None, lambda p: [], lambda: None)  # type: ignore[arg-type]
    t = 1000.0
    chunks = [
        Chunk(0, b"l1\n", t),
        Chunk(0, b"l2\n", t + 0.01),
        Chunk(1, b"\x1a1", t + 0.02),
        Chunk(1, b"\x1a2", t + 0.02),  # binary stream: never joined
        Chunk(0, b"l3\n", t + 0.03),
        Chunk(0, b"l4\n", t + 1.0),  # a second later: its own receive time is kept
    ]
    out = loop._merge(chunks)
    assert [(c.feed, c.data, c.receive_time) for c in out] == [
        (0, b"l1\nl2\n", t + 0.01),
        (1, b"\x1a1", t + 0.02),
        (1, b"\x1a2", t + 0.02),
        (0, b"l3\n", t + 0.03),
        (0, b"l4\n", t + 1.0),
    ]
