"""Tests of the vectorised AIS position fast path against pyais and against documented values."""

from __future__ import annotations

import math
from functools import reduce
from operator import xor
from pathlib import Path
from typing import Any

import numpy as np
import pyais
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyais.encode import encode_dict

from mdacentre.cli import bench_decode
from mdacentre.decode.ais.fast import FastResult, decode_lines_fast
from mdacentre.ingest.framing import LineBuffer
from mdacentre.model.batch import POSITION_DTYPE, TrackKind, make_key
from mdacentre.model.rejects import Reject

REPO = Path(__file__).resolve().parents[1]
AIS_DIR = REPO.parent / "shared" / "data" / "ais"
AIS_FILES = sorted(AIS_DIR.iterdir()) if AIS_DIR.is_dir() else []
needs_data = pytest.mark.skipif(not AIS_FILES, reason=f"shared AIS data not found at {AIS_DIR}")

FAST_TYPES = (1, 2, 3, 4, 9, 11, 18, 27)  # and 19, 21: a position and a static row each (dual_line)
ENCODED_TYPES = (1, 2, 3, 18, 27)
RECEIVE_TIME = 1_700_000_000.5
ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


# --- helpers -------------------------------------------------------------------------------
def sentence_part(line: bytes) -> bytes:
    """The line without its leading NMEA 4.0 tag block (what pyais.decode is given)."""
    if line.startswith(b"\\"):
        return line[line.index(b"\\", 1) + 1 :]
    return line


def split_lines(data: bytes) -> list[bytes]:
    return LineBuffer.of_chunk(data).lines()


def checksum_matches(line: bytes) -> bool:
    body = sentence_part(line)
    star = body.index(b"*")
    return reduce(xor, body[1:star], 0) == int(body[star + 1 : star + 3], 16)


def with_checksum(body: str) -> bytes:
    """'!AIVDM,...,0' -> '!AIVDM,...,0*hh' (checksum over everything after the delimiter)."""
    return f"{body}*{reduce(xor, body[1:].encode(), 0):02X}".encode()


def tag_block(fields: str) -> bytes:
    return f"\\{fields}*{reduce(xor, fields.encode(), 0):02X}\\".encode()


def nan_if(value: object, sentinel: float) -> float:
    if value is None:
        return math.nan
    f = float(value)  # type: ignore[arg-type]  # pyais values are int/float/IntEnum
    return math.nan if f == sentinel else f


def pyais_expected(line: bytes) -> tuple[int, float, float, float, float, float, int, int, float]:
    """(mmsi, lat, lon, sog, cog, heading, nav_status, type, altitude ft) from pyais, sentinels as NaN."""
    msg: dict[str, Any] = pyais.decode(sentence_part(line)).asdict()
    mtype = int(msg["msg_type"])
    lat, lon = nan_if(msg["lat"], 91.0), nan_if(msg["lon"], 181.0)
    if mtype == 27:
        sog, cog, heading = nan_if(msg["speed"], 63), nan_if(msg["course"], 511), math.nan
    elif mtype in (4, 11, 21):
        sog = cog = heading = math.nan
    elif mtype == 9:  # SAR aircraft: knots in whole units, no heading
        sog, cog, heading = nan_if(msg["speed"], 1023), nan_if(msg["course"], 360.0), math.nan
    else:
        sog, cog = nan_if(msg["speed"], 102.3), nan_if(msg["course"], 360.0)
        heading = nan_if(msg["heading"], 511)
    status = int(msg["status"]) if mtype in (1, 2, 3, 27) else -1
    f32 = np.float32
    alt = float(f32(nan_if(msg["alt"], 4095) * 3.280839895)) if mtype == 9 else math.nan
    return (
        int(msg["mmsi"]),
        lat,
        lon,
        float(f32(sog)),
        float(f32(cog)),
        float(f32(heading)),
        status,
        mtype,
        alt,
    )


def pyais_type(line: bytes) -> int:
    """Message type pyais decodes from a line, -1 if pyais refuses it."""
    try:
        return int(pyais.decode(sentence_part(line)).msg_type)
    except Exception:  # noqa: BLE001 - any refusal counts as "not a position report"
        return -1


def row_values(row: np.void) -> tuple[int, float, float, float, float, float, int, int, float]:
    return (
        int(row["ident"]),
        float(row["lat"]),
        float(row["lon"]),
        float(row["sog"]),
        float(row["cog"]),
        float(row["heading"]),
        int(row["nav_status"]),
        int(row["msg_type"]),
        float(row["alt_ft"]),
    )


def same(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return all(
        x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(a, b, strict=True)
    )


def expected_time(line: bytes) -> float:
    if not line.startswith(b"\\"):
        return RECEIVE_TIME
    for item in line[1 : line.index(b"\\", 1)].split(b"*")[0].split(b","):
        if item.startswith(b"c:"):
            value = int(item[2:])
            return value / 1000.0 if value >= 100_000_000_000 else float(value)
    return RECEIVE_TIME


def decode_one(line: bytes) -> FastResult:
    return decode_lines_fast([line], RECEIVE_TIME, feed=3)


def position_line(**fields: Any) -> bytes:
    (sentence,) = encode_dict(fields, talker_id="AI", radio_channel="A")
    return sentence.encode()


# --- every real file ------------------------------------------------------------------------
@needs_data
@pytest.mark.parametrize("path", AIS_FILES, ids=lambda p: p.name)
def test_handled_lines_agree_with_pyais(path: Path) -> None:
    lines = split_lines(path.read_bytes())
    result = decode_lines_fast(lines, RECEIVE_TIME, feed=7)
    assert result.handled.shape == (len(lines),)
    assert result.positions.dtype == POSITION_DTYPE
    handled = [lines[i] for i in np.flatnonzero(result.handled)]
    good = [line for line in handled if checksum_matches(line)]
    assert result.rejects.get(Reject.BAD_CHECKSUM, 0) == len(handled) - len(good)
    assert set(result.rejects) <= {Reject.BAD_CHECKSUM}
    # static reports and ignored types are handled too (their fields: tests/test_ais_decode.py)
    pairs = result.pair_line  # second sentences of two-sentence type 5 messages
    single_statics = result.static_line[~np.isin(result.static_line, pairs)]
    assert all(pyais_type(lines[i]) in (5, 19, 21, 24) for i in single_statics.tolist())
    for i, j in zip(result.pair_first.tolist(), pairs.tolist(), strict=True):
        assert i < j and int(pyais.decode(sentence_part(lines[i]), sentence_part(lines[j])).msg_type) == 5
    assert all(
        pyais_type(lines[i]) in (19, 21) for i in result.dual_line.tolist()
    )  # a position and a static row
    assert all(pyais_type(lines[i]) not in FAST_TYPES + (5, 19, 21, 24) for i in result.ignored_line.tolist())
    statics_only = result.static_line[~np.isin(result.static_line, result.dual_line)]
    taken = np.concatenate([statics_only, result.pair_first, result.ignored_line])
    not_positions = {lines[i] for i in taken.tolist()}
    decoded = [line for line in good if line not in not_positions]
    assert len(result.positions) == len(decoded)
    for line, row in zip(decoded, result.positions, strict=True):
        expected = pyais_expected(line)  # raises if pyais cannot decode a handled line
        assert same(row_values(row), expected), (line, row_values(row), expected)
        assert row["t"] == expected_time(line), line
    if len(result.positions):
        base = np.isin(result.positions["msg_type"], (4, 11))
        kind = np.where(base, TrackKind.BASE_STATION, TrackKind.VESSEL)
        kind = np.where(result.positions["msg_type"] == 21, TrackKind.AID_TO_NAVIGATION, kind)
        kind = np.where(result.positions["msg_type"] == 9, TrackKind.SAR_AIRCRAFT, kind)
        assert (result.positions["kind"] == kind).all()
        assert (result.positions["key"] == make_key(kind, result.positions["ident"])).all()
        assert (result.positions["feed"] == 7).all()
        assert np.isnan(result.positions["alt_ft"][result.positions["msg_type"] != 9]).all()


@needs_data
def test_most_amsa_position_reports_take_the_fast_path() -> None:
    lines = split_lines((AIS_DIR / "amsa_risky_ais.txt").read_bytes())
    result = decode_lines_fast(lines, RECEIVE_TIME)
    reports = 0
    fast = 0
    for i, line in enumerate(lines):
        if not line.startswith((b"!", b"\\")):
            continue
        if pyais_type(line) in FAST_TYPES:
            reports += 1
            fast += bool(result.handled[i])
    assert reports > 20_000
    share = fast / reports
    assert share >= 0.60  # the contract
    assert share >= 0.95, f"only {share:.1%} handled: regression in the fast path"


# --- handcrafted lines ----------------------------------------------------------------------
@needs_data
def test_gpsd_documented_type1_values() -> None:
    # gpsd_sample.aivdm documents the decoded fields of its first sentence in comments
    line = next(x for x in split_lines((AIS_DIR / "gpsd_sample.aivdm").read_bytes()) if x.startswith(b"!"))
    result = decode_one(line)
    (row,) = result.positions
    assert int(row["ident"]) == 371798000
    assert row["sog"] == np.float32(12.3)
    assert row["lon"] == pytest.approx(-123.395383333, abs=1e-6)
    assert row["lat"] == pytest.approx(48.38163333333, abs=1e-6)
    assert row["cog"] == 224.0 and row["heading"] == 215.0 and row["nav_status"] == 0
    assert row["t"] == RECEIVE_TIME and row["feed"] == 3


def test_negative_latitude_and_longitude() -> None:
    line = position_line(
        msg_type=1,
        mmsi=366123456,
        status=5,
        speed=14.2,
        lon=-61.7525,
        lat=-12.0625,
        course=271.3,
        heading=270,
    )
    (row,) = decode_one(line).positions
    assert row_values(row)[:8] == (
        366123456,
        -12.0625,
        -61.7525,
        float(np.float32(14.2)),
        float(np.float32(271.3)),
        270.0,
        5,
        1,
    )
    assert row["key"] == (int(TrackKind.VESSEL) << 32) | 366123456


def test_sar_aircraft_altitude_speed_and_course() -> None:
    line = position_line(msg_type=9, mmsi=111232511, alt=303, speed=122, lon=-66.25, lat=17.5, course=92.7)
    (row,) = decode_one(line).positions
    assert row["kind"] == TrackKind.SAR_AIRCRAFT and row["ident"] == 111232511 and row["msg_type"] == 9
    assert row["alt_ft"] == np.float32(303 * 3.280839895) and row["sog"] == 122.0
    assert row["cog"] == np.float32(92.7) and np.isnan(row["heading"]) and row["nav_status"] == -1
    assert (row["lat"], row["lon"]) == (17.5, -66.25)
    (unknown,) = decode_one(
        position_line(msg_type=9, mmsi=111232511, alt=4095, speed=1023, course=360)
    ).positions
    assert np.isnan(unknown["alt_ft"]) and np.isnan(unknown["sog"]) and np.isnan(unknown["cog"])


def test_class_b_has_no_nav_status() -> None:
    line = position_line(
        msg_type=18, mmsi=338123000, speed=5.5, lon=-66.1, lat=18.45, course=90.0, heading=88
    )
    (row,) = decode_one(line).positions
    assert row_values(row)[:8] == (338123000, 18.45, -66.1, 5.5, 90.0, 88.0, -1, 18)


def test_not_available_sentinels_become_nan() -> None:
    line = position_line(
        msg_type=3, mmsi=244000111, status=15, speed=102.3, lon=181, lat=91, course=360, heading=511
    )
    (row,) = decode_one(line).positions
    assert np.isnan([row["lat"], row["lon"], row["sog"], row["cog"], row["heading"]]).all()
    assert row["nav_status"] == 15


def test_type27_long_range_units() -> None:
    line = position_line(msg_type=27, mmsi=538001234, status=0, lon=-61.75, lat=-12.5, speed=21, course=45)
    (row,) = decode_one(line).positions
    # lat/lon in 1/600 degree, speed in whole knots, course in whole degrees, no heading
    assert same(row_values(row)[:8], (538001234, -12.5, -61.75, 21.0, 45.0, math.nan, 0, 27))
    na = position_line(msg_type=27, mmsi=538001234, status=1, lon=181, lat=91, speed=63, course=511)
    (row,) = decode_one(na).positions
    assert np.isnan([row["lat"], row["lon"], row["sog"], row["cog"], row["heading"]]).all()


def test_bad_checksum_is_handled_and_counted() -> None:
    good = position_line(msg_type=1, mmsi=311000222, lon=-77.0, lat=25.0)
    bad = good[:-2] + (b"00" if good[-2:] != b"00" else b"01")
    result = decode_lines_fast([good, bad, bad], RECEIVE_TIME)
    assert result.handled.tolist() == [True, True, True]
    assert len(result.positions) == 1
    assert result.rejects == {Reject.BAD_CHECKSUM: 2}


def test_tag_block_time_in_seconds_and_milliseconds() -> None:
    body = position_line(msg_type=1, mmsi=311000222, lon=-77.0, lat=25.0)
    lines = [
        tag_block("s:rEV02,c:1334337317") + body,
        tag_block("c:1334337317123,s:x") + body,
        tag_block("s:only-source") + body,
        body,
    ]
    result = decode_lines_fast(lines, RECEIVE_TIME)
    assert result.handled.all()
    assert result.positions["t"].tolist() == [1334337317.0, 1334337317.123, RECEIVE_TIME, RECEIVE_TIME]


def test_lines_left_to_the_general_path() -> None:
    body = position_line(msg_type=1, mmsi=311000222, lon=-77.0, lat=25.0)
    static = encode_dict({"msg_type": 5, "mmsi": 311000222, "shipname": "TEST"}, talker_id="AI")
    lines = [
        b"",
        b"# comment",
        b"$GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000*6D",
        static[0].encode(),  # multi-part type 5
        with_checksum("!AIVDM,1,1,,B,,0"),  # empty payload
        with_checksum("!AIVDM,1,1,,A,37P8OL2<01Ch,0"),  # type 3 too short for every field
        body[: body.index(b"*")],  # no checksum
        tag_block("c:13343373x7") + body,  # malformed time
        b"$PGHP,1,2008,5,9,0,0,0,10,338,2,,1,09*17",
        body,  # belongs to the Gatehouse header above
        body + b" ",
        b"$" + body[1:],
    ]
    result = decode_lines_fast(lines, RECEIVE_TIME)
    assert not result.handled.any()
    assert len(result.positions) == 0 and result.rejects == {}
    follows = decode_lines_fast([body, body], RECEIVE_TIME, first_follows_gatehouse=True)
    assert follows.handled.tolist() == [False, True]
    # a group on a single sentence means nothing to the general path either: the fast path takes it
    grouped = decode_lines_fast([tag_block("g:1-2-42,c:1334337317") + body], RECEIVE_TIME)
    assert grouped.handled.tolist() == [True] and grouped.positions["t"].tolist() == [1334337317.0]


def test_uscg_trailing_fields_are_accepted() -> None:
    body = position_line(msg_type=1, mmsi=311000222, lon=-77.0, lat=25.0)
    (row,) = decode_one(body + b",b003669794,1272412827").positions
    assert (int(row["ident"]), float(row["lat"]), float(row["lon"])) == (311000222, 25.0, -77.0)


def test_rows_follow_input_order_and_unhandled_indices() -> None:
    a = position_line(msg_type=1, mmsi=1001, lon=1.0, lat=2.0)
    b = position_line(msg_type=27, mmsi=1002, lon=3.0, lat=4.0)
    c = position_line(msg_type=18, mmsi=1003, lon=5.0, lat=6.0)
    d = position_line(msg_type=19, mmsi=1004, lon=5.0, lat=6.0)
    result = decode_lines_fast([a, b"junk", b, c, d], RECEIVE_TIME)
    assert result.positions["ident"].tolist() == [1001, 1002, 1003, 1004]  # 19: a position and a static row
    assert result.statics["ident"].tolist() == [1004] and result.dual_line.tolist() == [4]
    assert result.unhandled_indices.tolist() == [1]


# --- properties -----------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=120), max_size=20), st.booleans())
def test_random_bytes_never_raise(lines: list[bytes], follows: bool) -> None:
    result = decode_lines_fast(lines, RECEIVE_TIME, first_follows_gatehouse=follows)
    assert result.handled.shape == (len(lines),)
    assert len(result.positions) + sum(result.rejects.values()) == int(result.handled.sum())


@st.composite
def fast_like_sentences(draw: st.DrawFn) -> bytes:
    """Well-formed single-fragment sentences of the fast types with random payload bits."""
    mtype = draw(st.sampled_from(ENCODED_TYPES))
    first = ARMOUR[mtype]
    rest = draw(st.text(alphabet=ARMOUR, min_size=0, max_size=40))
    fill = draw(st.integers(0, 5))
    talker = draw(st.sampled_from(["AIVDM", "BSVDO", "=IVDM"]))
    seq = draw(st.sampled_from(["", "3"]))
    channel = draw(st.sampled_from(["", "A", "B", "1"]))
    line = with_checksum(f"!{talker},1,1,{seq},{channel},{first}{rest},{fill}")
    # USCG receiver fields; pyais takes a trailing 'x*y' field for the fill bits and checksum
    line += draw(st.sampled_from([b"", b",b003669794,1272412827", b",9*12", b",2*7F", b",", b",x "]))
    if draw(st.booleans()):
        line = tag_block(f"s:fuzz,c:{draw(st.integers(0, 9_999_999_999_999))}") + line
    return line


@settings(max_examples=400, deadline=None)
@given(fast_like_sentences())
def test_random_position_payloads_agree_with_pyais(line: bytes) -> None:
    result = decode_one(line)
    try:
        expected = pyais_expected(line)
    except Exception:  # noqa: BLE001 - what pyais cannot decode must stay unhandled
        assert not result.handled[0]
        return
    if result.handled[0]:
        (row,) = result.positions
        assert same(row_values(row), expected), (line, row_values(row), expected)
        assert row["t"] == expected_time(line)


def test_benchmark_reports_all_figures() -> None:
    figures = bench_decode.run(target_lines=3_000, baseline_lines=3_000, chunk_lines=1_000)
    assert set(figures) == {
        "decode_lines_per_s_pyais",
        "decode_lines_per_s_fast",
        "fast_handled_share",
        "decode_ratio_fast_vs_pyais",
    }
    assert figures["decode_lines_per_s_pyais"] > 0 and figures["decode_lines_per_s_fast"] > 0
    assert 0.3 < figures["fast_handled_share"] <= 1.0
    ratio = figures["decode_lines_per_s_fast"] / figures["decode_lines_per_s_pyais"]
    assert figures["decode_ratio_fast_vs_pyais"] == pytest.approx(ratio)
