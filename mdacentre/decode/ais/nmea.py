"""NMEA 0183 framing for AIS feeds: lines -> checked sentences with their metadata.

What this module understands, line by line:

* ``!ccVDM`` / ``!ccVDO`` sentences with any two-character talker (``AI``, ``BS``, ``=I``,
  ``--``, ``B2`` ...), NMEA checksum checked;
* an NMEA 4.0 tag block in front of a sentence: ``\\s:rEV02,c:1334337317,g:1-2-3985*hh\\``
  (``c`` in seconds, or milliseconds when larger than 1e11; ``s`` source; ``g`` sentence
  group).  A wrong tag-block checksum is tolerated (several real feeds write ``*00``) and
  only counted in :attr:`TagBlock.checksum_ok`; a tag block that cannot be parsed rejects
  the line (``bad_tag_block``);
* Gatehouse ``$PGHP,1,yyyy,mm,dd,HH,MM,SS,mmm,...,hh*cs`` headers: their time applies to the
  next AIS sentence (whose checksum the last header field names);
* USCG / exactEarth trailing fields after the checksum
  (``...,0*70,b003669794,1272412827``): the last numeric field is the epoch time, a field
  starting with ``r``/``b`` is the receiving station;
* two sentences glued onto one line (a missing line break before a tag block or ``!``)
  are split again by :func:`split_lines` (counted in its ``repaired`` result).

Everything else is classified, never raised: blank lines, ``#`` comments, other NMEA
(``$GPGGA``, ``!AIALR``...), and garbage.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from mdacentre.ingest.framing import LineBuffer
from mdacentre.model.rejects import Reject

NAN = math.nan
MAX_FRAGMENTS = 9  # IEC 61162-1: 1..9 sentences per message
MAX_SENTENCE_PAYLOAD = 200  # characters of armoured payload in one sentence (pyais uses the same bound)
MS_THRESHOLD = 1e11  # a tag-block c: above this is in milliseconds

_GLUE = re.compile(rb"(?<=\*[0-9A-Fa-f]{2})(?=\\[A-Za-z]:|[!$])")
_GLUE_ANY = re.compile(rb"\*[0-9A-Fa-f]{2}(?:\\[A-Za-z]:|[!$])")  # same places, found faster
_HEX = frozenset(b"0123456789ABCDEFabcdef")
_PRINTABLE = bytes(range(0x21, 0x7F))


class LineKind(IntEnum):
    """What one framed line turned out to be."""

    AIS = 0  # a checked VDM/VDO sentence
    GATEHOUSE = 1  # a $PGHP header
    REJECT = 2  # see Frame.reject


@dataclass(slots=True)
class TagBlock:
    """The fields of an NMEA 4.0 tag block that the decoder uses."""

    time: float = NAN  # c: converted to seconds
    source: str = ""  # s:
    group_num: int = 0  # g: sentence number in group, 0 when absent
    group_total: int = 0
    group_id: int = -1
    checksum_ok: bool = True


@dataclass(slots=True)
class Frame:
    """One line after framing. For ``kind == AIS`` the sentence fields are filled."""

    kind: LineKind
    reject: Reject | None = None
    talker: bytes = b""  # address field, e.g. b"AIVDM"
    frag_cnt: int = 1
    frag_num: int = 1
    seq_id: bytes = b""
    channel: bytes = b""
    payload: bytes = b""
    fill: int = 0
    checksum: int = -1
    tag: TagBlock | None = None
    trailer_time: float = NAN
    trailer_station: str = ""
    header_time: float = NAN  # $PGHP time
    header_next_checksum: int = -1  # $PGHP: checksum of the sentence it describes, -1 unknown


def split_lines(data: bytes) -> tuple[list[bytes], int]:
    """Split a chunk of whole lines on ``\\n`` (``\\r`` stripped); a last line without a newline counts.

    Returns the lines and the number of extra lines created by splitting sentences that were glued
    together on one line (``...*2C\\s:...`` or ``...*2C!AIVDM``).
    """
    lines = LineBuffer.of_chunk(data).lines()
    if _GLUE_ANY.search(data) is None:  # the common case, without a per-line loop
        return lines, 0
    out: list[bytes] = []
    repaired = 0
    for line in lines:
        if line.count(b"*") > 2 or (line.count(b"*") == 2 and line[:1] != b"\\"):
            parts = _GLUE.split(line)
            if len(parts) > 1:
                repaired += len(parts) - 1
                out.extend(parts)
                continue
        out.append(line)
    return out, repaired


def parse_tag_block(text: bytes) -> TagBlock | None:
    """Parse the inside of ``\\...*hh\\`` (without the backslashes); None when malformed."""
    star = text.rfind(b"*")
    digits = text[star + 1 :]
    if star < 0 or not 1 <= len(digits) <= 2 or any(c not in _HEX for c in digits):
        return None
    body = text[:star]
    tb = TagBlock(checksum_ok=xor_checksum(body) == int(digits, 16))
    for item in body.split(b","):
        key, sep, value = item.partition(b":")
        if not sep or not key:
            return None
        if key == b"c":
            try:
                t = float(value)
            except ValueError:
                return None
            tb.time = t / 1000.0 if t > MS_THRESHOLD else t
        elif key == b"s":
            tb.source = value.decode("ascii", "replace")
        elif key == b"g":
            _parse_group(value, tb)
    return tb


def _parse_group(value: bytes, tb: TagBlock) -> None:
    """``g:1-2-3985``; a malformed group (``1-2--001``) is ignored (NMEA sequence ids still work)."""
    parts = value.split(b"-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return
    num, total, gid = (int(p) for p in parts)
    if 1 <= num <= total <= MAX_FRAGMENTS:
        tb.group_num, tb.group_total, tb.group_id = num, total, gid


def xor_checksum(body: bytes) -> int:
    """NMEA checksum: XOR of every byte between the start character and ``*``."""
    acc = 0
    for b in body:
        acc ^= b
    return acc


def _plausible_address(address: bytes) -> bool:
    """An NMEA address field: 3-6 printable characters, no blanks (``GPGGA``, ``=IALR``, ``PGHP``)."""
    return 3 <= len(address) <= 6 and not address.translate(None, _PRINTABLE)


def _is_hex(s: bytes) -> bool:
    return len(s) == 2 and s[0] in _HEX and s[1] in _HEX


def frame_lines(lines: list[bytes]) -> list[Frame]:
    """Frame every line; sentence checksums are verified for the whole list at once (NumPy)."""
    frames: list[Frame] = []
    bodies: list[bytes] = []
    owners: list[int] = []
    for line in lines:
        frame, body = _frame_one(line.strip())
        if body is not None:
            owners.append(len(frames))
            bodies.append(body)
        frames.append(frame)
    if bodies:
        _verify_checksums(frames, bodies, owners)
    return frames


def _verify_checksums(frames: list[Frame], bodies: list[bytes], owners: list[int]) -> None:
    lengths = np.fromiter((len(b) for b in bodies), dtype=np.int64, count=len(bodies))
    starts = np.zeros(len(bodies), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    buf = np.frombuffer(b"".join(bodies), dtype=np.uint8)
    sums = np.bitwise_xor.reduceat(buf, starts)
    for i in np.flatnonzero(sums != np.fromiter((frames[o].checksum for o in owners), np.int64, len(owners))):
        f = frames[owners[int(i)]]
        f.kind = LineKind.REJECT
        f.reject = Reject.BAD_CHECKSUM


def _reject(reason: Reject) -> tuple[Frame, None]:
    return Frame(LineKind.REJECT, reason), None


def _frame_one(line: bytes) -> tuple[Frame, bytes | None]:
    """Frame one stripped line; also returns the checksummed body when one must be verified."""
    if not line:
        return _reject(Reject.BLANK)
    first = line[0]
    if first == 0x23:  # '#'
        return _reject(Reject.COMMENT)
    tag: TagBlock | None = None
    if first == 0x5C:  # '\\'
        end = line.find(b"\\", 1)
        if end < 0:
            return _reject(Reject.BAD_TAG_BLOCK)
        tag = parse_tag_block(line[1:end])
        if tag is None:
            return _reject(Reject.BAD_TAG_BLOCK)
        line = line[end + 1 :]
        if not line:
            return _reject(Reject.BAD_TAG_BLOCK)
        first = line[0]
    if first == 0x21:  # '!'
        return _frame_bang(line, tag)
    if first == 0x24:  # '$'
        return _frame_dollar(line)
    return _reject(Reject.NOT_NMEA)


def _split_checksum(line: bytes) -> tuple[bytes, int, bytes] | None:
    """``!body*hh[,trailer]`` -> (body, checksum, trailer) or None when the framing is broken."""
    star = line.find(b"*")
    if star < 0:
        return None
    hexpart = line[star + 1 : star + 3]
    if not _is_hex(hexpart):
        return None
    rest = line[star + 3 :]
    if rest and rest[0] != 0x2C:  # ','
        return None
    return line[1:star], int(hexpart, 16), rest


_DIGITS = {str(i).encode(): i for i in range(10)}
_AIS_FORMATTERS = (b"VDM", b"VDO")


def _frame_bang(line: bytes, tag: TagBlock | None) -> tuple[Frame, bytes | None]:
    fields = line.split(b",")
    address = fields[0][1:]
    last = fields[6] if len(fields) >= 7 else b""
    # fast path: exactly "!ccVDx,n,m,s,c,payload,f*hh" with nothing after the checksum
    if (
        len(fields) == 7
        and len(address) == 5
        and address[2:] in _AIS_FORMATTERS
        and len(last) == 4
        and last[1] == 0x2A
    ):
        digits = last[2:]
        if _is_hex(digits):
            frame = Frame(LineKind.AIS, None, address, checksum=int(digits, 16), tag=tag)
            _fill_sentence(frame, fields[1], fields[2], fields[3], fields[4], fields[5], last[:1])
            return frame, line[1:-3]
    return _frame_bang_general(line, address, tag)


def _frame_bang_general(line: bytes, address: bytes, tag: TagBlock | None) -> tuple[Frame, bytes | None]:
    split = _split_checksum(line)
    if split is None:
        return _reject(Reject.NOT_NMEA)
    body, checksum, trailer = split
    if not (len(address) == 5 and address[2:] in _AIS_FORMATTERS):
        return _reject(Reject.OTHER_NMEA if _plausible_address(address) else Reject.NOT_NMEA)
    fields = body.split(b",")
    if len(fields) != 7:
        return Frame(LineKind.REJECT, Reject.BAD_FRAGMENT, checksum=checksum), body
    frame = Frame(LineKind.AIS, None, address, checksum=checksum, tag=tag)
    _fill_sentence(frame, *fields[1:])
    if trailer:
        _parse_trailer(trailer, frame)
    return frame, body


def _fill_sentence(
    frame: Frame, cnt: bytes, num: bytes, seq: bytes, chan: bytes, payload: bytes, fill: bytes
) -> None:
    n_cnt, n_num, n_fill = _DIGITS.get(cnt), _DIGITS.get(num), _DIGITS.get(fill)
    if n_cnt is None or n_num is None or n_fill is None:
        frame.kind, frame.reject = LineKind.REJECT, Reject.BAD_FRAGMENT
        return
    frame.frag_cnt, frame.frag_num, frame.fill = n_cnt, n_num, n_fill
    frame.seq_id, frame.channel, frame.payload = seq, chan, payload
    if not (1 <= n_num <= n_cnt <= MAX_FRAGMENTS) or n_fill > 5:
        frame.kind, frame.reject = LineKind.REJECT, Reject.BAD_FRAGMENT
    elif not payload:
        frame.kind, frame.reject = LineKind.REJECT, Reject.EMPTY_PAYLOAD
    elif len(payload) > MAX_SENTENCE_PAYLOAD:
        frame.kind, frame.reject = LineKind.REJECT, Reject.TOO_LONG


def _parse_trailer(trailer: bytes, frame: Frame) -> None:
    frame.trailer_time, frame.trailer_station = parse_trailer(trailer)


def parse_trailer(trailer: bytes) -> tuple[float, str]:
    """USCG / exactEarth fields after the checksum (``,b003669794,1272412827``): (epoch, station).

    The epoch is the last field when it reads as seconds or milliseconds since 1970 (NaN
    otherwise); the station is the first field starting with ``r`` or ``b`` ("" if none).
    """
    parts = trailer[1:].split(b",")
    try:
        t = float(parts[-1])
    except ValueError:
        t = NAN
    epoch = (t / 1000.0 if t > MS_THRESHOLD else t) if 1e8 < t < 1e13 else NAN
    station = next((p.decode("ascii", "replace") for p in parts if p[:1] in (b"r", b"b") and len(p) > 1), "")
    return epoch, station


def _frame_dollar(line: bytes) -> tuple[Frame, bytes | None]:
    comma = line.find(b",")
    address = line[1:comma] if comma > 0 else b""
    if not _plausible_address(address):
        return _reject(Reject.NOT_NMEA)
    if address != b"PGHP":
        return _reject(Reject.OTHER_NMEA)
    split = _split_checksum(line)
    if split is None:
        return _reject(Reject.NOT_NMEA)
    body, checksum, _ = split
    frame = Frame(LineKind.GATEHOUSE, checksum=checksum)
    _fill_gatehouse(frame, body.split(b","))
    return frame, body


def _fill_gatehouse(frame: Frame, fields: list[bytes]) -> None:
    """``PGHP,1,yyyy,mm,dd,HH,MM,SS,mmm,country,region,pss,online,next_cs``: message type 1 only."""
    if len(fields) < 9 or fields[1] != b"1":
        frame.kind, frame.reject = LineKind.REJECT, Reject.OTHER_NMEA
        return
    try:
        y, mo, d, h, mi, s, ms = (int(x) for x in fields[2:9])
        frame.header_time = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) + ms / 1000.0
    except (ValueError, OverflowError):
        frame.kind, frame.reject = LineKind.REJECT, Reject.OTHER_NMEA
        return
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 61):
        frame.kind, frame.reject = LineKind.REJECT, Reject.OTHER_NMEA
        return
    last = fields[-1]
    if _is_hex(last):
        frame.header_next_checksum = int(last, 16)
