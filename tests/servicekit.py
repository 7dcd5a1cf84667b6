"""A whole service (run_service, as `mdacentre serve`) started on its own event loop in a thread, for
tests that talk to it over HTTP or MQTT; and the one small recording several of them feed it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from conftest import position, static

from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.runtime.settings import ArchiveSettings, HttpSettings, MqttSettings, Settings
from mdacentre.service.wiring import run_service
from mdacentre.sinks.broker import free_port

T0 = 1_768_435_200.0
TANKER = 538009001


def hazmat_recording(path: Path, t0: float = T0, mmsi: int = TANKER) -> Path:
    """A hazardous-cargo tanker (type 82) steaming west along 15.05 N for 20 minutes, one report a minute."""
    lines = static(mmsi, "HAZMAT CARRIER", 82, t0)
    for i in range(20):
        lines += position(mmsi, 15.05, -58.5 - 0.1 * i, t0 + 60 * i)
    path.write_text("\n".join(lines) + "\n")
    return path


def archived_tanker_service(tmp_path: Path, client_id: str) -> tuple[Settings, list[FeedSpec], int]:
    """Settings for a service on free ports that archives (flushing every 0.5 s) and reads the tanker's
    recording as its one feed; and the HTTP port it will listen on."""
    http_port = free_port()
    settings = replace(
        Settings(),
        data_dir=tmp_path / "var",
        mqtt=MqttSettings(embedded_port=free_port(), client_id=client_id),
        http=HttpSettings(port=http_port),
        archive=ArchiveSettings(flush_s=0.5),
    )
    feed = hazmat_recording(tmp_path / "small.nmea")
    return settings, [FeedSpec("small", FeedKind.AIS, Transport.FILE, path=str(feed))], http_port


@contextmanager
def running_service(
    settings: Settings, feeds: Sequence[FeedSpec], start_timeout_s: float = 30
) -> Iterator[None]:
    """Run the service until the block ends; the block starts once the service says it has started."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main() -> None:
        ready = asyncio.Event()
        task = asyncio.create_task(run_service(settings, list(feeds), stop, started=ready))
        await ready.wait()
        started.set()
        await task

    th = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    th.start()
    try:
        assert started.wait(start_timeout_s), "the service did not start"
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        th.join(30)
