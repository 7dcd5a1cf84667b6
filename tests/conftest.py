"""Shared fixtures: real Mosquitto on a free port, paths to the real recordings, NMEA helpers."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from mdacentre.sinks.broker import Mosquitto, free_port

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"real recordings not found at {SHARED} (CI clones shared/ beside the repo)")
    return SHARED


@pytest.fixture()
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(free_port(), workdir=tmp_path / "mosquitto").start()
    try:
        yield broker
    finally:
        broker.close()


def nmea_checksum(body: str) -> str:
    x = 0
    for ch in body.encode():
        x ^= ch
    return f"{x:02X}"


def tag_block(t: float, source: str = "test") -> str:
    body = f"s:{source},c:{int(t)}"
    return f"\\{body}*{nmea_checksum(body)}\\"


@functools.cache
def _encoder():  # type: ignore[no-untyped-def]
    from pyais import encode_dict

    return encode_dict


def encode(fields: dict[str, object], t: float | None = None, source: str = "test") -> list[str]:
    """AIS sentences for one message (pyais's encoder), with an NMEA 4.0 tag block when ``t`` is given."""
    sentences = _encoder()(fields, radio_channel="A", talker_id="AI", sentence_type="VDM")
    if t is None:
        return list(sentences)
    return [tag_block(t, source) + s for s in sentences]


def position(mmsi: int, lat: float, lon: float, t: float, sog: float = 12.0, cog: float = 270.0) -> list[str]:
    return encode(
        {
            "msg_type": 1,
            "mmsi": mmsi,
            "lat": lat,
            "lon": lon,
            "speed": sog,
            "course": cog,
            "heading": int(cog),
        },
        t,
    )


def static(mmsi: int, name: str, ship_type: int, t: float) -> list[str]:
    return encode(
        {
            "msg_type": 5,
            "mmsi": mmsi,
            "shipname": name,
            "ship_type": ship_type,
            "callsign": "TEST1",
            "imo": 9123456,
            "to_bow": 150,
            "to_stern": 50,
            "to_port": 15,
            "to_starboard": 15,
            "draught": 11.5,
            "destination": "KINGSTON",
        },
        t,
    )
