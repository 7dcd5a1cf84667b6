"""Test helpers for the signed-in map: a users file with real argon2 hashes, and signing in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from mdacentre.alerting.routing import Router
from mdacentre.api.auth import Security
from mdacentre.api.auth.users import UserStore
from mdacentre.runtime.audit import AuditLog

PASSWORD = "correct horse battery staple"
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # real argon2id, test-sized cost
TEST_HOSTS = ("testserver", "127.0.0.1", "localhost")


def make_security(
    tmp: Path,
    users: tuple[tuple[str, str, str | None], ...] = (("watch", "watch", None),),
    router: Router | None = None,
) -> Security:
    """Users ``(name, role, agency)`` with password :data:`PASSWORD`, an audit trail, test Host names."""
    store = UserStore(Path(tmp) / "users.json", hasher=FAST)
    for name, role, agency in users:
        if store.get(name) is None:
            store.add(name, role, PASSWORD, agency)
    return Security(store, router, AuditLog(Path(tmp) / "audit.jsonl"), TEST_HOSTS)


def sign_in(client: Any, name: str = "watch", password: str = PASSWORD) -> str:
    """Sign ``client`` (httpx / TestClient) in; returns the CSRF token for writes."""
    r = client.post("/api/session", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def sign_in_when_up(client: Any, timeout_s: float = 30.0) -> str:
    """Sign in to a service that is still starting: retry while it does not listen yet; the CSRF token."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return sign_in(client)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


class LiveServer:
    """A real uvicorn server for ``app`` on a free loopback port, in a thread."""

    def __init__(self, app: Any, port: int = 0) -> None:
        import socket
        import threading
        import time

        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = int(self.sock.getsockname()[1])
        cfg = uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio")
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class SignedIn:
    """urllib as a signed-in user of a running service (its first user ``watch`` by default)."""

    def __init__(self, name: str = "watch", password: str = PASSWORD) -> None:
        import http.cookiejar
        import urllib.request

        self.name, self.password = name, password
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def sign_in(self, port: int) -> None:
        import json
        import urllib.request

        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/session",
            data=json.dumps({"name": self.name, "password": self.password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with self.opener.open(req, timeout=10) as r:
            self.csrf = json.loads(r.read())["csrf"]

    def request(self, port: int, path: str, doc: Any = None) -> tuple[int, bytes]:
        """GET (or POST ``doc`` as JSON with the CSRF token); signs in on the first 401."""
        import json
        import urllib.error
        import urllib.request

        for attempt in (0, 1):
            headers = (
                {"Content-Type": "application/json", "X-CSRF-Token": self.csrf} if doc is not None else {}
            )
            data = json.dumps(doc).encode() if doc is not None else None
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
            try:
                with self.opener.open(req, timeout=10) as r:
                    return int(r.status), bytes(r.read())
            except urllib.error.HTTPError as exc:
                if exc.code != 401 or attempt:
                    return int(exc.code), bytes(exc.read())
            self.sign_in(port)
        raise AssertionError("unreachable")

    def cookie(self) -> str:
        """The session cookie, for a WebSocket handshake."""
        return "; ".join(f"{c.name}={c.value}" for c in self.jar if c.name == "mda_session")
