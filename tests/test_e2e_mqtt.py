"""End to end: NMEA over TCP into the service -> real Mosquitto -> a subscriber gets the alert once per transit."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import aiomqtt
import orjson
import shapely
from conftest import position, static

from mdacentre.core.zones import load_library
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.model.findings import iso
from mdacentre.runtime.settings import HttpSettings, MqttSettings, Settings
from mdacentre.service.wiring import run_service
from mdacentre.sinks.broker import Mosquitto, free_port

MMSI = 538001234
T0 = 1_768_435_200.0  # 2026-01-15T00:00:00Z


def transit_lines(t0: float, westward: bool) -> list[str]:
    """A tanker crossing the eastern edge of the Caribbean Sea at 15.05 N, one report a minute."""
    lons = [-58.0 - 0.1 * i for i in range(40)] if westward else [-61.9 + 0.1 * i for i in range(40)]
    out: list[str] = []
    for i, lon in enumerate(lons):
        out += position(MMSI, 15.05, lon, t0 + 60 * i, sog=14.0, cog=270.0 if westward else 90.0)
    return out


def scenario() -> bytes:
    lines = static(MMSI, "NORDIC HAZARD", 81, T0 - 30)
    lines += transit_lines(T0, westward=True)  # transit 1: in
    lines += transit_lines(T0 + 3600, westward=False)  # out again
    lines += transit_lines(T0 + 7200, westward=True)  # transit 2: in
    return ("\r\n".join(lines) + "\r\n").encode()


async def _run(settings: Settings, feed_port: int, broker_port: int) -> list[dict[str, object]]:
    stop = asyncio.Event()
    started = asyncio.Event()
    feeds = [
        FeedSpec(
            name="shore", kind=FeedKind.AIS, transport=Transport.TCP_SERVER, host="127.0.0.1", port=feed_port
        )
    ]
    received: list[dict[str, object]] = []
    async with aiomqtt.Client("127.0.0.1", broker_port, identifier="test-sub") as sub:
        await sub.subscribe("mdacentre/v1/alerts/#", qos=1)
        svc = asyncio.create_task(run_service(settings, feeds, stop, started=started))
        await asyncio.wait_for(started.wait(), 20)
        for _ in range(100):
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", feed_port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        data = scenario()
        # Write in odd-sized pieces: lines split across reads must still decode.
        for i in range(0, len(data), 977):
            w.write(data[i : i + 977])
            await w.drain()
        w.close()

        async def collect() -> None:
            async for msg in sub.messages:
                payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                d = orjson.loads(payload)
                d["_topic"] = str(msg.topic)
                received.append(d)

        task = asyncio.create_task(collect())
        try:
            for _ in range(200):
                await asyncio.sleep(0.1)
                opens = [r for r in received if r["status"] == "open"]
                if len(opens) >= 2 and len(received) >= 3:
                    await asyncio.sleep(1.0)  # anything extra would arrive now
                    break
        finally:
            task.cancel()
            stop.set()
            await asyncio.wait_for(svc, 20)
    return received


def test_hazardous_cargo_alert_once_per_transit(tmp_path: Path, mosquitto: Mosquitto) -> None:
    feed_port = free_port()
    settings = replace(
        Settings(),
        data_dir=tmp_path / "var",
        mqtt=MqttSettings(host="127.0.0.1", port=mosquitto.port, client_id="mda-test"),
        http=HttpSettings(port=free_port()),
    )
    received = asyncio.run(_run(settings, feed_port, mosquitto.port))
    haz = [r for r in received if r["category"] == "hazardous_cargo"]
    opens = [r for r in haz if r["status"] == "open"]
    closes = [r for r in haz if r["status"] == "closed"]
    assert len(opens) == 2, haz  # two transits, two alerts, not one per message
    assert len(closes) == 1, haz  # the first transit ended when the tanker left
    assert len({r["id"] for r in opens}) == 2
    a = opens[0]
    assert a["_topic"] == "mdacentre/v1/alerts/XX/hazardous_cargo/high"
    assert a["level"] == "high" and 0 <= float(a["score"]) <= 100  # type: ignore[arg-type]
    track = a["track"]
    assert isinstance(track, dict)
    assert track["kind"] == "vessel" and track["id"] == str(MMSI) and track["name"] == "NORDIC HAZARD"
    for k in ("lat", "lon", "sog", "cog"):
        assert isinstance(track[k], float)
    assert a["zone"] == {"id": "caribbean_sea", "name": "Caribbean Sea", "state": "XX"}
    assert a["reasons"] and "hazardous" in str(a["reasons"][0])  # type: ignore[index]
    # Event time of the crossing (the first report inside the zone, by shapely), not the wall clock.
    zone = next(
        z for z in load_library(Path(__file__).parent.parent / "geofences") if z.id == "caribbean_sea"
    )
    first_in = next(i for i in range(40) if shapely.intersects_xy(zone.geometry, -58.0 - 0.1 * i, 15.05))
    assert a["time"] == iso(T0 + 60 * first_in)
    assert closes[0]["id"] == opens[0]["id"]
