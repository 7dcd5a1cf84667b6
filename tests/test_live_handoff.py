"""The live alert path: steps gathered at most every ``core.batch_interval_s``, and a committed alert
written to the broker before the next pipeline step runs (asyncio runs tasks in turn)."""

from __future__ import annotations

import asyncio
import selectors
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import paho.mqtt.client as paho

from mdacentre.alerting.store import STORE_FILE, StoreDb
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.sources import Chunk
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import MqttSettings
from mdacentre.service.coreloop import CoreLoop
from mdacentre.sinks.broker import Mosquitto
from mdacentre.sinks.mqtt import MqttPublisher
from mdacentre.sinks.outbox import Outbox


class _Core:
    """What the core loop needs of a core, recording the chunks of every step."""

    def __init__(self) -> None:
        self.feeds = [FeedSpec("a", FeedKind.AIS, Transport.TCP_SERVER, port=1)]
        self.steps: list[list[bytes]] = []
        self.pipeline = SimpleNamespace(watermark=0.0, table=None, alerts=None)
        self.settings = SimpleNamespace(time=SimpleNamespace(idle_flush_s=60.0))
        self.timeline = SimpleNamespace(held=0)

    def ingest(self, chunks: list[Chunk], wall: float) -> list[Any]:
        self.steps.append([c.data for c in chunks])
        return []


def _steps(min_step_s: float) -> list[list[bytes]]:
    core = _Core()

    async def main() -> None:
        q: asyncio.Queue[Chunk] = asyncio.Queue()
        loop = CoreLoop(core, q, None, None, lambda p: [], lambda: None, min_step_s=min_step_s)  # type: ignore[arg-type]
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop))
        t = 1000.0  # receive times a second apart: never joined into one chunk
        q.put_nowait(Chunk(0, b"a\n", t))  # the first chunk after a quiet spell: stepped at once
        await asyncio.sleep(0.05)
        q.put_nowait(Chunk(0, b"b\n", t + 1))  # lines flow: b and c come 50 ms apart
        await asyncio.sleep(0.05)
        q.put_nowait(Chunk(0, b"c\n", t + 2))
        await asyncio.sleep(0.6)
        q.put_nowait(Chunk(0, b"d\n", t + 3))  # quiet again: stepped at once, e in a step of its own
        await asyncio.sleep(0.05)
        q.put_nowait(Chunk(0, b"e\n", t + 4))
        await asyncio.sleep(0.6)
        stop.set()
        await task

    asyncio.run(main())
    return core.steps


def test_batch_interval_gathers_flowing_chunks_and_steps_a_lone_chunk_at_once() -> None:
    assert _steps(0.3) == [[b"a\n"], [b"b\n", b"c\n"], [b"d\n"], [b"e\n"]]
    # 0: every chunk is its own step as soon as it is waiting
    assert _steps(0.0) == [[b"a\n"], [b"b\n"], [b"c\n"], [b"d\n"], [b"e\n"]]


def test_committed_alert_leaves_before_the_next_step(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """After ``handed()`` the message is on the broker's socket: a subscriber gets it while the event
    loop is held by a (simulated) long pipeline step, and the publisher does not spin on the socket."""
    got: dict[str, float] = {}
    arrived = threading.Event()
    sub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="handoff-sub")

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        got[msg.topic] = time.monotonic()
        arrived.set()

    subscribed = threading.Event()
    sub.on_message = on_message
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect(mosquitto.host, mosquitto.port)
    sub.subscribe("t/#", qos=1)
    sub.loop_start()
    assert subscribed.wait(10)
    outbox = Outbox(StoreDb(tmp_path / STORE_FILE))
    pub = MqttPublisher(MqttSettings(client_id="handoff"), outbox, Metrics())

    async def main() -> tuple[float, float, int]:
        stop = asyncio.Event()
        task = asyncio.create_task(pub.run(mosquitto.host, mosquitto.port, stop))
        while not pub.connected:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        outbox.put_many([("t/alert", b"{}", 1, False)])  # the step's transaction committed
        pub.notify()
        await pub.handed()
        t0 = time.monotonic()
        time.sleep(1.0)  # the next pipeline step holds the loop for a second
        t1 = time.monotonic()
        await asyncio.sleep(0.3)  # the PUBACK is read and the row marked; the loop goes idle
        sel = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
        writers = sum(1 for key in sel.get_map().values() if key.events & selectors.EVENT_WRITE)
        stop.set()
        await task
        return t0, t1, writers

    try:
        t0, t1, writers = asyncio.run(main())
        assert arrived.wait(10)
    finally:
        sub.loop_stop()
        sub.disconnect()
        outbox.close()
    assert got["t/alert"] < t1, "the alert left only after the step that followed its commit"
    assert writers == 0, "a writer callback stays registered on an idle connection (busy loop)"
    assert t0 <= t1
