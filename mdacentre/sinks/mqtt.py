"""MQTT sink: drains the durable outbox to the broker with aiomqtt (QoS 1, jittered reconnect).

Topic tree (prefix default ``mdacentre/v1``):

* ``{prefix}/alerts/{state}/{category}/{level}`` - alert versions (JSON, QoS 1)
* ``{prefix}/tracks/{kind}/{id}/status`` - retained current level and reasons of a flagged track
* ``{prefix}/service/health`` - retained ``online``; the broker publishes ``offline`` (last will)
* ``{prefix}/ack/{agency}`` - acknowledgement commands from agencies (subscribed by the service; the
  broker ACL lets each agency write only its own topic)
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable

import aiomqtt

from mdacentre.runtime.backoff import Backoff
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import MqttSettings
from mdacentre.sinks.outbox import Outbox

log = logging.getLogger(__name__)


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

    @property
    def health_topic(self) -> str:
        return f"{self.s.topic_prefix}/service/health"

    def _client(self, host: str, port: int) -> aiomqtt.Client:
        tls = None
        if self.s.tls:
            tls = ssl.create_default_context(cafile=self.s.ca_file or None)
        return aiomqtt.Client(
            hostname=host,
            port=port,
            identifier=self.s.client_id,
            username=self.s.username or None,
            password=self.s.password or None,
            tls_context=tls,
            will=aiomqtt.Will(self.health_topic, b"offline", qos=1, retain=True),
            clean_session=False,
            keepalive=30,
        )

    def notify(self) -> None:
        self.wakeup.set()

    async def run(self, host: str, port: int, stop: asyncio.Event) -> None:
        backoff = Backoff(0.2, 10.0)
        while not stop.is_set():
            try:
                async with self._client(host, port) as client:
                    self.connected = True
                    self.metrics.set("mda_mqtt_connected", 1)
                    backoff.reset()
                    await client.publish(self.health_topic, b"online", qos=1, retain=True)
                    listener = None
                    if self.on_command is not None:
                        await client.subscribe(f"{self.s.topic_prefix}/ack/#", qos=1)
                        listener = asyncio.create_task(self._listen(client))
                    try:
                        await self._drain_loop(client, stop)
                    finally:
                        if listener is not None:
                            listener.cancel()
                    if stop.is_set():
                        await client.publish(self.health_topic, b"offline", qos=1, retain=True)
            except aiomqtt.MqttError as exc:
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

    async def _drain_loop(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        while not stop.is_set():
            batch = self.outbox.pending(200)
            if not batch:
                self._export_stats()
                self.wakeup.clear()
                try:
                    await asyncio.wait_for(self.wakeup.wait(), 1.0)
                except TimeoutError:
                    pass
                continue
            for m in batch:
                self.outbox.mark_attempt(m.seq)
                await client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain, timeout=10)
                self.outbox.mark_delivered([m.seq])
                self.metrics.inc("mda_mqtt_published_total")
            self._export_stats()

    def _export_stats(self) -> None:
        st = self.outbox.stats()
        self.metrics.set("mda_outbox_queued", st["queued"])
        self.metrics.set("mda_outbox_oldest_undelivered_age_seconds", st["oldest_undelivered_age_s"])
        self.metrics.set("mda_outbox_retried", st["retried"])
