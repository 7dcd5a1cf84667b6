"""Notes and hand-overs on alerts over HTTP, each its own action (not an acknowledgement).

    POST /api/alerts/{id}/note       {"text"}               a note; who writes it is the session
    POST /api/alerts/{id}/handover   {"agency", "note"}     the case goes to an agency, with a note
    GET  /api/notes?alert=ID&limit=N the notes and hand-overs (of one alert, or the newest N), oldest first

Writes are for signed-in watch officers (policy), carry the CSRF token (the security gate) and are
audited; each new one is pushed to the map (``{"type": "note", "note": {...}}``) so that every open
page shows it with who and when. A refused one is audited too (``note_refused``, ``handover_refused``:
who, the alert, the agency asked, why and the status); a body that does not validate is answered 422
before it reaches these routes and is not. With a :class:`~mdacentre.alerting.handover.HandoverOutlet`, a
hand-over must name an agency of the routing rules and is also queued, in the same transaction, as a
durable MQTT message to that agency (``{prefix}/handover/{agency}``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mdacentre.alerting.acks import ALERT_ID
from mdacentre.alerting.handover import HandoverOutlet
from mdacentre.alerting.notes import MAX_TEXT, NoteBook, NoteKind
from mdacentre.api.auth.config import Security
from mdacentre.api.auth.routes import principal_of
from mdacentre.api.auth.sessions import Principal
from mdacentre.model.errors import MdaError
from mdacentre.runtime.audit import AuditEvent

NOTE_MESSAGE = "note"  # the map's WebSocket message type of a new note
MAX_ID = 64  # characters of a refused request's alert id kept in its audit record


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class HandoverBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agency: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=MAX_TEXT)


def notes_router(
    book: NoteBook,
    sec: Security,
    lookup: Callable[[str], dict[str, Any] | None],
    publish: Callable[[dict[str, Any]], None],
    outlet: HandoverOutlet | None = None,
) -> APIRouter:
    """``lookup`` gives the stored alert (404 when none); ``publish`` hands a message to the map's clients;
    ``outlet`` (when given) checks a hand-over's agency and sends the hand-over to it over MQTT."""
    router = APIRouter()

    def refuse(p: Principal, alert_id: str, kind: NoteKind, agency: str, status: int, why: str) -> Response:
        if sec.audit is not None:
            event = AuditEvent.HANDOVER_REFUSED if kind == NoteKind.HANDOVER else AuditEvent.NOTE_REFUSED
            details: dict[str, Any] = {"alert": alert_id[:MAX_ID], "reason": why, "status": status}
            if kind == NoteKind.HANDOVER:
                details["agency"] = agency
            sec.audit.append(event, p.label, details)
        return JSONResponse({"error": why}, status_code=status)

    def record(alert_id: str, request: Request, kind: NoteKind, text: str, agency: str = "") -> Response:
        p = principal_of(request)
        if p is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        if not ALERT_ID.match(alert_id):
            return refuse(
                p, alert_id, kind, agency, 422, "'id' must be an alert id (20 lower-case hex characters)"
            )
        alert = lookup(alert_id)
        if alert is None:
            return refuse(p, alert_id, kind, agency, 404, f"no alert with id {alert_id!r}")
        out = outlet if kind == NoteKind.HANDOVER else None
        try:
            if out is not None:
                out.check(agency.strip())
            doc = book.add(alert_id, kind, p.label, text, agency, out.messages(alert) if out else None)
        except MdaError as exc:
            return refuse(p, alert_id, kind, agency, 422, str(exc))
        except sqlite3.OperationalError as exc:
            return refuse(p, alert_id, kind, agency, 503, f"the store is busy ({exc}); nothing was recorded")
        if out is not None:
            out.notify()
        if sec.audit is not None:
            event = AuditEvent.HANDOVER if kind == NoteKind.HANDOVER else AuditEvent.NOTE
            details = {"alert": alert_id, "note": text, "seq": doc["seq"]}
            if agency:
                details["agency"] = doc.get("agency", agency)
            if out is not None:
                details["topic"] = out.topic(doc["agency"])
            sec.audit.append(event, p.label, details)
        publish({"type": NOTE_MESSAGE, "note": doc})
        return JSONResponse(doc)

    @router.post("/api/alerts/{alert_id}/note", tags=["alerts"])
    def add_note(alert_id: str, body: NoteBody, request: Request) -> Response:
        return record(alert_id, request, NoteKind.NOTE, body.text)

    @router.post("/api/alerts/{alert_id}/handover", tags=["alerts"])
    def hand_over(alert_id: str, body: HandoverBody, request: Request) -> Response:
        return record(alert_id, request, NoteKind.HANDOVER, body.note, body.agency)

    @router.get("/api/notes", tags=["alerts"])
    def notes(
        alert: str | None = Query(None, max_length=20), limit: int = Query(1000, ge=1, le=5000)
    ) -> Response:
        if alert is not None:
            if not ALERT_ID.match(alert):
                return JSONResponse({"error": "'alert' must be an alert id"}, status_code=422)
            return JSONResponse(book.of(alert))
        return JSONResponse(book.recent(limit))

    return router
