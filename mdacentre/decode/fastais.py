"""Vectorised fast path of the AIS decoder: whole chunks of lines decoded at once with NumPy.

Most lines of a live AIS feed are single-sentence reports. This module decodes a whole chunk
of lines at once instead of one pyais object per line:

* the chunk stays one ``uint8`` buffer with the offsets of its lines (:class:`LineBuffer`);
  the offsets of its separators are found once (:class:`Marks`);
* the sentence structure (``!xxVDM,n,m,<seq>,<chan>,<payload>,<fill>*hh``, optionally behind
  an NMEA 4.0 tag block and optionally followed by USCG-style trailing fields) is checked with
  comparisons at offsets found by ``searchsorted`` over the comma positions; tag blocks are read
  as :func:`mdacentre.decode.nmea.parse_tag_block` reads them (:func:`tag_blocks`);
* checksums are one ``np.bitwise_xor.reduceat`` over the sentence bodies;
* the message type is the first payload character; payloads are de-armoured by arithmetic on
  fixed-width windows and packed into 48-bit words (positions) or kept as six-bit matrices
  (static reports), from which every field is cut with shifts.

Decoded here: position reports 1, 2, 3, 4, 9, 11, 18, 27; types 19 and 21 (a position and a
static row each); static reports 5 and 24A/B; two-sentence type 5 messages whose parts share
the general path's fragment key (:func:`fragment_number`); messages of types no stage uses
(counted); other NMEA sentences (counted). Anything the fast path is not sure about is left
*unhandled* (``handled[i] = False``) for the general pyais-based decoder, which counts and
explains it: binary and three-part messages, ``$``-delimited or lower-case sentences, payloads
too short for every field, payload bytes outside the AIS armour (pyais would silently read them
as zeros), unusual tag blocks, the first sentence after a Gatehouse ``$PGHP`` header, and
anything else that is not exactly the common shape. A well-formed line of a fast type with a
wrong checksum is handled and counted as ``Reject.BAD_CHECKSUM``.

The values produced agree with ``pyais.decode`` field for field (including pyais' rounding
of latitude/longitude to 1e-6 degrees); "not available" sentinels become NaN. The tests decode
every real recording with and without this module and compare row for row.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from mdacentre.decode.faststatic import SixBits, StaticLayout, decode_static_fields, dual_positions
from mdacentre.decode.nmea import MAX_FRAGMENTS as _MAX_FRAGMENTS
from mdacentre.model.batch import (
    POSITION_DTYPE,
    PositionArray,
    StaticArray,
    TrackKind,
    concat_rows,
    empty_positions,
    empty_statics,
    make_key,
    take_rows,
)
from mdacentre.model.rejects import Reject

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
U8Array = npt.NDArray[np.uint8]
U64Array = npt.NDArray[np.uint64]
F64Array = npt.NDArray[np.float64]

# --- byte values -------------------------------------------------------------------------
_BANG = ord("!")
_DOLLAR = ord("$")
_BACKSLASH = ord("\\")
_COMMA = ord(",")
_STAR = ord("*")
_SPACE = ord(" ")
_COLON = ord(":")
_ZERO = ord("0")
_NINE = ord("9")
_ONE = ord("1")
_TWO = ord("2")
_FIVE = ord("5")

# --- limits --------------------------------------------------------------------------------
MAX_PAYLOAD_CHARS = 200  # pyais refuses longer payloads ("AIS payload too large")
_DECODED_CHARS = 28  # 168 bits: every field the fast path reads lies in the first 28 characters
_WORD_CHARS = 8  # 8 six-bit characters = one 48-bit word
_WORD_BITS = 6 * _WORD_CHARS
_WORDS = 4  # 4 words = 32 characters >= _DECODED_CHARS
_MAX_SEQ_DIGITS = 3
_MAX_CHANNEL_CHARS = 2
_MAX_TIME_DIGITS = 13  # c: in milliseconds has 13 digits until the year 2286
_MS_THRESHOLD = 100_000_000_000  # c: values at or above this are milliseconds
# shortest line that can be a handled sentence: "!AIVDM,1,1,,,X,0*hh"
_MIN_LINE = 19
# padding appended to the joined buffer so that fixed-offset reads never leave it
_PAD = 128  # more than the widest window read from a payload (_STATIC_CHARS)


class Layout(IntEnum):
    """Bit layouts of the position reports the fast path understands."""

    CLASS_A = 0  # types 1, 2, 3
    CLASS_B = 1  # type 18
    LONG_RANGE = 2  # type 27
    BASE = 3  # types 4 and 11 (base station position and UTC/date response)
    SAR = 4  # type 9 (search and rescue aircraft)


@dataclass(frozen=True)
class _Spec:
    """Where the fields of one layout sit: (start bit, width) pairs; status None if absent."""

    status: tuple[int, int] | None
    sog: tuple[int, int] | None
    lon: tuple[int, int]
    lat: tuple[int, int]
    cog: tuple[int, int] | None
    heading: tuple[int, int] | None
    min_bits: int  # every field above must be fully present
    lat_lon_num: int  # degrees = floor((num * raw + 3) / 6) / 1e6 (pyais' exact rounding)
    sog_na: int
    sog_div: float
    cog_na: int
    cog_div: float
    alt: tuple[int, int] | None = None  # altitude in metres (type 9), 4095 not available


_MMSI = (8, 30)
_SPECS: dict[Layout, _Spec] = {
    Layout.CLASS_A: _Spec(
        status=(38, 4),
        sog=(50, 10),
        lon=(61, 28),
        lat=(89, 27),
        cog=(116, 12),
        heading=(128, 9),
        min_bits=137,
        lat_lon_num=10,
        sog_na=1023,
        sog_div=10.0,
        cog_na=3600,
        cog_div=10.0,
    ),
    Layout.CLASS_B: _Spec(
        status=None,
        sog=(46, 10),
        lon=(57, 28),
        lat=(85, 27),
        cog=(112, 12),
        heading=(124, 9),
        min_bits=133,
        lat_lon_num=10,
        sog_na=1023,
        sog_div=10.0,
        cog_na=3600,
        cog_div=10.0,
    ),
    Layout.LONG_RANGE: _Spec(
        status=(40, 4),
        sog=(79, 6),
        lon=(44, 18),
        lat=(62, 17),
        cog=(85, 9),
        heading=None,
        min_bits=94,
        lat_lon_num=10_000,
        sog_na=63,
        sog_div=1.0,
        cog_na=511,
        cog_div=1.0,
    ),
    Layout.BASE: _Spec(
        status=None,
        sog=None,
        lon=(79, 28),
        lat=(107, 27),
        cog=None,
        heading=None,
        min_bits=134,
        lat_lon_num=10,
        sog_na=0,
        sog_div=1.0,
        cog_na=0,
        cog_div=1.0,
    ),
    Layout.SAR: _Spec(
        status=None,
        sog=(50, 10),
        lon=(61, 28),
        lat=(89, 27),
        cog=(116, 12),
        heading=None,
        min_bits=128,
        lat_lon_num=10,
        sog_na=1023,
        sog_div=1.0,
        cog_na=3600,
        cog_div=10.0,
        alt=(38, 12),
    ),
}
_TYPE_LAYOUT: dict[int, Layout] = {
    1: Layout.CLASS_A,
    2: Layout.CLASS_A,
    3: Layout.CLASS_A,
    18: Layout.CLASS_B,
    # 19 is left to the general path: it also carries static data (name, type, size) that
    # the fast path does not decode, and it is rare.
    27: Layout.LONG_RANGE,
    4: Layout.BASE,
    11: Layout.BASE,
    9: Layout.SAR,
}
_HEADING_NA = 511
_ALT_NA = 4095
FT_PER_M = 3.280839895
_LAT_NA_DEG = 91.0
_LON_NA_DEG = 181.0


@dataclass
class FastResult:
    """Outcome of :func:`decode_lines_fast` for one batch of lines.

    ``positions`` holds one POSITION_DTYPE row per decoded line, in input order.
    ``handled[i]`` is True when line ``i`` was either decoded or refused for a counted reason
    (see ``rejects``); every other line must go to the general decoder.
    """

    positions: PositionArray
    handled: BoolArray
    rejects: dict[str, int] = field(default_factory=dict)
    line: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # input line of each row
    # lines that are other NMEA sentences ($GPGGA, $AIALR ...: not AIS, not a $PGHP header); not in handled
    other_nmea: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # single-sentence static reports (types 5, 24A/B) decoded here, and the input line of each
    statics: StaticArray = field(default_factory=empty_statics)
    static_line: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # lines of valid messages of types no stage uses (counted as ignored_type), in handled
    ignored_line: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # handled lines with fields after the checksum (their time and station: nmea.parse_trailer)
    trailer_line: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dollar: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # lines starting with '$'
    # lines of type 19 and 21 messages: each made one position row and one static row
    dual_line: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # second lines of the two-sentence messages decoded here (their first lines: pair_first)
    pair_line: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pair_first: IntArray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )  # line of each first sentence
    pair_key: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # fragment_number of each
    trailer_at: IntArray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )  # offset of each trailer's ','
    # the tag blocks read while framing, and their lines (ascending): read once per chunk
    tag_line: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tags: TagBlocks | None = None

    @property
    def unhandled_indices(self) -> IntArray:
        """Indices of the lines the general decoder still has to look at."""
        return np.flatnonzero(~self.handled).astype(np.int64)


# --- lookup tables (built once, on first use) ----------------------------------------------
@functools.cache
def _armor_tables() -> tuple[U8Array, BoolArray]:
    """Six-bit value and validity of every byte ('0'-'W' and '`'-'w' are the AIS armour)."""
    codes = np.arange(256, dtype=np.int64)
    valid = ((codes >= 48) & (codes <= 87)) | ((codes >= 96) & (codes <= 119))
    values = np.where(codes - 48 > 40, codes - 56, codes - 48)
    return np.where(valid, values, 0).astype(np.uint8), valid


@functools.cache
def _hex_table() -> npt.NDArray[np.int16]:
    """Value of a hex digit byte, -1 for anything else."""
    table = np.full(256, -1, dtype=np.int16)
    for i, ch in enumerate(b"0123456789ABCDEF"):
        table[ch] = i
    for i, ch in enumerate(b"abcdef"):
        table[ch] = 10 + i
    return table


@functools.cache
def _byte_class_tables() -> tuple[BoolArray, BoolArray, BoolArray]:
    """(talker byte ok, channel byte ok, digit) per byte value."""
    codes = np.arange(256)
    printable = (codes > _SPACE) & (codes < 127)
    talker = printable & (codes != _COMMA) & (codes != _STAR) & (codes != _BACKSLASH)
    digit = (codes >= _ZERO) & (codes <= _NINE)
    alpha = ((codes >= ord("A")) & (codes <= ord("Z"))) | ((codes >= ord("a")) & (codes <= ord("z")))
    return talker, alpha | digit, digit


# --- public API ----------------------------------------------------------------------------
def split_lines(data: bytes) -> list[bytes]:
    """Split a received chunk into lines, dropping ``\\r`` and ``\\n`` terminators."""
    return data.splitlines()


def decode_lines_fast(
    lines: Sequence[bytes] | LineBuffer,
    receive_time: float,
    feed: int = 0,
    *,
    first_follows_gatehouse: bool = False,
) -> FastResult:
    """Decode the common AIS position reports of ``lines`` in one vectorised pass.

    ``receive_time`` (Unix seconds) is the event time of lines without a tag-block ``c:``.
    A line right after a Gatehouse ``$PGHP`` header is left to the general path (the header
    carries its time); set ``first_follows_gatehouse`` when the previous batch ended with one.
    Never raises for bad input: lines it does not understand stay unhandled.
    """
    lb = lines if isinstance(lines, LineBuffer) else LineBuffer.of_lines(lines)
    if len(lb) == 0:
        return FastResult(empty_positions(0), np.zeros(0, dtype=bool), {})
    return _decode_buffer(lb.buf, lb.starts, lb.ends, receive_time, feed, first_follows_gatehouse, lb.marks)


@dataclass(frozen=True)
class LineBuffer:
    """A chunk of lines held as one byte buffer with the offsets of each line (no per-line objects).

    ``buf`` is the chunk followed by zero padding; line ``i`` is ``buf[starts[i]:ends[i]]``
    without its ``\\r\\n`` or ``\\n`` terminator.
    """

    data: bytes
    buf: U8Array
    starts: IntArray
    ends: IntArray

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> bytes:
        return self.data[int(self.starts[i]) : int(self.ends[i])]

    @functools.cached_property
    def marks(self) -> Marks:
        return Marks(self.buf)

    def has_glued_sentences(self) -> bool:
        """True when a checksum is directly followed by another sentence or tag block (see
        :func:`mdacentre.decode.nmea.split_lines`, which repairs such lines)."""
        buf, at = self.buf, self.marks.stars
        hexv = _hex_table()
        at = at[(hexv[buf[at + 1]] >= 0) & (hexv[buf[at + 2]] >= 0)]
        nxt = buf[at + 3]
        alpha = ((buf[at + 4] | 0x20) >= ord("a")) & ((buf[at + 4] | 0x20) <= ord("z"))
        glued = (nxt == _BANG) | (nxt == _DOLLAR) | ((nxt == _BACKSLASH) & alpha & (buf[at + 5] == _COLON))
        return bool(glued.any())

    @classmethod
    def of_lines(cls, lines: Sequence[bytes]) -> LineBuffer:
        n = len(lines)
        lengths = np.fromiter(map(len, lines), dtype=np.int64, count=n)
        starts = np.zeros(n, dtype=np.int64)
        if n:
            np.cumsum(lengths[:-1] + 1, out=starts[1:])
        data = b"\n".join(lines) + b"\n"
        return cls(data, np.frombuffer(data + b"\x00" * _PAD, dtype=np.uint8), starts, starts + lengths)

    @classmethod
    def of_chunk(cls, data: bytes) -> LineBuffer:
        """Lines split on ``\\n`` with a ``\\r`` before it dropped; a last line without newline counts."""
        buf = np.frombuffer(data + b"\n" + b"\x00" * _PAD, dtype=np.uint8)
        nl = np.flatnonzero(buf[: len(data) + 1] == ord("\n"))
        if data.endswith(b"\n"):
            nl = nl[:-1]  # the newline added above closes nothing
        starts = np.zeros(len(nl), dtype=np.int64)
        starts[1:] = nl[:-1] + 1
        ends = nl.astype(np.int64)
        cr = np.flatnonzero((ends > starts) & (buf[np.maximum(ends - 1, 0)] == ord("\r")))
        ends[cr] -= 1
        return cls(data, buf, starts, ends)


class Marks:
    """Offsets of the separator bytes of one buffer, each kind found once, on first use."""

    def __init__(self, buf: U8Array) -> None:
        self.buf = buf

    @functools.cached_property
    def commas(self) -> IntArray:
        return np.flatnonzero(self.buf == _COMMA)

    @functools.cached_property
    def stars(self) -> IntArray:
        return np.flatnonzero(self.buf == _STAR)

    @functools.cached_property
    def backslashes(self) -> IntArray:
        return np.flatnonzero(self.buf == _BACKSLASH)

    @functools.cached_property
    def colons(self) -> IntArray:
        return np.flatnonzero(self.buf == _COLON)

    @functools.cached_property
    def not_armour(self) -> BoolArray:
        """True where the byte is not AIS armour ('0'-'W', '`'-'w') (arithmetic, no table)."""
        b = self.buf
        return ((b - np.uint8(48)) > 71) | ((b - np.uint8(88)) < 8)  # uint8 wraps below 48

    @functools.cached_property
    def commas_and_stars(self) -> IntArray:
        return np.flatnonzero((self.buf == _COMMA) | (self.buf == _STAR))


# --- the pipeline --------------------------------------------------------------------------
_FRAME_FIELDS = (
    "line",
    "start",
    "end",
    "payload",
    "length",
    "fill",
    "star",
    "trailer",
    "part",
    "key",
    "tagged",
)


class _Frames:
    """Offsets of the candidate sentences, one column per candidate line, kept as one matrix so that
    selecting candidates is one copy:

    ``line`` index of the input line; ``start`` offset of '!'; ``end`` one past the line's last byte;
    ``payload`` offset of the first payload character; ``length`` payload characters; ``fill`` fill
    bits; ``star`` offset of '*'; ``trailer`` 1 when fields follow the checksum (USCG / exactEarth);
    ``part`` 0 for a single sentence, 1 or 2 for a fragment of a two-sentence message; ``key``
    talker, sequence id and channel as one number (-1: not pairable here); ``tagged`` 1 when the
    line starts with a tag block. ``time`` is the event time.
    """

    __slots__ = ("data", "time")

    def __init__(self, data: IntArray, time: F64Array) -> None:
        self.data = data
        self.time = time

    def select(self, keep: BoolArray | IntArray) -> _Frames:
        return _Frames(self.data[:, keep], self.time[keep])

    line = property(lambda self: self.data[0])
    start = property(lambda self: self.data[1])
    end = property(lambda self: self.data[2])
    payload = property(lambda self: self.data[3])
    length = property(lambda self: self.data[4])
    fill = property(lambda self: self.data[5])
    star = property(lambda self: self.data[6])
    trailer = property(lambda self: self.data[7] != 0)
    part = property(lambda self: self.data[8])
    key = property(lambda self: self.data[9])
    tagged = property(lambda self: self.data[10] != 0)


def _decode_buffer(
    buf: U8Array,
    starts: IntArray,
    ends: IntArray,
    receive_time: float,
    feed: int,
    follows_gh: bool,
    marks: Marks | None = None,
) -> FastResult:
    n = len(starts)
    handled = np.zeros(n, dtype=bool)
    marks = marks if marks is not None else Marks(buf)
    cand = _candidates(buf, starts, ends, follows_gh)
    frames, tag_line, tags = _frame(buf, cand, starts[cand], ends[cand], float(receive_time), marks)
    # two-sentence messages: the pairs decoded here; every other fragment goes to the general path
    pair_statics, pair_line, pair_first, pair_key = _pairs(buf, frames, feed, marks)
    handled[pair_line] = True
    handled[pair_first] = True
    frames = frames.select(frames.part == 0)
    trailer_line = frames.line[frames.trailer].astype(np.int64)
    trailer_at = frames.star[frames.trailer] + 3
    # the first payload character is the message type: drop other types before the heavy work
    values, valid = _armor_tables()
    first = buf[frames.payload]
    msg_type = np.where(valid[first], values[first], 0).astype(np.int64)
    layout = _layout_of(msg_type, frames.length * 6 - frames.fill)
    statics, static_line, ignored_line, s_handled, s_bad, duals, dual_line = _statics_and_ignored(
        buf, frames, msg_type, values, valid, feed, marks
    )
    handled[s_handled] = True
    keep = layout >= 0
    frames, msg_type, layout = frames.select(keep), msg_type[keep], layout[keep]
    six, armor_ok = _payload_sixbits(buf, frames, marks=marks)
    frames, msg_type, layout, six = (
        frames.select(armor_ok),
        msg_type[armor_ok],
        layout[armor_ok],
        six[armor_ok],
    )
    good_sum = _checksum_ok(buf, frames)
    handled[frames.line] = True
    rejects: dict[str, int] = {}
    bad = int(np.count_nonzero(~good_sum)) + s_bad
    if bad:
        rejects[Reject.BAD_CHECKSUM.value] = bad
    words = _pack_words(six[good_sum])
    positions = _rows(words, msg_type[good_sum], layout[good_sum], frames.time[good_sum], feed)
    pos_line = frames.line[good_sum].astype(np.int64)
    if len(duals):  # type 19 and 21 positions join the others, in line order
        order = np.argsort(np.concatenate([pos_line, dual_line]), kind="stable")
        positions = take_rows(concat_rows([positions, duals]), order)
        pos_line = np.concatenate([pos_line, dual_line])[order]
    other = _other_nmea(buf, starts, ends, ~handled, marks)
    trailer_at = trailer_at[handled[trailer_line]]
    trailer_line = trailer_line[handled[trailer_line]]
    if len(pair_statics):
        order = np.argsort(np.concatenate([static_line, pair_line]), kind="stable")
        statics = take_rows(concat_rows([statics, pair_statics]), order)
        static_line = np.concatenate([static_line, pair_line])[order]
    return FastResult(
        positions,
        handled,
        rejects,
        line=pos_line,
        other_nmea=other,
        statics=statics,
        static_line=static_line,
        ignored_line=ignored_line,
        trailer_line=trailer_line,
        dollar=np.asarray(buf[starts] == _DOLLAR),
        dual_line=dual_line,
        pair_line=pair_line,
        pair_first=pair_first,
        pair_key=pair_key,
        trailer_at=trailer_at,
        tag_line=tag_line,
        tags=tags,
    )


def _pairs(
    buf: U8Array, frames: _Frames, feed: int, marks: Marks
) -> tuple[StaticArray, IntArray, IntArray, IntArray]:
    """Two-sentence type 5 messages, decoded as the general path would.

    Only the plain case is taken: no trailing fields, one-character sequence id and channel,
    a part 1 whose next fragment of the same key is a part 2 (the key as the general path keys
    fragments: tag-block group, else source, else talker; with sequence id and channel, see
    :func:`fragment_number`), both checksums right, valid armour, 422 to 1008 bits. Returns the
    static rows, the line of each (the second sentence, where the general path emits it), the
    line of each first sentence and the key of each. Fragments of a key that stay unpaired go to
    the general path, and then so do the pairs of that key, as do pairs whose key the general
    path is still assembling from earlier chunks (``AisDecoder._settle_pairs``).
    """
    empty = np.zeros(0, dtype=np.int64)
    cand = np.flatnonzero((frames.part > 0) & ~frames.trailer & (frames.key >= 0))
    if len(cand) < 2:
        return empty_statics(0), empty, empty, empty
    # fragments by key, each key's in line order: a part 1 and the next fragment of its key, a part 2
    by_key = cand[np.argsort(frames.key[cand], kind="stable")]
    key, part = frames.key[by_key], frames.part[by_key]
    hit = (key[:-1] == key[1:]) & (part[:-1] == 1) & (part[1:] == 2)
    j, k = by_key[:-1][hit], by_key[1:][hit]
    srt = np.argsort(j)
    j, k = j[srt], k[srt]
    values, valid = _armor_tables()
    first = buf[frames.payload[j]]
    keep = valid[first] & (values[first] == 5)
    j, k = j[keep], k[keep]
    bits = (frames.length[j] + frames.length[k]) * 6 - frames.fill[k]
    keep = (bits >= int(StaticLayout.TYPE5)) & (bits <= _MAX_BITS) & (frames.length[j] < _STATIC_CHARS)
    j, k = j[keep], k[keep]
    if len(j) == 0:
        return empty_statics(0), empty, empty, empty
    a, b = frames.select(j), frames.select(k)
    six_a, ok_a = _payload_sixbits(buf, a, _STATIC_CHARS, marks)
    six_b, ok_b = _payload_sixbits(buf, b, _STATIC_CHARS, marks)
    good = ok_a & ok_b & _checksum_ok(buf, a) & _checksum_ok(buf, b)
    if not good.any():
        return empty_statics(0), empty, empty, empty
    six_a, six_b, len_a = six_a[good], six_b[good], a.length[good]
    col = np.arange(_STATIC_CHARS)[None, :]
    from_b = col >= len_a[:, None]
    rows = np.arange(len(len_a))[:, None]
    six = np.where(from_b, six_b[rows, np.clip(col - len_a[:, None], 0, _STATIC_CHARS - 1)], six_a)
    statics = decode_static_fields(StaticLayout.TYPE5, SixBits(six.astype(np.uint8)), a.time[good], feed)
    return statics, b.line[good].astype(np.int64), a.line[good].astype(np.int64), a.key[good]


_GROUP_SPACE = 1 << 61  # numbers of keys by tag-block group
_SOURCE_SPACE = 1 << 60  # numbers of keys by tag-block source (a hash: equal keys, equal numbers)
_SOURCE_MASK = (1 << 60) - 1
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MAX_SOURCE_BYTES = 24


def fragment_number(key: tuple[object, ...]) -> int:
    """The number the fast path gives the general path's key of a two-sentence message (-1: none).

    Keys are ``(source, talker, channel, seq_id, count)``, or ``("g", group_id, total, seq_id)``
    for tag-block groups. Source-less keys number as :func:`pair_key`; group keys by group id
    and sequence id; source keys by a hash of source, channel and sequence id (two keys with
    one number are both left to the general path: a collision costs speed, never a result).
    Keys no fast pair can have get -1.
    """
    if len(key) == 4 and key[0] == "g":
        gid, total, seq = key[1], key[2], key[3]
        if total != 2 or not isinstance(gid, int) or not isinstance(seq, bytes) or not 0 <= gid < 1 << 56:
            return -1
        if len(seq) > 1 or (seq and not seq.isdigit()):
            return -1
        return _GROUP_SPACE | (gid << 4) | (seq[0] - _ZERO if seq else 10)
    if len(key) == 5 and key[4] == 2:
        source, talker, channel, seq = key[0], key[1], key[2], key[3]
        if not (isinstance(talker, bytes) and isinstance(channel, bytes) and isinstance(seq, bytes)):
            return -1
        if source == "":
            return pair_key(talker, seq, channel)
        if isinstance(source, str):
            h = _FNV_OFFSET
            for byte in source.encode("ascii", "replace") + b"|" + channel + b"|" + seq:
                h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            return _SOURCE_SPACE | (h & _SOURCE_MASK)
    return -1


def _source_numbers(
    buf: U8Array,
    src_start: IntArray,
    src_len: IntArray,
    c4: IntArray,
    chan: IntArray,
    c3: IntArray,
    seq: IntArray,
) -> IntArray:
    """:func:`fragment_number` of source keys, for many frames at once (FNV-1a over the same bytes)."""
    n = len(src_start)
    chan_len = (chan > 0).astype(np.int64)  # one channel byte or none (longer ones: key -1 already)
    seq_len = (seq < 10).astype(np.int64)  # one sequence digit or none
    total = src_len + 1 + chan_len + 1 + seq_len
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    width = int(total.max(initial=0))
    for j in range(width):
        in_src = j < src_len
        at_bar1 = j == src_len
        in_chan = (j > src_len) & (j < src_len + 1 + chan_len)
        at_bar2 = j == src_len + 1 + chan_len
        byte = np.where(
            in_src,
            buf[np.minimum(src_start + j, len(buf) - 1)],
            np.where(
                at_bar1 | at_bar2,
                ord("|"),
                np.where(
                    in_chan, buf[np.minimum(c4 + 1, len(buf) - 1)], buf[np.minimum(c3 + 1, len(buf) - 1)]
                ),
            ),
        ).astype(np.uint64)
        live = j < total
        h = np.where(live, (h ^ byte) * prime, h)
    out = (np.int64(_SOURCE_SPACE) | (h & np.uint64(_SOURCE_MASK)).astype(np.int64)).astype(np.int64)
    return np.where(src_len <= _MAX_SOURCE_BYTES, out, -1)


def pair_key(address: bytes, seq: bytes, channel: bytes) -> int:
    """The number :func:`_pairs` gives an (address ``AIVDM``, sequence id, channel); -1 if it never pairs such."""
    if len(address) != 5 or len(seq) > 1 or len(channel) > 1 or (seq and not seq.isdigit()):
        return -1
    s = 10 if not seq else seq[0] - _ZERO
    c = channel[0] if channel else 0
    own = 1 if address[4:5] == b"O" else 0
    return (address[0] << 24) | (address[1] << 16) | (own << 12) | (s << 8) | c


# message types no later stage reads: counted (ignored_type), not decoded
_IGNORED_TYPES = np.array([7, 10, 12, 13, 14, 15, 16, 17, 20, 22, 23, 25, 26], dtype=np.int64)
_MIN_BITS = 38  # type, repeat and MMSI
_MAX_BITS = 1008  # five slots; the general path refuses longer messages as too_long
_STATIC_CHARS = 71  # 426 bits >= StaticLayout.TYPE5


def _statics_and_ignored(
    buf: U8Array,
    frames: _Frames,
    msg_type: IntArray,
    values: U8Array,
    valid: BoolArray,
    feed: int,
    marks: Marks,
) -> tuple[StaticArray, IntArray, IntArray, IntArray, int, PositionArray, IntArray]:
    """Single-sentence static reports decoded, and ignored-type messages checked and counted.

    Returns the static rows, their lines, the lines of ignored-type messages, every line taken
    (handled), and the number of those refused for a bad checksum.
    """
    bits = frames.length * 6 - frames.fill
    sized = (bits >= _MIN_BITS) & (bits <= _MAX_BITS)
    part_at = np.minimum(frames.payload + 6, len(buf) - 1)  # bits 38-39: the 7th character
    part = (np.where(valid[buf[part_at]], values[buf[part_at]], 0).astype(np.int64) >> 2) & 3
    lay = np.full(len(bits), -1, dtype=np.int64)
    lay[(msg_type == 5) & (bits >= int(StaticLayout.TYPE5))] = int(StaticLayout.TYPE5)
    lay[(msg_type == 24) & (part == 0) & (bits >= int(StaticLayout.PART_A))] = int(StaticLayout.PART_A)
    lay[(msg_type == 24) & (part == 1) & (bits >= int(StaticLayout.PART_B))] = int(StaticLayout.PART_B)
    lay[(msg_type == 21) & (bits >= int(StaticLayout.AIDS))] = int(StaticLayout.AIDS)
    lay[(msg_type == 19) & (bits >= int(StaticLayout.TYPE19))] = int(StaticLayout.TYPE19)
    ignored = np.isin(msg_type, _IGNORED_TYPES)
    take = sized & ((lay >= 0) | ignored)
    empty = np.zeros(0, dtype=np.int64)
    if not take.any():
        return empty_statics(0), empty, empty, empty, 0, empty_positions(0), empty
    fr, lay, ignored = frames.select(take), lay[take], ignored[take]
    six, armor_ok = _payload_sixbits(buf, fr, _STATIC_CHARS, marks)
    fr, lay, ignored, six = fr.select(armor_ok), lay[armor_ok], ignored[armor_ok], six[armor_ok]
    good = _checksum_ok(buf, fr)
    n_bad = int(np.count_nonzero(~good))
    ignored_line = fr.line[good & ignored].astype(np.int64)
    parts, lines = [], []
    dual: list[PositionArray] = []  # types 19 and 21 also make a position row
    dual_lines: list[IntArray] = []
    for layout in StaticLayout:
        rows = np.flatnonzero(good & (lay == int(layout)))
        if len(rows):
            fields = SixBits(six[rows])
            nbits = fr.length[rows] * 6 - fr.fill[rows]
            parts.append(decode_static_fields(layout, fields, fr.time[rows], feed, nbits))
            lines.append(fr.line[rows].astype(np.int64))
            if layout in (StaticLayout.AIDS, StaticLayout.TYPE19):
                dual.append(dual_positions(layout, fields, fr.time[rows], feed))
                dual_lines.append(lines[-1])
    if dual:
        dual_line = np.concatenate(dual_lines)
        order = np.argsort(dual_line, kind="stable")
        duals, dual_line = take_rows(concat_rows(dual), order), dual_line[order]
    else:
        duals, dual_line = empty_positions(0), empty
    if parts:
        line = np.concatenate(lines)
        order = np.argsort(line, kind="stable")
        statics, static_line = take_rows(concat_rows(parts), order), line[order]
    else:
        statics, static_line = empty_statics(0), empty
    return statics, static_line, ignored_line, fr.line.astype(np.int64), n_bad, duals, dual_line


def _other_nmea(buf: U8Array, starts: IntArray, ends: IntArray, todo: BoolArray, marks: Marks) -> BoolArray:
    """Sentences that are NMEA but not AIS, as the general path counts them (``other_nmea``).

    ``$`` lines whose address (up to the first comma) is 3-6 printable characters, not ``PGHP``;
    and ``!`` lines (``!AIPWR``, ``!AIALR`` ...) with such an address that is not ``ccVDM`` /
    ``ccVDO``, whose first ``*`` is followed by two hex digits and then the end or a comma.
    """
    other = np.zeros(len(starts), dtype=bool)
    first = buf[starts]
    lines = np.flatnonzero(((first == _DOLLAR) | (first == _BANG)) & todo)
    if len(lines) == 0:
        return other
    s0, e0 = starts[lines], ends[lines]
    beyond = _sentinel(buf)
    comma = _next_at_or_after(marks.commas, s0 + 1, beyond)
    n_addr = comma - s0 - 1
    ok = (comma < e0) & (n_addr >= 3) & (n_addr <= 6)
    printable = np.zeros(256, dtype=bool)
    printable[0x21:0x7F] = True
    for k in range(6):  # every address byte printable and not blank
        at = np.minimum(s0 + 1 + k, len(buf) - 1)
        ok &= (k >= n_addr) | printable[buf[at]]
    dollar = buf[s0] == _DOLLAR
    pghp = (n_addr == 4) & (buf[s0 + 1] == ord("P")) & (buf[s0 + 2] == ord("G"))
    pghp &= (buf[s0 + 3] == ord("H")) & (buf[s0 + 4] == ord("P"))
    ais = (n_addr == 5) & (buf[s0 + 3] == ord("V")) & (buf[s0 + 4] == ord("D"))
    ais &= (buf[s0 + 5] == ord("M")) | (buf[s0 + 5] == ord("O"))
    star = _next_at_or_after(marks.stars, s0, beyond)
    hexv = _hex_table()
    framed = (star < e0) & (hexv[buf[star + 1]] >= 0) & (hexv[buf[star + 2]] >= 0) & (star + 2 < e0)
    framed &= (star + 3 == e0) | (buf[star + 3] == _COMMA)
    other[lines] = ok & np.where(dollar, ~pghp, ~ais & framed)
    return other


def _candidates(buf: U8Array, starts: IntArray, ends: IntArray, follows_gh: bool) -> IntArray:
    """Lines that start like a sentence or a tag block and are long enough; not after $PGHP."""
    lengths = ends - starts
    first = buf[starts]
    cand = (lengths >= _MIN_LINE) & ((first == _BANG) | (first == _BACKSLASH))
    gh = (lengths >= 5) & (first == _DOLLAR)
    gh &= ((buf[starts + 3] | 0x20) == ord("h")) & ((buf[starts + 4] | 0x20) == ord("p"))
    cand_idx = np.flatnonzero(cand)
    gh_idx = np.flatnonzero(gh)
    if follows_gh:
        gh_idx = np.concatenate(([-1], gh_idx))
    if len(gh_idx) and len(cand_idx):
        nxt = np.searchsorted(cand_idx, gh_idx, side="right")
        cand[cand_idx[nxt[nxt < len(cand_idx)]]] = False
        cand_idx = np.flatnonzero(cand)
    return cand_idx.astype(np.int64)


def _sentinel(buf: U8Array) -> int:
    """An offset inside the zero padding: "not found" for searches, still safe to read near."""
    return len(buf) - _PAD // 2


def _next_at_or_after(positions: IntArray, at: IntArray, beyond: int) -> IntArray:
    """For each offset in ``at``, the first entry of ``positions`` >= it (``beyond`` if none)."""
    padded = np.concatenate((positions, [beyond]))
    return padded[np.searchsorted(positions, at)]


def _frame(
    buf: U8Array, line: IntArray, s0: IntArray, end: IntArray, receive_time: float, marks: Marks
) -> tuple[_Frames, IntArray, TagBlocks | None]:
    """Check the sentence structure and return the offsets of the lines that pass."""
    beyond = _sentinel(buf)
    ok = np.ones(len(s0), dtype=bool)
    has_tb = buf[s0] == _BACKSLASH
    tb_end = s0 - 1
    if has_tb.any():
        tb_end = np.where(has_tb, _next_at_or_after(marks.backslashes, s0 + 1, beyond), s0 - 1)
        ok &= tb_end < end - _MIN_LINE + 1
    s = np.where(ok, tb_end + 1, s0)
    talker_ok, channel_ok, digit = _byte_class_tables()
    commas = marks.commas
    first = np.searchsorted(commas, s)
    padded = np.concatenate((commas, np.full(6, beyond, dtype=commas.dtype)))
    c1, c2, c3, c4, c5, c6 = (padded[first + j] for j in range(6))
    ok &= (buf[s] == _BANG) & (c1 == s + 6) & talker_ok[buf[s + 1]] & talker_ok[buf[s + 2]]
    ok &= (buf[s + 3] == ord("V")) & (buf[s + 4] == ord("D"))
    ok &= (buf[s + 5] == ord("M")) | (buf[s + 5] == ord("O"))
    ok &= (c2 == c1 + 2) & (c3 == c2 + 2)
    count, num = buf[c1 + 1], buf[c2 + 1]
    single = (count == _ONE) & (num == _ONE)
    two_part = (count == _TWO) & ((num == _ONE) | (num == _TWO))
    ok &= single | two_part
    part = np.where(two_part, num.astype(np.int64) - _ZERO, 0)
    # sequence id (0-9, or none: 10) and channel (one byte, or none: 0) of two-part messages
    seq = np.where(c4 == c3 + 1, 10, np.where(c4 == c3 + 2, buf[c3 + 1].astype(np.int64) - _ZERO, -1))
    chan = np.where(c5 == c4 + 1, 0, np.where(c5 == c4 + 2, buf[c4 + 1].astype(np.int64), -1))
    # talker and formatter (VDM / VDO) belong to the general path's key of a message too
    talker = (buf[s + 1].astype(np.int64) << 8) | buf[s + 2]
    own = (buf[s + 5] == ord("O")).astype(np.int64)
    key = np.where((seq >= 0) & (chan >= 0), (talker << 16) | (own << 12) | (seq << 8) | chan, -1)
    ok &= _all_in_class(buf, c3 + 1, c4 - c3 - 1, _MAX_SEQ_DIGITS, digit)
    ok &= _all_in_class(buf, c4 + 1, c5 - c4 - 1, _MAX_CHANNEL_CHARS, channel_ok)
    length = c6 - c5 - 1
    ok &= (length >= 1) & (length <= MAX_PAYLOAD_CHARS)
    fill_ch = buf[c6 + 1].astype(np.int64)
    ok &= (fill_ch >= _ZERO) & (fill_ch <= _FIVE) & (buf[c6 + 2] == _STAR)
    hexv = _hex_table()
    ok &= (hexv[buf[c6 + 3]] >= 0) & (hexv[buf[c6 + 4]] >= 0)
    tail = c6 + 5
    # end of line, or USCG-style trailing fields after the checksum. pyais then reads the fill
    # bits as 0, which cannot change a field value: every field read lies inside the payload
    # trailing fields carry a time and a station that only count without a tag block (the tag
    # block's c: would win, and its absence is not known here): tagged lines with them go slow
    ok &= (tail == end) | ((tail < end) & (buf[tail] == _COMMA) & ~has_tb)
    trailing = ok & (tail != end)
    if trailing.any():  # a '*' there would make pyais read the fill bits from it
        ok[trailing] = _next_at_or_after(marks.stars, tail[trailing], beyond) >= end[trailing]
    # the sentence fields are checked byte by byte above; tag blocks and trailing fields not yet
    extra = has_tb | (tail != end)
    if extra.any():
        ok[extra] &= _printable(buf, s0[extra], end[extra])
    time = np.full(len(s0), receive_time, dtype=np.float64)
    tb: TagBlocks | None = None
    if has_tb.any():
        tb = tag_blocks(buf, s0[has_tb], tb_end[has_tb], marks)
        ok[has_tb] &= tb.usable
        time[has_tb] = np.where(np.isnan(tb.time), receive_time, tb.time)
        # the general path's key of a tagged fragment: its g: group, else its s: source (then the
        # talker does not count), else the talker as for untagged lines
        tagged_at = np.flatnonzero(has_tb)
        two = two_part[tagged_at] & (key[tagged_at] >= 0)
        by_group = two & (tb.group_total == 2) & (tb.group_id >= 0)
        seq_code = seq[tagged_at]
        key[tagged_at[by_group]] = _GROUP_SPACE | (tb.group_id[by_group] << 4) | seq_code[by_group]
        by_source = two & ~by_group & (tb.source_len > 0)
        if by_source.any():
            rows = tagged_at[by_source]
            key[rows] = _source_numbers(
                buf,
                tb.source_start[by_source],
                tb.source_len[by_source],
                c4[rows],
                chan[rows],
                c3[rows],
                seq[rows],
            )
    columns = (line, s, end, c5 + 1, length, fill_ch - _ZERO, c6 + 2, tail != end, part, key, has_tb)
    data = np.empty((len(_FRAME_FIELDS), len(s0)), dtype=np.int64)
    for k, col in enumerate(columns):
        data[k] = col
    keep = np.flatnonzero(ok)
    return _Frames(data[:, keep], time[keep]), line[has_tb], tb


def _printable(buf: U8Array, s0: IntArray, end: IntArray) -> BoolArray:
    """True where every byte of [s0, end) is printable ASCII (space included)."""
    if len(s0) == 0:
        return np.zeros(0, dtype=bool)
    idx = np.empty(2 * len(s0), dtype=np.int64)
    idx[0::2] = s0
    idx[1::2] = end
    lo = np.minimum.reduceat(buf, idx)[0::2]
    hi = np.maximum.reduceat(buf, idx)[0::2]
    return (lo >= _SPACE) & (hi < 127)


def _all_in_class(buf: U8Array, at: IntArray, count: IntArray, limit: int, klass: BoolArray) -> BoolArray:
    """True where 0 <= count <= limit and the ``count`` bytes from ``at`` are all in ``klass``."""
    ok = (count >= 0) & (count <= limit)
    rows = np.flatnonzero(count > 0)  # most fields here are empty or one byte: look only where needed
    for j in range(limit):
        if len(rows) == 0:
            break
        ok[rows] &= klass[buf[np.minimum(at[rows] + j, len(buf) - 1)]]
        rows = rows[count[rows] > j + 1]
    return ok


@dataclass
class TagBlocks:
    """Tag blocks ``\\key:value,...*hh\\`` read as :func:`mdacentre.decode.nmea.parse_tag_block` reads them.

    One entry per block; ``usable`` is False for every block the fast path leaves to the general
    path: malformed ones (which it refuses), and those with a one-digit checksum, a second ``*``,
    a repeated ``c:``, ``s:`` or ``g:``, a ``c:`` that is not 1-13 digits, or a ``g:`` whose parts
    are too long to read here.
    """

    usable: BoolArray
    time: F64Array  # c: in seconds, NaN without c:
    checksum_ok: BoolArray
    source_start: IntArray  # offset of the s: value, -1 without s:
    source_len: IntArray
    group_total: IntArray  # g: total sentences, 0 without a valid g: (as nmea._parse_group keeps it)
    group_id: IntArray  # g: group id, -1 without

    def take(self, index: IntArray) -> TagBlocks:
        return TagBlocks(*(getattr(self, f.name)[index] for f in fields(self)))


def tag_blocks(buf: U8Array, s0: IntArray, tb_end: IntArray, marks: Marks | None = None) -> TagBlocks:
    """Read the tag blocks that open at ``s0`` (a backslash) and close at ``tb_end`` (the next one)."""
    marks = marks if marks is not None else Marks(buf)
    k = len(s0)
    beyond = _sentinel(buf)
    stars = marks.stars
    hi_star = np.searchsorted(stars, tb_end)
    one_star = hi_star - np.searchsorted(stars, s0) == 1
    star = np.where(one_star, stars[np.maximum(hi_star - 1, 0)] if len(stars) else tb_end, tb_end)
    hexv = _hex_table()
    usable = one_star & (tb_end - star == 3) & (star > s0 + 1)
    usable &= (hexv[buf[np.minimum(star + 1, beyond)]] >= 0) & (hexv[buf[np.minimum(star + 2, beyond)]] >= 0)
    # items: one after the opening backslash, one after each comma of the body
    commas = marks.commas
    lo, hi = np.searchsorted(commas, s0), np.searchsorted(commas, star)
    n_commas = np.where(usable, hi - lo, 0)
    owner = np.repeat(np.arange(k), n_commas + 1)
    first_item = np.zeros(len(owner), dtype=bool)
    first_item[np.cumsum(n_commas + 1)[:-1]] = True
    if len(owner):
        first_item[0] = True
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(n_commas + 1) - (n_commas + 1), n_commas + 1)
    commas_p = np.concatenate((commas, [beyond]))
    item = np.where(first_item, s0[owner] + 1, commas_p[np.minimum(lo[owner] + rank - 1, len(commas))] + 1)
    colons, seps = marks.colons, marks.commas_and_stars
    item_end = _next_at_or_after(seps, item, beyond)
    colon = _next_at_or_after(colons, item, beyond)
    good_item = (colon > item) & (colon < item_end)
    is_c = (colon == item + 1) & (buf[item] == ord("c"))
    is_s = (colon == item + 1) & (buf[item] == ord("s"))
    is_g = (colon == item + 1) & (buf[item] == ord("g"))
    usable &= np.bincount(owner, ~good_item, minlength=k) == 0
    usable &= (np.bincount(owner, is_c, minlength=k) <= 1) & (np.bincount(owner, is_s, minlength=k) <= 1)
    usable &= np.bincount(owner, is_g, minlength=k) <= 1
    group_total, group_id, g_ok = _groups(buf, owner, item, item_end, is_g, k)
    usable &= g_ok
    # c: digits, as seconds or milliseconds
    has_c = np.zeros(k, dtype=bool)
    v0 = np.zeros(k, dtype=np.int64)
    ndig = np.zeros(k, dtype=np.int64)
    c_items = np.flatnonzero(is_c)
    has_c[owner[c_items]] = True
    v0[owner[c_items]] = item[c_items] + 2
    ndig[owner[c_items]] = item_end[c_items] - item[c_items] - 2
    _, _, digit = _byte_class_tables()
    usable &= ~has_c | ((ndig >= 1) & _all_in_class(buf, v0, ndig, _MAX_TIME_DIGITS, digit))
    value = np.zeros(k, dtype=np.int64)
    for j in range(_MAX_TIME_DIGITS):
        take = j < ndig
        d = buf[np.minimum(v0 + j, beyond)].astype(np.int64) - _ZERO
        value = np.where(take, value * 10 + d, value)
    seconds = np.where(value > _MS_THRESHOLD, value / 1000.0, value.astype(np.float64))
    # s: source station
    src_start = np.full(k, -1, dtype=np.int64)
    src_len = np.zeros(k, dtype=np.int64)
    s_items = np.flatnonzero(is_s)
    src_start[owner[s_items]] = item[s_items] + 2
    src_len[owner[s_items]] = item_end[s_items] - item[s_items] - 2
    # checksum of the body
    checksum_ok = np.zeros(k, dtype=bool)
    rows = np.flatnonzero(usable)
    if len(rows):
        idx = np.empty(2 * len(rows), dtype=np.int64)
        idx[0::2] = s0[rows] + 1
        idx[1::2] = star[rows]
        actual = np.bitwise_xor.reduceat(buf, idx)[0::2]
        expected = hexv[buf[star[rows] + 1]] * 16 + hexv[buf[star[rows] + 2]]
        checksum_ok[rows] = actual.astype(np.int16) == expected
    return TagBlocks(
        usable, np.where(has_c, seconds, np.nan), checksum_ok, src_start, src_len, group_total, group_id
    )


_MAX_GROUP_DIGITS = (3, 3, 12)  # sentence number, total, group id: longer ones go to the general path


def _groups(
    buf: U8Array, owner: IntArray, item: IntArray, item_end: IntArray, is_g: BoolArray, k: int
) -> tuple[IntArray, IntArray, BoolArray]:
    """``g:num-total-id`` per block as :func:`mdacentre.decode.nmea._parse_group` keeps it.

    Returns (total, id, readable): total 0 and id -1 where there is no group or it is ignored
    (not three digit runs, or not 1 <= num <= total <= 9); readable is False where a part is
    longer than read here.
    """
    total = np.zeros(k, dtype=np.int64)
    gid = np.full(k, -1, dtype=np.int64)
    readable = np.ones(k, dtype=bool)
    g_items = np.flatnonzero(is_g)
    if len(g_items) == 0:
        return total, gid, readable
    who = owner[g_items]
    v0, v1 = item[g_items] + 2, item_end[g_items]
    _, _, digit = _byte_class_tables()
    values: list[IntArray] = []
    well = np.ones(len(g_items), dtype=bool)
    at = v0
    for n, limit in enumerate(_MAX_GROUP_DIGITS):
        # the run of digits from ``at``; it must end at a '-' (first two parts) or at the end
        run = np.zeros(len(g_items), dtype=np.int64)
        open_ = np.ones(len(g_items), dtype=bool)
        value = np.zeros(len(g_items), dtype=np.int64)
        for j in range(limit + 1):
            byte = buf[np.minimum(at + j, len(buf) - 1)]
            step = open_ & (at + j < v1) & digit[byte]
            value = np.where(step, value * 10 + byte.astype(np.int64) - _ZERO, value)
            run += step
            open_ &= step
        stop = at + run
        end_ok = (stop < v1) & (buf[np.minimum(stop, len(buf) - 1)] == ord("-")) if n < 2 else stop == v1
        readable[who[(run > limit)]] = False
        well &= (run >= 1) & (run <= limit) & end_ok
        values.append(value)
        at = stop + 1
    num, tot, ident = values
    # anything else in the value (a fourth part, other bytes) leaves the group ignored, as the general path does
    valid = well & (num >= 1) & (num <= tot) & (tot <= _MAX_FRAGMENTS)
    total[who[valid]] = tot[valid]
    gid[who[valid]] = ident[valid]
    return total, gid, readable


_MAX_TRAILER_DIGITS = 15


def trailer_times(buf: U8Array, at: IntArray, end: IntArray) -> tuple[F64Array, BoolArray]:
    """Epochs of the trailers ``,<digits>`` that hold one number only, as :func:`mdacentre.decode.nmea.parse_trailer` reads them.

    ``at`` is the offset of the comma after the checksum, ``end`` the end of the line. Returns the
    epoch (NaN when the number is no time) and which trailers had that simple form; the others
    must be read by ``parse_trailer``.
    """
    _, _, digit = _byte_class_tables()
    n = end - at - 1
    simple = (n >= 1) & _all_in_class(buf, at + 1, n, _MAX_TRAILER_DIGITS, digit)
    value = np.zeros(len(at), dtype=np.float64)
    for j in range(_MAX_TRAILER_DIGITS):
        d = buf[np.minimum(at + 1 + j, len(buf) - 1)].astype(np.float64) - _ZERO
        value = np.where(j < n, value * 10 + d, value)
    epoch = np.where(value > _MS_THRESHOLD, value / 1000.0, value)
    return np.where((value > 1e8) & (value < 1e13), epoch, np.nan), simple


def station_counts(buf: U8Array, blocks: TagBlocks) -> dict[bytes, int]:
    """How many blocks name each ``s:`` station (b"" for blocks without one)."""
    width = int(blocks.source_len.max(initial=0))
    if width == 0:
        return {b"": len(blocks.usable)} if len(blocks.usable) else {}
    cols = np.arange(width)
    at = np.minimum(np.maximum(blocks.source_start, 0)[:, None] + cols[None, :], len(buf) - 1)
    raw = np.where(cols[None, :] < blocks.source_len[:, None], buf[at], 0).astype(np.uint8)
    names, counts = np.unique(np.ascontiguousarray(raw).view(f"S{width}").reshape(-1), return_counts=True)
    return {bytes(name): int(n) for name, n in zip(names.tolist(), counts.tolist(), strict=True)}


def _payload_sixbits(
    buf: U8Array, fr: _Frames, width: int = _WORDS * _WORD_CHARS, marks: Marks | None = None
) -> tuple[U8Array, BoolArray]:
    """Six-bit values of the first ``width`` payload characters (zero past the payload's end).

    Also returns whether every payload character is valid AIS armour ('0'-'W', '`'-'w').
    """
    not_armour = (marks if marks is not None else Marks(buf)).not_armour
    m = len(fr.line)
    if m == 0:
        return np.zeros((0, width), dtype=np.uint8), np.zeros(0, dtype=bool)
    limit = _DECODED_CHARS if width == _WORDS * _WORD_CHARS else width
    six = np.zeros((m, width), dtype=np.uint8)
    raw = sliding_window_view(buf, limit)[np.minimum(fr.payload, len(buf) - limit)] - np.uint8(48)
    raw -= (raw > 39) * np.uint8(8)  # '`'-'w' follow '0'-'W' after a gap of 8 (invalid bytes: see ok)
    six[:, :limit] = raw
    short = np.flatnonzero(fr.length < limit)
    if len(short):
        six[short] = np.where(np.arange(width)[None, :] < fr.length[short, None], six[short], 0)
    idx = np.empty(2 * m, dtype=np.int64)
    idx[0::2] = fr.payload
    idx[1::2] = fr.payload + fr.length
    ok = np.logical_or.reduceat(not_armour, idx)[0::2] == 0
    return six, ok


def _pack_words(six: U8Array) -> U64Array:
    """Pack 32 six-bit values per row into four 48-bit words (8 characters each)."""
    pairs = (six[:, 0::2].astype(np.uint16) << np.uint16(6)) | six[:, 1::2]
    quads = (pairs[:, 0::2].astype(np.uint32) << np.uint32(12)) | pairs[:, 1::2]
    return (quads[:, 0::2].astype(np.uint64) << np.uint64(24)) | quads[:, 1::2]


def _field(words: U64Array, start: int, width: int) -> IntArray:
    """Unsigned bit field [start, start + width) of every row of 48-bit words."""
    word, off = divmod(start, _WORD_BITS)
    avail = _WORD_BITS - off
    if width <= avail:
        val = (words[:, word] >> np.uint64(avail - width)) & np.uint64((1 << width) - 1)
    else:
        low = width - avail
        high = words[:, word] & np.uint64((1 << avail) - 1)
        val = (high << np.uint64(low)) | (words[:, word + 1] >> np.uint64(_WORD_BITS - low))
    return val.astype(np.int64)


def _signed(words: U64Array, start: int, width: int) -> IntArray:
    """Two's-complement bit field."""
    raw = _field(words, start, width)
    return raw - ((raw >> (width - 1)) << width)


def _layout_of(msg_type: IntArray, bits: IntArray) -> IntArray:
    """Layout per row, or -1 for types the fast path leaves alone or payloads too short."""
    layout = np.full(len(msg_type), -1, dtype=np.int64)
    for mtype, lay in _TYPE_LAYOUT.items():
        hit = (msg_type == mtype) & (bits >= _SPECS[lay].min_bits)
        layout[hit] = int(lay)
    return layout


def _checksum_ok(buf: U8Array, fr: _Frames) -> BoolArray:
    """XOR of the bytes between '!' and '*' against the two hex digits after '*'."""
    if len(fr.line) == 0:
        return np.zeros(0, dtype=bool)
    idx = np.empty(2 * len(fr.line), dtype=np.int64)
    idx[0::2] = fr.start + 1
    idx[1::2] = fr.star
    actual = np.bitwise_xor.reduceat(buf, idx)[0::2]
    hexv = _hex_table()
    expected = hexv[buf[fr.star + 1]] * 16 + hexv[buf[fr.star + 2]]
    return actual.astype(np.int16) == expected


def _rows(words: U64Array, msg_type: IntArray, layout: IntArray, time: F64Array, feed: int) -> PositionArray:
    """POSITION_DTYPE rows from the packed payload words (each column computed whole, then written once)."""
    n = len(words)
    if n == 0:
        return empty_positions(0)
    mmsi = _field(words, *_MMSI)
    kind = np.full(n, int(TrackKind.VESSEL), dtype=np.int64)
    kind[layout == int(Layout.BASE)] = int(TrackKind.BASE_STATION)
    kind[layout == int(Layout.SAR)] = int(TrackKind.SAR_AIRCRAFT)
    cols = {
        name: np.full(n, np.nan, dtype=np.float64)
        for name in ("lat", "lon", "sog", "cog", "heading", "alt_ft")
    }
    nav = np.full(n, -1, dtype=np.int64)
    for lay in Layout:
        rows = np.flatnonzero(layout == int(lay))
        if len(rows):
            _fill_layout(cols, nav, rows, words[rows], _SPECS[lay])
    out = np.empty(n, dtype=POSITION_DTYPE)
    out["key"] = make_key(kind, mmsi)
    out["kind"] = kind
    out["ident"] = mmsi
    out["t"] = time
    for name, col in cols.items():
        out[name] = col
    out["nav_status"] = nav
    out["msg_type"] = msg_type
    out["vrate_fpm"] = np.nan
    out["squawk"] = -1
    out["on_ground"] = -1
    out["feed"] = feed
    return out


def _fill_layout(
    cols: dict[str, F64Array], nav: IntArray, rows: IntArray, words: U64Array, spec: _Spec
) -> None:
    lon_raw = _signed(words, *spec.lon)
    lat_raw = _signed(words, *spec.lat)
    lon = np.floor_divide(spec.lat_lon_num * lon_raw + 3, 6) / 1e6
    lat = np.floor_divide(spec.lat_lon_num * lat_raw + 3, 6) / 1e6
    cols["lon"][rows] = np.where(lon == _LON_NA_DEG, np.nan, lon)
    cols["lat"][rows] = np.where(lat == _LAT_NA_DEG, np.nan, lat)
    if spec.sog is not None:
        sog = _field(words, *spec.sog)
        cols["sog"][rows] = np.where(sog == spec.sog_na, np.nan, sog / spec.sog_div)
    if spec.cog is not None:
        cog = _field(words, *spec.cog)
        cols["cog"][rows] = np.where(cog == spec.cog_na, np.nan, cog / spec.cog_div)
    if spec.heading is not None:
        heading = _field(words, *spec.heading)
        cols["heading"][rows] = np.where(heading == _HEADING_NA, np.nan, heading)
    if spec.status is not None:
        nav[rows] = _field(words, *spec.status)
    if spec.alt is not None:
        alt = _field(words, *spec.alt)
        cols["alt_ft"][rows] = np.where(alt == _ALT_NA, np.nan, alt * FT_PER_M)
