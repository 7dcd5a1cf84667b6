"""The uvicorn configuration of the map server: plain HTTP, HTTPS from certificate files, or behind a
reverse proxy whose forwarded headers are trusted only from the configured proxy addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import uvicorn

from mdacentre.model.errors import ConfigError
from mdacentre.runtime.settings import Settings


def server_config(settings: Settings, app: Any) -> uvicorn.Config:
    h = settings.http
    a = settings.auth
    tls: dict[str, Any] = {}
    if a.tls_certfile or a.tls_keyfile:
        for name in ("tls_certfile", "tls_keyfile"):
            p = getattr(a, name)
            if not p or not Path(p).is_file():
                raise ConfigError(
                    f"auth.{name} {p!r} is not a file; HTTPS needs both the certificate and the key (PEM)"
                )
        tls = {"ssl_certfile": a.tls_certfile, "ssl_keyfile": a.tls_keyfile}
    proxies = [p.strip() for p in a.trusted_proxies.split(",") if p.strip()]
    return uvicorn.Config(
        app,
        host=h.host,
        port=h.port,
        log_level="warning",
        lifespan="off",
        # X-Forwarded-For / -Proto only from these addresses; with none, they are ignored
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,
        **tls,
    )
