"""aircraft.json snapshots, OpenSky-style state vectors and readsb traces."""

from __future__ import annotations

import gzip
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson
import pytest

from mdacentre.decode.adsb import NON_ICAO_FLAG, FlightMsgType
from mdacentre.decode.flightfiles import parse_aircraft_json, read_opensky_json, read_readsb_trace
from mdacentre.model.batch import TrackKind, make_key
from mdacentre.model.errors import DecodeError, MdaError
from mdacentre.model.rejects import Reject

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "adsb"
KINGSTON = SHARED / "traffic_opensky_calibration_kingston.json.gz"
SWITZERLAND = SHARED / "traffic_opensky_collection_switzerland.json.gz"
TRACE = SHARED / "traffic_readsb_trace_full_ac671b.json"
CARIBBEAN = (-90.0, 5.0, -55.0, 30.0)
NOW = 1_700_000_000.0


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (expected ../shared next to the repository)")
    return path


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _bbox(p: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in (p["lon"].min(), p["lat"].min(), p["lon"].max(), p["lat"].max())]


# --- aircraft.json ---------------------------------------------------------------------------------

SNAPSHOT = {
    "now": NOW,
    "messages": 123456,
    "aircraft": [
        {
            "hex": "a1b2c3",
            "type": "adsb_icao",
            "flight": "AAL123  ",
            "alt_baro": 35000,
            "alt_geom": 35600,
            "gs": 450.2,
            "track": 90.5,
            "baro_rate": -640,
            "squawk": "7700",
            "emergency": "general",
            "lat": 18.25,
            "lon": -76.5,
            "nic": 8,
            "seen_pos": 1.5,
            "seen": 0.3,
            "rssi": -20.1,
        },
        {
            "hex": "~0a0b0c",
            "type": "tisb_other",
            "alt_baro": "ground",
            "gs": 12.0,
            "track": 180.0,
            "lat": 17.93,
            "lon": -76.78,
            "seen_pos": 10.0,
            "seen": 9.0,
        },
        {"hex": "4ca2d6", "flight": "N123AB", "squawk": "1200", "alt_baro": 5000, "seen": 5.0},
        {"hex": "zzzzzz", "lat": 1.0, "lon": 1.0, "seen_pos": 0.0},
        {"hex": "abcdef", "lat": 95.0, "lon": 1.0, "seen_pos": 0.0},
        {"hex": "123456", "seen": 2.0, "rssi": -30.0},
    ],
}


def test_aircraft_json_snapshot() -> None:
    b = parse_aircraft_json(orjson.dumps(SNAPSHOT), receive_time=NOW + 100.0, feed=3)
    assert b.lines == 6
    assert b.rejects == {Reject.BAD_FRAME: 1, Reject.BAD_VALUE: 1, Reject.EMPTY_PAYLOAD: 1}
    p = b.positions
    assert list(p["ident"]) == [0xA1B2C3, 0x0A0B0C | NON_ICAO_FLAG]
    a, g = p[0], p[1]
    assert a["t"] == NOW - 1.5 and g["t"] == NOW - 10.0  # now - seen_pos
    assert (a["lat"], a["lon"], a["alt_ft"]) == (18.25, -76.5, 35000.0)
    assert a["sog"] == pytest.approx(450.2) and a["cog"] == pytest.approx(90.5) and a["vrate_fpm"] == -640
    assert a["squawk"] == 7700 and a["on_ground"] == 0 and a["feed"] == 3
    assert a["key"] == make_key(TrackKind.AIRCRAFT, 0xA1B2C3) and a["kind"] == TrackKind.AIRCRAFT
    assert a["msg_type"] == FlightMsgType.AIRCRAFT_JSON
    assert g["on_ground"] == 1 and math.isnan(g["alt_ft"]) and g["sog"] == 12.0
    s = b.statics
    assert list(s["ident"]) == [0x4CA2D6, 0xA1B2C3]
    assert list(s["name"]) == ["N123AB", "AAL123"] and list(s["squawk"]) == [1200, 7700]
    assert list(s["t"]) == [NOW - 5.0, NOW - 1.5]


def test_aircraft_json_dict_bytes_and_bad_input() -> None:
    from_bytes = parse_aircraft_json(orjson.dumps(SNAPSHOT), NOW)
    from_dict = parse_aircraft_json(SNAPSHOT, NOW)
    assert from_bytes.positions.tobytes() == from_dict.positions.tobytes()
    no_now = dict(SNAPSHOT, now=None)
    assert parse_aircraft_json(no_now, NOW + 7.0).positions["t"][0] == NOW + 7.0 - 1.5
    assert parse_aircraft_json(b"{not json", NOW).rejects == {Reject.BAD_FRAME: 1}
    assert parse_aircraft_json(b'{"now": 1, "aircraft": 5}', NOW).rejects == {Reject.BAD_FRAME: 1}
    weird = {"now": NOW, "aircraft": [None, 7, {"hex": "a1b2c3", "lat": "x", "lon": None, "gs": "fast"}]}
    b = parse_aircraft_json(weird, NOW)
    assert len(b.positions) == 0 and sum(b.rejects.values()) == 3


# --- OpenSky-style files -----------------------------------------------------------------------------


def test_opensky_kingston_matches_sources() -> None:
    b = read_opensky_json(_need(KINGSTON))
    p = b.positions
    assert len(p) == 1455 and b.lines == 1455 and b.rejects == {}
    assert set(p["ident"]) == {0x0B206F}
    assert _bbox(p) == [-77.1991, 17.8208, -76.7516, 18.164]
    assert p["t"].min() == _utc("2018-06-26T17:12:10Z") and p["t"].max() == _utc("2018-06-26T19:13:20Z")
    lon, lat = p["lon"], p["lat"]
    assert (
        (lon >= CARIBBEAN[0]) & (lon <= CARIBBEAN[2]) & (lat >= CARIBBEAN[1]) & (lat <= CARIBBEAN[3])
    ).all()
    assert list(b.statics["name"]) == ["YS111N"]
    assert ((p["cog"] >= 0) & (p["cog"] < 360)).all()
    first = p[0]
    assert (first["alt_ft"], first["sog"], first["cog"], first["vrate_fpm"]) == (125, 128, 113, 1152)


def test_opensky_pandas_columns_orient(tmp_path: Path) -> None:
    records = orjson.loads(gzip.decompress(_need(KINGSTON).read_bytes()))[:200]
    columns = {k: {str(i): r[k] for i, r in enumerate(records)} for k in records[0]}
    path = tmp_path / "columns.json"
    path.write_bytes(orjson.dumps(columns))
    rec_path = tmp_path / "records.json.gz"
    rec_path.write_bytes(gzip.compress(orjson.dumps(records)))
    a, b = read_opensky_json(rec_path), read_opensky_json(path)
    assert len(a.positions) == 200 and a.positions.tobytes() == b.positions.tobytes()


def test_opensky_rest_states_si_units(tmp_path: Path) -> None:
    doc = {
        "time": 1_600_000_010,
        "states": [
            [
                "a1b2c3",
                "AAL123  ",
                "United States",
                1_600_000_005,
                1_600_000_009,
                -76.5,
                18.25,
                10000.0,
                False,
                200.0,
                270.0,
                -5.08,
                None,
                10100.0,
                "7500",
                False,
                0,
            ],
            [
                "4ca2d6",
                "",
                "Jamaica",
                None,
                1_600_000_008,
                None,
                None,
                None,
                True,
                3.0,
                90.0,
                None,
                None,
                None,
                None,
                False,
                0,
            ],
            ["bad", None],
        ],
    }
    path = tmp_path / "states.json"
    path.write_bytes(orjson.dumps(doc))
    b = read_opensky_json(path)
    assert len(b.positions) == 1 and b.lines == 3
    p = b.positions[0]
    assert p["t"] == 1_600_000_005 and p["alt_ft"] == pytest.approx(32808.4, abs=0.1)
    assert p["sog"] == pytest.approx(388.77, abs=0.01) and p["vrate_fpm"] == pytest.approx(-1000.0, abs=0.1)
    assert p["squawk"] == 7500 and p["on_ground"] == 0
    assert list(b.statics["squawk"]) == [7500]
    assert b.rejects == {Reject.EMPTY_PAYLOAD: 1, Reject.BAD_FRAME: 1}


def test_opensky_switzerland_collection() -> None:
    b = read_opensky_json(_need(SWITZERLAND))
    assert len(b.positions) == 139098 and len(np.unique(b.positions["ident"])) == 842
    assert _bbox(b.positions) == [5.9559, 45.818, 10.4876, 47.808]
    assert len(np.unique(b.statics["key"])) == 842


# --- readsb trace ------------------------------------------------------------------------------------


def test_readsb_trace_matches_sources() -> None:
    b = read_readsb_trace(_need(TRACE))
    p = b.positions
    assert len(p) == 2500 and b.rejects == {}
    assert set(p["ident"]) == {0xAC671B}
    assert _bbox(p) == [-117.2762, 16.7774, -88.0369, 47.5261]
    lon, lat = p["lon"], p["lat"]
    in_box = (lon >= CARIBBEAN[0]) & (lon <= CARIBBEAN[2]) & (lat >= CARIBBEAN[1]) & (lat <= CARIBBEAN[3])
    assert int(in_box.sum()) == 88
    assert int(p["t"].min()) == _utc("2025-02-04T21:13:42Z") and int(p["t"].max()) == _utc(
        "2025-02-05T19:54:38Z"
    )
    assert set(b.statics["name"]) == {"DAL1615", "DAL1812", "DAL2418", "DAL2927"}
    ground = p["on_ground"] == 1
    assert ground.any() and np.isnan(p["alt_ft"][ground]).all()
    assert (p["squawk"][3:20] == 4637).all() and (p["squawk"][:3] == -1).all()
    assert (p["msg_type"] == FlightMsgType.READSB_TRACE).all()


def test_file_errors_are_mda_errors(tmp_path: Path) -> None:
    with pytest.raises(MdaError, match="check the path"):
        read_opensky_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(DecodeError, match="not valid JSON"):
        read_readsb_trace(bad)
    bad.write_text('{"hello": 1}')
    with pytest.raises(DecodeError, match="orient='records'"):
        read_opensky_json(bad)
    with pytest.raises(DecodeError, match="not a readsb trace"):
        read_readsb_trace(bad)
