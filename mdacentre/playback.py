"""Play a recorded NMEA file out of a TCP server at N times real speed (demo and tests).

The pacing follows the tag-block ``c:`` times of the lines, so the receiving service sees
traffic arrive as a shore station would have sent it, only faster.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

_TAG_TIME = re.compile(rb"^\\[^\\]*?c:(\d{9,13})")


def line_time(line: bytes) -> float | None:
    m = _TAG_TIME.match(line)
    if not m:
        return None
    v = float(m.group(1))
    return v / 1000.0 if v > 1e11 else v


class PlaybackServer:
    """Serves ``path`` to every client that connects, paced at ``speed`` x event time."""

    def __init__(self, path: Path, speed: float = 60.0, host: str = "127.0.0.1", port: int = 0, loop_forever: bool = False):
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
