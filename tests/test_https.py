"""HTTPS served directly from certificate files, and forwarded headers believed only from configured
proxies: the service's own server configuration on a real uvicorn."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn

from mdacentre.api.web import MemoryMapState, create_app
from mdacentre.model.errors import ConfigError
from mdacentre.runtime.settings import AuthSettings, HttpSettings, Settings
from mdacentre.service.http_server import server_config
from mdacentre.service.wiring import web_security
from mdacentre.sinks.broker import free_port
from tests.authkit import PASSWORD
from tests.test_broker_acl import make_certs

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def running(settings: Settings) -> Iterator[object]:
    sec = web_security(settings, None)
    server = uvicorn.Server(server_config(settings, create_app(MemoryMapState(), REPO / "web", security=sec)))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield sec
    finally:
        server.should_exit = True
        th.join(10)


def settings_for(tmp: Path, **auth: str) -> Settings:
    return replace(
        Settings(),
        data_dir=tmp / "var",
        http=HttpSettings(port=free_port()),
        auth=AuthSettings(bootstrap_password=PASSWORD, **auth),  # type: ignore[arg-type]
    )


def test_https_from_certificate_files_with_secure_cookies(tmp_path: Path) -> None:
    ca, crt, key = make_certs(tmp_path)
    s = settings_for(tmp_path, tls_certfile=str(crt), tls_keyfile=str(key))
    with running(s):
        ctx = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(base_url=f"https://127.0.0.1:{s.http.port}", verify=ctx, timeout=10) as c:
            assert c.get("/healthz").status_code == 200
            r = c.post("/api/session", json={"name": "watch", "password": PASSWORD})
            assert r.status_code == 200
            session = next(x for x in r.headers.get_list("set-cookie") if x.startswith("mda_session="))
            assert "Secure" in session and "HttpOnly" in session
            assert c.get("/api/tracks").status_code == 200
        with pytest.raises(httpx.HTTPError):  # plain HTTP on the HTTPS port gets nothing
            httpx.get(f"http://127.0.0.1:{s.http.port}/api/tracks", timeout=5).raise_for_status()


def test_https_needs_both_files(tmp_path: Path) -> None:
    s = settings_for(tmp_path, tls_certfile=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="tls_keyfile|tls_certfile"):
        server_config(s, object())


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_forwarded_for_believed_only_from_trusted_proxies(tmp_path: Path, trusted: str) -> None:
    s = settings_for(tmp_path, trusted_proxies=trusted)
    with running(s) as sec, httpx.Client(base_url=f"http://127.0.0.1:{s.http.port}", timeout=10) as c:
        r = c.post(
            "/api/session",
            json={"name": "watch", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http"},
        )
        assert r.status_code == 200
    signed = [x for x in sec.audit.tail(10) if x["event"] == "sign_in"]  # type: ignore[attr-defined]
    assert signed[0]["details"]["client"] == ("203.0.113.7" if trusted else "127.0.0.1")
