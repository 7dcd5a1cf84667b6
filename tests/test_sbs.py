"""SBS-1 (BaseStation, port 30003) decoding and the derived Kingston sample."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdacentre.decode.adsb import NON_ICAO_FLAG
from mdacentre.decode.flightfiles import read_opensky_json, read_readsb_trace
from mdacentre.decode.sbs import SbsDecoder, format_sbs, write_sbs
from mdacentre.model.batch import TrackKind, make_key
from mdacentre.model.rejects import Reject

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "feeds" / "samples" / "kingston_sbs.txt"
SHARED = REPO.parent / "shared" / "data" / "adsb"
KINGSTON = SHARED / "traffic_opensky_calibration_kingston.json.gz"
TRACE = SHARED / "traffic_readsb_trace_full_ac671b.json"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (expected ../shared next to the repository)")
    return path


def _angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def _line(n: int, hexid: str, clock: str = "12:00:00.000", **cols: str) -> str:
    f = ["MSG", str(n), "1", "1", hexid, "1", "2024/01/02", clock, "2024/01/02", clock] + [""] * 12
    for name, idx in (
        ("cs", 10),
        ("alt", 11),
        ("gs", 12),
        ("trk", 13),
        ("lat", 14),
        ("lon", 15),
        ("vr", 16),
        ("sq", 17),
        ("gnd", 21),
    ):
        if name in cols:
            f[idx] = cols[name]
    return ",".join(f)


T0 = 1704196800.0  # 2024-01-02T12:00:00Z


def test_kingston_sample_decodes_back_to_original_positions() -> None:
    original = read_opensky_json(_need(KINGSTON))
    batch = SbsDecoder().decode(SAMPLE.read_bytes(), 0.0)
    a, b = original.positions, batch.positions
    assert len(b) == len(a) == 1455 and batch.rejects == {}
    assert np.abs(b["t"] - a["t"]).max() < 1e-3
    assert np.abs(b["lat"] - a["lat"]).max() <= 5.1e-7 and np.abs(b["lon"] - a["lon"]).max() <= 5.1e-7
    assert np.array_equal(b["alt_ft"], a["alt_ft"]) and np.array_equal(b["vrate_fpm"], a["vrate_fpm"])
    assert np.abs(b["sog"] - a["sog"]).max() < 0.051
    assert _angle_diff(b["cog"].astype(float), a["cog"].astype(float)).max() < 0.051
    assert set(b["key"]) == {int(make_key(TrackKind.AIRCRAFT, 0x0B206F))}
    assert list(batch.statics["name"]) == ["YS111N"]
    assert (b["msg_type"] == 143).all()


def test_sample_is_what_the_script_writes(tmp_path: Path) -> None:
    from mdacentre.decode.flightfiles import derive_sbs_sample

    out = tmp_path / "k.txt"
    n = derive_sbs_sample(_need(KINGSTON), out)
    assert n == 2911 and out.read_bytes() == SAMPLE.read_bytes()
    assert "kingston_sbs.txt" in (SAMPLE.parent / "SOURCES.md").read_text()


def test_trace_round_trip_keeps_ground_state(tmp_path: Path) -> None:
    trace = read_readsb_trace(_need(TRACE))
    path = tmp_path / "trace.sbs"
    write_sbs(trace, path)
    back = SbsDecoder().decode(path.read_bytes(), 0.0)
    a, b = trace.positions, back.positions
    assert len(b) == len(a) == 2500
    assert np.array_equal(b["on_ground"] == 1, a["on_ground"] == 1)
    assert np.abs(b["lat"] - a["lat"]).max() <= 5.1e-7
    # a simultaneous callsign + squawk change comes back as two rows (MSG,1 then MSG,6): compare the
    # state after the last row of each instant
    last = np.r_[back.statics["t"][1:] != back.statics["t"][:-1], True]
    assert np.allclose(back.statics["t"][last], trace.statics["t"], rtol=0, atol=1e-3)
    assert np.array_equal(back.statics["name"][last], trace.statics["name"])
    assert np.array_equal(back.statics["squawk"][last], trace.statics["squawk"])


def test_state_carried_into_position_rows() -> None:
    lines = [
        _line(1, "A1B2C3", cs="AAL123"),
        _line(4, "A1B2C3", gs="450.5", trk="271.2", vr="-640"),
        _line(6, "A1B2C3", "12:00:01.000", sq="7700", alt="35000"),
        _line(3, "A1B2C3", "12:00:02.500", alt="35025", lat="18.1", lon="-76.9", gnd="0"),
        _line(2, "~0A0B0C", "12:00:03.000", gs="12", trk="90", lat="17.93", lon="-76.78"),
    ]
    batch = SbsDecoder().decode(("\n".join(lines) + "\n").encode(), 0.0)
    assert batch.rejects == {} and batch.lines == 5
    p = batch.positions
    assert len(p) == 2
    assert p["t"][0] == T0 + 2.5 and p["alt_ft"][0] == 35025 and p["sog"][0] == pytest.approx(450.5)
    assert p["cog"][0] == pytest.approx(271.2) and p["vrate_fpm"][0] == -640 and p["squawk"][0] == 7700
    assert p["on_ground"][0] == 0 and p["msg_type"][0] == 143
    assert p["ident"][1] == 0x0A0B0C | NON_ICAO_FLAG and p["on_ground"][1] == 1 and math.isnan(p["alt_ft"][1])
    s = batch.statics
    assert list(s["name"]) == ["AAL123", "AAL123"] and list(s["squawk"]) == [-1, 7700]
    assert list(s["t"]) == [T0, T0 + 1.0]


def test_malformed_lines_are_counted() -> None:
    good = _line(3, "A1B2C3", alt="1000", lat="18.0", lon="-76.0")
    bad = [
        "",  # blank
        "MSG,3,1,1",  # too few fields
        _line(9, "A1B2C3", lat="18", lon="-76"),  # no such MSG type
        _line(3, "XYZ", lat="18", lon="-76"),  # bad hex ident
        _line(3, "A1B2C3", lat="91.0", lon="-76"),  # latitude out of range
        _line(3, "A1B2C3", alt="high", lat="18", lon="-76"),  # not a number
        _line(3, "A1B2C3", lat="18.0"),  # latitude without longitude
        _line(6, "A1B2C3", sq="7800"),  # not an octal squawk
        "STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM",  # status record
        "\xff\xfe garbage",
        "AIR,,1,1,A1B2C3",
    ]
    data = ("\n".join([good] + bad + [good]) + "\n").encode("latin-1")
    batch = SbsDecoder().decode(data, 0.0)
    assert len(batch.positions) == 2 and batch.lines == 13
    assert batch.rejects == {
        Reject.BLANK: 1,
        Reject.BAD_FRAME: 4,
        Reject.BAD_VALUE: 4,
        Reject.UNKNOWN_TYPE: 2,
    }


def test_missing_message_time_uses_receive_time() -> None:
    line = "MSG,3,1,1,A1B2C3,1,,,,,,1000,,,18.0,-76.0,,,,,,0"
    b = SbsDecoder().decode(line.encode(), 1234.5)
    assert b.positions["t"][0] == 1234.5
    b2 = SbsDecoder(utc_offset_s=3600.0).decode(_line(3, "A1B2C3", lat="18", lon="-76").encode(), 0.0)
    assert b2.positions["t"][0] == T0 - 3600.0
    b3 = SbsDecoder(use_message_time=False).decode(_line(3, "A1B2C3", lat="18", lon="-76").encode(), 99.0)
    assert b3.positions["t"][0] == 99.0


def test_format_orders_by_time() -> None:
    batch = SbsDecoder().decode(
        (
            "\n".join(
                [
                    _line(3, "A1B2C3", "12:00:05.000", lat="18", lon="-76"),
                    _line(1, "A1B2C3", "12:00:01.000", cs="ABC"),
                ]
            )
            + "\n"
        ).encode(),
        0.0,
    )
    lines = format_sbs(batch)
    assert lines[0].startswith("MSG,1,") and lines[-1].startswith("MSG,3,")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=8))
def test_random_bytes_never_raise(chunks: list[bytes]) -> None:
    dec = SbsDecoder()
    for chunk in chunks:
        b = dec.decode(chunk, 1.0)
        assert b.lines == chunk.count(b"\n") + (1 if chunk and not chunk.endswith(b"\n") else 0)
        assert sum(b.rejects.values()) <= b.lines and b.internal_errors == 0
        assert dec.decode(b"MSG," + chunk.replace(b"\n", b","), 1.0).internal_errors == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="MSG,0123456789.-~ABCDEF:/", max_size=12), min_size=1, max_size=24))
def test_random_fields_never_raise(fields: list[str]) -> None:
    line = ",".join(["MSG"] + fields)
    b = SbsDecoder().decode(line.encode(), 1.0)
    assert b.lines == 1 and sum(b.rejects.values()) <= 1 and b.internal_errors == 0
