"""Play a recorded feed file out of a TCP server at N times real speed (demo and tests).

The pacing follows the times in the lines (NMEA 4.0 tag-block ``c:``, or the generated date
and time of SBS-1 ``MSG`` lines), so the receiving service sees traffic arrive as a shore
station or a receiver would have sent it, only faster. Lines without a time go with the
previous timed line.
"""

from __future__ import annotations

import asyncio
import calendar
import functools
import re
import time
from pathlib import Path

_TAG_TIME = re.compile(rb"^\\[^\\]*?c:(\d{9,13})")


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
        try:
            while True:
                await self._play_once(writer)
                if not self.loop_forever:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _play_once(self, writer: asyncio.StreamWriter) -> None:
        t0_wall = time.monotonic()
        t0_event: float | None = None
        pending: list[bytes] = []
        for ln in self.lines:
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
