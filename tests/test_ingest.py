"""Feed transports: reconnects, UDP, framing, feed definitions, and a service fed random bytes."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import random
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import position, static

from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport, load_feeds
from mdacentre.ingest.sources import Chunk, FeedSource
from mdacentre.model.errors import ConfigError
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import AuthSettings, HttpSettings, MqttSettings, Settings
from mdacentre.service.wiring import run_service
from mdacentre.sinks.broker import free_port
from tests.authkit import PASSWORD

T0 = 1_768_435_200.0


def test_tcp_client_reconnects_after_the_feed_is_cut() -> None:
    port = free_port()

    async def main() -> tuple[list[bytes], FeedSource]:
        sessions = 0

        async def serve(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            nonlocal sessions
            sessions += 1
            w.write(f"!AIVDM,session,{sessions}\n".encode())
            await w.drain()
            w.close()  # the station drops the connection

        server = await asyncio.start_server(serve, "127.0.0.1", port)
        q: asyncio.Queue[Chunk] = asyncio.Queue()
        spec = FeedSpec(
            "cut",
            FeedKind.AIS,
            Transport.TCP_CLIENT,
            port=port,
            options={"backoff_base_s": 0.05, "backoff_cap_s": 0.2},
        )
        src = FeedSource(0, spec, q, Metrics())
        stop = asyncio.Event()
        task = asyncio.create_task(src.run(stop))
        got: list[bytes] = []
        while len(got) < 2:
            got.append((await asyncio.wait_for(q.get(), 10)).data)
        server.close()
        await server.wait_closed()  # the whole station goes away for a while
        await asyncio.sleep(0.5)
        server = await asyncio.start_server(serve, "127.0.0.1", port)  # and comes back
        got.append((await asyncio.wait_for(q.get(), 10)).data)
        stop.set()
        await asyncio.wait_for(task, 5)
        server.close()
        return got, src

    got, src = asyncio.run(main())
    assert got[0].startswith(b"!AIVDM,session,1") and got[1].startswith(b"!AIVDM,session,2")
    assert src.health.reconnects >= 2


def test_udp_datagrams_become_chunks() -> None:
    async def main() -> Chunk:
        q: asyncio.Queue[Chunk] = asyncio.Queue()
        spec = FeedSpec("udp", FeedKind.AIS, Transport.UDP, host="127.0.0.1", port=free_port())
        src = FeedSource(3, spec, q, Metrics(), clock=lambda: 123.0)
        stop = asyncio.Event()
        task = asyncio.create_task(src.run(stop))
        for _ in range(100):
            if src.listen_port:
                break
            await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        tr, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=("127.0.0.1", spec.port)
        )
        tr.sendto(b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24")
        ch = await asyncio.wait_for(q.get(), 5)
        tr.close()
        stop.set()
        await task
        return ch

    ch = asyncio.run(main())
    assert ch == Chunk(3, b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n", 123.0)


def test_feed_definitions_validate_with_clear_messages(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('name = "a"\nkind = "ais"\ntransport = "tcp_client"\nport = 10110\n')
    (tmp_path / "b.toml").write_text(
        'name = "b"\nkind = "sbs"\ntransport = "file"\npath = "rec.txt"\nenabled = false\n'
    )
    feeds = load_feeds(tmp_path)
    assert [f.name for f in feeds] == ["a"]
    (tmp_path / "c.toml").write_text('name = "c"\nkind = "nmea2000"\ntransport = "udp"\nport = 1\n')
    with pytest.raises(ConfigError, match="kind 'nmea2000' unknown; use one of"):
        load_feeds(tmp_path)
    (tmp_path / "c.toml").write_text('name = "c"\nkind = "ais"\ntransport = "udp"\n')
    with pytest.raises(ConfigError, match="needs a port"):
        load_feeds(tmp_path)


_JAR = http.cookiejar.CookieJar()
_OPENER = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(_JAR))


def _get(url: str) -> bytes:
    """GET as the service's first user (signs in once, the cookie jar keeps the session)."""
    try:
        with _OPENER.open(url, timeout=5) as r:
            return bytes(r.read())
    except urllib.error.HTTPError as exc:
        if exc.code != 401:
            raise
    base = url.split("/", 3)
    login = urllib.request.Request(
        f"{base[0]}//{base[2]}/api/session",
        data=json.dumps({"name": "watch", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    _OPENER.open(login, timeout=5).close()
    with _OPENER.open(url, timeout=5) as r:
        return bytes(r.read())


def test_service_survives_random_bytes_and_counts_them(tmp_path: Path) -> None:
    """A feed that sends garbage keeps the service up; the garbage is counted; good lines still get through."""
    feed_port, http_port, mqtt_port = free_port(), free_port(), free_port()
    settings = replace(
        Settings(),
        data_dir=tmp_path / "var",
        mqtt=MqttSettings(embedded_port=mqtt_port, client_id="mda-fuzz"),
        http=HttpSettings(port=http_port),
        auth=AuthSettings(bootstrap_password=PASSWORD),
    )
    rng = random.Random(99)

    async def main() -> tuple[str, list[dict[str, object]]]:
        stop, started = asyncio.Event(), asyncio.Event()
        feeds = [FeedSpec("noisy", FeedKind.AIS, Transport.TCP_SERVER, port=feed_port)]
        svc = asyncio.create_task(run_service(settings, feeds, stop, started=started))
        await asyncio.wait_for(started.wait(), 20)
        await asyncio.sleep(0.3)
        _r, w = await asyncio.open_connection("127.0.0.1", feed_port)
        for i in range(200):  # about 3 MB of random bytes, with newlines and NMEA-looking debris
            junk = bytearray(os.urandom(rng.randint(1, 30000)))
            if i % 3 == 0:
                junk += b"\n!AIVDM,1,1,,A," + os.urandom(20) + b"*00\n"
            w.write(bytes(junk))
            await w.drain()
        w.write(
            b"\n"
            + (
                "\n".join(static(311000999, "AFTER NOISE", 70, T0) + position(311000999, 18.0, -76.5, T0))
                + "\n"
            ).encode()
        )
        await w.drain()
        tracks: list[dict[str, object]] = []
        for _ in range(100):
            await asyncio.sleep(0.2)
            tracks = json.loads(await asyncio.to_thread(_get, f"http://127.0.0.1:{http_port}/api/tracks"))
            if any(t["id"] == "311000999" for t in tracks):
                break
        metrics = (await asyncio.to_thread(_get, f"http://127.0.0.1:{http_port}/metrics")).decode()
        w.close()
        stop.set()
        await asyncio.wait_for(svc, 20)
        return metrics, tracks

    metrics, tracks = asyncio.run(main())
    assert any(t["id"] == "311000999" and t["name"] == "AFTER NOISE" for t in tracks)
    rejects = [
        ln for ln in metrics.splitlines() if ln.startswith("mda_rejects_total") and 'feed="noisy"' in ln
    ]
    assert rejects and sum(float(ln.rsplit(" ", 1)[1]) for ln in rejects) > 100


def test_serial_receiver_on_a_pseudo_terminal() -> None:
    """A serial AIS receiver, played by a pty pair: lines split across writes arrive whole."""
    pytest.importorskip("serial_asyncio_fast")
    master, slave = os.openpty()
    device = os.ttyname(slave)
    line = b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\r\n"

    async def main() -> list[Chunk]:
        q: asyncio.Queue[Chunk] = asyncio.Queue()
        spec = FeedSpec("com1", FeedKind.AIS, Transport.SERIAL, path=device, options={"baudrate": 38400})
        src = FeedSource(2, spec, q, Metrics(), clock=lambda: 7.0)
        stop = asyncio.Event()
        task = asyncio.create_task(src.run(stop))
        for _ in range(200):
            if src.health.connected:
                break
            await asyncio.sleep(0.01)
        assert src.health.connected, src.health.last_error
        os.write(master, line[:20])
        await asyncio.sleep(0.05)
        os.write(master, line[20:] + line)
        got: list[Chunk] = []
        while sum(c.data.count(b"\n") for c in got) < 2:
            got.append(await asyncio.wait_for(q.get(), 5))
        stop.set()
        await asyncio.wait_for(task, 5)
        return got

    try:
        chunks = asyncio.run(main())
    finally:
        os.close(master)
        os.close(slave)
    assert b"".join(c.data for c in chunks) == line + line
    assert {c.feed for c in chunks} == {2}


def test_serial_feed_definition_is_checked(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('name = "s"\nkind = "ais"\ntransport = "serial"\n')
    with pytest.raises(ConfigError, match="transport serial needs path"):
        load_feeds(tmp_path)
    (tmp_path / "s.toml").write_text(
        'name = "s"\nkind = "ais"\ntransport = "serial"\npath = "/dev/ttyUSB0"\noptions = { baudrate = 12345 }\n'
    )
    with pytest.raises(ConfigError, match="baudrate 12345 is not a serial speed"):
        load_feeds(tmp_path)


def test_http_poll_fetches_aircraft_json_and_survives_a_server_error() -> None:
    """readsb/tar1090 aircraft.json polled over HTTP from a real local server."""
    import http.server
    import threading

    snapshot = {"now": 1768435200.0, "aircraft": [{"hex": "0c6358", "lat": 17.9, "lon": -76.8, "alt_baro": 3000,
                                                  "gs": 180, "track": 90, "seen_pos": 0.5, "flight": "BWA2838 "}]}  # fmt: skip
    hits: list[int] = []
    errors_seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            hits.append(1)
            if len(hits) == 2:  # the second poll fails: the feed must carry on
                self.send_error(500)
                return
            body = json.dumps(snapshot).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/data/aircraft.json"

    async def main() -> tuple[list[Chunk], FeedSource]:
        q: asyncio.Queue[Chunk] = asyncio.Queue()
        spec = FeedSpec("readsb", FeedKind.AIRCRAFT_JSON, Transport.HTTP_POLL, url=url, interval_s=0.1)
        src = FeedSource(1, spec, q, Metrics())
        stop = asyncio.Event()
        task = asyncio.create_task(src.run(stop))
        got = [await asyncio.wait_for(q.get(), 5), await asyncio.wait_for(q.get(), 5)]
        errors_seen.append(src.health.last_error)  # after the failed poll and a good one: cleared
        stop.set()
        await asyncio.wait_for(task, 5)
        return got, src

    try:
        chunks, src = asyncio.run(main())
    finally:
        server.shutdown()
    # the failed poll is counted, and the error clears once the feed answers again
    assert len(hits) >= 3 and src.metrics.get("mda_feed_errors_total", {"feed": "readsb"}) == 1
    assert errors_seen == [""]
    from mdacentre.decode.flightfiles import parse_aircraft_json

    b = parse_aircraft_json(chunks[1].data, chunks[1].receive_time, feed=1)
    assert b.positions["ident"].tolist() == [0x0C6358] and b.positions["lat"][0] == pytest.approx(17.9)


def test_example_feed_definitions_all_parse(repo: Path) -> None:
    """Every example in feeds/examples is a valid definition (they ship disabled)."""
    examples = repo / "feeds" / "examples"
    assert len(list(examples.glob("*.toml"))) >= 9
    assert load_feeds(examples) == []  # all disabled
    import tomllib

    from mdacentre.ingest.feeds import parse_feed

    kinds = set()
    for p in sorted(examples.glob("*.toml")):
        spec = parse_feed(tomllib.loads(p.read_text()), str(p))
        kinds.add((spec.kind, spec.transport))
    assert {t for _k, t in kinds} == set(Transport)
