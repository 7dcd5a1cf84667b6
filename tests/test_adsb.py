"""Mode S / Beast / AVR decoding against real recordings and pyModeS' own decoding."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pyModeS as pms
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyModeS._altcode import altcode_to_altitude
from pyModeS._idcode import idcode_to_squawk

from mdacentre.decode.adsb import (
    AvrDecoder,
    BeastDecoder,
    BeastFramer,
    ModeSDecoder,
    altitude_from_ac13,
    crc_remainder,
    extract_fields,
    hex_to_frames,
    squawk_from_identity,
)
from mdacentre.model.batch import TrackKind, make_key
from mdacentre.model.rejects import Reject

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "adsb"
CSV_FILE = SHARED / "pymodes_sample_data_adsb.csv"
BEAST_FILE = SHARED / "traffic_sample_dump1090_beast.bin"
# The pyModeS sample is one aircraft over NL/DE (bbox 4.77..7.23 E, 51.15..51.70 N); a reference
# at its centre is well within the 180 NM that single-message airborne decoding needs.
CSV_REFERENCE = (51.4, 6.0)
EXPECTED_DF = {0: 44, 4: 39, 5: 12, 11: 90, 16: 1, 17: 23, 20: 16, 21: 14}
IDENT_406B90 = "8D406B902015A678D4D220AA4BDA"  # EZY85MH


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (expected ../shared next to the repository)")
    return path


def _csv_messages() -> tuple[list[str], np.ndarray]:
    with _need(CSV_FILE).open() as fh:
        rows = list(csv.reader(fh))
    return [r[1] for r in rows], np.array([float(r[0]) for r in rows])


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Row arrays equal bit for bit (NaN included)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _hex(frame: np.ndarray, nbytes: int) -> str:
    return frame[:nbytes].tobytes().hex().upper()


def _frame_with_parity(first: bytes, address: int) -> str:
    """A short frame whose address/parity field encodes ``address`` (built with our CRC)."""
    frames = np.zeros((1, 14), dtype=np.uint8)
    frames[0, :4] = np.frombuffer(first, dtype=np.uint8)
    crc = int(crc_remainder(frames, np.array([7]))[0])  # parity bytes are zero here
    return (first + (crc ^ address).to_bytes(3, "big")).hex().upper()


# --- positions against pyModeS -----------------------------------------------------------------


def test_positions_agree_with_pymodes_single_message_decoding() -> None:
    msgs, times = _csv_messages()
    batch = ModeSDecoder().decode_messages(msgs, times)
    pos_idx = [i for i, m in enumerate(msgs) if 9 <= (int(m[8:10], 16) >> 3) <= 18]
    oracle = {i: pms.decode(msgs[i], reference=CSV_REFERENCE) for i in pos_idx}
    # pyModeS' PipeDecoder gives a position to all 937 airborne-position frames (SOURCES.md: 929);
    # we wait for the first even/odd pair, so a handful at the very start may stay without one.
    assert len(pos_idx) == 937
    assert 937 - 10 <= len(batch.positions) <= 937
    # Rows come out in message order: walk the frames and match each row to the next frame
    # with the same time whose pyModeS position agrees within 1e-4 degrees.
    k = 0
    for row in batch.positions:
        while k < len(pos_idx) and not (
            times[pos_idx[k]] == row["t"]
            and abs(oracle[pos_idx[k]]["latitude"] - row["lat"]) < 1e-4
            and abs(oracle[pos_idx[k]]["longitude"] - row["lon"]) < 1e-4
        ):
            k += 1
        assert k < len(pos_idx), f"row {row} matches no pyModeS position"
        k += 1
    assert batch.rejects == {}
    assert set(batch.positions["kind"]) == {TrackKind.AIRCRAFT}
    assert set(batch.positions["key"]) == {int(make_key(TrackKind.AIRCRAFT, 0x406B90))}
    assert set(batch.positions["msg_type"]) == {111}
    assert list(batch.statics["name"]) == ["EZY85MH"]


def test_fields_agree_with_pymodes() -> None:
    msgs, _ = _csv_messages()
    frames, nbytes, ok = hex_to_frames(msgs)
    assert ok.all()
    f = extract_fields(frames, nbytes)
    checked = {"alt": 0, "velocity": 0, "callsign": 0}
    for i, m in enumerate(msgs):
        d = pms.decode(m)
        tc = d["typecode"]
        if 9 <= tc <= 18:
            assert f.alt[i] == d["altitude"]
            assert f.cpr_lat[i] == d["cpr_lat"] and f.cpr_lon[i] == d["cpr_lon"]
            checked["alt"] += 1
        elif tc == 19:
            assert abs(f.gs[i] - d["groundspeed"]) < 1.0  # pyModeS rounds the speed to whole knots
            assert abs(f.track[i] - d["track"]) < 1e-3
            assert f.vrate[i] == d["vertical_rate"]
            checked["velocity"] += 1
        elif 1 <= tc <= 4:
            assert f.callsign[i] == d["callsign"]
            checked["callsign"] += 1
    assert checked == {"alt": 937, "velocity": 965, "callsign": 98}


def test_positions_carry_latest_velocity_and_altitude() -> None:
    msgs, times = _csv_messages()
    batch = ModeSDecoder().decode_messages(msgs[:200], times[:200])
    frames, nbytes, _ = hex_to_frames(msgs[:200])
    f = extract_fields(frames, nbytes)
    last_vel = [i for i in range(200) if f.effect[i] == 4 and times[i] <= batch.positions["t"][-1]][-1]
    assert batch.positions["sog"][-1] == pytest.approx(float(f.gs[last_vel]))
    assert batch.positions["vrate_fpm"][-1] == float(f.vrate[last_vel])
    assert np.isfinite(batch.positions["alt_ft"]).all()
    assert (batch.positions["on_ground"] == 0).all()


def test_chunked_decoding_matches_one_batch() -> None:
    msgs, times = _csv_messages()
    msgs, times = msgs[:400], times[:400]
    whole = ModeSDecoder().decode_messages(msgs, times)
    dec = ModeSDecoder()
    parts = [dec.decode_messages(msgs[i : i + 37], times[i : i + 37]) for i in range(0, 400, 37)]
    pos = np.concatenate([p.positions for p in parts])
    assert _same(pos, whole.positions)


def test_altitude_and_squawk_tables_match_pymodes() -> None:
    alt = altitude_from_ac13(np.arange(8192))
    sq = squawk_from_identity(np.arange(8192))
    for code in range(8192):
        ref = altcode_to_altitude(code)
        assert (ref is None and math.isnan(alt[code])) or ref == alt[code], code
        assert int(idcode_to_squawk(code)) == sq[code], code


def test_surface_position_needs_reference() -> None:
    msg = "8C4841753AAB238733C8CD4020B1"
    ref = pms.decode(msg, surface_ref=(51.99, 4.375))
    without = ModeSDecoder().decode_messages([msg], [0.0])
    assert len(without.positions) == 0
    row = ModeSDecoder(reference=(51.99, 4.375)).decode_messages([msg], [0.0]).positions[0]
    assert abs(row["lat"] - ref["latitude"]) < 1e-9 and abs(row["lon"] - ref["longitude"]) < 1e-9
    assert row["on_ground"] == 1 and row["sog"] == ref["groundspeed"] and row["cog"] == ref["track"]
    assert math.isnan(row["alt_ft"]) and row["msg_type"] == 107


def test_parity_failure_counted_as_bad_crc() -> None:
    msgs, _ = _csv_messages()
    good = msgs[1]
    flipped = good[:12] + format(int(good[12], 16) ^ 0x4, "X") + good[13:]
    batch = ModeSDecoder().decode_messages([good, flipped, "ZZ" * 14, "8D40"], [0.0, 0.0, 0.0, 0.0])
    assert batch.rejects == {Reject.BAD_CRC: 1, Reject.BAD_FRAME: 2}
    assert len(batch.positions) == 0 and batch.lines == 4
    no_time = ModeSDecoder().decode_messages([good, good], [math.nan, 1.0])
    assert no_time.rejects == {Reject.BAD_VALUE: 1}
    short = ModeSDecoder().decode_messages([good, good], [1.0])
    assert short.rejects == {Reject.BAD_FRAME: 2}


def test_emergency_squawk_from_df5_becomes_static_row() -> None:
    id7700 = (1 << 7) | (1 << 9) | (1 << 11) | (1 << 1) | (1 << 3) | (1 << 5)
    df5 = _frame_with_parity(((5 << 27) | id7700).to_bytes(4, "big"), 0x406B90)
    oracle = pms.decode(df5)
    assert oracle["icao"] == "406B90" and oracle["squawk"] == "7700"
    dec = ModeSDecoder()
    early = dec.decode_messages([df5], [0.0])  # address not yet confirmed by a CRC-checked frame
    assert early.rejects == {Reject.BAD_CRC: 1} and len(early.statics) == 0
    msgs, times = _csv_messages()
    later = dec.decode_messages([IDENT_406B90, df5] + msgs[:20], np.r_[1.0, 2.0, times[:20] * 0 + 3.0])
    assert list(later.statics["squawk"]) == [-1, 7700]
    assert list(later.statics["name"]) == ["EZY85MH", "EZY85MH"]
    assert later.statics["msg_type"][1] == 105
    assert (later.positions["squawk"] == 7700).all() and len(later.positions) > 0


# --- Beast -----------------------------------------------------------------------------------


def test_beast_sample_all_frames_and_df_histogram() -> None:
    data = _need(BEAST_FILE).read_bytes()
    frames = BeastFramer().feed(data)
    assert frames.count == 239 and len(frames.frames) == 239 and frames.rejects == {}
    dfs, counts = np.unique(frames.frames[:, 0] >> 3, return_counts=True)
    assert dict(zip(dfs.tolist(), counts.tolist(), strict=False)) == EXPECTED_DF
    for row, nb in zip(
        frames.frames, frames.nbytes, strict=False
    ):  # every frame is a valid Mode S frame for pyModeS
        assert pms.decode(_hex(row, int(nb)))["df"] in EXPECTED_DF
    dec = BeastDecoder()
    batch = dec.decode(data, 1_700_000_000.0)
    assert batch.lines == 239
    assert {i: int(c) for i, c in enumerate(dec.modes.df_counts) if c} == EXPECTED_DF
    # 6 address/parity replies arrive before any CRC-checked frame of their address
    assert batch.rejects == {Reject.BAD_CRC: 6}
    assert set(batch.statics["name"]) >= {"TRA89M"}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_beast_random_pieces_same_as_whole(seed: int) -> None:
    data = _need(BEAST_FILE).read_bytes()
    whole = BeastDecoder().decode(data, 5.0)
    rng = np.random.default_rng(seed)
    dec = BeastDecoder()
    parts = []
    pos = 0
    while pos < len(data):
        step = int(rng.integers(1, 40))
        parts.append(dec.decode(data[pos : pos + step], 5.0))
        pos += step
    merged = parts[0].concat(parts)
    assert _same(merged.positions, whole.positions)
    assert _same(merged.statics, whole.statics)
    assert merged.rejects == whole.rejects and merged.lines == whole.lines == 239


def test_beast_escaping_and_garbage() -> None:
    msg = bytes.fromhex(IDENT_406B90)
    ts = bytes([0x00, 0x1A, 0x00, 0x00, 0x1A, 0x01])  # MLAT ticks containing the marker byte
    escaped = b"\x1a3" + ts.replace(b"\x1a", b"\x1a\x1a") + b"\x1a\x1a" + msg  # RSSI byte 0x1a too
    framer = BeastFramer()
    out = framer.feed(b"junk\x00" + escaped + b"\x1a9xx" + escaped)
    assert out.count == 2
    assert _hex(out.frames[0], 14) == IDENT_406B90 and _hex(out.frames[1], 14) == IDENT_406B90
    assert out.mlat_ticks[0] == int.from_bytes(ts, "big") and out.signal[0] == 0x1A
    assert out.rejects == {Reject.BAD_FRAME: 2}  # one garbage run before each good frame
    cut = framer.feed(escaped[:9])
    assert cut.count == 0 and cut.rejects == {}
    rest = framer.feed(escaped[9:])
    assert rest.count == 1 and _hex(rest.frames[0], 14) == IDENT_406B90


# --- AVR -------------------------------------------------------------------------------------


def test_avr_lines_same_as_hex() -> None:
    msgs, _ = _csv_messages()
    msgs = msgs[:300]
    ref = ModeSDecoder().decode_messages(msgs, np.full(len(msgs), 7.0))
    lines = []
    for i, m in enumerate(msgs):
        lines.append(
            f"*{m};" if i % 3 == 0 else (f"@0000ABCDEF12{m};" if i % 3 == 1 else f"<0000ABCDEF1280{m};")
        )
    lines += ["", "# comment", "*8D406B;", "*0123;", "@00;", "*" + "Q" * 28 + ";"]
    batch = AvrDecoder().decode(("\n".join(lines) + "\n").encode(), 7.0)
    assert _same(batch.positions, ref.positions)
    assert batch.lines == len(lines)
    assert batch.rejects == {Reject.BLANK: 1, Reject.COMMENT: 1, Reject.BAD_FRAME: 3, Reject.UNKNOWN_TYPE: 1}


# --- never raise -----------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=6))
def test_random_bytes_never_raise(chunks: list[bytes]) -> None:
    beast, avr = BeastDecoder(), AvrDecoder()
    for chunk in chunks:
        for dec in (beast, avr):
            b = dec.decode(chunk, 1.0)
            assert all(v > 0 for v in b.rejects.values())
            assert b.internal_errors == 0  # bad input is never counted as a bug
        mixed = b"\x1a3" + chunk + b"\x1a2" + chunk
        beast.decode(mixed, 1.0)
        avr.decode(b"*" + chunk.hex().encode() + b";\n@" + chunk + b"\n", 1.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="0123456789ABCDEF", min_size=14, max_size=14), max_size=20))
def test_random_hex_frames_never_raise(hexes: list[str]) -> None:
    dec = ModeSDecoder()
    longs = [h + h for h in hexes]
    b = dec.decode_messages(hexes + longs, np.arange(2 * len(hexes), dtype=float))
    assert b.lines == 2 * len(hexes) and b.internal_errors == 0
    assert len(b.positions) <= len(hexes) * 2


# --- every real recording with raw frames, frame by frame, against pyModeS ----------------------

RAW_RECORDINGS = (
    "pymodes_sample_data_adsb.csv",
    "pymodes_sample_data_commb_df20.csv",
    "pymodes_sample_data_commb_df21.csv",
    "traffic_sample_dump1090_beast.bin",
)
BEAST_REFERENCE = (43.65, 1.23)  # the Beast capture's aircraft is near Toulouse (well within 180 NM)


def _raw_frames(name: str) -> list[str]:
    path = _need(SHARED / name)
    if path.suffix == ".bin":
        out = BeastFramer().feed(path.read_bytes())
        return [_hex(row, int(nb)) for row, nb in zip(out.frames, out.nbytes, strict=True)]
    col = 1 if name.endswith("_adsb.csv") else 2
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [row[col].strip().upper() for row in csv.reader(fh)]


@pytest.mark.parametrize("name", RAW_RECORDINGS)
def test_every_frame_of_every_raw_recording_agrees_with_pymodes(name: str) -> None:
    msgs = _raw_frames(name)
    frames, nbytes, ok = hex_to_frames(msgs)
    assert ok.all() and len(msgs) >= 239
    f = extract_fields(frames, nbytes)
    checked: dict[str, int] = {}

    def check(what: str, good: bool, i: int) -> None:
        assert good, (name, i, msgs[i], what)
        checked[what] = checked.get(what, 0) + 1

    for i, m in enumerate(msgs):
        d = pms.decode(m)
        check("df", int(f.df[i]) == min(int(d["df"]), 24), i)
        check("icao", int(f.icao[i]) & 0xFFFFFF == int(d["icao"], 16), i)
        tc = d.get("typecode")
        es = d["df"] in (17, 18)
        if d.get("altitude") is not None and (not es or 9 <= tc <= 18):
            check("altitude", float(f.alt[i]) == d["altitude"], i)
        if d.get("squawk") is not None:
            check("squawk", int(f.squawk[i]) == int(d["squawk"]), i)
        if es and 1 <= tc <= 4:
            check("callsign", f.callsign[i] == d["callsign"], i)
        if es and 9 <= tc <= 18:
            check(
                "cpr",
                (f.cpr_lat[i], f.cpr_lon[i], f.cpr_odd[i]) == (d["cpr_lat"], d["cpr_lon"], d["cpr_format"]),
                i,
            )
        if es and tc == 19 and d.get("groundspeed") is not None:
            gs_ok = abs(f.gs[i] - d["groundspeed"]) < 1.0 and abs(f.track[i] - d["track"]) < 1e-3
            check("velocity", gs_ok and f.vrate[i] == d["vertical_rate"], i)
    assert checked["df"] == checked["icao"] == len(msgs)
    assert checked.get("altitude", 0) + checked.get("squawk", 0) > len(msgs) // 3, checked


def test_beast_positions_agree_with_pymodes() -> None:
    data = _need(BEAST_FILE).read_bytes()
    msgs = _raw_frames(BEAST_FILE.name)
    batch = BeastDecoder(reference=BEAST_REFERENCE).decode(data, 5.0)
    assert len(batch.positions) == 3
    oracle = [pms.decode(m, reference=BEAST_REFERENCE) for m in msgs]
    found = [(d["latitude"], d["longitude"]) for d in oracle if d.get("latitude") is not None]
    k = 0  # rows in frame order, each the pyModeS position of a later airborne-position frame
    for row in batch.positions:
        while k < len(found) and not (
            abs(found[k][0] - row["lat"]) < 1e-6 and abs(found[k][1] - row["lon"]) < 1e-6
        ):
            k += 1
        assert k < len(found), f"row {row} matches no pyModeS position"
        k += 1
