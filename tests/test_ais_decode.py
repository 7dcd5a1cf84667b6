"""AIS decoder against pyais on the real recordings, plus hand-written edge cases."""

from __future__ import annotations

import calendar
import gzip
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais import encode_dict
from pyais.exceptions import AISBaseException
from pyais.messages import MessageType6Dac1Fid25, _decode_dangerous_cargos
from pyais.stream import IterMessages

from mdacentre.decode.ais import AisDecoder, decode_file
from mdacentre.decode.ais.nmea import xor_checksum
from mdacentre.model.batch import TrackKind, make_key
from mdacentre.model.mid import flag_states, invalid_mmsi
from mdacentre.model.rejects import Reject

REPO = Path(__file__).resolve().parents[1]
AIS_DIR = REPO.parent / "shared" / "data" / "ais"
NMEA_FILES = sorted(p for p in AIS_DIR.glob("*") if p.suffix != ".csv") if AIS_DIR.is_dir() else []
needs_data = pytest.mark.skipif(not AIS_DIR.is_dir(), reason=f"shared test data not found at {AIS_DIR}")
TRAILER = re.compile(rb"(\*[0-9A-Fa-f]{2}),[^\\]*$")
GLUED = re.compile(rb"(?<=\*[0-9A-F]{2})(?=\\[a-z]:)")
ARMOR = set(range(48, 88)) | set(range(96, 120))
# what pyais raises on payloads it cannot decode (the reference skips those messages)
PYAIS_FAILURES = (
    AISBaseException,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
)
# rejects under which a message that pyais still decodes may legitimately be missing from our rows
LOSSY = ("bad_checksum", "decode_error", "bad_value", "orphan_fragment", "bad_tag_block", "not_nmea",
         "bad_fragment", "too_long", "duplicate")  # fmt: skip


def _nan(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, float | np.floating) and math.isnan(x):
        return None
    return round(float(x), 3) if isinstance(x, float | np.floating) else x


def _pos_key(*fields: Any) -> tuple[Any, ...]:
    return tuple(_nan(f) for f in fields)


# ---------------------------------------------------------------- pyais reference (independent mapping)


def _ref_position(m: Any) -> tuple[Any, ...] | None:
    t = m.msg_type
    lat, lon = m.lat, m.lon
    if lat is None or lon is None or lat == 91 or lon == 181:
        lat = lon = None
    elif abs(lat) > 90 or abs(lon) > 180:
        return None  # we reject these as bad_value
    sog = cog = heading = alt = None
    nav = -1
    if t in (1, 2, 3, 18, 19):
        sog = None if m.speed in (None, 102.3) else m.speed
        cog = None if m.course is None or m.course >= 360 else m.course
        heading = None if m.heading is None or m.heading >= 360 else m.heading
        nav = int(m.status) if t <= 3 and m.status is not None else -1
    elif t == 27:
        sog = None if m.speed in (None, 63) else m.speed
        cog = None if m.course is None or m.course >= 360 else m.course
        nav = int(m.status)
    elif t == 9:
        sog = None if m.speed in (None, 1023) else m.speed
        cog = None if m.course is None or m.course >= 360 else m.course
        alt = None if m.alt in (None, 4095) else m.alt * 0.3048**-1
    return _pos_key(t, m.mmsi, lat, lon, sog, cog, heading, nav, alt)


def _clean(s: str | None) -> str:
    return (s or "").rstrip("@ ").strip()


def _dims(m: Any) -> tuple[float | None, float | None]:
    length = m.to_bow + m.to_stern if m.to_bow is not None and m.to_stern is not None else 0
    beam = m.to_port + m.to_starboard if m.to_port is not None and m.to_starboard is not None else 0
    return (length or None), (beam or None)


def _stype(v: Any) -> int:
    return int(v) if v is not None and 1 <= int(v) <= 99 else -1


def _imdg(cargos: list[dict[str, Any]]) -> float | None:
    for c in cargos:
        packed = c.get("imdg", 0) if c["code"] in (1, 3) else 0
        if 1 <= packed >> 3 <= 9:
            return (packed >> 3) + (packed & 7) / 10
    return None


def _ref_static(m: Any) -> tuple[Any, ...] | None:
    t = m.msg_type
    name = callsign = dest = eta = ""
    imo, stype, length, beam, draught, imdg = 0, -1, None, None, None, None
    if t == 5:
        name, callsign, dest = _clean(m.shipname), _clean(m.callsign), _clean(m.destination)
        imo, stype, draught = m.imo or 0, _stype(m.ship_type), (m.draught or None)
        length, beam = _dims(m)
        if None not in (m.month, m.day, m.hour, m.minute) and (m.month, m.day, m.hour, m.minute) != (
            0,
            0,
            24,
            60,
        ):
            eta = f"{m.month:02d}-{m.day:02d} {m.hour:02d}:{m.minute:02d}"
    elif t == 19:
        name, stype = _clean(m.shipname), _stype(m.ship_type)
        length, beam = _dims(m)
    elif t == 21:
        name = _clean(_clean(m.name) + _clean(m.name_ext))[:20]
        length, beam = _dims(m)
    elif t == 24 and m.partno == 0:
        name = _clean(m.shipname)
    elif t == 24:
        stype, callsign = _stype(m.ship_type), _clean(m.callsign)
        if not 980_000_000 <= m.mmsi < 990_000_000:
            length, beam = _dims(m)
    elif isinstance(m, MessageType6Dac1Fid25):
        imdg = _imdg(m.cargos)
    elif t == 8 and m.dac == 1 and m.fid == 25:
        bits = int.from_bytes(m.data, "big")
        nbits = len(m.data) * 8
        rest = bits & ((1 << (nbits - 12)) - 1)  # drop unit and amount (12 bits)
        imdg = _imdg(_decode_dangerous_cargos(rest.to_bytes(len(m.data), "big")[: (nbits - 12) // 8 + 1]))
    else:
        return None
    if t in (6, 8) and imdg is None:
        return None
    return _pos_key(
        t, m.mmsi, name[:20], callsign[:7], imo, stype, length, beam, draught, dest[:20], eta, imdg
    )


def _pyais_sentences(path: Path) -> IterMessages:
    """pyais' own stream over the file, after two repairs pyais does not do itself: USCG/exactEarth
    fields after the checksum are dropped (pyais would read them as the checksum) and sentences glued
    onto one line are split."""
    lines: list[bytes] = []
    for line in path.read_bytes().splitlines():
        lines.extend(GLUED.split(TRAILER.sub(rb"\1", line.strip())))
    return IterMessages(lines)


def pyais_rows(path: Path) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]], int]:
    """Positions and statics that pyais decodes from ``path`` (checksum-valid sentences only)."""
    positions: Counter[tuple[Any, ...]] = Counter()
    statics: Counter[tuple[Any, ...]] = Counter()
    decoded = 0
    for sentence in _pyais_sentences(path):
        if not sentence.is_valid or any(c not in ARMOR for c in sentence.payload):
            continue
        try:
            m = sentence.decode()
        except PYAIS_FAILURES:
            continue
        decoded += 1
        if m.msg_type in (1, 2, 3, 4, 9, 11, 18, 19, 21, 27):
            row = _ref_position(m)
            if row is not None:
                positions[row] += 1
        srow = _ref_static(m)
        if srow is not None:
            statics[srow] += 1
    return positions, statics, decoded


def our_rows(path: Path) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]], AisDecoder, int]:
    dec = AisDecoder()
    b = dec.decode(path.read_bytes(), 1.7e9)
    tail = dec.flush(math.inf)
    p, s = b.positions, b.statics
    positions = Counter(
        _pos_key(*r)
        for r in zip(p["msg_type"].tolist(), p["ident"].tolist(), p["lat"], p["lon"], p["sog"], p["cog"],
                     p["heading"], p["nav_status"].tolist(), p["alt_ft"], strict=True)
    )  # fmt: skip
    statics = Counter(
        _pos_key(*r)
        for r in zip(s["msg_type"].tolist(), s["ident"].tolist(), s["name"].tolist(), s["callsign"].tolist(),
                     s["imo"].tolist(), s["ship_type"].tolist(), s["length_m"], s["beam_m"], s["draught_m"],
                     s["destination"].tolist(), s["eta"].tolist(), s["imdg_class"], strict=True)
    )  # fmt: skip
    assert not tail.positions.size and tail.lines == 0
    return positions, statics, dec, b.lines


@needs_data
@pytest.mark.parametrize("path", NMEA_FILES, ids=[p.name for p in NMEA_FILES])
def test_agrees_with_pyais_and_counts_every_line(path: Path) -> None:
    ref_pos, ref_stat, _ = pyais_rows(path)
    pos, stat, dec, lines = our_rows(path)
    # every row we produce is a row pyais decodes, field for field
    assert not (pos - ref_pos), f"positions not in pyais: {list((pos - ref_pos).items())[:3]}"
    extra = stat - ref_stat
    if path.name == "gfw_aistools_bad-type5.nmea":
        # the first glued pair mixes talkers ABVDM/AIVDM from one tag-block source: pyais keys fragments
        # by talker and drops it, we key them by source and keep it
        assert [k[:3] for k in extra] == [(5, 255917000, "IVER ACTION")] and len(stat) == 3
        extra = Counter()
    assert not extra, f"statics not in pyais: {list(extra.items())[:3]}"
    # what pyais has and we lack is explained by our rejects (e.g. a 2nd sentence seen as orphan)
    missing = sum((ref_pos - pos).values()) + sum((ref_stat - stat).values())
    lossy = sum(dec.outcomes[r] for r in LOSSY)
    assert missing <= 2 * lossy, (missing, dict(dec.outcomes))
    # every line is accounted for exactly once
    physical = path.read_bytes().count(b"\n") + (0 if path.read_bytes().endswith(b"\n") else 1)
    assert lines == physical + dec.repaired_lines
    assert sum(dec.outcomes.values()) == lines and dec.pending_lines == 0


@needs_data
def test_clean_files_match_pyais_exactly() -> None:
    for name in ("amsa_risky_exact-earth-with-tag-block.txt", "dma_aislib_stream_example.txt",
                 "docker-gpsd-timestamp_norwegian.raw", "gpsd_ais-nmea-type6-fid55.log"):  # fmt: skip
        ref_pos, ref_stat, _ = pyais_rows(AIS_DIR / name)
        pos, stat, _, _ = our_rows(AIS_DIR / name)
        assert pos == ref_pos and stat == ref_stat, name
        assert sum(pos.values()) > 100


@needs_data
def test_amsa_distinct_mmsi_with_position_equals_pyais() -> None:
    path = AIS_DIR / "amsa_risky_ais.txt"
    ref = set()
    for sentence in _pyais_sentences(path):
        try:
            m: Any = sentence.decode()
        except PYAIS_FAILURES:
            continue
        lat, lon = getattr(m, "lat", None), getattr(m, "lon", None)
        if sentence.is_valid and lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
            ref.add(m.mmsi)
    b = AisDecoder().decode(path.read_bytes(), 0.0)
    ok = ~np.isnan(b.positions["lat"])
    ours = set(b.positions["ident"][ok].tolist())
    assert ours == ref
    assert len(ours) == 1729  # pinned: the end-to-end replay test checks this number again


@needs_data
def test_decode_file_chunks_gz_and_mtime(tmp_path: Path) -> None:
    src = AIS_DIR / "gpsd_ais-nmea-type6-fid55.log"
    gz = tmp_path / "x.nmea.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    whole = AisDecoder().decode(src.read_bytes(), 0.0)
    batches = list(decode_file(gz, chunk_bytes=4000))
    assert len(batches) > 10
    joined = np.concatenate([b.positions for b in batches])
    assert len(joined) == len(whole.positions)  # multi-part messages survive chunk borders
    assert np.all(joined["t"] == gz.stat().st_mtime)  # no time in this file -> mtime
    assert sum(b.lines for b in batches) == whole.lines


@needs_data
def test_exact_earth_time_and_groups() -> None:
    b = AisDecoder().decode((AIS_DIR / "amsa_risky_exact-earth-with-tag-block.txt").read_bytes(), 0.0)
    assert len(b.statics) == 21 and set(b.statics["msg_type"].tolist()) == {5}
    assert b.positions["t"].min() >= 1326088000 and b.positions["t"].max() <= 1334361000
    assert np.all(b.positions["key"] == make_key(b.positions["kind"], b.positions["ident"]))


@needs_data
def test_gatehouse_times_in_dma_stream() -> None:
    b = AisDecoder().decode((AIS_DIR / "dma_aislib_stream_example.txt").read_bytes(), 0.0)
    t = b.positions["t"]
    lo, hi = calendar.timegm((2010, 6, 11, 11, 46, 0)), calendar.timegm((2010, 6, 11, 11, 47, 0))
    assert np.all((t >= lo) & (t < hi))


# ---------------------------------------------------------------- hand-written cases


def nmea(body: str, tag: str = "", trailer: str = "") -> bytes:
    out = f"!{body}*{xor_checksum(body.encode()):02X}{trailer}"
    if tag:
        out = f"\\{tag}*{xor_checksum(tag.encode()):02X}\\" + out
    return out.encode()


POS = "AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0"  # type 1, MMSI 366053209
T5_1 = "AIVDM,2,1,3,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0"
T5_2 = "AIVDM,2,2,3,A,88888888880,2"


def test_tag_block_seconds_and_milliseconds() -> None:
    dec = AisDecoder()
    b = dec.decode(nmea(POS, "c:1420030798") + b"\n" + nmea(POS, "s:x,c:1420030798123"), 5.0)
    assert b.positions["t"].tolist() == [1420030798.0, 1420030798.123]
    assert b.positions["ident"].tolist() == [366053209, 366053209]


def _pghp(second: int) -> bytes:
    body = f"PGHP,1,2010,6,11,11,46,{second},390,231,45,992190934,1,00"
    return f"${body}*{xor_checksum(body.encode()):02X}".encode()


def test_pghp_time_and_trailer_time() -> None:
    # a header applies to the next sentence only; a trailing epoch is used when there is no header
    data = b"\r\n".join([_pghp(11), nmea(POS), nmea(POS), _pghp(20), nmea(POS, trailer=",b003669794,1272412827"),
                          nmea(POS, trailer=",b003669794,1272412827")])  # fmt: skip
    dec = AisDecoder()
    b = dec.decode(data, 7.0)
    base = calendar.timegm((2010, 6, 11, 11, 46, 0)) + 0.39
    assert b.positions["t"].tolist() == pytest.approx([base + 11, 7.0, base + 20, 1272412827.0])
    assert dec.outcomes["header"] == 2 and dec.heard_by["b003669794"] == 2


def test_orphan_fragment_timeout() -> None:
    dec = AisDecoder(fragment_timeout_s=60.0)
    b1 = dec.decode(nmea(T5_1), 0.0)
    assert len(b1.statics) == 0 and dec.pending_lines == 1
    b2 = dec.decode(nmea(POS), 30.0)
    assert len(b2.positions) == 1 and dec.pending_lines == 1
    assert dec.flush(59.0).rejects == {}
    f = dec.flush(61.0)
    assert f.rejects == {Reject.ORPHAN_FRAGMENT: 1} and dec.pending_lines == 0
    # a second part that arrives after the expiry is an orphan too
    dec.decode(nmea(T5_2), 62.0)
    assert dec.flush(200.0).rejects == {Reject.ORPHAN_FRAGMENT: 1}
    assert sum(dec.outcomes.values()) == 3


def test_interleaved_fragments_and_g_groups() -> None:
    other_1 = T5_1.replace(",3,A,", ",4,A,")
    other_2 = T5_2.replace(",3,A,", ",4,A,")
    data = b"\n".join([nmea(T5_1), nmea(other_1), nmea(POS), nmea(other_2), nmea(T5_2)])
    dec = AisDecoder()
    b = dec.decode(data, 1.0)
    assert len(b.statics) == 2 and len(b.positions) == 1 and dec.outcomes["fragment"] == 2
    # exactEarth: the second sentence carries only g:, the first the source and time
    g1 = nmea(T5_1.replace(",3,A,", ",9,B,"), "g:1-2-3985,s:rEV02,c:1334337317")
    g2 = nmea(T5_2.replace(",3,A,", ",9,B,"), "g:2-2-3985")
    dec = AisDecoder()
    b = dec.decode(b"\n".join([g1, nmea(POS, "s:rEV03,c:1334337318"), g2]), 1.0)
    assert len(b.statics) == 1 and b.statics["t"][0] == 1334337317.0
    assert b.statics["name"][0] != "" and dec.heard_by["rEV02"] == 1


def test_dedup_across_stations() -> None:
    a = nmea(POS, "s:STA,c:1000")
    b_ = nmea(POS, "s:STB,c:1001")
    late = nmea(POS, "s:STC,c:1100")
    dec = AisDecoder(dedup_window_s=10.0)
    out = dec.decode(b"\n".join([a, b_, late]), 0.0)
    assert len(out.positions) == 2 and out.rejects == {Reject.DUPLICATE: 1}
    assert dec.duplicates_by == Counter({"STB": 1})
    assert dec.heard_by == Counter({"STA": 1, "STB": 1, "STC": 1})
    assert len(AisDecoder().decode(b"\n".join([a, b_, late]), 0.0).positions) == 3


def test_bad_checksum_and_garbage_are_counted() -> None:
    bad = nmea(POS)[:-2] + b"00"
    data = b"\n".join(
        [bad, b"", b"# note", b"$GPGGA,1,2*00", b"\x00\xffjunk", b"!AIVDM,1,1,,A,,0*26", nmea(POS)]
    )
    dec = AisDecoder()
    b = dec.decode(data, 0.0)
    assert len(b.positions) == 1 and b.lines == 7
    assert b.rejects == {"bad_checksum": 1, "blank": 1, "comment": 1, "other_nmea": 1, "not_nmea": 1,
                         "empty_payload": 1}  # fmt: skip


def _encoded(fields: dict[str, Any]) -> bytes:
    return "\n".join(encode_dict(fields, radio_channel="A", talker_id="AIVDM"[:2])).encode()


def test_unavailable_values_and_ranges() -> None:
    dec = AisDecoder()
    na = _encoded({"type": 1, "mmsi": 316001234, "lat": 91, "lon": 181, "speed": 102.3, "course": 360,
                   "heading": 511, "status": 15})  # fmt: skip
    b = dec.decode(na, 0.0)
    r = b.positions[0]
    assert all(math.isnan(r[f]) for f in ("lat", "lon", "sog", "cog", "heading")) and r["nav_status"] == 15
    bad = _encoded({"type": 1, "mmsi": 316001234, "lat": 95.5, "lon": 10})
    assert dec.decode(bad, 0.0).rejects == {Reject.BAD_VALUE: 1}


def test_sar_aircraft_altitude_and_type27() -> None:
    dec = AisDecoder()
    b = dec.decode(_encoded({"type": 9, "mmsi": 111232500, "alt": 1000, "speed": 140, "lat": 18.0, "lon": -76.8,
                             "course": 90.0}), 0.0)  # fmt: skip
    r = b.positions[0]
    assert r["kind"] == TrackKind.SAR_AIRCRAFT and r["alt_ft"] == pytest.approx(3280.84, abs=0.01)
    assert r["sog"] == 140 and r["cog"] == 90
    b = dec.decode(_encoded({"type": 27, "mmsi": 316001234, "lat": 18.1, "lon": -76.5, "speed": 63,
                             "course": 511, "status": 0}), 0.0)  # fmt: skip
    r = b.positions[0]
    assert math.isnan(r["sog"]) and math.isnan(r["cog"]) and r["lat"] == pytest.approx(18.1, abs=1e-3)


def test_statics_type5_24_and_cargo() -> None:
    dec = AisDecoder()
    t5 = _encoded({"type": 5, "mmsi": 316001234, "shipname": "CARIB STAR", "callsign": "VCX12", "imo": 9123456,
                   "ship_type": 80, "to_bow": 100, "to_stern": 20, "to_port": 10, "to_starboard": 12,
                   "draught": 7.5, "destination": "KINGSTON", "month": 3, "day": 4, "hour": 5, "minute": 6})  # fmt: skip
    s = dec.decode(t5, 0.0).statics[0]
    assert (s["name"], s["callsign"], s["imo"], s["ship_type"]) == ("CARIB STAR", "VCX12", 9123456, 80)
    assert (s["length_m"], s["beam_m"], s["draught_m"]) == (120, 22, 7.5)
    assert (s["destination"], s["eta"]) == ("KINGSTON", "03-04 05:06")
    aux = _encoded({"type": 24, "mmsi": 982191234, "partno": 1, "ship_type": 52, "callsign": "AB",
                    "mothership_mmsi": 219123456})  # fmt: skip
    s = dec.decode(aux, 0.0).statics[0]
    assert s["ship_type"] == 52 and math.isnan(s["length_m"])
    # type 8, DAC 1 FI 25: unit 1, amount 12, one IMDG record class 2 division 1
    bits = (1 << 10) | 12
    bits = (bits << 17) | (1 << 13) | (((2 << 3) | 1) << 6)
    data = (bits << (40 - 29)).to_bytes(5, "big")  # 29 bits of content, left-aligned in 40 bits
    cargo = _encoded({"type": 8, "mmsi": 316001234, "dac": 1, "fid": 25, "data": data})
    s = dec.decode(cargo, 0.0).statics
    assert len(s) == 1 and s[0]["imdg_class"] == pytest.approx(2.1)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=90) | st.sampled_from([nmea(POS), nmea(T5_1), nmea(T5_2), b"$PGHP,1"]),
                max_size=30))  # fmt: skip
def test_random_bytes_never_raise_and_are_counted(chunks: list[bytes]) -> None:
    dec = AisDecoder()
    data = b"\n".join(c.replace(b"\n", b" ") for c in chunks)
    b = dec.decode(data, 0.0)
    dec.flush(math.inf)
    assert sum(dec.outcomes.values()) == b.lines
    assert b.internal_errors == 0  # bad input is never counted as a bug


def test_flag_states_and_invalid_mmsi() -> None:
    mmsi = np.array(
        [339123456, 2190001, 111232500, 993091234, 970123456, 123456789, 306012345, 1_000_000_000]
    )
    assert flag_states(mmsi).tolist() == ["JM", "DK", "GB", "BS", "", "", "NL", ""]
    assert invalid_mmsi(mmsi).tolist() == [False, False, False, False, False, True, False, True]


# ---------------------------------------------------------------- NumPy fast path inside the decoder


@needs_data
@pytest.mark.parametrize("path", NMEA_FILES, ids=lambda p: p.name)
def test_fast_path_changes_nothing_but_speed(path: Path) -> None:
    """The decoder with its NumPy fast path gives the same rows, order, counts and stations as without."""
    data = path.read_bytes()
    chunks = [data[i : i + 20_000] for i in range(0, len(data), 20_000)]
    # cut on line ends, as the ingest framer does
    whole, carry = [], b""
    for c in chunks:
        c = carry + c
        cut = c.rfind(b"\n") + 1
        whole.append(c[:cut])
        carry = c[cut:]
    whole.append(carry)
    fast, slow = AisDecoder(), AisDecoder(fast=False)
    for n, chunk in enumerate(whole):
        a, b = fast.decode(chunk, 1000.0 + n), slow.decode(chunk, 1000.0 + n)
        assert a.rejects == b.rejects
        assert a.positions.dtype == b.positions.dtype and len(a.positions) == len(b.positions)
        for name in a.positions.dtype.names or ():
            np.testing.assert_array_equal(a.positions[name], b.positions[name], err_msg=name)
        assert len(a.statics) == len(b.statics)
        for name in a.statics.dtype.names or ():
            np.testing.assert_array_equal(a.statics[name], b.statics[name], err_msg=name)
    assert fast.outcomes == slow.outcomes
    assert fast.heard_by == slow.heard_by
    assert fast.tag_checksum_mismatch == slow.tag_checksum_mismatch
    if path.name == "amsa_risky_ais.txt":
        assert fast.fast_lines > 0.7 * slow.outcomes["message"]


def test_header_scope_ends_at_any_next_line_with_or_without_fast_path() -> None:
    gga = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"
    data = b"\n".join([gga, _pghp(11), gga, nmea(POS), _pghp(20), nmea(POS), gga, nmea(POS)])
    base = calendar.timegm((2010, 6, 11, 11, 46, 0)) + 0.39
    for fast in (True, False):
        dec = AisDecoder(fast=fast)
        b = dec.decode(data, 7.0)
        assert b.positions["t"].tolist() == pytest.approx([7.0, base + 20, 7.0]), fast
        assert b.rejects == {Reject.OTHER_NMEA: 3} and dec.outcomes["header"] == 2


@pytest.mark.parametrize(
    "chunks",
    [
        [[T5_1], [T5_1, T5_2]],  # a new part 1 under the key of a waiting part 1: the old one is orphaned
        [[T5_1], [T5_2, T5_1, T5_2]],  # the waiting message completes, then a whole pair
        [[T5_1, T5_2, T5_2]],  # a pair, then a part 2 alone
        [[T5_1, T5_1.replace("AIVDM", "AIVDO"), T5_2]],  # VDM and VDO parts never pair
        [[T5_1, POS, T5_1, T5_2, T5_2]],  # a waiting part 1 in the same chunk is orphaned by the pair
        [[T5_2, POS, T5_1, T5_2]],  # a lone part 2 waits; the next part 1 completes it
        [[T5_1, POS, T5_1, T5_2], [T5_2]],
    ],
    ids=[
        "collision",
        "completion",
        "lone-part-2",
        "vdm-vdo",
        "same-chunk-part-1",
        "same-chunk-part-2",
        "then-part-2",
    ],
)
def test_two_sentence_pairs_follow_the_general_path(chunks: list[list[str]]) -> None:
    fast, slow = AisDecoder(), AisDecoder(fast=False)
    for n, chunk in enumerate(chunks):
        data = b"\n".join(nmea(s) for s in chunk)
        a, b = fast.decode(data, 10.0 + n), slow.decode(data, 10.0 + n)
        assert a.rejects == b.rejects
        assert len(a.statics) == len(b.statics)
        for name in a.statics.dtype.names or ():
            np.testing.assert_array_equal(a.statics[name], b.statics[name], err_msg=name)
    fast.flush(1e6)
    slow.flush(1e6)
    assert fast.outcomes == slow.outcomes and fast.outcomes["message"] >= 1


def _tagged(inner: str, checksum: str | None = None) -> bytes:
    """A position sentence behind the tag block ``\\inner*hh\\`` (the right checksum unless given)."""
    digits = checksum if checksum is not None else f"{xor_checksum(inner.encode()):02X}"
    return b"\\" + inner.encode() + (b"*" + digits.encode() if digits else b"") + b"\\" + nmea(POS)


@pytest.mark.parametrize(
    "line",
    [
        _tagged("s:rBase,c:1700000000"),
        _tagged("c:1700000000123,s:2573145"),
        _tagged("s:rBase,c:1700000000", checksum="00"),  # wrong tag checksum: counted, still used
        _tagged("c:1700000000", checksum=""),  # no checksum: the general path refuses the block
        _tagged("c:1700000000", checksum="4"),  # one-digit checksum
        _tagged("s:a*b,c:1700000000"),  # a second '*': the last one closes the body
        _tagged("s:a,s:b,c:1700000000"),  # repeated s: the last one wins
        _tagged("c:1,c:1700000000"),  # repeated c:
        _tagged("c:100000000000"),  # exactly the seconds/milliseconds threshold
        _tagged("c:100000000001"),
        _tagged("x,c:1700000000"),  # an item without a key
        _tagged(":y,c:1700000000"),  # an empty key
        _tagged(",c:1700000000"),  # an empty item
        _tagged("c:17000.5"),  # a time that is not an integer
        _tagged("c:1700000000,s:"),  # an empty station
        _tagged("n:3,d:dest,c:1700000000,s:st:1"),  # other keys, a ':' inside a value
        _tagged(""),  # an empty body
    ],
)
def test_tag_blocks_read_alike_with_and_without_fast_path(line: bytes) -> None:
    """Every tag block is read by the fast path exactly as the general path reads it, or left to it."""
    fast, slow = AisDecoder(), AisDecoder(fast=False)
    data = b"\n".join([line, nmea(POS), line])
    a, b = fast.decode(data, 7.0), slow.decode(data, 7.0)
    assert a.rejects == b.rejects
    assert a.positions["t"].tolist() == b.positions["t"].tolist()
    assert fast.outcomes == slow.outcomes
    assert fast.heard_by == slow.heard_by
    assert fast.tag_checksum_mismatch == slow.tag_checksum_mismatch


def _armour(bits: str) -> tuple[str, int]:
    """A bit string as an AIS payload and its fill bits."""
    fill = -len(bits) % 6
    bits += "0" * fill
    chars = []
    for i in range(0, len(bits), 6):
        v = int(bits[i : i + 6], 2)
        chars.append(chr(v + 48 if v < 40 else v + 56))
    return "".join(chars), fill


@pytest.mark.parametrize("extra", range(0, 100, 1))
def test_aid_to_navigation_name_extension_of_any_length(extra: int) -> None:
    """Type 21 with 0-99 bits after the fixed 272: name and extension as pyais reads them."""
    rng = np.random.default_rng(extra)
    bits = "".join(rng.choice(["0", "1"], size=272 + extra).tolist())
    bits = "010101" + bits[6:]  # message type 21
    name = "".join(f"{v:06b}" for v in rng.integers(1, 40, size=20))  # letters, digits, blanks
    bits = bits[:43] + name + bits[163:164] + "0" * 55 + bits[219:]  # a valid position (0, 0)
    payload, fill = _armour(bits)
    data = nmea(f"AIVDM,1,1,,A,{payload},{fill}")
    fast, slow = AisDecoder(), AisDecoder(fast=False)
    a, b = fast.decode(data, 1.0), slow.decode(data, 1.0)
    assert fast.fast_lines == 1
    assert a.rejects == b.rejects and fast.outcomes == slow.outcomes
    assert a.statics["name"].tolist() == b.statics["name"].tolist() and len(b.statics) == 1
    for col in ("lat", "lon", "kind", "ident"):
        np.testing.assert_array_equal(a.positions[col], b.positions[col])


@pytest.mark.parametrize(
    "line",
    [
        b"!AIPWR,UNIT=0,POWER=1*05",
        b"!AIALR,120000,001,A,V,AIS: Tx malfunction*05,1700000000,rStation",
        b"!AIPWR,UNIT=0*0",  # one hex digit
        b"!AIPWR,UNIT=0",  # no checksum
        b"!AIPWR,UNIT=0*05x",  # something glued after the checksum
        b"!AB*12",  # no comma: the address runs to the end
        b"!A B,1*12",  # a blank in the address
        b"!TOOLONGX,1*12",
        b"!AIVDX,1,1*12",
        b"!AIVDM,1*12",  # AIS, badly framed
    ],
)
def test_other_bang_sentences_counted_alike_with_and_without_fast_path(line: bytes) -> None:
    fast, slow = AisDecoder(), AisDecoder(fast=False)
    data = b"\n".join([line, nmea(POS), line])
    a, b = fast.decode(data, 7.0), slow.decode(data, 7.0)
    assert a.rejects == b.rejects and fast.outcomes == slow.outcomes
    assert len(a.positions) == len(b.positions) == 1


@pytest.mark.parametrize(
    "trailer",
    [
        ",1327664821",
        ",1327664821123",  # milliseconds
        ",100000000000",  # exactly the seconds/milliseconds threshold
        ",b003669794,1272412827",  # USCG: station, then time
        ",rExactEarth,1272412827,",
        ",12",  # a number that is no time
        ",",
        ",abc",
        ",1e9",
        ",00001327664821",
        ",9999999999999999",  # 16 digits
    ],
)
def test_trailing_fields_read_alike_with_and_without_fast_path(trailer: str) -> None:
    fast, slow = AisDecoder(), AisDecoder(fast=False)
    data = b"\n".join([nmea(POS, trailer=trailer), nmea(POS), nmea(POS, trailer=trailer)])
    a, b = fast.decode(data, 7.0), slow.decode(data, 7.0)
    assert a.rejects == b.rejects and fast.outcomes == slow.outcomes
    assert a.positions["t"].tolist() == b.positions["t"].tolist()
    assert fast.heard_by == slow.heard_by
    assert fast.fast_lines >= 1


@pytest.mark.parametrize("nbits", [168, 300, 311, 312, 318, 400])
def test_extended_class_b_alike_with_and_without_fast_path(nbits: int) -> None:
    """Type 19 of the standard 312 bits (or more) takes the fast path; shorter ones the general path."""
    rng = np.random.default_rng(nbits)
    bits = "".join(rng.choice(["0", "1"], size=nbits).tolist())
    name = "".join(f"{v:06b}" for v in rng.integers(1, 40, size=20))
    bits = "010011" + bits[6:57] + "0" * 55 + bits[112:143] + name + bits[263:]  # type 19 at (0, 0)
    bits = bits[:nbits]
    payload, fill = _armour(bits)
    data = nmea(f"AIVDM,1,1,,B,{payload},{fill}")
    fast, slow = AisDecoder(), AisDecoder(fast=False)
    a, b = fast.decode(data, 1.0), slow.decode(data, 1.0)
    assert fast.fast_lines == (1 if nbits >= 312 else 0)
    assert a.rejects == b.rejects and fast.outcomes == slow.outcomes and fast.heard_by == slow.heard_by
    for got, want in ((a.positions, b.positions), (a.statics, b.statics)):
        assert len(got) == len(want)
        for col in want.dtype.names or ():
            np.testing.assert_array_equal(got[col], want[col], err_msg=col)


def _tb(fields: str, sentence: str, good: bool = True) -> str:
    """A sentence behind a tag block (with a wrong tag checksum unless ``good``)."""
    digits = xor_checksum(fields.encode()) if good else 0
    return f"\\{fields}*{digits:02X}\\" + nmea(sentence).decode()


T5_1B = T5_1.replace(",3,A,", ",4,B,")
T5_2B = T5_2.replace(",3,A,", ",4,B,")


@pytest.mark.parametrize(
    "seq",
    [
        # exactEarth: the second sentence carries only its group
        [_tb("g:1-2-3985,s:rEV02,c:1334337317", T5_1), _tb("g:2-2-3985", T5_2)],
        # interleaved: a single sentence and another group between the parts
        [
            _tb("g:1-2-11,s:A,c:1334337317", T5_1),
            _tb("s:B,c:1334337318", POS),
            _tb("g:1-2-12,s:B,c:1334337318", T5_1B),
            _tb("g:2-2-11,s:A", T5_2),
            _tb("g:2-2-12,s:B", T5_2B, good=False),
        ],
        # by source: the same source pairs across talkers and VDM/VDO; another source does not
        [_tb("s:S1,c:1334337317", T5_1), _tb("s:S2,c:1334337318", T5_2), _tb("s:S1,c:1334337319", T5_2)],
        [_tb("s:S1,c:1334337317", T5_1), _tb("s:S1,c:1334337319", T5_2.replace("AIVDM", "BSVDO"))],
        # a group id reused: the waiting part 1 is orphaned
        [_tb("g:1-2-7", T5_1), _tb("g:1-2-7", T5_1), _tb("g:2-2-7", T5_2)],
        # a malformed or mismatched group falls back to the source
        [_tb("g:1-2--7,s:S1", T5_1), _tb("g:2-2-x,s:S1", T5_2)],
        [_tb("g:1-3-7,s:S1", T5_1), _tb("g:2-3-7,s:S1", T5_2)],
        # a group on one part only: different keys
        [_tb("g:1-2-7,s:S1", T5_1), _tb("s:S1", T5_2)],
        # tagged without source, and untagged: the talker keys both
        [_tb("c:1334337317", T5_1), nmea(T5_2).decode()],
    ],
    ids=[
        "exacteearth",
        "interleaved",
        "source",
        "source-talkers",
        "reused-group",
        "bad-group",
        "group-of-3",
        "group-on-one",
        "no-source",
    ],
)
def test_tagged_two_sentence_messages_alike_with_and_without_fast_path(seq: list[str]) -> None:
    fast, slow = AisDecoder(), AisDecoder(fast=False)
    data = "\n".join(seq).encode()
    a, b = fast.decode(data, 10.0), slow.decode(data, 10.0)
    assert a.rejects == b.rejects
    for got, want in ((a.positions, b.positions), (a.statics, b.statics)):
        assert len(got) == len(want)
        for name in want.dtype.names or ():
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    fast.flush(1e6)
    slow.flush(1e6)
    assert fast.outcomes == slow.outcomes
    assert fast.heard_by == slow.heard_by and fast.tag_checksum_mismatch == slow.tag_checksum_mismatch


def test_exacteearth_pairs_take_the_fast_path() -> None:
    seq = [
        _tb("g:1-2-3985,s:rEV02,c:1334337317", T5_1),
        _tb("s:rEV02,c:1334337317", POS),
        _tb("g:2-2-3985", T5_2),
    ]
    dec = AisDecoder()
    batch = dec.decode("\n".join(seq).encode(), 10.0)
    assert dec.fast_lines == 3 and len(batch.statics) == 1 and batch.statics["t"][0] == 1334337317.0
    assert dec.heard_by == {"rEV02": 2}
