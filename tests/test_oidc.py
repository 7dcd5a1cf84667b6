"""OpenID Connect sign-in against a provider started by the test: a real HTTP server with discovery,
an authorization endpoint, a token endpoint that checks PKCE and signs ID tokens (RS256), and a JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from mdacentre.api.auth.oidc import OidcConfig, OidcProvider
from tests.authkit import LiveServer
from tests.test_auth import build_site

CLIENT_ID = "mdacentre-map"


class Provider:
    """What the identity provider will put in the next ID token, and its keys."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        self.other = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, not published
        self.claims: dict[str, Any] = {}
        self.sign_with_other = False
        self.codes: dict[str, dict[str, str]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        prov = self

        class H(BaseHTTPRequestHandler):
            def _json(self, doc: Any, status: int = 200) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                u = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                if u.path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": prov.url,
                            "authorization_endpoint": prov.url + "/authorize",
                            "token_endpoint": prov.url + "/token",
                            "jwks_uri": prov.url + "/jwks",
                        }
                    )
                elif u.path == "/jwks":
                    self._json(KeySet([prov.key]).as_dict(private=False))
                elif u.path == "/authorize":
                    assert q["client_id"] == CLIENT_ID and q["code_challenge_method"] == "S256"
                    code = f"code-{len(prov.codes)}"
                    prov.codes[code] = q
                    self.send_response(302)
                    self.send_header(
                        "Location", q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})
                    )
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
                asked = prov.codes.pop(form.get("code", ""), None)
                if asked is None:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != asked["code_challenge"]:
                    self._json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
                    return
                now = int(time.time())
                claims = {"iss": prov.url, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "sub": "u-1",
                          "nonce": asked["nonce"], **prov.claims}  # fmt: skip
                key = prov.other if prov.sign_with_other else prov.key
                token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
                self._json(
                    {"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": token}
                )

            def log_message(self, *args: Any) -> None:
                pass

        return H

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def idp() -> Iterator[Provider]:
    p = Provider()
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def site(tmp_path: Path, idp: Provider) -> Iterator[tuple[str, Any]]:
    app, sec, *_ = build_site(tmp_path)
    server = LiveServer(app)
    sec.oidc = OidcProvider(
        OidcConfig(issuer=idp.url, client_id=CLIENT_ID, redirect_uri=server.url + "/login/oidc/callback")
    )
    try:
        yield server.url, sec
    finally:
        server.stop()


def sign_in_via_provider(base: str) -> tuple[httpx.Client, httpx.Response]:
    """The browser's round trip: map -> provider -> callback; returns the client and the callback's answer."""
    c = httpx.Client(base_url=base, timeout=10)
    r = c.get("/login/oidc")
    assert r.status_code == 303 and r.headers["location"].startswith("http://127.0.0.1:")
    at_idp = httpx.get(r.headers["location"], timeout=10)
    assert at_idp.status_code == 302
    back = at_idp.headers["location"]
    return c, c.get(back.replace(base, ""))


def test_provider_sign_in_gives_a_scoped_session(site: tuple[str, Any], idp: Provider) -> None:
    base, sec = site
    with httpx.Client(base_url=base, timeout=10) as c:
        assert c.get("/api/session/providers").json() == {"oidc": True}
    idp.claims = {"preferred_username": "kc-jm", "mdacentre_role": ["liaison"], "mdacentre_agency": "jdf-cg"}
    c, r = sign_in_via_provider(base)
    try:
        assert r.status_code == 303 and r.headers["location"] == "/"
        who = c.get("/api/session").json()
        assert (who["name"], who["role"], who["agency"]) == ("kc-jm", "liaison", "jdf-cg")
        states = {a["state"] for a in c.get("/api/alerts").json()}
        assert states == {"JM"}
    finally:
        c.close()
    events = [(x["event"], x["actor"], x["details"].get("via")) for x in sec.audit.tail(5)]
    assert ("sign_in", "kc-jm", "oidc") in events


@pytest.mark.parametrize(
    "problem",
    ["wrong_key", "no_role", "liaison_without_agency", "state_from_another_browser", "replayed_code"],
)
def test_provider_sign_in_refusals(site: tuple[str, Any], idp: Provider, problem: str) -> None:
    base, sec = site
    idp.claims = {"preferred_username": "kc-w", "mdacentre_role": "watch"}
    if problem == "wrong_key":
        idp.sign_with_other = True
    elif problem == "no_role":
        idp.claims = {"preferred_username": "kc-w", "groups": ["staff"]}
    elif problem == "liaison_without_agency":
        idp.claims = {"preferred_username": "kc-w", "mdacentre_role": "liaison"}
    if problem in ("state_from_another_browser", "replayed_code"):
        c = httpx.Client(base_url=base, timeout=10)
        r = c.get("/login/oidc")
        back = httpx.get(r.headers["location"], timeout=10).headers["location"].replace(base, "")
        if problem == "state_from_another_browser":
            with httpx.Client(base_url=base, timeout=10) as other:  # no state cookie
                r = other.get(back)
        else:
            assert c.get(back).status_code == 303
            r = c.get(back)  # the same code and state again
        c.close()
    else:
        c, r = sign_in_via_provider(base)
        c.close()
    assert r.status_code == 401, r.text
    assert "mda_session" not in r.headers.get("set-cookie", "")
    assert any(x["event"] == "sign_in_failed" and x["actor"] == "oidc" for x in sec.audit.tail(5))
