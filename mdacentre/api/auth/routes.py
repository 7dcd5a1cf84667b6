"""Sign-in routes, the administrator's views (users, audit trail) and the acknowledgement endpoint.

GET    /login                    the sign-in page (web/login.html)
POST   /api/session              {"name", "password"} -> session cookie + CSRF token
GET    /api/session              who is signed in, and the CSRF token
DELETE /api/session              sign out
GET    /api/users                administrators: the users (no hashes)
GET    /api/audit?limit=N        administrators: the newest audit records
POST   /api/alerts/{id}/ack      {"note", "action": "acknowledge"|"retract"}; who acts is the session
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mdacentre.alerting.acks import ALERT_ID, AckAction, AckCommand
from mdacentre.api.auth.config import Security
from mdacentre.api.auth.scope import Scope
from mdacentre.api.auth.sessions import CSRF_COOKIE, SESSION_COOKIE, Principal
from mdacentre.api.auth.users import Role
from mdacentre.model.errors import MdaError
from mdacentre.runtime.audit import AuditEvent

FAIL_WINDOW_S = 300.0
MAX_FAILS = 5  # failed sign-ins per name within the window before the name is paused


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)
    action: AckAction = AckAction.ACKNOWLEDGE


def principal_of(request: Request) -> Principal | None:
    p = request.scope.get("state", {}).get("principal")
    return p if isinstance(p, Principal) else None


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


class _Throttle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fails: dict[str, list[float]] = {}

    def blocked(self, name: str, now: float) -> bool:
        with self._lock:
            recent = [t for t in self._fails.get(name, []) if now - t < FAIL_WINDOW_S]
            self._fails[name] = recent
            return len(recent) >= MAX_FAILS

    def fail(self, name: str, now: float) -> None:
        with self._lock:
            self._fails.setdefault(name, []).append(now)

    def clear(self, name: str) -> None:
        with self._lock:
            self._fails.pop(name, None)


def session_router(sec: Security, web_dir: Path) -> APIRouter:
    router = APIRouter()
    throttle = _Throttle()

    def audit(event: AuditEvent, actor: str, **details: Any) -> None:
        if sec.audit is not None:
            sec.audit.append(event, actor, details)

    @router.get("/login", include_in_schema=False)
    def login_page() -> Response:
        return FileResponse(web_dir / "login.html", media_type="text/html; charset=utf-8")

    @router.post("/api/session", tags=["session"])
    def sign_in(body: SignIn, request: Request) -> Response:
        now = time.time()
        if throttle.blocked(body.name, now):
            audit(AuditEvent.SIGN_IN_FAILED, body.name[:64], reason="throttled", client=_client(request))
            return JSONResponse({"error": "too many failed sign-ins; wait a few minutes"}, status_code=429)
        user = sec.users.verify(body.name, body.password) if sec.users is not None else None
        if user is None:
            throttle.fail(body.name, now)
            audit(AuditEvent.SIGN_IN_FAILED, body.name[:64], client=_client(request))
            return JSONResponse({"error": "wrong name or password, or the user is disabled"}, status_code=401)
        throttle.clear(body.name)
        s = sec.sessions.create(Principal(user.name, user.role, user.agency))
        audit(
            AuditEvent.SIGN_IN, user.name, role=user.role.value, agency=user.agency, client=_client(request)
        )
        resp = JSONResponse(
            {"name": user.name, "role": user.role.value, "agency": user.agency, "csrf": s.csrf}
        )
        resp.set_cookie(
            SESSION_COOKIE, s.token, httponly=True, samesite="strict", secure=sec.secure_cookies, path="/"
        )
        resp.set_cookie(
            CSRF_COOKIE, s.csrf, httponly=False, samesite="strict", secure=sec.secure_cookies, path="/"
        )
        return resp

    @router.get("/api/session", tags=["session"])
    def who(request: Request) -> Response:
        p = principal_of(request)
        if p is None:
            return JSONResponse({"error": "not signed in"}, status_code=401)
        csrf = request.scope.get("state", {}).get("csrf")
        return JSONResponse({"name": p.name, "role": p.role.value, "agency": p.agency, "csrf": csrf})

    @router.delete("/api/session", tags=["session"])
    def sign_out(request: Request) -> Response:
        p = principal_of(request)
        sec.sessions.drop(request.cookies.get(SESSION_COOKIE))
        if p is not None:
            audit(AuditEvent.SIGN_OUT, p.name)
        resp = JSONResponse({"signed_out": True})
        resp.delete_cookie(SESSION_COOKIE, path="/")
        resp.delete_cookie(CSRF_COOKIE, path="/")
        return resp

    @router.get("/api/users", tags=["admin"])
    def users() -> Response:
        items = [u.public() for u in sec.users.list()] if sec.users is not None else []
        return JSONResponse(items)

    @router.get("/api/audit", tags=["admin"])
    def audit_view(request: Request, limit: int = Query(200, ge=1, le=5000)) -> Response:
        if sec.audit is None:
            return JSONResponse([])
        p = principal_of(request)
        records = sec.audit.tail(limit)
        audit(AuditEvent.AUDIT_READ, p.name if p else "?", limit=limit)
        return Response(orjson.dumps(records), media_type="application/json")

    return router


def ack_routes(
    apply: Callable[[AckCommand], dict[str, Any]],
    sec: Security,
    lookup: Callable[[str], dict[str, Any] | None],
) -> APIRouter:
    """POST /api/alerts/{id}/ack for signed-in watch officers (any alert; acknowledge or retract) and
    agency liaisons (only alerts routed to their agency; acknowledge only). ``lookup`` gives the stored
    alert payload; ``apply`` records the command and returns the new version."""
    router = APIRouter()

    def refuse(p: Principal, alert_id: str, status: int, why: str) -> JSONResponse:
        if sec.audit is not None:
            sec.audit.append(AuditEvent.ACK_REFUSED, p.label, {"alert": alert_id, "reason": why})
        return JSONResponse({"error": why}, status_code=status)

    @router.post("/api/alerts/{alert_id}/ack", tags=["alerts"])
    def ack(alert_id: str, body: AckBody, request: Request) -> Response:
        p = principal_of(request)
        if p is None:  # the gate lets no one here unsigned; belt and braces
            return JSONResponse({"error": "sign in first"}, status_code=401)
        if not ALERT_ID.match(alert_id):
            return JSONResponse({"error": "'id' must be an alert id (20 lower-case hex characters)"}, 422)
        alert = lookup(alert_id)
        if alert is None:
            return JSONResponse({"error": f"no alert with id {alert_id!r}"}, status_code=404)
        if p.role == Role.LIAISON:
            if not Scope(p, sec.router).sees_alert(alert):
                return refuse(p, alert_id, 404, f"no alert with id {alert_id!r}")
            if body.action == AckAction.RETRACT:
                return refuse(p, alert_id, 403, "retraction is reserved to watch officers")
        elif p.role != Role.WATCH:
            return refuse(p, alert_id, 403, f"the role {p.role.value!r} may not acknowledge")
        try:
            d = apply(AckCommand(alert_id, p.label, body.note, body.action))
        except MdaError as exc:  # retracted, a busy store, a note too long: nothing was recorded
            return JSONResponse({"error": str(exc)}, status_code=404 if "no alert" in str(exc) else 422)
        if sec.audit is not None:
            event = AuditEvent.RETRACT if body.action == AckAction.RETRACT else AuditEvent.ACKNOWLEDGE
            sec.audit.append(
                event, p.label, {"alert": alert_id, "version": d.get("version"), "note": body.note}
            )
        return JSONResponse(d)

    return router
