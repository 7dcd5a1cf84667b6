"""Durable outbox: every message is written to SQLite (WAL) before it is published.

The publisher drains the outbox in order and marks a row delivered only after the broker
acknowledged it (MQTT QoS 1 PUBACK). A crash or a broker outage loses nothing: undelivered
rows are drained again on the next connection. Alert ids and versions make redelivery
idempotent for subscribers.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL DEFAULT 1,
    retain INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(delivered, seq);
"""


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
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def put_many(self, items: list[tuple[str, bytes, int, bool]]) -> None:
        """Durably queue (topic, payload, qos, retain) messages, in order, in one transaction."""
        if not items:
            return
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO outbox(topic, payload, qos, retain, created) VALUES (?,?,?,?,?)",
                [(t, p, q, int(r), now) for t, p, q, r in items],
            )
            self._db.execute("COMMIT")

    def pending(self, limit: int = 200) -> list[OutMessage]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload, qos, retain, created, attempts FROM outbox "
                "WHERE delivered IS NULL ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [OutMessage(r[0], r[1], bytes(r[2]), r[3], bool(r[4]), r[5], r[6]) for r in rows]

    def mark_delivered(self, seqs: list[int]) -> None:
        if not seqs:
            return
        now = time.time()
        with self._lock:
            self._db.executemany("UPDATE outbox SET delivered=? WHERE seq=?", [(now, s) for s in seqs])

    def mark_attempt(self, seq: int) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET attempts=attempts+1 WHERE seq=?", (seq,))

    def stats(self) -> dict[str, float]:
        with self._lock:
            queued, oldest = self._db.execute(
                "SELECT COUNT(*), MIN(created) FROM outbox WHERE delivered IS NULL"
            ).fetchone()
            delivered = self._db.execute(
                "SELECT COUNT(*) FROM outbox WHERE delivered IS NOT NULL"
            ).fetchone()[0]
            retried = self._db.execute(
                "SELECT COALESCE(SUM(CASE WHEN attempts>1 THEN attempts-1 END),0) FROM outbox"
            ).fetchone()[0]
        return {
            "queued": float(queued),
            "delivered": float(delivered),
            "retried": float(retried),
            "oldest_undelivered_age_s": 0.0 if oldest is None else max(0.0, time.time() - float(oldest)),
        }

    def prune(self, older_than_s: float = 7 * 86400) -> int:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM outbox WHERE delivered IS NOT NULL AND delivered < ?",
                (time.time() - older_than_s,),
            )
            return int(cur.rowcount)

    def close(self) -> None:
        with self._lock:
            self._db.close()
