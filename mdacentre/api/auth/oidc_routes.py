"""Routes of the OpenID Connect sign-in:

GET /login/oidc             redirect to the identity provider (state bound to this browser by a cookie)
GET /login/oidc/callback    the provider sends the browser back here with a code: session, then the map
GET /api/session/providers  {"oidc": bool}: whether the sign-in page offers the provider
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from mdacentre.api.auth.config import Security
from mdacentre.api.auth.oidc import OidcError
from mdacentre.api.auth.sessions import CSRF_COOKIE, SESSION_COOKIE
from mdacentre.runtime.audit import AuditEvent

STATE_COOKIE = "mda_oidc_state"


def oidc_router(sec: Security) -> APIRouter:
    router = APIRouter()

    @router.get("/api/session/providers", tags=["session"])
    def providers() -> Response:
        return JSONResponse({"oidc": sec.oidc is not None})

    @router.get("/login/oidc", include_in_schema=False)
    def begin() -> Response:
        if sec.oidc is None:
            return JSONResponse({"error": "no identity provider is configured"}, status_code=404)
        try:
            url, state = sec.oidc.begin()
        except OidcError as exc:
            return JSONResponse({"error": str(exc)}, status_code=502)
        resp = RedirectResponse(url, status_code=303)
        # Lax, not Strict: the provider sends the browser back with a cross-site top-level navigation
        resp.set_cookie(
            STATE_COOKIE,
            state,
            httponly=True,
            samesite="lax",
            secure=sec.secure_cookies,
            max_age=600,
            path="/login",
        )
        return resp

    @router.get("/login/oidc/callback", include_in_schema=False)
    def callback(
        request: Request, code: str = Query("", max_length=2048), state: str = Query("", max_length=512)
    ) -> Response:
        if sec.oidc is None:
            return JSONResponse({"error": "no identity provider is configured"}, status_code=404)
        bound = request.cookies.get(STATE_COOKIE, "")
        client = request.client.host if request.client else ""
        try:
            if not state or not hmac.compare_digest(bound.encode(), state.encode()):
                raise OidcError("the sign-in came back to another browser (state does not match)")
            principal = sec.oidc.principal(sec.oidc.finish(state, code))
        except OidcError as exc:
            if sec.audit is not None:
                sec.audit.append(
                    AuditEvent.SIGN_IN_FAILED, "oidc", {"error": str(exc)[:300], "client": client}
                )
            return JSONResponse({"error": str(exc)}, status_code=401)
        s = sec.sessions.create(principal)
        if sec.audit is not None:
            details = {
                "role": principal.role.value,
                "agency": principal.agency,
                "via": "oidc",
                "client": client,
            }
            sec.audit.append(AuditEvent.SIGN_IN, principal.name, details)
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(
            SESSION_COOKIE, s.token, httponly=True, samesite="strict", secure=sec.secure_cookies, path="/"
        )
        resp.set_cookie(
            CSRF_COOKIE, s.csrf, httponly=False, samesite="strict", secure=sec.secure_cookies, path="/"
        )
        resp.delete_cookie(STATE_COOKIE, path="/login")
        return resp

    return router
