"""Alert store: the durable memory of every alert's latest version and of what people did with it.

It stands between the alert manager and the sinks. Each alert version is admitted only if
it is news: a version at or below the stored one (the same data replayed, a feed that
re-sends its buffer, a restart that re-reads a recording) is suppressed. An alert a person
acknowledged stays acknowledged: versions whose event time is not later than the event time
the acknowledgement was given at are suppressed too, and later versions keep the
acknowledgement. Acknowledgement and retraction are tied to event time, not wall-clock time.

Alert state and the outbox of messages waiting for the broker live in one SQLite database
(:class:`StoreDb`, WAL), so one pipeline step is one transaction: an alert is never admitted
without its messages queued, nor queued without being admitted. A backup can be taken while the
service runs (:meth:`StoreDb.backup`, the SQLite online backup API).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from mdacentre.alerting.alerts import Alert, AlertManager, AlertStatus
from mdacentre.model.errors import MdaError
from mdacentre.model.findings import iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    category TEXT NOT NULL,
    level TEXT NOT NULL,
    state TEXT NOT NULL,
    track_key INTEGER NOT NULL,
    started REAL NOT NULL,
    time REAL NOT NULL,
    payload BLOB NOT NULL,
    ack_by TEXT,
    ack_note TEXT,
    ack_at REAL,          -- wall clock of the acknowledgement
    ack_event_t REAL      -- event time of the alert version that was acknowledged
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts(time);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state, category);
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
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
-- every acknowledgement and retraction, one row per alert version it made: notes are never overwritten
CREATE TABLE IF NOT EXISTS ack_history (
    alert_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    action TEXT NOT NULL,
    by TEXT NOT NULL,
    note TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ack_history_alert ON ack_history(alert_id, version);
"""

STORE_FILE = "mdacentre.sqlite"  # the one database in the data directory
LEGACY_FILES = ("alerts.sqlite", "outbox.sqlite")  # before alert state and outbox were merged

# (topic, payload, qos, retain): one message for the broker
OutItem = tuple[str, bytes, int, bool]

log = logging.getLogger(__name__)

MAX_NOTE = 2000
MAX_BY = 120


class AckError(MdaError):
    """An acknowledgement or retraction cannot be applied."""


class StoreError(MdaError):
    """The store cannot be opened (missing, read-only or corrupt database)."""


class StoreBusy(StoreError):
    """The store cannot take a write right now (locked, busy, full or read-only): try again later."""


def is_transient(exc: BaseException) -> bool:
    """A store error that goes away by itself or by an operator's fix (lock, busy, full, read-only).

    The step that met it is retried with its input held; anything else is a bug or a corrupt file.
    """
    return isinstance(exc, sqlite3.OperationalError)


class StoreDb:
    """The one SQLite database of the service: alert state, outbox, meta (WAL, one lock per process)."""

    def __init__(self, path: Path, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.read_lock = threading.Lock()
        self.busy_timeout_s = busy_timeout_s
        self.last_error = ""
        self.last_ok_wall = 0.0
        try:
            self.conn = sqlite3.connect(
                str(self.path), timeout=busy_timeout_s, check_same_thread=False, isolation_level=None
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)
            # Readers (the publisher, health) have their own connection: in WAL mode a reader never
            # waits for a writer, so a held write lock cannot stall delivery of what is committed.
            self.reader = sqlite3.connect(str(self.path), timeout=busy_timeout_s, check_same_thread=False)
            self.reader.execute("PRAGMA query_only=1")
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the store {self.path}: {exc}; the data directory must be writable by the service"
            ) from None

    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of a read-only query on the reader connection (committed data only)."""
        with self.read_lock:
            return self.reader.execute(sql, args).fetchall()

    @contextlib.contextmanager
    def immediate(self) -> Iterator[bool]:
        """Try a write now without waiting for any lock: yields False when another writer holds one.

        Inside, transactions fail at once (busy timeout 0) instead of waiting ``busy_timeout_s``.
        """
        if not self.lock.acquire(blocking=False):
            yield False
            return
        try:
            self.conn.execute("PRAGMA busy_timeout=0")
            try:
                yield True
            finally:
                self.conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
        finally:
            self.lock.release()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (taken at BEGIN, so a held lock fails early and whole)."""
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self.last_error = str(exc)
                raise
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if isinstance(exc, sqlite3.Error):
                    self.last_error = str(exc)
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
            self.last_error = ""
            self.last_ok_wall = time.time()

    def probe(self) -> str:
        """Write one row and commit; '' when the store is writable, else what stopped it."""
        try:
            with self.transaction() as c:
                c.execute("INSERT OR REPLACE INTO meta(k, v) VALUES ('probe', ?)", (repr(time.time()),))
        except sqlite3.Error as exc:
            return str(exc)
        return ""

    def size_bytes(self) -> int:
        """Bytes on disk: the database file and its write-ahead log."""
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += (self.path.parent / (self.path.name + suffix)).stat().st_size
        return total

    def backup(self, dest: Path) -> None:
        """A consistent copy of the live database at ``dest`` (SQLite online backup; writers go on)."""
        dest = Path(dest)
        if dest.exists():
            raise StoreError(f"backup target {dest} exists; give a new file name")
        out = sqlite3.connect(str(dest))
        try:
            with self.lock:
                self.conn.backup(out)
        finally:
            out.close()

    def migrate_legacy(self, data_dir: Path) -> dict[str, int]:
        """Move the alert state and undelivered outbox rows of the two-file layout into this database.

        Each old file is renamed ``*.migrated`` once copied, so this runs once.
        """
        moved: dict[str, int] = {}
        for name in LEGACY_FILES:
            old = Path(data_dir) / name
            if not old.is_file():
                continue
            with self.lock:
                self.conn.execute("ATTACH DATABASE ? AS old", (str(old),))
                try:
                    tables = {
                        r[0]
                        for r in self.conn.execute("SELECT name FROM old.sqlite_master WHERE type='table'")
                    }
                    with self.transaction() as c:
                        n = 0
                        if "alerts" in tables:
                            n += c.execute("INSERT OR IGNORE INTO alerts SELECT * FROM old.alerts").rowcount
                        if "outbox" in tables:
                            n += c.execute(
                                "INSERT INTO outbox(topic, payload, qos, retain, created, attempts) "
                                "SELECT topic, payload, qos, retain, created, attempts FROM old.outbox "
                                "WHERE delivered IS NULL ORDER BY seq"
                            ).rowcount
                finally:
                    self.conn.execute("DETACH DATABASE old")
            moved[name] = n
            for suffix in ("", "-wal", "-shm"):
                f = Path(data_dir) / (name + suffix)
                if f.exists():
                    f.rename(f.with_name(f.name + ".migrated"))
            log.info("store: moved %d rows of %s into %s", n, old, self.path)
        return moved

    def close(self) -> None:
        with self.lock, self.read_lock:
            self.reader.close()
            self.conn.close()


def backup_file(src: Path, dest: Path) -> dict[str, Any]:
    """Copy the store at ``src`` to ``dest`` while the service may be writing it (online backup API)."""
    src, dest = Path(src), Path(dest)
    if not src.is_file():
        raise StoreError(f"no store at {src}; give the service's data directory (--data-dir)")
    if dest.exists():
        raise StoreError(f"backup target {dest} exists; give a new file name")
    try:
        source = sqlite3.connect(str(src), timeout=30)
        try:
            out = sqlite3.connect(str(dest))
            try:
                source.backup(out)
                check = out.execute("PRAGMA integrity_check").fetchone()[0]
                counts = {
                    t: int(out.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
                    for t in ("alerts", "outbox")
                }
            finally:
                out.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise StoreError(f"backup of {src} to {dest} failed: {exc}") from None
    return {"backup": str(dest), "integrity": check, "bytes": dest.stat().st_size, **counts}


def enqueue(conn: sqlite3.Connection, items: list[OutItem], now: float) -> None:
    """Queue broker messages in the outbox, in order, inside the caller's transaction."""
    conn.executemany(
        "INSERT INTO outbox(topic, payload, qos, retain, created) VALUES (?,?,?,?,?)",
        [(t, p, q, int(r), now) for t, p, q, r in items],
    )


class AlertStore:
    def __init__(self, path: Path | StoreDb) -> None:
        self.db = path if isinstance(path, StoreDb) else StoreDb(path)
        self._lock = self.db.lock
        self._db = self.db.conn

    def _row(self, alert_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(
            "SELECT version, status, ack_by, ack_note, ack_at, ack_event_t FROM alerts WHERE id=?",
            (alert_id,),
        ).fetchone()
        return row

    def admit(
        self,
        alerts: list[Alert],
        manager: AlertManager | None = None,
        messages: Callable[[list[Alert]], list[OutItem]] | None = None,
    ) -> list[Alert]:
        """Persist and return the versions that are news; keep the manager in step with the store.

        ``messages`` turns the admitted versions into broker messages, queued in the outbox in the
        same transaction: a crash leaves either both or neither.
        """
        out: list[Alert] = []
        if not alerts:
            return out
        with self.db.transaction():
            for a in alerts:
                row = self._row(a.id)
                if row is not None:
                    version, status, ack_by, ack_note, ack_at, ack_event_t = row
                    acked = ack_by is not None
                    if a.version <= version or (acked and ack_event_t is not None and a.time <= ack_event_t):
                        # Already published, or handled by a person at a later data time: not news.
                        if manager is not None and a.status not in (
                            AlertStatus.CLOSED,
                            AlertStatus.EXPIRED,
                        ):
                            manager.resync(a.id, max(version, a.version), AlertStatus(status), _ack(row))
                        continue
                    if acked:
                        st = (
                            a.status
                            if a.status in (AlertStatus.CLOSED, AlertStatus.EXPIRED, AlertStatus.UPDATED)
                            else AlertStatus.ACKNOWLEDGED
                        )
                        a = replace(a, status=st, ack=_ack(row))
                self._upsert(a)
                out.append(a)
            if out and messages is not None:
                enqueue(self._db, messages(out), time.time())
        return out

    def _upsert(self, a: Alert) -> None:
        self._db.execute(
            "INSERT INTO alerts(id, version, status, category, level, state, track_key, started, time, payload) "
            "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET version=excluded.version, "
            "status=excluded.status, level=excluded.level, time=excluded.time, payload=excluded.payload",
            (
                a.id,
                a.version,
                a.status.value,
                a.category,
                a.level.label,
                a.state,
                a.track_key,
                a.started,
                a.time,
                orjson.dumps(a.to_json()),
            ),
        )

    def acknowledge(
        self,
        alert_id: str,
        by: str,
        note: str = "",
        *,
        retract: bool = False,
        manager: AlertManager | None = None,
        messages: Callable[[dict[str, Any]], list[OutItem]] | None = None,
    ) -> dict[str, Any]:
        """Record a person's acknowledgement (or retraction); returns the new alert version's payload.

        ``messages`` gives the broker messages of the new version, queued in the same transaction.
        """
        by = by.strip()
        if not by or len(by) > MAX_BY:
            raise AckError(f"'by' must name the operator (1-{MAX_BY} characters)")
        if len(note) > MAX_NOTE:
            raise AckError(f"note is longer than {MAX_NOTE} characters")
        with self.db.transaction():
            row = self._db.execute(
                "SELECT version, status, time, payload FROM alerts WHERE id=?", (alert_id,)
            ).fetchone()
            if row is None:
                raise AckError(f"no alert with id {alert_id!r}")
            version, status, event_t, payload = row
            if status == AlertStatus.RETRACTED.value:
                raise AckError(f"alert {alert_id} was retracted")
            new_status = (
                AlertStatus.RETRACTED
                if retract
                else (
                    AlertStatus(status)
                    if status in (AlertStatus.CLOSED.value, AlertStatus.EXPIRED.value)
                    else AlertStatus.ACKNOWLEDGED
                )
            )
            ack = {"by": by, "note": note, "at": _iso_wall(time.time()), "event_time": event_t}
            d = orjson.loads(payload)
            d["version"] = version + 1
            d["status"] = new_status.value
            d["ack"] = {"by": by, "note": note, "at": ack["at"]}
            self._db.execute(
                "INSERT INTO ack_history(alert_id, version, action, by, note, at) VALUES (?,?,?,?,?,?)",
                (alert_id, version + 1, "retract" if retract else "acknowledge", by, note, time.time()),
            )
            d["acks"] = self._ack_history(alert_id)
            self._db.execute(
                "UPDATE alerts SET version=?, status=?, payload=?, ack_by=?, ack_note=?, ack_at=?, ack_event_t=? WHERE id=?",
                (version + 1, new_status.value, orjson.dumps(d), by, note, time.time(), event_t, alert_id),
            )
            if messages is not None:
                enqueue(self._db, messages(d), time.time())
            if manager is not None:
                manager.resync(alert_id, version + 1, new_status, d["ack"])
        return dict(d)

    def _ack_history(self, alert_id: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT version, action, by, note, at FROM ack_history WHERE alert_id=? ORDER BY version, rowid",
            (alert_id,),
        ).fetchall()
        return [{"version": v, "action": a, "by": b, "note": n, "at": _iso_wall(t)} for v, a, b, n, t in rows]

    def ack_history(self, alert_id: str) -> list[dict[str, Any]]:
        """Every acknowledgement and retraction of one alert, oldest first (each with its own note)."""
        with self._lock:
            return self._ack_history(alert_id)

    def get(self, alert_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT payload FROM alerts WHERE id=?", (alert_id,)).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def recent(self, limit: int = 200, state: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT payload FROM alerts"
        args: list[Any] = []
        if state:
            q += " WHERE state=?"
            args.append(state)
        q += " ORDER BY time DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(q, args).fetchall()
        return [dict(orjson.loads(r[0])) for r in rows]

    def close(self) -> None:
        self.db.close()


def _ack(row: tuple[Any, ...]) -> dict[str, Any] | None:
    _v, _s, by, note, at, _et = row
    if by is None:
        return None
    return {"by": by, "note": note or "", "at": _iso_wall(at)}


def _iso_wall(t: float) -> str:
    return iso(t)
