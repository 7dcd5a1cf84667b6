"""Playback of recorded feeds at N x event time: AIS tag-block times and SBS-1 times both pace the stream."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from mdacentre.ingest.playback import PlaybackServer, line_time


def test_line_time_reads_tag_blocks_and_sbs() -> None:
    assert line_time(b"\\s:x,c:1768435200*00\\!AIVDM,1,1,,A,1,0*00") == 1768435200.0
    assert line_time(b"\\c:1768435200123*00\\!AIVDM,1,1,,A,1,0*00") == 1768435200.123
    sbs = b"MSG,3,1,1,0C6358,1,2026/01/15,00:00:01.500,2026/01/15,00:00:01.500,,38000,,,14.2,-68.6,,,0,0,0,0"
    assert line_time(sbs) == 1768435201.5
    assert line_time(b"!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5C") is None
    assert line_time(b"MSG,3,1,1,0C6358,1,2026/13/45,00:00:01.500,,,") is None


def test_sbs_file_is_paced_not_dumped(tmp_path: Path) -> None:
    lines = [
        f"MSG,3,1,1,0C6358,1,2026/01/15,00:0{m}:00.000,2026/01/15,00:0{m}:00.000,,38000,,,14.2,-68.6,,,0,0,0,0"
        for m in range(4)
    ]
    path = tmp_path / "f.sbs"
    path.write_text("\n".join(lines) + "\n")

    async def main() -> float:
        server = PlaybackServer(path, speed=600.0)  # 3 min of data -> 0.3 s
        port = await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        t0 = time.monotonic()
        for _ in range(3):
            await reader.readline()
        elapsed = time.monotonic() - t0
        writer.close()
        await server.close()
        return elapsed

    assert asyncio.run(main()) >= 0.25
