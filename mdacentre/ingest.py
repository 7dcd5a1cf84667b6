"""Asynchronous feed sources: bytes from TCP, UDP, files and HTTP into chunks for the decoders.

A source never decodes: it frames bytes (whole lines for line-based feeds, raw bytes for
Beast) and stamps each chunk with the wall-clock receive time, which the decoders use only
when a message carries no time of its own. Sources reconnect by themselves with jittered
exponential backoff and keep per-feed health.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import time
import tomllib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ConfigError
from .metrics import Metrics, Reject

MAX_LINE = 8192  # bytes; a longer run without a newline is garbage and is discarded (counted)


class FeedKind(StrEnum):
    AIS = "ais"
    SBS = "sbs"
    BEAST = "beast"
    AVR = "avr"
    AIRCRAFT_JSON = "aircraft_json"

    @property
    def line_based(self) -> bool:
        return self in (FeedKind.AIS, FeedKind.SBS, FeedKind.AVR)


SERIAL_BAUDRATES = (4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)  # AIS: 38400


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
        raise ConfigError(f"{where}: kind {doc['kind']!r} unknown; use one of {[k.value for k in FeedKind]}") from None
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
        raise ConfigError(f"{where}: transport serial needs path = '/dev/ttyUSB0' (the device) and options.baudrate")
    if transport == Transport.SERIAL:
        baud = doc.get("options", {}).get("baudrate", 38400)
        if not isinstance(baud, int) or baud not in SERIAL_BAUDRATES:
            raise ConfigError(f"{where}: options.baudrate {baud!r} is not a serial speed; use one of {SERIAL_BAUDRATES}")
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


class Chunk(NamedTuple):
    feed: int
    data: bytes
    receive_time: float


@dataclass
class FeedHealth:
    name: str
    kind: str
    transport: str
    connected: bool = False
    reconnects: int = 0
    bytes_in: int = 0
    chunks: int = 0
    last_data_wall: float = 0.0
    last_error: str = ""

    def as_json(self, now: float, msgs_per_s: float, rejects: dict[str, float]) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "transport": self.transport,
            "connected": self.connected,
            "msgs_per_s": round(msgs_per_s, 2),
            "last_msg_age_s": None if not self.last_data_wall else round(now - self.last_data_wall, 1),
            "rejects": rejects,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }


class LineFramer:
    """Keeps the partial last line of a byte stream; drops over-long garbage runs (counted)."""

    def __init__(self) -> None:
        self.tail = b""
        self.overflow = 0

    def feed(self, data: bytes) -> bytes:
        buf = self.tail + data
        cut = buf.rfind(b"\n")
        if cut < 0:
            self.tail = buf
            whole = b""
        else:
            whole, self.tail = buf[: cut + 1], buf[cut + 1 :]
        if len(self.tail) > MAX_LINE:
            self.overflow += 1
            self.tail = b""
        return whole

    def flush(self) -> bytes:
        rest, self.tail = self.tail, b""
        return rest


class Backoff:
    """Full-jitter exponential backoff (base doubling up to cap)."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.base, self.cap, self.attempt = base, cap, 0
        self.rng = rng or random.Random()

    def next_delay(self) -> float:
        d = self.rng.uniform(0, min(self.cap, self.base * (2**self.attempt)))
        self.attempt += 1
        return d

    def reset(self) -> None:
        self.attempt = 0


class FeedSource:
    """One feed: reads its transport until ``stop`` is set, putting chunks on ``out``."""

    def __init__(
        self,
        index: int,
        spec: FeedSpec,
        out: asyncio.Queue[Chunk],
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index, self.spec, self.out, self.metrics, self.clock = index, spec, out, metrics, clock
        self.health = FeedHealth(spec.name, spec.kind.value, spec.transport.value)
        self.listen_port: int | None = None  # actual port for servers bound to port 0

    async def _emit(self, data: bytes, framer: LineFramer | None) -> None:
        if framer is not None:
            data = framer.feed(data)
            if framer.overflow:
                self.metrics.add_rejects({Reject.TOO_LONG.value: framer.overflow}, self.spec.name)
                framer.overflow = 0
        if not data:
            return
        now = self.clock()
        self.health.bytes_in += len(data)
        self.health.chunks += 1
        self.health.last_data_wall = now
        self.metrics.inc("mda_feed_bytes_total", len(data), {"feed": self.spec.name})
        await self.out.put(Chunk(self.index, data, now))

    def _framer(self) -> LineFramer | None:
        return LineFramer() if self.spec.kind.line_based else None

    async def run(self, stop: asyncio.Event) -> None:
        t = self.spec.transport
        if t == Transport.TCP_CLIENT:
            await self._tcp_client(stop)
        elif t == Transport.TCP_SERVER:
            await self._tcp_server(stop)
        elif t == Transport.UDP:
            await self._udp(stop)
        elif t == Transport.FILE:
            await self._file(stop)
        elif t == Transport.HTTP_POLL:
            await self._http_poll(stop)
        elif t == Transport.SERIAL:
            await self._serial(stop)

    async def _pump(self, reader: asyncio.StreamReader, framer: LineFramer | None, stop: asyncio.Event) -> None:
        """Read a stream until it ends or ``stop`` is set (whichever comes first)."""
        while not stop.is_set():
            read = asyncio.ensure_future(reader.read(65536))
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({read, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if read not in done:
                read.cancel()
                return
            stopper.cancel()
            data = read.result()
            if not data:
                return
            await self._emit(data, framer)

    async def _serial(self, stop: asyncio.Event) -> None:
        """A serial receiver (AIS transponder or dongle), reopened with backoff when it goes away."""
        try:
            import serial_asyncio_fast as serial_asyncio  # maintained fork, same API
        except ImportError:
            try:
                import serial_asyncio  # type: ignore[no-redef]
            except ImportError:
                self.health.last_error = "serial: install pyserial-asyncio-fast (pip install 'mdacentre[serial]')"
                self.metrics.inc("mda_feed_errors_total", 1, {"feed": self.spec.name})
                return
        baud = int(self.spec.options.get("baudrate", 38400))
        backoff = Backoff(float(self.spec.options.get("backoff_base_s", 0.5)), float(self.spec.options.get("backoff_cap_s", 30)))
        while not stop.is_set():
            framer = self._framer()
            try:
                reader, writer = await serial_asyncio.open_serial_connection(url=self.spec.path, baudrate=baud)
            except (OSError, ValueError) as exc:  # serial.SerialException is an OSError
                self.health.last_error = f"serial open: {exc}"
                await self._sleep_or_stop(stop, backoff.next_delay())
                continue
            self.health.connected = True
            backoff.reset()
            try:
                await self._pump(reader, framer, stop)
            except OSError as exc:
                self.health.last_error = f"serial read: {exc}"
            finally:
                self.health.connected = False
                writer.close()
            if not stop.is_set():
                self.health.reconnects += 1
                self.metrics.inc("mda_feed_reconnects_total", 1, {"feed": self.spec.name})
                await self._sleep_or_stop(stop, backoff.next_delay())

    async def _tcp_client(self, stop: asyncio.Event) -> None:
        backoff = Backoff(float(self.spec.options.get("backoff_base_s", 0.5)), float(self.spec.options.get("backoff_cap_s", 30)))
        while not stop.is_set():
            framer = self._framer()
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(self.spec.host, self.spec.port), 10)
            except (TimeoutError, OSError) as exc:
                self.health.last_error = f"connect: {exc}"
                await self._sleep_or_stop(stop, backoff.next_delay())
                continue
            self.health.connected = True
            connected_at = time.monotonic()
            self.metrics.set("mda_feed_connected", 1, {"feed": self.spec.name})
            try:
                await self._pump(reader, framer, stop)
            except OSError as exc:
                self.health.last_error = f"read: {exc}"
            finally:
                if framer is not None and framer.tail:
                    await self._emit(framer.flush() + b"\n", None)
                self.health.connected = False
                self.metrics.set("mda_feed_connected", 0, {"feed": self.spec.name})
                writer.close()
            if stop.is_set():
                break
            self.health.reconnects += 1
            self.metrics.inc("mda_feed_reconnects_total", 1, {"feed": self.spec.name})
            if time.monotonic() - connected_at > 10:
                backoff.reset()
            await self._sleep_or_stop(stop, backoff.next_delay())

    async def _tcp_server(self, stop: asyncio.Event) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            framer = self._framer()
            self.health.connected = True
            try:
                while not stop.is_set():
                    data = await reader.read(65536)
                    if not data:
                        break
                    await self._emit(data, framer)
            except OSError as exc:
                self.health.last_error = f"read: {exc}"
            finally:
                if framer is not None and framer.tail:
                    await self._emit(framer.flush() + b"\n", None)
                writer.close()

        server = await asyncio.start_server(handle, self.spec.host, self.spec.port)
        self.listen_port = int(server.sockets[0].getsockname()[1])
        async with server:
            await stop.wait()

    async def _udp(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        source = self

        class Proto(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
                if not data.endswith(b"\n"):
                    data += b"\n"
                loop.create_task(source._emit(data, None))

        transport, _ = await loop.create_datagram_endpoint(Proto, local_addr=(self.spec.host, self.spec.port))
        self.listen_port = int(transport.get_extra_info("sockname")[1])
        self.health.connected = True
        try:
            await stop.wait()
        finally:
            transport.close()

    async def _file(self, stop: asyncio.Event) -> None:
        path = Path(self.spec.path)
        opener = gzip.open if path.suffix == ".gz" else open
        framer = self._framer()
        self.health.connected = True
        try:
            with opener(path, "rb") as fh:
                while not stop.is_set():
                    data = fh.read(1 << 20)
                    if not data:
                        break
                    await self._emit(data, framer)
                    await asyncio.sleep(0)
            if framer is not None and framer.tail:
                await self._emit(framer.flush() + b"\n", None)
        except OSError as exc:
            self.health.last_error = f"file: {exc}"
        finally:
            self.health.connected = False

    async def _http_poll(self, stop: asyncio.Event) -> None:
        def fetch() -> bytes:
            req = urllib.request.Request(self.spec.url, headers={"User-Agent": "mdacentre"})
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - operator-configured URL
                return bytes(resp.read(32 << 20))

        while not stop.is_set():
            try:
                data = await asyncio.to_thread(fetch)
                self.health.connected = True
                self.health.last_error = ""  # recovered: the map and /api/feeds stop showing it
                await self._emit(data, None)
            except OSError as exc:
                self.health.connected = False
                self.health.last_error = f"http: {exc}"
                self.metrics.inc("mda_feed_errors_total", 1, {"feed": self.spec.name})
            await self._sleep_or_stop(stop, self.spec.interval_s)

    @staticmethod
    async def _sleep_or_stop(stop: asyncio.Event, delay: float) -> None:
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
