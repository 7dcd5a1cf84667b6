"""OpenID Connect sign-in (authorization code flow with PKCE) for centres that run an identity provider.

authlib builds the authorization request and exchanges the code; joserfc (authlib's JOSE library)
checks the ID token's signature against the provider's JWKS and its ``iss``, ``aud``, ``exp`` and
``nonce``. The role comes from a claim (``mdacentre_role`` by default: ``watch``, ``liaison``,
``analyst`` or ``admin``, or a list holding one of them) and a liaison's agency from another
(``mdacentre_agency``); a token without a known role signs nobody in.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict

from mdacentre.api.auth.sessions import Principal
from mdacentre.api.auth.users import AGENCY_ID, Role
from mdacentre.model.errors import MdaError

ALGORITHMS = ["RS256", "ES256", "PS256"]
PENDING_S = 600.0  # an authorization request must come back within ten minutes


class OidcError(MdaError):
    """An OpenID Connect sign-in cannot be completed."""


class OidcConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str
    client_id: str
    client_secret: str = ""
    redirect_uri: str  # https://<this server>/login/oidc/callback, registered at the provider
    scope: str = "openid profile"
    role_claim: str = "mdacentre_role"
    agency_claim: str = "mdacentre_agency"
    name_claim: str = "preferred_username"


@dataclass
class Pending:
    nonce: str
    verifier: str
    expires: float


class OidcProvider:
    def __init__(self, cfg: OidcConfig, http: httpx.Client | None = None) -> None:
        self.cfg = cfg
        self.http = http or httpx.Client(timeout=10)
        self._meta: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = threading.Lock()
        self._pending: dict[str, Pending] = {}

    def metadata(self) -> dict[str, Any]:
        if self._meta is None:
            url = self.cfg.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                r = self.http.get(url)
                r.raise_for_status()
                meta = r.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise OidcError(f"cannot read the provider's configuration {url}: {exc}") from None
            if meta.get("issuer") != self.cfg.issuer:
                raise OidcError(
                    f"the provider says its issuer is {meta.get('issuer')!r}, not {self.cfg.issuer!r}"
                )
            self._meta = meta
        return self._meta

    def keys(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            try:
                r = self.http.get(self.metadata()["jwks_uri"])
                r.raise_for_status()
                self._keys = KeySet.import_key_set(r.json())
            except (httpx.HTTPError, ValueError, KeyError, JoseError) as exc:
                raise OidcError(f"cannot read the provider's signing keys: {exc}") from None
        return self._keys

    def _client(self) -> Any:
        # imported here: authlib's httpx integration warns about its own deprecation at import time
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from authlib.integrations.httpx_client import OAuth2Client

        return OAuth2Client(
            client_id=self.cfg.client_id,
            client_secret=self.cfg.client_secret or None,
            scope=self.cfg.scope,
            redirect_uri=self.cfg.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post" if self.cfg.client_secret else "none",
        )

    def begin(self, now: float | None = None) -> tuple[str, str]:
        """The provider's authorization URL and the ``state`` to bind to this browser."""
        now = time.time() if now is None else now
        nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)  # PKCE verifier: 64 characters
        with self._client() as client:
            url, state = client.create_authorization_url(
                self.metadata()["authorization_endpoint"], nonce=nonce, code_verifier=verifier
            )
        with self._lock:
            self._pending = {k: p for k, p in self._pending.items() if p.expires > now}
            self._pending[state] = Pending(nonce, verifier, now + PENDING_S)
        return str(url), str(state)

    def finish(self, state: str, code: str, now: float | None = None) -> dict[str, Any]:
        """Exchange ``code``; return the checked ID token claims."""
        now = time.time() if now is None else now
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or pending.expires < now:
            raise OidcError("unknown or expired sign-in request; start again")
        try:
            with self._client() as client:
                token = client.fetch_token(
                    self.metadata()["token_endpoint"], code=code, code_verifier=pending.verifier
                )
        except Exception as exc:  # authlib raises its own and httpx errors
            raise OidcError(f"the provider refused the code: {exc}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the provider returned no ID token")
        return self.check_id_token(id_token, pending.nonce)

    def check_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            try:
                tok = jwt.decode(id_token, self.keys(), algorithms=ALGORITHMS)
            except JoseError:
                tok = jwt.decode(id_token, self.keys(refresh=True), algorithms=ALGORITHMS)  # key rotation
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.cfg.issuer},
                aud={"essential": True, "value": self.cfg.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(tok.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token is not valid: {exc}") from None
        return dict(tok.claims)

    def principal(self, claims: dict[str, Any]) -> Principal:
        raw = claims.get(self.cfg.role_claim)
        values = raw if isinstance(raw, list) else [raw]
        roles = [Role(v) for v in values if isinstance(v, str) and v in Role.__members__.values()]
        if len(roles) != 1:
            raise OidcError(
                f"the token's {self.cfg.role_claim!r} claim must name one mdacentre role, got {raw!r}"
            )
        agency = claims.get(self.cfg.agency_claim)
        if roles[0] == Role.LIAISON:
            if not isinstance(agency, str) or not AGENCY_ID.match(agency):
                raise OidcError(f"a liaison's token needs an agency id in {self.cfg.agency_claim!r}")
        else:
            agency = None
        name = claims.get(self.cfg.name_claim) or claims.get("sub")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise OidcError("the token names no user")
        return Principal(name, roles[0], agency, via="oidc")
