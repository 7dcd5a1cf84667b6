"""Sign-in, roles, per-agency scopes and request hardening for the map's HTTP/WebSocket server.

:func:`protect` is the one call :func:`mdacentre.api.web.create_app` makes: it wraps the map state in
its scoped view, puts :class:`~mdacentre.api.auth.middleware.SecurityGate` in front of every route and
adds the sign-in routes. See ``docs/security.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from mdacentre.api.auth.config import Security
from mdacentre.api.auth.middleware import SecurityGate
from mdacentre.api.auth.oidc_routes import oidc_router
from mdacentre.api.auth.routes import session_router
from mdacentre.api.auth.scope import ScopedMapState


def protect(app: FastAPI, state: Any, web_dir: Path, security: Security | None) -> Any:
    """Install the gate and the session routes; return the scoped state the routes must read."""
    sec = security if security is not None else Security(users=None)  # nobody can sign in: fail closed
    app.state.security = sec
    app.add_middleware(SecurityGate, security=sec)
    app.include_router(session_router(sec, Path(web_dir)))
    app.include_router(oidc_router(sec))
    return ScopedMapState(state, sec.router)


__all__ = ["Security", "protect"]
