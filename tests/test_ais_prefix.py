"""NMEA logs whose lines begin with a Unix time (``1452468552.938 !AIVDM,...``), as many loggers write them.

No shared recording is written that way, so the tests write real recordings that way: the time
in front of each line is the line's own time (its tag-block ``c:``) or a logger clock, and the
result must be what the recording gives without the prefixes, with the prefix as receive time.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdacentre.decode.ais import AisDecoder
from mdacentre.decode.ais.sentences import unix_time_prefixes
from mdacentre.ingest.framing import LineBuffer
from mdacentre.model.rejects import Reject

REPO = Path(__file__).resolve().parents[1]
AIS_DIR = REPO.parent / "shared" / "data" / "ais"
TAGGED = AIS_DIR / "amsa_risky_nmea-timestamped.txt"  # \c:<seconds>*00\!..VDM on every line
MULTI = AIS_DIR / "gpsd_ais-nmea.log"  # no times; two-sentence messages
GATEHOUSE = AIS_DIR / "pyais_timestamped.ais"  # $PGHP headers, blank and comment lines
TAG = re.compile(rb"^\\c:(\d+)\*[0-9A-F]{2}\\")


def _need(path: Path) -> bytes:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path}")
    return path.read_bytes()


def _both(data: bytes, receive_time: float) -> tuple[object, object]:
    return AisDecoder().decode(data, receive_time), AisDecoder(fast=False).decode(data, receive_time)


def test_tag_block_times_moved_in_front_of_the_lines_give_the_same_rows() -> None:
    raw = _need(TAGGED)
    lines = raw.splitlines()
    times = [TAG.match(x).group(1) for x in lines]  # type: ignore[union-attr]
    bare = [TAG.sub(b"", x) for x in lines]
    reference = AisDecoder().decode(raw, 0.0)
    assert len(reference.positions) == 100
    for sep, frac in ((b" ", b""), (b"\t", b".250"), (b"  ", b".5")):
        prefixed = b"\n".join(t + frac + sep + x for t, x in zip(times, bare, strict=True)) + b"\n"
        for b in _both(prefixed, 0.0):
            assert b.rejects == reference.rejects == {}  # type: ignore[attr-defined]
            pos = b.positions  # type: ignore[attr-defined]
            assert len(pos) == 100
            shift = float(frac or b"0")
            assert np.array_equal(pos["t"], reference.positions["t"] + shift)
            for col in ("ident", "lat", "lon", "sog", "cog", "msg_type"):
                assert np.array_equal(pos[col], reference.positions[col], equal_nan=True), col


def test_prefix_is_the_receive_time_and_a_tag_block_time_wins() -> None:
    raw = _need(TAGGED)
    lines = raw.splitlines()
    prefixed = b"\n".join(b"1420000000.125 " + x for x in lines) + b"\n"  # logger clock before c:
    reference = AisDecoder().decode(raw, 0.0)
    for b in _both(prefixed, 5.0):
        assert np.array_equal(b.positions["t"], reference.positions["t"])  # type: ignore[attr-defined]
    millis = b"\n".join(b"1420030000123 " + TAG.sub(b"", x) for x in lines) + b"\n"
    for b in _both(millis, 5.0):
        assert np.all(b.positions["t"] == 1420030000.123)  # type: ignore[attr-defined]


def test_two_sentence_messages_take_the_time_of_their_first_line() -> None:
    raw = _need(MULTI)
    lines = raw.splitlines()
    clock = 1_452_468_552.938 + np.arange(len(lines)) * 0.5
    prefixed = b"\n".join(b"%.3f %s" % (t, x) for t, x in zip(clock, lines, strict=True)) + b"\n"
    plain_dec = AisDecoder()
    plain = plain_dec.decode(raw, 7.0)
    for dec in (AisDecoder(), AisDecoder(fast=False)):
        b = dec.decode(prefixed, 7.0)
        assert b.rejects == plain.rejects and dec.outcomes == plain_dec.outcomes
        assert Reject.NOT_NMEA not in b.rejects
        assert len(b.statics) == len(plain.statics) > 0
        for col in ("ident", "msg_type", "lat", "lon"):
            assert np.array_equal(b.positions[col], plain.positions[col], equal_nan=True)
        assert b.statics["name"].tolist() == plain.statics["name"].tolist()
        for rows in (b.positions, b.statics):
            assert set(np.round(rows["t"], 3).tolist()) <= set(np.round(clock, 3).tolist())
    # a two-sentence type 5: the time of its first sentence
    first = next(i for i, x in enumerate(lines) if x.startswith(b"!AIVDM,2,1"))
    mmsi_rows = AisDecoder().decode(prefixed, 7.0).statics
    assert float(clock[first]) in np.round(mmsi_rows["t"], 3).tolist()


def test_gatehouse_header_time_wins_over_the_prefix_where_it_applies() -> None:
    raw = _need(GATEHOUSE)
    plain = AisDecoder().decode(raw, 7.0)
    prefixed = b"\n".join((b"1300000000.5 " + x if x[:1] in (b"!", b"$") else x) for x in raw.splitlines())
    for b in _both(prefixed + b"\n", 7.0):
        assert b.rejects == plain.rejects  # type: ignore[attr-defined]
        expect = np.where(plain.positions["t"] == 7.0, 1300000000.5, plain.positions["t"])
        assert plain.positions["t"][0] != 7.0  # the first sentence follows a header
        assert np.array_equal(b.positions["t"], expect)  # type: ignore[attr-defined]


def test_not_a_time_prefix_stays_not_nmea() -> None:
    body = b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24"
    for junk in (
        b"12345 ",
        b"1452468552.938",
        b"1452468552. ",
        b"14524685521 ",
        b"1.452468552 ",
        b"1452468552.9x ",
    ):
        b = AisDecoder().decode(junk + body + b"\n", 7.0)
        assert b.rejects == {Reject.NOT_NMEA: 1}, junk
    ok = AisDecoder().decode(b"1452468552 " + body + b"\n", 7.0)
    assert ok.rejects == {} and ok.positions["t"].tolist() == [1452468552.0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=8), st.floats(1e8, 9e9))
def test_prefix_scan_never_reads_past_its_line(lines: list[bytes], t: float) -> None:
    prefix = b"%.3f " % t
    lb = LineBuffer.of_lines([prefix + x for x in lines] + lines)
    starts, times = unix_time_prefixes(lb.buf, lb.starts, lb.ends, 1.0)
    assert np.all(starts >= lb.starts) and np.all(starts <= lb.ends)
    if isinstance(times, np.ndarray):
        cut = starts != lb.starts
        assert np.all(np.abs(times[cut] - t) < 1e-3) and np.all(times[~cut] == 1.0)
