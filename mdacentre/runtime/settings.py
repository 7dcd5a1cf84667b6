"""Settings from a TOML file and the environment (``MDA_<SECTION>_<FIELD>``), validated once at start-up.

Nothing is read at import time: :func:`load_settings` is called by the CLI with the file
and environment it was given. Secrets (MQTT password) come from the environment or a file
outside git, never from the repository.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from mdacentre.model.errors import ConfigError


def repo_root() -> Path:
    """The checkout this package runs from (where geofences/, feeds/, web/ live)."""
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class MqttSettings:
    host: str = ""  # empty: start an embedded Mosquitto on embedded_host:embedded_port
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    client_id: str = "mdacentre"
    topic_prefix: str = "mdacentre/v1"
    embedded_host: str = "127.0.0.1"
    embedded_port: int = 1883
    qos: int = 1


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    ack_token: str = ""  # bearer token for POST /api/alerts/{id}/ack; empty: loopback clients only


@dataclass(frozen=True)
class CoreSettings:
    track_ttl_s: float = 24 * 3600.0
    dwell_s: float = 180.0
    hysteresis_m: float = 300.0
    grid_deg: float = 0.1
    batch_interval_s: float = 0.25  # how long ingested chunks are gathered before one pipeline step


@dataclass(frozen=True)
class Settings:
    zones_dir: Path = field(default_factory=lambda: repo_root() / "geofences")
    profiles: Path = field(default_factory=lambda: repo_root() / "geofences" / "profiles.toml")
    feeds_dir: Path = field(default_factory=lambda: repo_root() / "feeds")
    web_dir: Path = field(default_factory=lambda: repo_root() / "web")
    alerting_dir: Path = field(default_factory=lambda: repo_root() / "alerting")
    data_dir: Path = field(default_factory=lambda: repo_root() / "var")
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    core: CoreSettings = field(default_factory=CoreSettings)


def _coerce(value: Any, target: Any, where: str) -> Any:
    try:
        if isinstance(target, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(target, int):
            return int(value)
        if isinstance(target, float):
            return float(value)
        if isinstance(target, Path):
            return Path(str(value)).expanduser()
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {value!r} is not a valid {type(target).__name__}") from None


def _merge(obj: Any, values: Mapping[str, Any], where: str) -> Any:
    names = {f.name for f in fields(obj)}
    changes: dict[str, Any] = {}
    for k, v in values.items():
        if k not in names:
            raise ConfigError(f"{where}: unknown setting {k!r}; known: {sorted(names)}")
        cur = getattr(obj, k)
        if is_dataclass(cur):
            if not isinstance(v, Mapping):
                raise ConfigError(f"{where}.{k} must be a table")
            changes[k] = _merge(cur, v, f"{where}.{k}")
        else:
            changes[k] = _coerce(v, cur, f"{where}.{k}")
    return replace(obj, **changes)


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file (if any), then ``MDA_*`` environment variables."""
    s = Settings()
    if path is not None:
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        s = _merge(s, doc, str(path))
    env = os.environ if env is None else env
    nested: dict[str, Any] = {}
    sections = {f.name for f in fields(Settings) if is_dataclass(getattr(s, f.name))}
    for k, v in env.items():
        if not k.startswith("MDA_"):
            continue
        parts = k[4:].lower().split("_", 1)
        if parts[0] in sections and len(parts) == 2:
            nested.setdefault(parts[0], {})[parts[1]] = v
        elif k[4:].lower() in {f.name for f in fields(Settings)}:
            nested[k[4:].lower()] = v
    if nested:
        s = _merge(s, nested, "environment MDA_*")
    if not 0 <= s.mqtt.qos <= 2:
        raise ConfigError("mqtt.qos must be 0, 1 or 2")
    for name, port in (
        ("mqtt.port", s.mqtt.port),
        ("http.port", s.http.port),
        ("mqtt.embedded_port", s.mqtt.embedded_port),
    ):
        if not 0 <= port <= 65535:
            raise ConfigError(f"{name} {port} is not a TCP port (0-65535)")
    return s
