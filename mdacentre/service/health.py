"""Health of the running service: what ``/healthz``, ``/readyz``, the MQTT health topic and the map show.

:class:`HealthMonitor` builds a :class:`HealthReport` from the live objects (supervisor, core loop,
MQTT publisher, store, feeds). :meth:`HealthMonitor.report` is cheap and never touches the database:
the store probe and the outbox statistics are refreshed by :meth:`HealthMonitor.run` in a worker
thread, so a locked store cannot stall a health answer. The same loop refreshes the feed rates, the
outbox and store gauges (also while the broker is down), prunes delivered outbox rows and publishes
the report when it changes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

import orjson

from mdacentre.alerting.store import StoreDb
from mdacentre.ingest.sources import FeedSource
from mdacentre.runtime.health import Check, HealthReport, Reason
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import HealthSettings, StoreSettings
from mdacentre.service.coreloop import CoreLoop
from mdacentre.service.supervise import Supervisor
from mdacentre.sinks.mqtt import MqttPublisher
from mdacentre.sinks.outbox import Outbox

log = logging.getLogger(__name__)

PROBE_SLOW_S = 1.0  # a store probe waiting this long for a lock: the store is not writable now


class HealthMonitor:
    def __init__(
        self,
        settings: HealthSettings,
        store_settings: StoreSettings,
        metrics: Metrics,
        *,
        supervisor: Supervisor,
        loop: CoreLoop,
        publisher: MqttPublisher,
        db: StoreDb,
        outbox: Outbox,
        sources: list[FeedSource],
        watermark: Any,
        state: Any = None,
    ) -> None:
        self.s = settings
        self.store_s = store_settings
        self.metrics = metrics
        self.supervisor = supervisor
        self.loop = loop
        self.publisher = publisher
        self.db = db
        self.outbox = outbox
        self.sources = sources
        self.watermark = watermark  # () -> event-time watermark (epoch seconds, -inf before data)
        self.state = state
        self.started = time.time()
        self.store_error = ""
        self.probe_started: float | None = None
        self.outbox_stats: dict[str, float] = {"queued": 0.0, "oldest_undelivered_age_s": 0.0}
        self.outbox_stats_at = 0.0
        self._last_published = b""
        self._last_prune = time.monotonic()

    # -- the report (cheap, from cached values)
    def report(self) -> HealthReport:
        now = time.time()
        mono = time.monotonic()
        checks: list[Check] = []
        down = self.supervisor.down()
        checks.append(
            Check(
                name="stages",
                ok=not down,
                reason=None if not down else Reason.STAGE_DOWN,
                detail="; ".join(f"{s.name} {s.state.value}: {s.last_error}" for s in down),
                liveness=True,
            )
        )
        stalled = self.loop.stalled_for(mono)
        checks.append(
            Check(
                name="pipeline_stuck",
                ok=stalled < self.s.stuck_s,
                reason=None if stalled < self.s.stuck_s else Reason.PIPELINE_STUCK,
                detail=f"input waiting {stalled:.0f} s with no step" if stalled >= self.s.stuck_s else "",
                liveness=True,
                value=stalled,
            )
        )
        waiting = f"; store: {self.loop.store_error}" if self.loop.store_error else ""
        checks.append(
            Check(
                name="pipeline",
                ok=stalled < self.s.stall_s,
                reason=None if stalled < self.s.stall_s else Reason.PIPELINE_STALLED,
                detail=(
                    f"input waiting {stalled:.1f} s, {self.loop.queue.qsize()} chunks queued{waiting}"
                    if stalled >= self.s.stall_s
                    else ""
                ),
                value=stalled,
            )
        )
        connected = self.publisher.connected
        checks.append(
            Check(
                name="broker",
                ok=connected,
                reason=None if connected else Reason.BROKER_DISCONNECTED,
                detail="" if connected else (self.publisher.last_error or "not connected yet"),
            )
        )
        age = self.outbox_stats["oldest_undelivered_age_s"]
        if self.outbox_stats["queued"] and self.outbox_stats_at:
            age += max(0.0, now - self.outbox_stats_at)  # still waiting since the last refresh
        checks.append(
            Check(
                name="delivery",
                ok=age <= self.s.max_undelivered_age_s,
                reason=None if age <= self.s.max_undelivered_age_s else Reason.DELIVERY_BACKLOG,
                detail=(
                    f"{int(self.outbox_stats['queued'])} messages waiting, oldest {age:.0f} s"
                    if self.outbox_stats["queued"]
                    else ""
                ),
                value=age,
            )
        )
        store_error = self.store_error or self.loop.store_error
        if not store_error and self.probe_started is not None and mono - self.probe_started > PROBE_SLOW_S:
            store_error = f"a write has waited {mono - self.probe_started:.0f} s for the database lock"
        checks.append(
            Check(
                name="store",
                ok=not store_error,
                reason=Reason.STORE_NOT_WRITABLE if store_error else None,
                detail=store_error,
            )
        )
        wm = float(self.watermark())
        ahead = wm - now if math.isfinite(wm) else 0.0
        sane = ahead <= self.s.watermark_future_s
        checks.append(
            Check(
                name="watermark",
                ok=sane,
                reason=None if sane else Reason.WATERMARK_IN_FUTURE,
                detail="" if sane else f"event time is {ahead:.0f} s ahead of the wall clock",
                value=wm if math.isfinite(wm) else None,
            )
        )
        return HealthReport(time=now, checks=checks)

    def mqtt_payload(self, report: HealthReport) -> bytes:
        """The retained health message: readiness and its reasons (no volatile values, so it changes rarely)."""
        return orjson.dumps({"state": "online", "ready": report.ready, "reasons": report.reasons()})

    # -- the loop
    async def refresh(self) -> HealthReport:
        """Probe the store, read the outbox, update gauges and prune; then build the report."""
        self.probe_started = time.monotonic()
        try:
            self.store_error = await asyncio.to_thread(self.db.probe)
        finally:
            self.probe_started = None
        try:
            self.outbox_stats = await asyncio.to_thread(self.outbox.stats)
            self.outbox_stats_at = time.time()
        except Exception as exc:  # read errors show as a store error; the report goes on
            self.store_error = self.store_error or f"outbox: {exc}"
        self.metrics.set("mda_outbox_queued", self.outbox_stats["queued"])
        self.metrics.set(
            "mda_outbox_oldest_undelivered_age_seconds", self.outbox_stats["oldest_undelivered_age_s"]
        )
        self.metrics.set("mda_outbox_retried", self.outbox_stats.get("retried", 0.0))
        self.metrics.set("mda_store_bytes", float(self.db.size_bytes()))
        if time.monotonic() - self._last_prune >= self.store_s.prune_interval_s and not self.store_error:
            self._last_prune = time.monotonic()
            try:
                n = await asyncio.to_thread(self.outbox.prune, self.store_s.retention_s)
                self.metrics.inc("mda_outbox_pruned_total", n)
            except Exception as exc:
                log.warning("outbox prune: %s", exc)
        report = self.report()
        self.metrics.set("mda_ready", 1.0 if report.ready else 0.0)
        self.metrics.set("mda_live", 1.0 if report.live else 0.0)
        for c in report.checks:
            self.metrics.set("mda_health_check_ok", 1.0 if c.ok else 0.0, {"check": c.name})
        for src in self.sources:
            drops = src.kernel_drops() if hasattr(src, "kernel_drops") else None
            if drops is not None:
                self.metrics.set("mda_feed_kernel_drops", float(drops), {"feed": src.spec.name})
        payload = self.mqtt_payload(report)
        if payload != self._last_published:
            self._last_published = payload
            if not report.ready:
                log.warning(
                    "not ready: %s", "; ".join(f"{c.name}: {c.detail}" for c in report.checks if not c.ok)
                )
            else:
                log.info("ready")
        self.publisher.set_health(payload)
        if self.state is not None and hasattr(self.state, "set_health"):
            self.state.set_health(report.as_json())
        return report
