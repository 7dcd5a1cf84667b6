"""Durable outbox: every message is written to SQLite (WAL) before it is published.

The outbox is a table of the service's one database (:class:`mdacentre.alerting.store.StoreDb`),
so an alert version and its messages are written in the same transaction. The publisher drains
the outbox in order and marks a row delivered only after the broker acknowledged it (MQTT QoS 1
PUBACK). A crash or a broker outage loses nothing: undelivered rows are drained again on the next
connection. Alert ids and versions make redelivery idempotent for subscribers. Delivered rows are
pruned after a retention period (:meth:`Outbox.prune`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from mdacentre.alerting.store import OutItem, StoreDb, enqueue


@dataclass(frozen=True)
class OutMessage:
    seq: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float
    attempts: int


class Outbox:
    """The outbox table of ``db`` (a :class:`StoreDb`, or a path for a database of its own)."""

    def __init__(self, db: StoreDb | Path) -> None:
        self.db = db if isinstance(db, StoreDb) else StoreDb(Path(db))
        self.path = self.db.path
        self.delivered = 0  # since start; the table itself is pruned
        self.retried = 0

    def put_many(self, items: list[OutItem]) -> None:
        """Durably queue (topic, payload, qos, retain) messages, in order, in one transaction."""
        if not items:
            return
        with self.db.transaction() as c:
            enqueue(c, items, time.time())

    def pending(self, limit: int = 200, after: int = 0) -> list[OutMessage]:
        """Undelivered rows in order (those with ``seq > after``), from the reader connection.

        A read never waits for a writer (WAL), so this is safe to call on the event loop.
        """
        rows = self.db.read(
            "SELECT seq, topic, payload, qos, retain, created, attempts FROM outbox "
            "WHERE delivered IS NULL AND seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        )
        return [OutMessage(r[0], r[1], bytes(r[2]), r[3], bool(r[4]), r[5], r[6]) for r in rows]

    def mark_delivered(self, seqs: list[int], retried: int = 0) -> None:
        """Rows the broker acknowledged (``retried``: how many of them had been sent before)."""
        if not seqs:
            return
        now = time.time()
        with self.db.transaction() as c:
            c.executemany(
                "UPDATE outbox SET delivered=?, attempts=attempts+1 WHERE seq=?", [(now, s) for s in seqs]
            )
        self.delivered += len(seqs)
        self.retried += retried

    def mark_attempt(self, seq: int) -> None:
        """Count one more publishing attempt of a row the broker did not acknowledge."""
        with self.db.transaction() as c:
            c.execute("UPDATE outbox SET attempts=attempts+1 WHERE seq=?", (seq,))

    def stats(self) -> dict[str, float]:
        """Queue length and age of the oldest waiting message: index reads only, cheap at any size."""
        queued = self.db.read("SELECT COUNT(*) FROM outbox WHERE delivered IS NULL")[0][0]
        first = self.db.read("SELECT created FROM outbox WHERE delivered IS NULL ORDER BY seq LIMIT 1")
        oldest = first[0] if first else None
        return {
            "queued": float(queued),
            "delivered": float(self.delivered),
            "retried": float(self.retried),
            "oldest_undelivered_age_s": 0.0 if oldest is None else max(0.0, time.time() - float(oldest[0])),
        }

    def prune(self, older_than_s: float = 7 * 86400) -> int:
        """Delete rows delivered more than ``older_than_s`` ago; the number deleted."""
        with self.db.transaction() as c:
            cur = c.execute(
                "DELETE FROM outbox WHERE delivered IS NOT NULL AND delivered < ?",
                (time.time() - older_than_s,),
            )
            return int(cur.rowcount)

    def close(self) -> None:
        self.db.close()
