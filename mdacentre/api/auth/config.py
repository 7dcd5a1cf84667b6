"""The security parts the map app is built with (one value, handed to :func:`mdacentre.api.web.create_app`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mdacentre.alerting.routing import Router
from mdacentre.api.auth.oidc import OidcProvider
from mdacentre.api.auth.sessions import SessionStore
from mdacentre.api.auth.users import UserStore
from mdacentre.runtime.audit import AuditLog

HOST_NAME = re.compile(r"^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])$")
DEFAULT_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MAX_BODY = 16 * 1024  # bytes of any request body (JSON commands are small)
AUDIT_FILE = "audit.jsonl"


@dataclass
class Security:
    users: UserStore | None
    router: Router | None = None
    audit: AuditLog | None = None
    allowed_hosts: tuple[str, ...] = DEFAULT_HOSTS  # host names (any port) or host:port
    max_body: int = MAX_BODY
    secure_cookies: bool = False  # True behind HTTPS: cookies get the Secure attribute
    sessions: SessionStore = field(init=False)
    idle_s: float = 8 * 3600.0
    oidc: OidcProvider | None = None  # OpenID Connect sign-in, when a provider is configured

    def __post_init__(self) -> None:
        self.sessions = SessionStore(self.users, idle_s=self.idle_s)

    @classmethod
    def in_dir(
        cls,
        data_dir: Path,
        router: Router | None = None,
        allowed_hosts: tuple[str, ...] = DEFAULT_HOSTS,
        **kw: object,
    ) -> Security:
        """Users file and audit trail in ``data_dir`` (``users.json``, ``audit.jsonl``)."""
        return cls(
            UserStore.in_dir(data_dir),
            router,
            AuditLog(Path(data_dir) / AUDIT_FILE),
            allowed_hosts,
            **kw,  # type: ignore[arg-type]
        )

    def host_allowed(self, host: str | None) -> bool:
        if not host:
            return False
        host = host.strip().lower()
        name, sep, port = host.rpartition(":")
        if not sep or not port.isdigit() or (":" in name and not name.endswith("]")):
            name = host  # no port (or a bare IPv6 address): the whole value is the name
        if not HOST_NAME.match(name):
            return False
        return any(h.lower() in (host, name) for h in self.allowed_hosts)


def parse_hosts(text: str, bind_host: str) -> tuple[str, ...]:
    """``allowed_hosts`` setting (comma-separated) or, when empty, the loopback names plus the bind host."""
    given = tuple(h.strip() for h in text.split(",") if h.strip())
    if given:
        return given
    extra = () if bind_host in ("", "0.0.0.0", "::") else (bind_host,)
    return tuple(dict.fromkeys((*DEFAULT_HOSTS, *extra)))
