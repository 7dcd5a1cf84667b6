"""NMEA framing: line splitting, checksums, tag blocks, $PGHP, trailing fields, classification."""

from __future__ import annotations

import calendar
import math
from pathlib import Path

import pytest

from mdacentre.decode.ais.nmea import LineKind, frame_lines, parse_tag_block, split_lines, xor_checksum
from mdacentre.model.rejects import Reject

AIS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ais"


def sentence(body: str) -> bytes:
    return f"!{body}*{xor_checksum(body.encode()):02X}".encode()


def test_checksum_known_value() -> None:
    assert xor_checksum(b"AIVDM,1,1,,B,402=481uaUcf;OQ55JS9ITi025Jp,0") == 0x2B  # real DMA line
    assert xor_checksum(b"s:2573535,c:1671533231") == 8


def test_split_lines_crlf_last_line_and_glued() -> None:
    assert split_lines(b"a\r\nb\nc") == ([b"a", b"b", b"c"], 0)
    assert split_lines(b"a\n\n") == ([b"a", b""], 0)
    assert split_lines(b"") == ([], 0)
    glued = rb"\s:x,c:1*00\!AIVDM,2,1,8,A,5,0*28\s:x,c:2*00\!AIVDM,2,2,8,A,8,2*2C"
    lines, repaired = split_lines(glued + b"\n")
    assert repaired == 1 and lines == [
        rb"\s:x,c:1*00\!AIVDM,2,1,8,A,5,0*28",
        rb"\s:x,c:2*00\!AIVDM,2,2,8,A,8,2*2C",
    ]


def test_tag_block_fields() -> None:
    tb = parse_tag_block(b"g:1-2-3985,s:rEV02,c:1334337317*2D")
    assert tb is not None and tb.checksum_ok
    assert (tb.group_num, tb.group_total, tb.group_id, tb.source, tb.time) == (
        1,
        2,
        3985,
        "rEV02",
        1334337317.0,
    )
    ms = parse_tag_block(b"c:1420030798123*00")
    assert ms is not None and ms.time == pytest.approx(1420030798.123) and not ms.checksum_ok
    one_digit = parse_tag_block(b"g:1-2-73874*A")
    assert one_digit is not None and one_digit.group_id == 73874
    bad_group = parse_tag_block(b"g:1-2--001,c:1326055296*3C")
    assert bad_group is not None and bad_group.group_id == -1 and bad_group.time == 1326055296
    assert parse_tag_block(b"c:12x*00") is None
    assert parse_tag_block(b"nocolon*00") is None
    assert parse_tag_block(b"c:1") is None


def test_talkers_and_formatters() -> None:
    lines = [
        sentence(f"{t},1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0") for t in ("AIVDM", "=IVDM", "--VDM", "B2VDO")
    ]
    frames = frame_lines(lines)
    assert [f.kind for f in frames] == [LineKind.AIS] * 4
    assert [f.talker for f in frames] == [b"AIVDM", b"=IVDM", b"--VDM", b"B2VDO"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", Reject.BLANK),
        (b"   ", Reject.BLANK),
        (b"# comment", Reject.COMMENT),
        (b"$GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000*6D", Reject.OTHER_NMEA),
        (b"$=IALR,,,,,*07", Reject.OTHER_NMEA),
        (sentence("AIALR,1,2"), Reject.OTHER_NMEA),
        (b"!AIPWR,UNIT=0,PWV", Reject.NOT_NMEA),
        (b"!BSVDM,1,1,,A,3", Reject.NOT_NMEA),
        (b"IamNotAnAisMessage1111", Reject.NOT_NMEA),
        (b"\\s:x,c:1*00", Reject.BAD_TAG_BLOCK),
        (b"\\broken\\!AIVDM,1,1,,A,1,0*00", Reject.BAD_TAG_BLOCK),
        (b"!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*00", Reject.BAD_CHECKSUM),
        (sentence("AIVDM,2,3,1,A,15M6,0"), Reject.BAD_FRAGMENT),
        (sentence("AIVDM,1,1,,A,15M6,0,extra"), Reject.BAD_FRAGMENT),
        (sentence("AIVDM,1,1,,A,15M6,7"), Reject.BAD_FRAGMENT),
        (sentence("AIVDM,1,1,,A,,0"), Reject.EMPTY_PAYLOAD),
        (sentence("AIVDM,1,1,,A," + "1" * 201 + ",0"), Reject.TOO_LONG),
    ],
)
def test_rejects(line: bytes, reason: Reject) -> None:
    (frame,) = frame_lines([line])
    assert frame.kind == LineKind.REJECT and frame.reject == reason


def test_gatehouse_and_trailer() -> None:
    pghp = b"$PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B*5B"
    uscg = b"!AIVDM,1,1,,A,15B4FT5000JRP>PE6E68Nbkl0PS5,0*70,b003669794,1272412827"
    ms = sentence("AIVDM,1,1,,A,15B4FT5000JRP>PE6E68Nbkl0PS5,0") + b",rSTA,1272412827500"
    g, u, m = frame_lines([pghp, uscg, ms])
    assert g.kind == LineKind.GATEHOUSE and g.header_next_checksum == 0x2B
    assert g.header_time == calendar.timegm((2010, 6, 11, 11, 46, 11)) + 0.39
    assert u.kind == LineKind.AIS and u.trailer_time == 1272412827 and u.trailer_station == "b003669794"
    assert m.trailer_time == pytest.approx(1272412827.5) and m.trailer_station == "rSTA"
    bad_date = b"$PGHP,1,2010,13,11,11,46,11,390,231,45,992190934,1,2B*"
    body = bad_date[1:-1]
    (f,) = frame_lines([bad_date + f"{xor_checksum(body):02X}".encode()])
    assert f.reject == Reject.OTHER_NMEA


def test_fields_of_a_sentence() -> None:
    (f,) = frame_lines([rb"\s:rEV02,c:1334337317*58\!AIVDM,2,1,9,B,58KvN<42,0*32".replace(b"*32", b"")
                        + f"*{xor_checksum(b'AIVDM,2,1,9,B,58KvN<42,0'):02X}".encode()])  # fmt: skip
    assert f.kind == LineKind.AIS
    assert (f.frag_cnt, f.frag_num, f.seq_id, f.channel, f.payload, f.fill) == (
        2,
        1,
        b"9",
        b"B",
        b"58KvN<42",
        0,
    )
    assert f.tag is not None and f.tag.source == "rEV02" and math.isnan(f.trailer_time)


@pytest.mark.skipif(not AIS_DIR.is_dir(), reason=f"shared test data not found at {AIS_DIR}")
def test_real_file_classification_matches_sources_md() -> None:
    # SOURCES.md for amsa_risky_ais.txt: 3 bad checksums, 34016 VDM/VDO sentences
    lines, _ = split_lines((AIS_DIR / "amsa_risky_ais.txt").read_bytes())
    frames = frame_lines(lines)
    assert sum(f.reject == Reject.BAD_CHECKSUM for f in frames) == 3
    assert sum(f.kind == LineKind.AIS for f in frames) == 34016 - 3
