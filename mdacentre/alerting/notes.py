"""Notes and hand-overs on alerts: their own actions, kept for ever, never an acknowledgement.

A note is what a person writes about an alert; a hand-over says which agency takes the case on, with
a note. Neither changes the alert's status or version (an alert handed over is still open until
someone acknowledges or retracts it), and neither replaces an earlier one: each is one row of the
store's ``alert_notes`` table, with who wrote it and when (wall clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from mdacentre.alerting.acks import AGENCY, ALERT_ID
from mdacentre.alerting.store import OutItem, StoreDb, enqueue
from mdacentre.model.errors import MdaError
from mdacentre.model.findings import iso

MAX_TEXT = 2000
MAX_BY = 120

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_notes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    by TEXT NOT NULL,
    text TEXT NOT NULL,
    agency TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_notes_alert ON alert_notes(alert_id, seq);
"""


class NoteKind(StrEnum):
    NOTE = "note"
    HANDOVER = "handover"


class NoteError(MdaError):
    """A note or hand-over that cannot be recorded (empty, too long, bad agency or alert id)."""


def _doc(row: tuple[Any, ...]) -> dict[str, Any]:
    seq, alert_id, kind, by, text, agency, at = row
    d: dict[str, Any] = {"seq": seq, "alert": alert_id, "kind": kind, "by": by, "text": text, "at": iso(at)}
    if agency:
        d["agency"] = agency
    return d


class NoteBook:
    """The notes and hand-overs of every alert, in the service's store."""

    def __init__(self, db: StoreDb) -> None:
        self.db = db
        with db.lock:
            db.conn.executescript(SCHEMA)

    def add(
        self,
        alert_id: str,
        kind: NoteKind,
        by: str,
        text: str,
        agency: str = "",
        messages: Callable[[dict[str, Any]], list[OutItem]] | None = None,
    ) -> dict[str, Any]:
        """Record one note (or hand-over to ``agency``); returns it as the page and the API show it.

        ``messages`` gives the broker messages of the recorded row (a hand-over's message to its
        agency); they are queued in the outbox in the same transaction, so a note is never kept
        without its messages nor a message sent for a note that was not kept.
        """
        by, text, agency = by.strip(), text.strip(), agency.strip()
        if not ALERT_ID.match(alert_id):
            raise NoteError("'id' must be an alert id (20 lower-case hex characters)")
        if not by or len(by) > MAX_BY:
            raise NoteError(f"'by' must name the person (1-{MAX_BY} characters)")
        if len(text) > MAX_TEXT:
            raise NoteError(f"the note is longer than {MAX_TEXT} characters")
        if kind == NoteKind.NOTE and not text:
            raise NoteError("the note is empty")
        if kind == NoteKind.HANDOVER and not AGENCY.match(agency):
            raise NoteError("'agency' must be an agency id (lower-case letters, digits, - or _)")
        if kind == NoteKind.NOTE:
            agency = ""
        now = time.time()
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO alert_notes(alert_id, kind, by, text, agency, at) VALUES (?,?,?,?,?,?)",
                (alert_id, kind.value, by, text, agency, now),
            )
            seq = int(cur.lastrowid or 0)
            doc = _doc((seq, alert_id, kind.value, by, text, agency, now))
            if messages is not None:
                enqueue(conn, messages(doc), now)
        return doc

    def of(self, alert_id: str) -> list[dict[str, Any]]:
        """Every note and hand-over of one alert, oldest first."""
        rows = self.db.read(
            "SELECT seq, alert_id, kind, by, text, agency, at FROM alert_notes WHERE alert_id=? ORDER BY seq",
            (alert_id,),
        )
        return [_doc(r) for r in rows]

    def recent(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The newest ``limit`` notes and hand-overs of all alerts, oldest first."""
        rows = self.db.read(
            "SELECT seq, alert_id, kind, by, text, agency, at FROM alert_notes ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [_doc(r) for r in reversed(rows)]
