"""Server-side sessions: a random token in an HttpOnly cookie, a CSRF token beside it.

Sessions live in memory (a restart signs everybody out). A session ends after ``idle_s`` without a
request or ``max_s`` after sign-in, and at once when its user is disabled or changed in the users
file (checked when the file changes, also by ``mdacentre users`` in another process).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field, replace

from mdacentre.api.auth.users import Role, UserStore

SESSION_COOKIE = "mda_session"
CSRF_COOKIE = "mda_csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Principal:
    """Who is signed in: the identity every acknowledgement and audit record carries."""

    name: str
    role: Role
    agency: str | None = None
    via: str = "password"  # password | oidc

    @property
    def label(self) -> str:
        return f"{self.agency}/{self.name}" if self.agency else self.name


@dataclass
class Session:
    token: str
    csrf: str
    principal: Principal
    created: float
    seen: float = field(default=0.0)


class SessionStore:
    def __init__(
        self, users: UserStore | None, idle_s: float = 8 * 3600.0, max_s: float = 24 * 3600.0
    ) -> None:
        self.users = users
        self.idle_s = idle_s
        self.max_s = max_s
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._users_mtime = self._mtime()

    def _mtime(self) -> float:
        try:
            return self.users.path.stat().st_mtime if self.users is not None else 0.0
        except OSError:
            return 0.0

    def create(self, principal: Principal, now: float | None = None) -> Session:
        now = time.time() if now is None else now
        s = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), principal, now, now)
        with self._lock:
            self._sessions[s.token] = s
        return s

    def get(self, token: str | None, now: float | None = None) -> Session | None:
        if not token:
            return None
        now = time.time() if now is None else now
        self._recheck_users()
        with self._lock:
            s = self._sessions.get(token)
            if s is None:
                return None
            if now - s.seen > self.idle_s or now - s.created > self.max_s:
                del self._sessions[token]
                return None
            s.seen = now
            return replace(s)

    def drop(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def drop_user(self, name: str) -> None:
        with self._lock:
            for t in [t for t, s in self._sessions.items() if s.principal.name == name]:
                del self._sessions[t]

    def count(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _recheck_users(self) -> None:
        if self.users is None:
            return
        m = self._mtime()
        if m == self._users_mtime:
            return
        self._users_mtime = m
        current = {u.name: u for u in self.users.list()}
        with self._lock:
            for t, s in list(self._sessions.items()):
                u = current.get(s.principal.name)
                if s.principal.via != "password":
                    continue
                if u is None or u.disabled or u.role != s.principal.role or u.agency != s.principal.agency:
                    del self._sessions[t]


def csrf_ok(session: Session, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(session.csrf.encode(), (header or "").encode())
