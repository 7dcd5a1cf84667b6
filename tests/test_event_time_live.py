"""A recording streamed through the TCP ingest of the live service, at speed, gives the alert ids
of its replay; `replay --speed` paces by the lines' own times; the demo loop moves time forward."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from conftest import SHARED
from timecuts import marinecadastre_nmea

from mdacentre.alerting.store import STORE_FILE, AlertStore
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.playback import PlaybackServer, line_time, recording_span, shift_line
from mdacentre.runtime.settings import HttpSettings, MqttSettings, Settings, load_settings
from mdacentre.service.core import JsonlSink
from mdacentre.service.wiring import run_service
from mdacentre.sinks.broker import free_port

PR_CSV = SHARED / "ais" / "marinecadastre_20200101_puerto_rico_usvi.csv"


def _replay_ids(path: Path) -> set[str]:
    from mdacentre.cli.replay import run_replay

    buf = io.BytesIO()
    run_replay(load_settings(None, env={}), [path], JsonlSink(buf))
    return {orjson.loads(ln)["id"] for ln in buf.getvalue().splitlines()}


def test_tcp_stream_at_speed_gives_the_replay_alert_ids(tmp_path: Path) -> None:
    if not PR_CSV.is_file():
        pytest.skip(f"real recordings not found at {SHARED}")
    rec = tmp_path / "pr.nmea"
    rec.write_bytes(b"".join(marinecadastre_nmea(PR_CSV, 3.0)))
    expected = _replay_ids(rec)
    assert len(expected) >= 2

    http_port, mqtt_port = free_port(), free_port()
    settings = replace(
        Settings(),
        data_dir=tmp_path / "var",
        mqtt=MqttSettings(embedded_port=mqtt_port, client_id="mda-tcp-replay"),
        http=HttpSettings(port=http_port),
    )
    # live steps as a replay's: hold each report for the replay's lateness (by default the live
    # service sends an alert as soon as its line arrives, and steps on what has arrived)
    settings = replace(settings, time=replace(settings.time, live_hold_s=settings.time.lateness_s))

    async def main() -> None:
        player = PlaybackServer(rec, speed=1800.0)  # 3 h of event time in about 6 s
        port = await player.start()
        stop, started = asyncio.Event(), asyncio.Event()
        feeds = [FeedSpec("pr-tcp", FeedKind.AIS, Transport.TCP_CLIENT, port=port)]
        svc = asyncio.create_task(run_service(settings, feeds, stop, started=started))
        await asyncio.wait_for(started.wait(), 30)
        store_path = settings.data_dir / STORE_FILE
        deadline = time.monotonic() + 90
        seen: set[str] = set()
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            st = AlertStore(store_path)
            try:
                seen = {a["id"] for a in st.recent(limit=100000)}
            finally:
                st.close()
            if seen >= expected:
                await asyncio.sleep(2.0)  # and nothing more comes
                break
        stop.set()
        await asyncio.wait_for(svc, 30)
        await player.close()

    asyncio.run(main())
    st = AlertStore(settings.data_dir / STORE_FILE)
    try:
        got = {a["id"] for a in st.recent(limit=100000)}
    finally:
        st.close()
    assert got == expected, (len(got - expected), len(expected - got))


def test_replay_speed_paces_by_line_times_within_one_small_file(tmp_path: Path) -> None:
    """A recording far smaller than one read chunk still takes its span / speed."""
    from conftest import position

    from mdacentre.cli.replay import run_replay

    t0 = 1767225600.0
    lines = b"".join(
        s.encode() + b"\n"
        for i in range(31)
        for s in position(311000500, 15.0, -71.0 + 0.001 * i, t0 + 60 * i)
    )
    rec = tmp_path / "small.nmea"
    rec.write_bytes(lines)  # 30 min of event time, 2 kB
    w0 = time.monotonic()
    run_replay(load_settings(None, env={}), [rec], JsonlSink(io.BytesIO()), speed=900.0)
    elapsed = time.monotonic() - w0
    assert elapsed >= 1800.0 / 900.0 * 0.9, elapsed  # 2 s; before, the whole file went at once


def test_demo_loop_shifts_times_forward(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parent.parent / "feeds" / "demo" / "caribbean_ais.nmea"
    lines = demo.read_bytes().splitlines(keepends=True)[:3000]
    span = recording_span(lines)
    assert span > 0
    first = [line_time(ln) for ln in lines if line_time(ln) is not None]
    second = [line_time(shift_line(ln, span)) for ln in lines if line_time(ln) is not None]
    assert min(second) > max(first)  # the second pass starts after the first ended
    # and the shifted lines still decode (tag-block checksum rewritten)
    from mdacentre.decode.registry import make_decoder

    dec = make_decoder(FeedSpec("d", FeedKind.AIS, Transport.FILE, path=str(demo)), 0)
    b = dec.decode(b"".join(shift_line(ln, span) for ln in lines), 0.0)
    assert len(b.positions) > 1000 and not b.rejects.get("bad_tag_block")

    async def two_passes() -> list[float]:
        path = tmp_path / "loop.nmea"
        path.write_bytes(b"".join(lines[:200]))
        server = PlaybackServer(path, speed=1e9, loop_forever=True)
        port = await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        got: list[float] = []
        while len(got) < 400:
            t = line_time(await reader.readline())
            if t is not None:
                got.append(t)
        writer.close()
        await server.close()
        return got

    times = asyncio.run(two_passes())
    assert max(times[:150]) < min(times[250:])  # event time never jumps back at the loop


def test_progress_line_shows_lines_event_time_rate_and_eta(tmp_path: Path) -> None:
    from conftest import position

    from mdacentre.cli.replay import Progress, run_replay

    t0 = 1767225600.0
    rec = tmp_path / "p.nmea"
    rec.write_bytes(
        b"".join(
            s.encode() + b"\n" for i in range(3000) for s in position(311000600 + i % 50, 15.0, -71.0, t0 + i)
        )
    )
    out = io.StringIO()
    prog = Progress(rec.stat().st_size, stream=out, enabled=True)
    prog.bar.mininterval = 0.0
    from mdacentre.cli import replay as replay_mod

    old = replay_mod.CHUNK_BYTES
    replay_mod.CHUNK_BYTES = 4096  # several updates
    try:
        run_replay(load_settings(None, env={}), [rec], JsonlSink(io.BytesIO()), progress=prog)
    finally:
        replay_mod.CHUNK_BYTES = old
        prog.close()
    text = out.getvalue()
    assert "lines" in text and "event time 2026-01-01T" in text and "/s" in text and "<" in text  # ETA
    assert Progress(10, stream=io.StringIO()).bar.disable  # not a terminal: no progress line
