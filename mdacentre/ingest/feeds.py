"""Feed definitions: what an operator writes in ``feeds/*.toml``, validated at start."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from mdacentre.model.errors import ConfigError

SERIAL_BAUDRATES = (4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)  # AIS: 38400


class FeedKind(StrEnum):
    AIS = "ais"
    SBS = "sbs"
    BEAST = "beast"
    AVR = "avr"
    AIRCRAFT_JSON = "aircraft_json"

    @property
    def line_based(self) -> bool:
        return self in (FeedKind.AIS, FeedKind.SBS, FeedKind.AVR)


class Transport(StrEnum):
    TCP_CLIENT = "tcp_client"
    TCP_SERVER = "tcp_server"
    UDP = "udp"
    FILE = "file"
    HTTP_POLL = "http_poll"
    SERIAL = "serial"  # a receiver on a serial port (needs pyserial-asyncio-fast or pyserial-asyncio)


@dataclass(frozen=True)
class FeedSpec:
    name: str
    kind: FeedKind
    transport: Transport
    host: str = "127.0.0.1"
    port: int = 0
    path: str = ""
    url: str = ""
    interval_s: float = 1.0
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def parse_feed(doc: dict[str, Any], where: str) -> FeedSpec:
    for req in ("name", "kind", "transport"):
        if req not in doc:
            raise ConfigError(f"{where}: feed definition lacks {req!r} (see feeds/README.md)")
    try:
        kind = FeedKind(str(doc["kind"]))
    except ValueError:
        raise ConfigError(
            f"{where}: kind {doc['kind']!r} unknown; use one of {[k.value for k in FeedKind]}"
        ) from None
    try:
        transport = Transport(str(doc["transport"]))
    except ValueError:
        raise ConfigError(
            f"{where}: transport {doc['transport']!r} unknown; use one of {[t.value for t in Transport]}"
        ) from None
    port = int(doc.get("port", 0))
    if transport in (Transport.TCP_CLIENT, Transport.TCP_SERVER, Transport.UDP) and not 0 < port < 65536:
        raise ConfigError(f"{where}: transport {transport.value} needs a port between 1 and 65535")
    if transport == Transport.FILE and not doc.get("path"):
        raise ConfigError(f"{where}: transport file needs a path")
    if transport == Transport.SERIAL and not doc.get("path"):
        raise ConfigError(
            f"{where}: transport serial needs path = '/dev/ttyUSB0' (the device) and options.baudrate"
        )
    if transport == Transport.SERIAL:
        baud = doc.get("options", {}).get("baudrate", 38400)
        if not isinstance(baud, int) or baud not in SERIAL_BAUDRATES:
            raise ConfigError(
                f"{where}: options.baudrate {baud!r} is not a serial speed; use one of {SERIAL_BAUDRATES}"
            )
    if transport == Transport.HTTP_POLL and not str(doc.get("url", "")).startswith(("http://", "https://")):
        raise ConfigError(f"{where}: transport http_poll needs url = 'http://...'")
    interval = float(doc.get("interval_s", 1.0))
    if interval <= 0:
        raise ConfigError(f"{where}: interval_s must be positive")
    known = {"name", "kind", "transport", "host", "port", "path", "url", "interval_s", "enabled", "options"}
    unknown = set(doc) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    return FeedSpec(
        name=str(doc["name"]),
        kind=kind,
        transport=transport,
        host=str(doc.get("host", "127.0.0.1")),
        port=port,
        path=str(doc.get("path", "")),
        url=str(doc.get("url", "")),
        interval_s=interval,
        enabled=bool(doc.get("enabled", True)),
        options=dict(doc.get("options", {})),
    )


def load_feeds(directory: Path) -> list[FeedSpec]:
    """Every enabled ``*.toml`` feed definition in ``directory`` (sorted by file name)."""
    if not directory.is_dir():
        raise ConfigError(f"feed directory {directory} does not exist")
    feeds: list[FeedSpec] = []
    for p in sorted(directory.glob("*.toml")):
        try:
            doc = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML ({exc})") from None
        spec = parse_feed(doc, str(p))
        if spec.path and not Path(spec.path).is_absolute():
            spec = FeedSpec(**{**spec.__dict__, "path": str((p.parent / spec.path).resolve())})
        if spec.enabled:
            feeds.append(spec)
    names = [f.name for f in feeds]
    if len(set(names)) != len(names):
        raise ConfigError(f"{directory}: feed names must be unique, got {names}")
    return feeds
