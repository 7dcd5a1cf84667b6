"""Settings from a TOML file and the environment (``MDA_<SECTION>_<FIELD>``), validated once at start-up.

Nothing is read at import time: :func:`load_settings` is called by the CLI with the file
and environment it was given. Secrets (MQTT password) come from the environment or a file
outside git, never from the repository.

The sections are pydantic dataclasses (validated on construction, unknown keys refused,
``dataclasses.replace`` works); the environment is read by pydantic-settings. Default locations
of the operator folders (``geofences/``, ``alerting/``, ``web/``) are the checkout's when the
package runs from one, else the copies bundled in the wheel (``mdacentre/bundled/``, see setup.py),
else the working directory; ``feeds/`` and ``var/`` are the checkout's or the working directory's.
:meth:`Settings.existing` names the setting and its variable when a folder is missing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, create_model
from pydantic.dataclasses import dataclass
from pydantic_settings import BaseSettings, EnvSettingsSource

from mdacentre.model.errors import ConfigError
from mdacentre.runtime.config import FORBID, read_toml, validate

ENV_PREFIX = "MDA_"
BUNDLED = "bundled"  # package folder of the operator folders shipped in the wheel


def repo_root() -> Path:
    """The folder above the package: the checkout when mdacentre runs from one (editable install)."""
    return Path(__file__).resolve().parents[2]


def checkout() -> Path | None:
    """The source checkout this package runs from, or None for an installed wheel."""
    root = repo_root()
    return root if (root / "pyproject.toml").is_file() and (root / "mdacentre").is_dir() else None


def bundled_dir() -> Path:
    """Where a wheel keeps its copies of ``geofences/``, ``alerting/`` and ``web/``."""
    return Path(__file__).resolve().parents[1] / BUNDLED


def default_dir(name: str) -> Path:
    """``name`` in the checkout, else in the wheel's bundled data, else in the working directory."""
    root = checkout()
    for base in (root, bundled_dir()):
        if base is not None and (base / name).exists():
            return base / name
    return (root or Path.cwd()) / name


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise ValueError(f"{value} is not a TCP port (0-65535)")
    return value


def _qos(value: int) -> int:
    if value not in (0, 1, 2):
        raise ValueError(f"{value} is not an MQTT QoS: use 0, 1 or 2")
    return value


def _positive(value: float) -> float:
    if not value > 0:
        raise ValueError(f"{value} must be positive")
    return value


def _user_path(value: Path) -> Path:
    return value.expanduser()


Port = Annotated[int, AfterValidator(_port), Field(json_schema_extra={"minimum": 0, "maximum": 65535})]
Qos = Annotated[int, AfterValidator(_qos), Field(json_schema_extra={"enum": [0, 1, 2]})]
Positive = Annotated[float, AfterValidator(_positive), Field(json_schema_extra={"exclusiveMinimum": 0})]
UserPath = Annotated[Path, AfterValidator(_user_path)]


@dataclass(frozen=True, config=FORBID)
class MqttSettings:
    key_noun: ClassVar[str] = "setting"

    host: str = ""  # empty: start an embedded Mosquitto on embedded_host:embedded_port
    port: Port = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""  # client certificate (PEM) for a broker that requires one; with tls = true
    key_file: str = ""  # its private key (PEM); empty: the key is in cert_file
    client_id: str = "mdacentre"
    topic_prefix: str = "mdacentre/v1"
    embedded_host: str = "127.0.0.1"
    embedded_port: Port = 1883
    qos: Qos = 1


@dataclass(frozen=True, config=FORBID)
class HttpSettings:
    key_noun: ClassVar[str] = "setting"

    host: str = "127.0.0.1"
    port: Port = 8000
    ack_token: str = ""  # no longer used: acknowledgements need a signed-in session (docs/security.md)


@dataclass(frozen=True, config=FORBID)
class AuthSettings:
    """Sign-in and request hardening of the map and API (docs/security.md)."""

    key_noun: ClassVar[str] = "setting"

    allowed_hosts: str = ""  # comma-separated Host names the server answers for; empty: loopback + http.host
    max_body_bytes: int = Field(default=16384, ge=256)  # any larger request body is refused before it is read
    secure_cookies: bool = False  # set true when the map is served over HTTPS
    session_idle_s: Positive = 8 * 3600.0
    bootstrap_password: str = ""  # first start with no users: password of the user `watch` (else generated)
    tls_certfile: str = ""  # HTTPS served directly: certificate chain (PEM) ...
    tls_keyfile: str = ""  # ... and its private key (PEM); both set: the map is https:// only
    trusted_proxies: str = ""  # comma-separated addresses whose X-Forwarded-For/-Proto are believed
    oidc_issuer: str = ""  # OpenID Connect provider (e.g. https://kc.example/realms/rsc); empty: off
    oidc_client_id: str = ""
    oidc_client_secret: str = ""  # from the environment (MDA_AUTH_OIDC_CLIENT_SECRET), never a file in git
    oidc_redirect_uri: str = ""  # https://<this server>/login/oidc/callback
    oidc_role_claim: str = "mdacentre_role"
    oidc_agency_claim: str = "mdacentre_agency"


@dataclass(frozen=True, config=FORBID)
class CoreSettings:
    key_noun: ClassVar[str] = "setting"

    track_ttl_s: Positive = 24 * 3600.0
    dwell_s: float = Field(default=180.0, ge=0)
    hysteresis_m: float = Field(default=300.0, ge=0)
    grid_deg: Positive = 0.1
    # live: while lines flow, pipeline steps start at least this far apart (chunks arriving meanwhile
    # are gathered into the next step); a chunk after a quiet spell is stepped at once; 0: every chunk
    batch_interval_s: float = Field(default=0.01, ge=0, le=1.0)


class ClockCheckName(StrEnum):
    WALL = "wall"  # live receivers: their times are near the wall clock
    FEED = "feed"  # recordings and playback: their times are near their own recent times


@dataclass(frozen=True, config=FORBID)
class TimeSettings:
    """Event time: pipeline steps, allowed lateness and the clock guard (see docs/time.md)."""

    key_noun: ClassVar[str] = "setting"

    step_s: Positive = 60.0  # width of one pipeline step in event time (the detectors check every 60 s)
    lateness_s: float = Field(default=30.0, ge=0)  # this much older than the feed's newest: still in order
    clock_check: ClockCheckName = ClockCheckName.WALL  # live feeds: "wall" or "feed" (recordings, demo)
    earliest: float = 946684800.0  # event times before this (2000-01-01) are refused
    max_ahead_s: Positive = 300.0  # "wall": refused when later than the wall clock plus this
    max_jump_s: Positive = 6 * 3600.0  # "feed": jumps ahead of the feed's own time held for confirmation
    max_behind_s: Positive = 7 * 86400.0  # refused when this much before the feed's newest time
    confirm_reports: int = Field(default=3, ge=1)  # reports in a row that confirm a jump (and anchor)
    idle_s: Positive = 10.0  # live: a feed silent this long (wall time) no longer holds steps back
    idle_flush_s: Positive = 5.0  # live: no data at all for this long: every held report is processed
    live_hold_s: float = Field(default=0.0, ge=0)  # live: event time a report waits for out-of-order ones


@dataclass(frozen=True, config=FORBID)
class StoreSettings:
    key_noun: ClassVar[str] = "setting"

    busy_timeout_s: Positive = 5.0  # how long one write waits for a lock held by another process
    retention_s: Positive = 7 * 86400.0  # delivered outbox rows are pruned after this long
    prune_interval_s: Positive = 600.0


@dataclass(frozen=True, config=FORBID)
class HealthSettings:
    key_noun: ClassVar[str] = "setting"

    interval_s: Positive = 2.0  # health checks, feed rates and outbox gauges are refreshed this often
    stall_s: Positive = 10.0  # input waiting this long with no pipeline step: not ready
    stuck_s: Positive = 60.0  # ... and this long: not live (the process ends, to be restarted)
    max_undelivered_age_s: Positive = 30.0  # oldest alert message waiting for the broker: not ready beyond
    watermark_future_s: Positive = 300.0  # event time this far ahead of the wall clock is not sane
    stage_restarts: int = Field(default=5, ge=0)  # a stage failing more often within restart_window_s ends it
    restart_window_s: Positive = 300.0


@dataclass(frozen=True, config=FORBID)
class ArchiveSettings:
    key_noun: ClassVar[str] = "setting"

    enabled: bool = True  # serve and replay record into data_dir/<dir> (GeoParquet by day)
    dir: str = "history"
    flush_s: Positive = 5.0  # buffered records are written at least this often (wall clock)
    retention_days: int = Field(default=0, ge=0)  # days of event time kept behind the newest day; 0 keeps all
    compact_parts: int = Field(default=120, ge=2)  # small files of one day merged when this many accumulate
    query_max_rows: int = Field(default=100_000, ge=1, le=10_000_000)  # rows an analyst query returns at most
    query_timeout_s: Positive = 30.0  # an analyst query (POST /api/history/sql) is interrupted after this


@dataclass(frozen=True, config=FORBID)
class Settings:
    key_noun: ClassVar[str] = "setting"

    zones_dir: UserPath = dataclasses.field(default_factory=lambda: default_dir("geofences"))
    profiles: UserPath = dataclasses.field(default_factory=lambda: default_dir("geofences") / "profiles.toml")
    # feed definitions are the site's own: the checkout's feeds/, else ./feeds (never the wheel's examples)
    feeds_dir: UserPath = dataclasses.field(default_factory=lambda: (checkout() or Path.cwd()) / "feeds")
    web_dir: UserPath = dataclasses.field(default_factory=lambda: default_dir("web"))
    alerting_dir: UserPath = dataclasses.field(default_factory=lambda: default_dir("alerting"))
    data_dir: UserPath = dataclasses.field(default_factory=lambda: (checkout() or Path.cwd()) / "var")
    mqtt: MqttSettings = dataclasses.field(default_factory=MqttSettings)
    http: HttpSettings = dataclasses.field(default_factory=HttpSettings)
    core: CoreSettings = dataclasses.field(default_factory=CoreSettings)
    store: StoreSettings = dataclasses.field(default_factory=StoreSettings)
    health: HealthSettings = dataclasses.field(default_factory=HealthSettings)
    archive: ArchiveSettings = dataclasses.field(default_factory=ArchiveSettings)
    time: TimeSettings = dataclasses.field(default_factory=TimeSettings)
    auth: AuthSettings = dataclasses.field(default_factory=AuthSettings)

    def existing(self, name: str) -> Path:
        """The path of setting ``name`` (``zones_dir``, ``web_dir``, ...), which must exist."""
        path = Path(getattr(self, name))
        if not path.exists():
            raise ConfigError(
                f"{name}: {path} does not exist; set {name} in the settings file (--config) or the "
                f"environment variable {ENV_PREFIX}{name.upper()}, or run from a folder that has it"
            )
        return path


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment reader on a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = {k.lower(): v for k, v in env.items()}
        super().__init__(
            settings_cls,
            case_sensitive=False,
            env_prefix=ENV_PREFIX,
            env_nested_delimiter="_",
            env_nested_max_split=1,  # MDA_MQTT_EMBEDDED_PORT: section mqtt, field embedded_port
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._given


def environment_values(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``MDA_*`` variables of ``env`` as nested settings values (strings, validated later)."""
    sections = {"mqtt": MqttSettings, "http": HttpSettings, "core": CoreSettings}
    sections |= {"store": StoreSettings, "health": HealthSettings}
    sections |= {"time": TimeSettings}
    sections |= {"auth": AuthSettings}
    fields: dict[str, Any] = {f.name: (sections.get(f.name, Any), None) for f in dataclasses.fields(Settings)}
    shadow = create_model("EnvironmentSettings", __base__=BaseSettings, **fields)
    return {k: v for k, v in _MappingEnvSource(shadow, env)().items() if v is not None}


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file (if any), then ``MDA_*`` environment variables."""
    doc: dict[str, Any] = {}
    if path is not None:
        doc = read_toml(path, "settings file", "pass --config with an existing file")
        validate(Settings, doc, str(path))  # a mistake in the file is reported against the file
    values = environment_values(os.environ if env is None else env)
    if not values:
        return validate(Settings, doc, str(path) if path else "settings")
    return validate(Settings, _deep_merge(doc, values), "environment", key_name=_env_name)


def _env_name(loc: Any, data: Any) -> str:
    return ENV_PREFIX + "_".join(str(p) for p in loc).upper() if loc else "MDA_*"
