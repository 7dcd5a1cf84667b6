"""One ASGI gate in front of every route: Host allow-list, body limit, sign-in, role policy, CSRF, Origin.

It runs for HTTP and WebSocket before any route, so a route added later is protected without doing
anything. In order:

1. ``Host`` must be in the allow-list (defeats DNS rebinding): otherwise 421, WebSocket refused.
2. A body larger than the limit is refused from ``Content-Length`` before it is read (413), and a
   chunked body is counted while it streams and cut off at the limit.
3. Public routes (:data:`mdacentre.api.auth.policy.PUBLIC`) pass; everything else needs a session
   cookie: without one, the page redirects to ``/login`` and the API answers 401.
4. The role must be allowed the route (:func:`mdacentre.api.auth.policy.allowed`), else 403.
5. Writes need an ``Origin`` equal to this server's (when the browser sends one), a JSON body, and the
   session's CSRF token in the ``X-CSRF-Token`` header; the WebSocket needs a same-origin ``Origin``.
6. The principal is put where the routes and :class:`mdacentre.api.auth.scope.ScopedMapState` find it.

A signed-in principal refused at 4 or 5 (and a signed-in WebSocket its role may not open) is written to
the audit trail, at most once a minute per principal, method, path and reason
(:mod:`mdacentre.api.auth.refusals`); unsigned requests are not.
"""

from __future__ import annotations

import orjson
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mdacentre.api.auth import policy
from mdacentre.api.auth.config import Security
from mdacentre.api.auth.refusals import WEBSOCKET, Refusal, RefusalAudit
from mdacentre.api.auth.scope import current_principal
from mdacentre.api.auth.sessions import CSRF_HEADER, SESSION_COOKIE, Session, csrf_ok
from mdacentre.runtime.audit import AuditEvent

WS_SIGN_IN = 4401  # WebSocket close code: no session
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Answer = tuple[int, dict[str, object], tuple[tuple[bytes, bytes], ...]]


def headers_of(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in scope.get("headers", []):
        out.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
    return out


def same_origin(origin: str, scope: Scope, host: str) -> bool:
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
    return origin.lower() == f"{scheme}://{host}".lower()


async def _respond(
    send: Send, status: int, body: dict[str, object], extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    data = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"cache-control", b"no-store"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class SecurityGate:
    def __init__(self, app: ASGIApp, security: Security) -> None:
        self.app = app
        self.sec = security
        self.refusals = RefusalAudit(security.audit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        h = headers_of(scope)
        host = h.get("host", "")
        if kind == "websocket":
            await self._websocket(scope, receive, send, h, host)
            return
        method = scope.get("method", "GET").upper()
        path = scope.get("path", "/")
        if not self.sec.host_allowed(host):
            await _respond(send, 421, {"error": "this server does not answer for that Host name"})
            return
        length = h.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _respond(send, 400, {"error": "bad Content-Length"})
                return
            if int(length) > self.sec.max_body:
                await _respond(send, 413, {"error": f"body larger than {self.sec.max_body} bytes"})
                return
        has_body = (length is not None and int(length) > 0) or "transfer-encoding" in h
        session = self.sec.sessions.get(cookie_parser(h.get("cookie", "")).get(SESSION_COOKIE))
        origin = h.get("origin")
        if method not in policy.READ_METHODS and origin is not None and not same_origin(origin, scope, host):
            await _respond(send, 403, {"error": "cross-origin request refused"})
            return
        if method in BODY_METHODS and has_body:
            ctype = h.get("content-type", "").split(";", 1)[0].strip().lower()
            if ctype != "application/json":
                await _respond(send, 415, {"error": "request bodies must be application/json"})
                return
        if not policy.is_public(method, path):
            refusal = self._refusal(session, method, path, h)
            if refusal is not None:
                (status, body, extra), reason = refusal
                if session is not None and reason is not None:
                    await self.refusals.record(session.principal, method, path, reason, status)
                await _respond(send, status, body, extra)
                return
        await self._call(scope, receive, send, session, limit=True)

    def _refusal(
        self, session: Session | None, method: str, path: str, h: dict[str, str]
    ) -> tuple[Answer, Refusal | None] | None:
        """The answer to a request that does not pass, and the reason to audit (none for no session)."""
        if session is None:
            if method in policy.READ_METHODS and (path == "/" or "text/html" in h.get("accept", "")):
                return (303, {"error": "sign in first", "login": "/login"}, ((b"location", b"/login"),)), None
            return (401, {"error": "sign in first (POST /api/session)", "login": "/login"}, ()), None
        if not policy.allowed(session.principal.role, method, path):
            role = session.principal.role.value
            return (403, {"error": f"the role {role!r} may not {method} {path}"}, ()), Refusal.ROLE
        if method not in policy.READ_METHODS and not csrf_ok(session, h.get(CSRF_HEADER)):
            why = "missing or wrong X-CSRF-Token header (GET /api/session gives it)"
            return (403, {"error": why}, ()), Refusal.CSRF
        return None

    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, h: dict[str, str], host: str
    ) -> None:
        session = self.sec.sessions.get(cookie_parser(h.get("cookie", "")).get(SESSION_COOKIE))
        origin = h.get("origin")
        path = scope.get("path", "/")
        ok = (
            self.sec.host_allowed(host)
            and (origin is None or same_origin(origin, scope, host))
            and session is not None
            and policy.allowed(session.principal.role, "GET", path)
        )
        if not ok:
            msg = await receive()  # websocket.connect
            if msg["type"] != "websocket.connect":
                return
            if (
                session is None
                and self.sec.host_allowed(host)
                and origin is not None
                and same_origin(origin, scope, host)
            ):
                # the map's own page without a session: open and close with 4401 so it goes to /login
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": WS_SIGN_IN, "reason": "sign in first"})
                return
            if (
                session is not None
                and self.sec.host_allowed(host)
                and (origin is None or same_origin(origin, scope, host))
            ):  # signed in, from here, but the role may not open it
                await self.refusals.record(session.principal, WEBSOCKET, path, Refusal.ROLE, 1008)
            await send({"type": "websocket.close", "code": 1008, "reason": "refused"})
            return
        await self._call(scope, receive, send, session)

    async def _call(
        self, scope: Scope, receive: Receive, send: Send, session: Session | None, limit: bool = False
    ) -> None:
        principal = session.principal if session is not None else None
        scope.setdefault("state", {})["principal"] = principal
        if session is not None:
            scope["state"]["csrf"] = session.csrf
        token = current_principal.set(principal)
        started = False
        cut = False  # the body went over the limit: we answered 413, the app's answer is dropped
        seen = 0

        async def tracked(message: Message) -> None:
            nonlocal started
            if cut:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        async def counted() -> Message:
            nonlocal seen, cut
            if cut:
                return {"type": "http.disconnect"}
            msg = await receive()
            if limit and msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.sec.max_body:
                    if not started:
                        await _respond(send, 413, {"error": f"body larger than {self.sec.max_body} bytes"})
                    cut = True
                    return {"type": "http.disconnect"}
            return msg

        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await tracked(message)

        audited = scope["type"] == "http" and policy.is_audited_read(
            scope.get("method", "GET"), scope["path"]
        )
        try:
            await self.app(scope, counted, watched if audited else tracked)
        finally:
            current_principal.reset(token)
        if audited and principal is not None and self.sec.audit is not None and status < 400:
            query = scope.get("query_string", b"").decode("latin-1")[:500]
            details = {"path": scope["path"], "query": query, "status": status}
            self.sec.audit.append(AuditEvent.EXPORT, principal.label, details)
