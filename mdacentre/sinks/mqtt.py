"""MQTT sink: drains the durable outbox to the broker with aiomqtt (QoS 1, jittered reconnect).

Topic tree (prefix default ``mdacentre/v1``):

* ``{prefix}/alerts/{state}/{category}/{level}`` - alert versions (JSON, QoS 1)
* ``{prefix}/tracks/{kind}/{id}/status`` - retained current level and reasons of a flagged track
* ``{prefix}/service/health`` - retained JSON: ``{"state": "online", "ready": ..., "reasons": [...]}``, the
  same report as ``/readyz``, re-published when it changes; the broker publishes
  ``{"state": "offline"}`` (last will) when the service goes away
* ``{prefix}/ack/{agency}`` - acknowledgement commands from agencies (subscribed by the service; the
  broker ACL lets each agency write only its own topic)
* ``{prefix}/ack/{agency}/reply`` - the service's answer to each command: accepted (with the new
  version) or refused (with the reason); only that agency may read it
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt
import orjson

from mdacentre.runtime.backoff import Backoff
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import MqttSettings
from mdacentre.sinks.outbox import Outbox, OutMessage

log = logging.getLogger(__name__)


OFFLINE = orjson.dumps({"state": "offline", "ready": False, "reasons": ["service_offline"]})
PUBLISH_BATCH = 200  # outbox rows in flight (published, QoS 1, in order, not yet acknowledged)
WRITE_TURNS = 3  # loop turns from client.publish() to the bytes on the socket (aiomqtt's writer)
HANDOFF_WAIT_S = 0.05  # the core loop waits at most this long for a step's alerts to be written out


def alert_topic(prefix: str, state: str, category: str, level: str) -> str:
    return f"{prefix}/alerts/{state}/{category}/{level}"


class MqttPublisher:
    def __init__(
        self,
        settings: MqttSettings,
        outbox: Outbox,
        metrics: Metrics,
        on_command: Callable[[str, bytes], Awaitable[None]] | None = None,
    ) -> None:
        self.s = settings
        self.outbox = outbox
        self.metrics = metrics
        self.on_command = on_command
        self.wakeup = asyncio.Event()
        self.connected = False
        self.last_error = ""
        self.connected_since = 0.0
        self.health = orjson.dumps({"state": "online", "ready": False, "reasons": ["starting"]})
        self._health_sent = b""
        self._asked = 0  # notifications so far (each: rows were committed to the outbox)
        self._handed = 0  # notifications whose rows the publisher has read and written out
        self._handed_event = asyncio.Event()

    @property
    def health_topic(self) -> str:
        return f"{self.s.topic_prefix}/service/health"

    def _client(self, host: str, port: int) -> aiomqtt.Client:
        tls = None
        if self.s.tls:
            tls = ssl.create_default_context(cafile=self.s.ca_file or None)
            if self.s.cert_file:  # client certificate (broker with require_certificate)
                tls.load_cert_chain(self.s.cert_file, self.s.key_file or None)
        return aiomqtt.Client(
            hostname=host,
            port=port,
            identifier=self.s.client_id,
            username=self.s.username or None,
            password=self.s.password or None,
            tls_context=tls,
            will=aiomqtt.Will(self.health_topic, OFFLINE, qos=1, retain=True),
            clean_session=False,
            keepalive=30,
            timeout=10,
            max_inflight_messages=PUBLISH_BATCH,
        )

    def set_health(self, payload: bytes) -> None:
        """The health report to publish (retained) on the health topic; sent when it changes."""
        if payload != self.health:
            self.health = payload
            self.wakeup.set()

    def notify(self) -> None:
        self._asked += 1
        self.wakeup.set()

    async def run(self, host: str, port: int, stop: asyncio.Event) -> None:
        backoff = Backoff(0.2, 10.0)
        while not stop.is_set():
            try:
                async with self._client(host, port) as client:
                    self.connected = True
                    self.connected_since = time.time()
                    self.last_error = ""
                    self.metrics.set("mda_mqtt_connected", 1)
                    backoff.reset()
                    self._health_sent = b""
                    await self._send_health(client)
                    listener = None
                    if self.on_command is not None:
                        await client.subscribe(f"{self.s.topic_prefix}/ack/+", qos=1)  # not the replies
                        listener = asyncio.create_task(self._listen(client))
                    try:
                        await self._drain_loop(client, stop)
                    finally:
                        if listener is not None:
                            listener.cancel()
                    if stop.is_set():
                        await client.publish(self.health_topic, OFFLINE, qos=1, retain=True)
            except aiomqtt.MqttError as exc:
                self.last_error = str(exc)
                log.warning("mqtt: %s", exc)
            finally:
                self.connected = False
                self.metrics.set("mda_mqtt_connected", 0)
            if stop.is_set():
                break
            self.metrics.inc("mda_mqtt_reconnects_total")
            try:
                await asyncio.wait_for(stop.wait(), backoff.next_delay())
            except TimeoutError:
                pass

    async def _listen(self, client: aiomqtt.Client) -> None:
        assert self.on_command is not None
        async for msg in client.messages:
            payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
            try:
                await self.on_command(str(msg.topic), payload)
            except Exception as exc:  # a bad command must not stop delivery
                log.warning("mqtt command on %s refused: %s", msg.topic, exc)
                self.metrics.inc("mda_commands_rejected_total")

    async def _send_health(self, client: aiomqtt.Client) -> None:
        payload = self.health
        if payload != self._health_sent:
            await client.publish(self.health_topic, payload, qos=1, retain=True, timeout=10)
            self._health_sent = payload

    async def _drain_loop(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        """Publish waiting rows as soon as they are committed (woken by :meth:`notify`), in order.

        Reading the outbox never waits for a writer, so a row goes out in the loop turn after it was
        committed. Batches are pipelined: a new row is published while earlier ones still wait for
        their PUBACK (up to ``PUBLISH_BATCH`` rows in flight), and :meth:`handed` tells the core
        loop when the packets are on the socket. Rows are marked delivered by a second task once the
        broker acknowledged them; the cursor keeps a row from being sent twice on one connection
        while its mark is pending.
        """
        cursor = 0
        inflight: deque[tuple[list[OutMessage], asyncio.Future[list[BaseException | None]]]] = deque()
        marks: asyncio.Queue[tuple[list[int], int]] = asyncio.Queue()
        marker = asyncio.create_task(self._marker(marks))
        store_backoff = Backoff(0.05, 2.0)
        try:
            while not stop.is_set():
                self.wakeup.clear()
                asked = self._asked
                await self._send_health(client)
                room = PUBLISH_BATCH - sum(len(b) for b, _f in inflight)
                batch: list[OutMessage] = []
                if room > 0:
                    try:
                        batch = self.outbox.pending(room, after=cursor)
                    except sqlite3.OperationalError as exc:  # store unreadable for a moment: retry
                        self.last_error = f"store: {exc}"
                        log.warning("outbox: %s; retrying", exc)
                        await self._sleep_or_wake(stop, store_backoff.next_delay())
                        continue
                    store_backoff.reset()
                if batch:
                    # QoS 1 publishes in flight together keep their order; each resolves on its PUBACK.
                    fut = asyncio.gather(
                        *(
                            client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain, timeout=10)
                            for m in batch
                        ),
                        return_exceptions=True,
                    )
                    inflight.append((batch, fut))
                    cursor = batch[-1].seq
                    # Three loop turns, while the core loop waits in handed(): the publish tasks
                    # queue their packets, aiomqtt registers its socket writer, the writer sends.
                    for _ in range(WRITE_TURNS):
                        await asyncio.sleep(0)
                self._handed = asked
                self._handed_event.set()
                while inflight and inflight[0][1].done():
                    self._acknowledged(*inflight.popleft(), marks)
                # sleep until rows are committed (notify) or the oldest batch in flight resolves
                wake = asyncio.ensure_future(self.wakeup.wait())
                waits: set[asyncio.Future[Any]] = {wake, inflight[0][1]} if inflight else {wake}
                await asyncio.wait(waits, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                wake.cancel()
            if inflight:  # stopping: let the broker acknowledge what is in flight (else sent again)
                await asyncio.wait([f for _b, f in inflight], timeout=2.0)
                while inflight and inflight[0][1].done():
                    self._acknowledged(*inflight.popleft(), marks)
        finally:
            for _b, fut in inflight:
                fut.cancel()
            await marks.join()  # every acknowledged row is marked before the next connection reads
            marker.cancel()
            await asyncio.gather(marker, *(f for _b, f in inflight), return_exceptions=True)

    def _acknowledged(
        self,
        batch: list[OutMessage],
        fut: asyncio.Future[list[BaseException | None]],
        marks: asyncio.Queue[tuple[list[int], int]],
    ) -> None:
        """A batch whose publishes all resolved: queue the acknowledged rows' marks; a failure raises."""
        results = fut.result()
        ok = [m for m, r in zip(batch, results, strict=True) if r is None]
        if ok:
            marks.put_nowait(([m.seq for m in ok], sum(m.attempts > 0 for m in ok)))
            self.metrics.inc("mda_mqtt_published_total", len(ok))
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed if isinstance(failed, aiomqtt.MqttError) else aiomqtt.MqttError(str(failed))

    async def handed(self, timeout: float = HANDOFF_WAIT_S) -> None:
        """Wait until the publisher has read (and, when connected, written to the broker's socket)
        every row committed before the last :meth:`notify`; at most ``timeout`` seconds.

        The core loop awaits this after a step that queued alerts, so the next step's work does not
        run between an alert's commit and its packet leaving (asyncio has no priorities).
        """
        if not self.connected:
            return
        want = self._asked
        deadline = time.monotonic() + timeout
        while self._handed < want and self.connected:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._handed_event.clear()
            try:
                await asyncio.wait_for(self._handed_event.wait(), left)
            except TimeoutError:
                return

    async def _marker(self, marks: asyncio.Queue[tuple[list[int], int]]) -> None:
        """Mark acknowledged rows delivered; a locked store is waited out (else they would be sent twice)."""
        while True:
            seqs, retried = await marks.get()
            taken = 1
            while not marks.empty():  # every batch acknowledged meanwhile: one transaction
                more, more_retried = marks.get_nowait()
                seqs, retried, taken = seqs + more, retried + more_retried, taken + 1
            backoff = Backoff(0.05, 2.0)
            while True:
                try:
                    await asyncio.to_thread(self.outbox.mark_delivered, seqs, retried)
                    break
                except sqlite3.OperationalError as exc:
                    self.last_error = f"store: {exc}"
                    await asyncio.sleep(backoff.next_delay())
            for _ in range(taken):
                marks.task_done()

    async def _sleep_or_wake(self, stop: asyncio.Event, delay: float) -> None:
        if stop.is_set():
            return
        try:
            await asyncio.wait_for(self.wakeup.wait(), delay)
        except TimeoutError:
            pass

    def export_stats(self) -> None:
        """Outbox gauges; called by the health loop, so they stay right while the broker is down."""
        st = self.outbox.stats()
        self.metrics.set("mda_outbox_queued", st["queued"])
        self.metrics.set("mda_outbox_oldest_undelivered_age_seconds", st["oldest_undelivered_age_s"])
        self.metrics.set("mda_outbox_retried", st["retried"])
