"""The core loop: chunks from the feeds -> one pipeline step -> one store transaction -> sinks.

Event-driven: a step starts as soon as a chunk is waiting, with every chunk queued by then (up to
``max_chunks``), so an alert leaves as soon as its line is processed; under load the batches grow
by themselves while the previous step runs. There is no batching interval.

A step's alerts and their outbox messages are written in one transaction in a worker thread, so a
store lock held by another process never blocks the event loop (the web server and health keep
answering). A transient store error (locked, busy, read-only, full) is retried with backoff and the
step's result is kept: nothing accepted is lost. Meanwhile no further chunk is taken, so the queue
fills and the TCP feeds are slowed down by back-pressure rather than dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mdacentre.alerting.alerts import Alert
from mdacentre.alerting.store import AlertStore, OutItem, is_transient
from mdacentre.ingest.sources import Chunk
from mdacentre.runtime.backoff import Backoff
from mdacentre.service.pipeline import StepResult

log = logging.getLogger(__name__)


class CoreLoop:
    def __init__(
        self,
        core: Any,
        queue: asyncio.Queue[Chunk],
        state: Any,
        store: AlertStore,
        messages: Callable[[list[Alert]], list[OutItem]],
        notify: Callable[[], None],
        *,
        max_chunks: int = 2000,
    ) -> None:
        self.core = core
        self.queue = queue
        self.state = state
        self.store = store
        self.messages = messages
        self.notify = notify
        self.max_chunks = max_chunks
        self.pending: StepResult | None = None  # stepped, not yet admitted to the store
        self.busy_since: float | None = None  # monotonic time the current step's chunks were taken
        self.last_done = time.monotonic()
        self.steps = 0
        self.store_error = ""  # the transient store error the current step is waiting out

    def stalled_for(self, now: float | None = None) -> float:
        """Seconds that input has been waiting without a step completing (0 when idle or flowing)."""
        now = time.monotonic() if now is None else now
        if self.busy_since is not None:
            return max(0.0, now - self.busy_since)
        if self.queue.qsize():
            return max(0.0, now - self.last_done)
        return 0.0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.pending is None:
                try:
                    first = await asyncio.wait_for(self.queue.get(), 1.0)
                except TimeoutError:
                    self.last_done = time.monotonic()
                    continue
                self.busy_since = time.monotonic()
                chunks = [first]
                while len(chunks) < self.max_chunks:
                    try:
                        chunks.append(self.queue.get_nowait())
                    except asyncio.QueueEmpty:
                        break
                try:
                    res = self.core.step(self.core.decode(chunks))
                except BaseException:
                    self.busy_since = None
                    raise
                self._send_tracks(res)
                self.pending = res
            await self._admit(self.pending, stop)
            self.pending = None
            self.busy_since = None
            self.last_done = time.monotonic()
            self.steps += 1
            await asyncio.sleep(0)  # let the feeds and the web server run between steps

    async def _admit(self, res: StepResult, stop: asyncio.Event) -> None:
        if not res.alerts:
            return
        backoff = Backoff(0.05, 2.0)
        manager = self.core.pipeline.alerts
        while True:
            try:
                published = await asyncio.to_thread(self.store.admit, res.alerts, manager, self.messages)
                break
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.store_error = str(exc)
                self.core.metrics.inc("mda_store_retries_total")
                log.warning("store: %s; the step is kept and retried", exc)
                if stop.is_set():
                    raise
                await asyncio.sleep(backoff.next_delay())
        self.store_error = ""
        if published:
            self.notify()
            for a in published:
                self.state.add_alert(a.to_json())

    def _send_tracks(self, res: StepResult) -> None:
        core = self.core
        if len(res.rows):
            # Tracks whose gravity changed are re-sent too, so colours follow alerts.
            rows = res.rows
            if res.alerts:
                extra = core.pipeline.table.lookup(
                    np.array([a.track_key for a in res.alerts], dtype=np.int64)
                )
                rows = np.union1d(rows, extra[extra >= 0])
            self.state.upsert_tracks(core.tracks_json(rows))
        if len(res.evicted):
            self.state.remove_tracks([core.track_label(int(k)) for k in res.evicted])
