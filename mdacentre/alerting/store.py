"""Alert store: the durable memory of every alert's latest version and of what people did with it.

It stands between the alert manager and the sinks. Each alert version is admitted only if
it is news: a version at or below the stored one (the same data replayed, a feed that
re-sends its buffer, a restart that re-reads a recording) is suppressed. An alert a person
acknowledged stays acknowledged: versions whose event time is not later than the event time
the acknowledgement was given at are suppressed too, and later versions keep the
acknowledgement. Acknowledgement and retraction are tied to event time, not wall-clock time.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from mdacentre.alerting.alerts import Alert, AlertManager, AlertStatus
from mdacentre.model.errors import MdaError

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
"""

MAX_NOTE = 2000
MAX_BY = 120


class AckError(MdaError):
    """An acknowledgement or retraction cannot be applied."""


class AlertStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def _row(self, alert_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(
            "SELECT version, status, ack_by, ack_note, ack_at, ack_event_t FROM alerts WHERE id=?",
            (alert_id,),
        ).fetchone()
        return row

    def admit(self, alerts: list[Alert], manager: AlertManager | None = None) -> list[Alert]:
        """Persist and return the versions that are news; keep the manager in step with the store."""
        out: list[Alert] = []
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for a in alerts:
                    row = self._row(a.id)
                    if row is not None:
                        version, status, ack_by, ack_note, ack_at, ack_event_t = row
                        acked = ack_by is not None
                        if a.version <= version or (
                            acked and ack_event_t is not None and a.time <= ack_event_t
                        ):
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
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
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
    ) -> dict[str, Any]:
        """Record a person's acknowledgement (or retraction); returns the new alert version's payload."""
        by = by.strip()
        if not by or len(by) > MAX_BY:
            raise AckError(f"'by' must name the operator (1-{MAX_BY} characters)")
        if len(note) > MAX_NOTE:
            raise AckError(f"note is longer than {MAX_NOTE} characters")
        with self._lock:
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
                "UPDATE alerts SET version=?, status=?, payload=?, ack_by=?, ack_note=?, ack_at=?, ack_event_t=? WHERE id=?",
                (version + 1, new_status.value, orjson.dumps(d), by, note, time.time(), event_t, alert_id),
            )
        if manager is not None:
            manager.resync(alert_id, version + 1, new_status, d["ack"])
        return dict(d)

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
        with self._lock:
            self._db.close()


def _ack(row: tuple[Any, ...]) -> dict[str, Any] | None:
    _v, _s, by, note, at, _et = row
    if by is None:
        return None
    return {"by": by, "note": note or "", "at": _iso_wall(at)}


def _iso_wall(t: float) -> str:
    from mdacentre.model.findings import iso

    return iso(t)
