"""Which role may call which route. Everything not listed here is refused to everyone but the
full-picture roles (GET only), so a route added later is signed-in-only and unscoped roles never
reach it until it is listed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mdacentre.api.auth.users import Role

READ_METHODS = frozenset({"GET", "HEAD"})
ALL = frozenset(Role)
PICTURE = frozenset({Role.WATCH, Role.LIAISON, Role.ANALYST})


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    roles: frozenset[Role]


def _r(methods: str, pattern: str, roles: frozenset[Role]) -> Rule:
    return Rule(frozenset(methods.split()), re.compile(pattern), roles)


# Reachable without signing in: health probes, the sign-in page and what it loads, signing in.
PUBLIC: tuple[Rule, ...] = (
    _r("GET HEAD", r"^/(healthz|readyz)$", ALL),
    _r("GET HEAD", r"^/login(/oidc|/oidc/callback)?$", ALL),
    _r("GET HEAD", r"^/api/session/providers$", ALL),
    _r("GET HEAD", r"^/static/(login\.js|style\.css|favicon\.svg)$", ALL),
    _r("GET HEAD", r"^/favicon\.ico$", ALL),
    _r("POST", r"^/api/session$", ALL),
)

RULES: tuple[Rule, ...] = (
    _r("GET HEAD DELETE", r"^/api/session$", ALL),
    _r("GET HEAD", r"^/openapi\.json$", ALL),
    _r("GET HEAD", r"^/$", ALL),
    _r("GET HEAD", r"^/(static|vendor)/", ALL),
    _r("GET HEAD", r"^/api/(tracks|alerts|zones|feeds|vocabulary)$", PICTURE),
    _r("GET", r"^/ws$", PICTURE),
    # history: the routes scope a liaison to its agency's jurisdiction (mdacentre.api.history)
    _r("GET HEAD", r"^/api/tracks/[^/]+/[^/]+/history$", PICTURE),
    _r("GET HEAD", r"^/api/history/alerts$", PICTURE),
    _r("POST", r"^/api/history/sql$", frozenset({Role.ANALYST})),
    _r("POST", r"^/api/alerts/[^/]+/ack$", frozenset({Role.WATCH, Role.LIAISON})),
    _r("POST", r"^/api/alerts/[^/]+/(note|handover)$", frozenset({Role.WATCH})),
    _r("POST", r"^/api/replay/clock$", frozenset({Role.WATCH, Role.ANALYST})),
    _r("GET HEAD", r"^/metrics$", frozenset({Role.WATCH, Role.ANALYST, Role.ADMIN})),
    _r("GET HEAD", r"^/api/(audit|users)$", frozenset({Role.ADMIN})),
)

# Not listed: GET for the roles that see the whole picture anyway; writes for nobody.
UNLISTED_READ = frozenset({Role.WATCH, Role.ANALYST})


def is_public(method: str, path: str) -> bool:
    return any(method in r.methods and r.pattern.match(path) for r in PUBLIC)


def allowed(role: Role, method: str, path: str) -> bool:
    for r in RULES:
        if r.pattern.match(path) and method in r.methods:
            return role in r.roles
    return method in READ_METHODS and role in UNLISTED_READ


# Reads that hand data out of the centre (history, exports, reports): each one is written to the audit trail.
AUDITED_READS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^/api/tracks/[^/]+/[^/]+/history$"),
    re.compile(r"^/api/history/alerts$"),
    re.compile(r"^/api/(export|exports|report|reports)(/|$)"),
    re.compile(r"^/api/alerts/[^/]+/brief$"),  # the incident briefing download
    re.compile(r"^/api/picture$"),  # the track picture at a past time
)


def is_audited_read(method: str, path: str) -> bool:
    return method in READ_METHODS and any(p.match(path) for p in AUDITED_READS)
