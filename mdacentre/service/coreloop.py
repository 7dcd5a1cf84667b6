"""The core loop: chunks from the feeds -> one pipeline step -> one store transaction -> sinks.

Event-driven: a step starts as soon as a chunk is waiting, with every chunk queued by then (up to
``max_chunks``), so an alert leaves as soon as its line is processed; under load the batches grow
by themselves while the previous step runs. There is no batching interval.

A step's alerts and their outbox messages are written in one transaction in a worker thread, so a
store lock held by another process never blocks the event loop (the web server and health keep
answering). A transient store error (locked, busy, read-only, full) is retried with backoff and the
step's result is kept: nothing accepted is lost. Meanwhile no further chunk is taken, so the queue
fills and the TCP feeds are slowed down by back-pressure rather than dropped.

After a step that admitted alerts the loop waits (briefly, ``handed``) until the publisher has
written them to the broker's socket: asyncio runs tasks in turn, so otherwise the next step (tens of
milliseconds under load) would run between an alert's commit and its publication.

Track updates for the map are not on the alert path: the rows a step touched are collected and
sent to the map at most every ``map_interval_s`` (a track moving ten times meanwhile is serialised
once); alerts go to the map as soon as they are admitted.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from mdacentre.alerting.alerts import Alert
from mdacentre.alerting.store import AlertStore, OutItem, is_transient
from mdacentre.ingest.sources import Chunk
from mdacentre.runtime.backoff import Backoff
from mdacentre.service.pipeline import StepResult
from mdacentre.service.timeline import combine_results

log = logging.getLogger(__name__)

MERGE_SPAN_S = 0.05  # chunks of one feed received this close together are decoded in one call


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
        handed: Callable[[], Awaitable[None]] | None = None,
        min_step_s: float = 0.0,
        max_chunks: int = 2000,
        map_interval_s: float = 0.5,
        map_rows: int = 128,
    ) -> None:
        self.core = core
        self.queue = queue
        self.state = state
        self.store = store
        self.messages = messages
        self.notify = notify
        self.handed = handed  # waits (bounded) until the notified alerts are written to the broker
        self.max_chunks = max_chunks
        self.min_step_s = min_step_s  # while input flows, steps start at least this far apart
        self._step_started = -math.inf
        self.pending: StepResult | None = None  # stepped, not yet admitted to the store
        self.busy_since: float | None = None  # monotonic time the current step's chunks were taken
        self.last_done = time.monotonic()
        self.steps = 0
        self.store_error = ""  # the transient store error the current step is waiting out
        self.map_interval_s = map_interval_s
        self._dirty: set[int] = set()  # track keys to re-send to the map
        self._removed: list[str] = []
        self._map_sent = 0.0
        self._round: list[int] = []  # keys of the map round being sent
        self.map_rows = map_rows
        self._last_input = time.monotonic()

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
                if self._round and self.queue.empty():
                    self._flush_map()  # the next slice of a map round while there is no input
                    await asyncio.sleep(0)
                    continue
                idle_s = self.map_interval_s if self._dirty or self._removed else 1.0
                try:
                    first = await asyncio.wait_for(self.queue.get(), idle_s)
                except TimeoutError:
                    self.last_done = time.monotonic()
                    self._flush_map(force=True)
                    # every feed quiet: the reports held for lateness go on (docs/time.md)
                    flush_s = self.core.settings.time.idle_flush_s
                    if self.core.timeline.held and time.monotonic() - self._last_input >= flush_s:
                        res = combine_results(self.core.flush(), self.core.pipeline.watermark)
                        self._collect_tracks(res)
                        self.pending = res
                        await self._admit(self.pending, stop)
                        self.pending = None
                    continue
                self.busy_since = time.monotonic()
                gather_s = self._step_started + self.min_step_s - self.busy_since
                if gather_s > 0:  # input flows: what comes until the interval is over joins this step
                    await asyncio.sleep(gather_s)
                self._step_started = time.monotonic()
                chunks = [first]
                while len(chunks) < self.max_chunks:
                    try:
                        chunks.append(self.queue.get_nowait())
                    except asyncio.QueueEmpty:
                        break
                self._last_input = time.monotonic()
                try:
                    # the chunks' reports go into event-time slices; every slice they complete is a step
                    steps = self.core.ingest(self._merge(chunks), wall=time.time())
                    res = combine_results(steps, self.core.pipeline.watermark)
                except BaseException:
                    self.busy_since = None
                    raise
                self._collect_tracks(res)
                self.pending = res
            await self._admit(self.pending, stop)
            self.pending = None
            self.busy_since = None
            self.last_done = time.monotonic()
            self.steps += 1
            self._flush_map()
            await asyncio.sleep(0)  # let the feeds and the web server run between steps

    def _merge(self, chunks: list[Chunk]) -> list[Chunk]:
        """Join consecutive chunks of one line-based feed: one decoder call instead of many.

        They hold whole lines, so the joined bytes decode the same; lines without a time of their
        own take the receive time of the last chunk, so only chunks received within
        ``MERGE_SPAN_S`` of each other are joined.
        """
        if len(chunks) < 2:
            return chunks
        feeds = self.core.feeds
        out: list[Chunk] = []
        run: list[Chunk] = []
        for ch in chunks:
            if run and (
                ch.feed != run[0].feed
                or not feeds[ch.feed].kind.line_based
                or ch.receive_time - run[0].receive_time > MERGE_SPAN_S
            ):
                out.append(_join(run))
                run = []
            run.append(ch)
        out.append(_join(run))
        return out

    async def _admit(self, res: StepResult, stop: asyncio.Event) -> None:
        if not res.alerts:
            return
        backoff = Backoff(0.05, 2.0)
        manager = self.core.pipeline.alerts
        published: list[Alert] | None = None
        try:
            # Fast path: the store is free, write now on this thread (about a millisecond).
            with self.store.db.immediate() as free:
                if free:
                    published = self.store.admit(res.alerts, manager, self.messages)
        except Exception as exc:
            if not is_transient(exc):
                raise
        while published is None:
            # Slow path: another writer holds the lock; wait for it in a worker thread.
            try:
                published = await asyncio.to_thread(self.store.admit, res.alerts, manager, self.messages)
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
            if self.handed is not None:
                # the publisher's turn comes before the next step: the alert leaves now, not after it
                await self.handed()

    def _collect_tracks(self, res: StepResult) -> None:
        table = self.core.pipeline.table
        if len(res.rows):
            self._dirty.update(table.cols["key"][res.rows].tolist())
        # Tracks whose gravity changed are re-sent too, so colours follow alerts.
        self._dirty.update(a.track_key for a in res.alerts)
        if len(res.evicted):
            gone = {int(k) for k in res.evicted}
            self._dirty -= gone
            self._removed += [self.core.track_label(k) for k in gone]

    def _flush_map(self, force: bool = False) -> None:
        """Send collected tracks to the map: a round every ``map_interval_s``, ``map_rows`` rows per call.

        Rows are serialised in slices so that no call holds the loop for long (a round of 2,000
        tracks is spread over the next steps instead of one 50 ms pause).
        """
        now = time.monotonic()
        if not self._round and (force or now - self._map_sent >= self.map_interval_s):
            if self._dirty:
                self._round = list(self._dirty)
                self._dirty.clear()
            self._map_sent = now
            if self._removed:
                self.state.remove_tracks(self._removed)
                self._removed = []
        if not self._round:
            return
        take, self._round = self._round[: self.map_rows], self._round[self.map_rows :]
        core = self.core
        rows = core.pipeline.table.lookup(np.asarray(take, dtype=np.int64))
        rows = np.unique(rows[rows >= 0])
        if len(rows):
            self.state.upsert_tracks(core.tracks_json(rows))


def _join(run: list[Chunk]) -> Chunk:
    if len(run) == 1:
        return run[0]
    return Chunk(run[0].feed, b"".join(c.data for c in run), run[-1].receive_time)
