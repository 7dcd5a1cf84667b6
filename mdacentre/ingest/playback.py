"""Play a recorded feed file out of a TCP server at N times real speed (demo and tests).

The pacing follows the times in the lines (NMEA 4.0 tag-block ``c:``, or the generated date
and time of SBS-1 ``MSG`` lines), so the receiving service sees traffic arrive as a shore
station or a receiver would have sent it, only faster. Lines without a time go with the
previous timed line.

Played in a loop (the demo), each pass shifts the lines' times forward by the recording's
span, so event time keeps moving forward and the service never sees the clock jump back.
"""

from __future__ import annotations

import asyncio
import calendar
import functools
import re
import time
from datetime import UTC, datetime
from pathlib import Path

_TAG_TIME = re.compile(rb"^\\[^\\]*?c:(\d{9,13})")


_TAG_BLOCK = re.compile(rb"^\\([^\\*]*)\*([0-9A-Fa-f]{2})\\")
_TAG_C = re.compile(rb"(^|,)c:(\d{9,13})")
_SBS_FIELDS = re.compile(rb"^(MSG(?:,[^,]*){5}),([^,]*),([^,]*),([^,]*),([^,]*)")


_SBS_TIME = re.compile(
    rb"^MSG,\d,[^,]*,[^,]*,[^,]*,[^,]*,(\d{4})/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d(?:\.\d+)?)"
)


@functools.lru_cache(maxsize=64)
def _day(y: int, m: int, d: int) -> float:
    return float(calendar.timegm((y, m, d, 0, 0, 0, 0, 0, 0)))


def line_time(line: bytes) -> float | None:
    """Event time of a line (Unix seconds), None when it carries none."""
    m = _TAG_TIME.match(line)
    if m:
        v = float(m.group(1))
        return v / 1000.0 if v > 1e11 else v
    s = _SBS_TIME.match(line)
    if s:
        try:
            return _day(int(s[1]), int(s[2]), int(s[3])) + int(s[4]) * 3600 + int(s[5]) * 60 + float(s[6])
        except (ValueError, OverflowError):
            return None
    return None


def _nmea_checksum(body: bytes) -> bytes:
    x = 0
    for ch in body:
        x ^= ch
    return b"%02X" % x


def _shift_sbs(date: bytes, clock: bytes, dt: float) -> tuple[bytes, bytes]:
    try:
        whole, _, frac = clock.partition(b".")
        base = datetime.strptime((date + b" " + whole).decode(), "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return date, clock
    t = base.timestamp() + (float(b"0." + frac) if frac else 0.0) + dt
    d = datetime.fromtimestamp(t, UTC)
    out_clock = d.strftime("%H:%M:%S")
    if frac:
        out_clock += f"{t % 1:.{len(frac)}f}"[1:]
    return d.strftime("%Y/%m/%d").encode(), out_clock.encode()


def shift_line(line: bytes, dt: float) -> bytes:
    """``line`` with its event time moved by ``dt`` seconds (tag-block ``c:`` with a new checksum,
    or the SBS-1 generated and logged dates and times). Lines without a time come back unchanged."""
    if dt == 0:
        return line
    m = _TAG_BLOCK.match(line)
    if m:
        body = m.group(1)

        def repl(c: re.Match[bytes]) -> bytes:
            v = int(c.group(2))
            step = dt * 1000.0 if v > 10**11 else dt
            return c.group(1) + b"c:" + str(int(round(v + step))).encode()

        new_body = _TAG_C.sub(repl, body, count=1)
        if new_body == body:
            return line
        return b"\\" + new_body + b"*" + _nmea_checksum(new_body) + b"\\" + line[m.end() :]
    s = _SBS_FIELDS.match(line)
    if s:
        d1, c1 = _shift_sbs(s.group(2), s.group(3), dt)
        d2, c2 = _shift_sbs(s.group(4), s.group(5), dt) if s.group(4) else (s.group(4), s.group(5))
        return b",".join((s.group(1), d1, c1, d2, c2)) + line[s.end() :]
    return line


def recording_span(lines: list[bytes]) -> float:
    """How far one pass of a looped recording moves event time: first to last line time, plus one
    second (so a new pass never repeats the previous pass's last second)."""
    times = [t for t in (line_time(ln) for ln in lines) if t is not None]
    if not times:
        return 0.0
    return float(max(times) - min(times)) + 1.0


class PlaybackServer:
    """Serves ``path`` to every client that connects, paced at ``speed`` x event time."""

    def __init__(
        self,
        path: Path,
        speed: float = 60.0,
        host: str = "127.0.0.1",
        port: int = 0,
        loop_forever: bool = False,
    ):
        self.lines = [ln for ln in path.read_bytes().splitlines(keepends=True) if ln.strip()]
        self.speed = speed
        self.host, self.port = host, port
        self.loop_forever = loop_forever
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        span = recording_span(self.lines) if self.loop_forever else 0.0
        try:
            n = 0
            while True:
                await self._play_once(writer, n * span)
                n += 1
                if not self.loop_forever:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _play_once(self, writer: asyncio.StreamWriter, shift: float = 0.0) -> None:
        t0_wall = time.monotonic()
        t0_event: float | None = None
        pending: list[bytes] = []
        for raw in self.lines:
            ln = shift_line(raw, shift)
            t = line_time(ln)
            if t is not None:
                if t0_event is None:
                    t0_event = t
                due = t0_wall + (t - t0_event) / self.speed
                delay = due - time.monotonic()
                if delay > 0.02:
                    if pending:
                        writer.write(b"".join(pending))
                        pending.clear()
                        await writer.drain()
                    await asyncio.sleep(delay)
            pending.append(ln)
            if len(pending) >= 500:
                writer.write(b"".join(pending))
                pending.clear()
                await writer.drain()
        if pending:
            writer.write(b"".join(pending))
            await writer.drain()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
