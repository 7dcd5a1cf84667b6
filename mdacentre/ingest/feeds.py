"""Feed definitions: what an operator writes in ``feeds/*.toml`` (:class:`FeedFile`), validated at start.

:class:`FeedSpec` is the value the service runs on; code that builds feeds itself (replay, demo)
makes one directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from mdacentre.model.errors import ConfigError
from mdacentre.runtime.config import ConfigModel, Flag, read_toml, validate

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


class FeedOptions(ConfigModel):
    """``options = { ... }`` of a feed definition."""

    dedup_window_s: float = Field(
        default=0.0, ge=0, description="AIS: drop the same sentence heard again within this window; 0 = off"
    )
    fragment_timeout_s: float = Field(default=60.0, gt=0, description="AIS: multi-part message timeout")
    baudrate: int = Field(default=38400, description=f"serial speed, one of {SERIAL_BAUDRATES}")
    backoff_base_s: float = Field(default=0.5, gt=0, description="first reconnect delay")
    backoff_cap_s: float = Field(default=30.0, gt=0, description="longest reconnect delay")


class FeedFile(ConfigModel):
    """One feed definition file (``feeds/*.toml``); see ``feeds/README.md``."""

    name: str = Field(min_length=1, description="unique feed name (metrics, map, API)")
    kind: FeedKind
    transport: Transport
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    path: str = Field(default="", description="file (relative to the definition) or serial device")
    url: str = Field(default="", description="http_poll: the aircraft.json address")
    interval_s: float = Field(default=1.0, gt=0, description="http_poll: seconds between requests")
    enabled: Flag = True
    options: FeedOptions = Field(default_factory=FeedOptions)

    @model_validator(mode="after")
    def _transport_needs(self) -> FeedFile:
        t = self.transport
        if t in (Transport.TCP_CLIENT, Transport.TCP_SERVER, Transport.UDP) and not 0 < self.port < 65536:
            raise ValueError(f"transport {t.value} needs a port between 1 and 65535 (port = 10110)")
        if t == Transport.FILE and not self.path:
            raise ValueError("transport file needs a path (path = 'recording.nmea', relative to this file)")
        if t == Transport.SERIAL and not self.path:
            raise ValueError("transport serial needs path = '/dev/ttyUSB0' (the device) and options.baudrate")
        if t == Transport.SERIAL and self.options.baudrate not in SERIAL_BAUDRATES:
            raise ValueError(
                f"options.baudrate {self.options.baudrate!r} is not a serial speed; use one of {SERIAL_BAUDRATES}"
            )
        if t == Transport.HTTP_POLL and not self.url.startswith(("http://", "https://")):
            raise ValueError("transport http_poll needs url = 'http://...'")
        return self

    def to_spec(self) -> FeedSpec:
        return FeedSpec(
            name=self.name,
            kind=self.kind,
            transport=self.transport,
            host=self.host,
            port=self.port,
            path=self.path,
            url=self.url,
            interval_s=self.interval_s,
            enabled=self.enabled,
            options=self.options.model_dump(exclude_unset=True),
        )


def parse_feed(doc: dict[str, Any], where: str) -> FeedSpec:
    """The feed defined by one parsed TOML document; a mistake is a :class:`ConfigError` naming the key."""
    return validate(FeedFile, doc, where).to_spec()


def load_feeds(directory: Path) -> list[FeedSpec]:
    """Every enabled ``*.toml`` feed definition in ``directory`` (sorted by file name)."""
    if not directory.is_dir():
        raise ConfigError(f"feed directory {directory} does not exist")
    feeds: list[FeedSpec] = []
    for p in sorted(directory.glob("*.toml")):
        spec = parse_feed(read_toml(p, "feed definition"), str(p))
        if spec.path and not Path(spec.path).is_absolute():
            spec = FeedSpec(**{**spec.__dict__, "path": str((p.parent / spec.path).resolve())})
        if spec.enabled:
            feeds.append(spec)
    names = [f.name for f in feeds]
    if len(set(names)) != len(names):
        raise ConfigError(f"{directory}: feed names must be unique, got {names}")
    return feeds
