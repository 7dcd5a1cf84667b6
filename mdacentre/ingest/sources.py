"""Asynchronous feed sources: bytes from TCP, UDP, files and HTTP into chunks for the decoders.

A source never decodes: it frames bytes (whole lines for line-based feeds, raw bytes for
Beast) and stamps each chunk with the wall-clock receive time, which the decoders use only
when a message carries no time of its own. Sources reconnect by themselves with jittered
exponential backoff and keep per-feed health.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from mdacentre.ingest.feeds import FeedSpec, Transport
from mdacentre.ingest.framing import LineFramer
from mdacentre.ingest.udpstats import DEFAULT_RCVBUF, kernel_drops, set_receive_buffer, socket_inode
from mdacentre.model.rejects import Reject
from mdacentre.runtime.backoff import Backoff
from mdacentre.runtime.metrics import Metrics

UDP_BACKLOG = 200_000  # datagrams held while the pipeline catches up; beyond, counted and dropped
UDP_READ_BATCH = 4096  # datagrams read per wake-up of a UDP socket, at most


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
        self.udp_inode: int | None = None  # the UDP socket, for the kernel's drop counter
        self.rcvbuf_bytes = 0  # receive buffer the kernel granted a UDP feed

    def kernel_drops(self) -> int | None:
        """Datagrams the kernel dropped on this feed's UDP socket (None for other transports)."""
        return None if self.udp_inode is None else kernel_drops(self.udp_inode)

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

    async def _pump(
        self, reader: asyncio.StreamReader, framer: LineFramer | None, stop: asyncio.Event
    ) -> None:
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
            import serial_asyncio_fast as serial_asyncio  # optional extra [serial]: maintained fork, same API
        except ImportError:
            try:
                import serial_asyncio  # type: ignore[no-redef]  # optional: the original package, same API
            except ImportError:
                self.health.last_error = (
                    "serial: install pyserial-asyncio-fast (pip install 'mdacentre[serial]')"
                )
                self.metrics.inc("mda_feed_errors_total", 1, {"feed": self.spec.name})
                return
        baud = int(self.spec.options.get("baudrate", 38400))
        backoff = Backoff(
            float(self.spec.options.get("backoff_base_s", 0.5)),
            float(self.spec.options.get("backoff_cap_s", 30)),
        )
        while not stop.is_set():
            framer = self._framer()
            try:
                reader, writer = await serial_asyncio.open_serial_connection(
                    url=self.spec.path, baudrate=baud
                )
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
        backoff = Backoff(
            float(self.spec.options.get("backoff_base_s", 0.5)),
            float(self.spec.options.get("backoff_cap_s", 30)),
        )
        while not stop.is_set():
            framer = self._framer()
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.spec.host, self.spec.port), 10
                )
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
            except asyncio.CancelledError:
                # shutting down with a sender connected: end quietly. A cancelled handler task makes
                # asyncio's stream callback (Python 3.11) log a CancelledError traceback as an error.
                return
            finally:
                if framer is not None and framer.tail:
                    await self._emit(framer.flush() + b"\n", None)
                writer.close()

        server = await asyncio.start_server(handle, self.spec.host, self.spec.port)
        self.listen_port = int(server.sockets[0].getsockname()[1])
        async with server:
            await stop.wait()

    async def _udp(self, stop: asyncio.Event) -> None:
        """Datagrams, one or more lines each. The socket is drained until empty on each wake-up
        (asyncio's datagram transport reads one datagram per loop turn) and what was read is handed
        on as one chunk, so a busy pipeline does not leave datagrams to overflow the kernel buffer."""
        loop = asyncio.get_running_loop()
        family, kind, proto, _name, addr = socket.getaddrinfo(
            self.spec.host or None, self.spec.port, type=socket.SOCK_DGRAM
        )[0]
        sock = socket.socket(family, kind, proto)
        waiting: list[bytes] = []
        ready = asyncio.Event()
        name = self.spec.name

        def readable() -> None:
            for _ in range(UDP_READ_BATCH):
                try:
                    data = sock.recv(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    self.health.last_error = f"udp: {exc}"
                    break
                if len(waiting) >= UDP_BACKLOG:  # the pipeline is far behind: count, do not grow
                    self.metrics.inc("mda_feed_overflow_total", 1, {"feed": name})
                    continue
                waiting.append(data if data.endswith(b"\n") else data + b"\n")
            if waiting:
                ready.set()

        try:
            sock.setblocking(False)
            sock.bind(addr)
            self.listen_port = int(sock.getsockname()[1])
            self.rcvbuf_bytes = set_receive_buffer(
                sock, int(self.spec.options.get("rcvbuf_bytes", DEFAULT_RCVBUF))
            )
            self.udp_inode = socket_inode(sock)
            loop.add_reader(sock.fileno(), readable)
            self.health.connected = True
            stopper = asyncio.ensure_future(stop.wait())
            try:
                while not stop.is_set():
                    waker = asyncio.ensure_future(ready.wait())
                    await asyncio.wait({waker, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    waker.cancel()
                    ready.clear()
                    if waiting:
                        data = b"".join(waiting)
                        waiting.clear()
                        await self._emit(data, None)
            finally:
                stopper.cancel()
                loop.remove_reader(sock.fileno())
        finally:
            self.health.connected = False
            self.udp_inode = None
            sock.close()

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
