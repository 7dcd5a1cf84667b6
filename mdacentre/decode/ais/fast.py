"""Vectorised fast path of the AIS decoder: whole chunks of lines decoded at once with NumPy.

Most lines of a live AIS feed are single-sentence reports. This module decodes a whole chunk
of lines at once instead of one pyais object per line:

* the chunk stays one ``uint8`` buffer with the offsets of its lines
  (:class:`~mdacentre.ingest.framing.LineBuffer`); its separators are found once
  (:class:`~mdacentre.decode.ais.scan.Marks`) and the sentences framed in
  :mod:`mdacentre.decode.ais.sentences`;
* checksums are one ``np.bitwise_xor.reduceat`` over the sentence bodies;
* the message type is the first payload character; payloads are de-armoured by arithmetic on
  fixed-width windows and packed into 48-bit words (positions) or kept as six-bit matrices
  (static reports), from which every field is cut with shifts at the offsets of the one bit
  layout (:mod:`mdacentre.decode.ais.layout`).

Decoded here: position reports 1, 2, 3, 4, 9, 11, 18, 27; types 19 and 21 (a position and a
static row each); static reports 5 and 24A/B; two-sentence type 5 messages whose parts share
the general path's fragment key (:func:`~mdacentre.decode.ais.sentences.fragment_number`);
messages of types no stage uses (counted); other NMEA sentences (counted). Anything the fast
path is not sure about is left *unhandled* (``handled[i] = False``) for the general
pyais-based decoder, which counts and explains it: binary and three-part messages,
``$``-delimited or lower-case sentences, payloads too short for every field, payload bytes
outside the AIS armour (pyais would silently read them as zeros), unusual tag blocks, the first
sentence after a Gatehouse ``$PGHP`` header, and anything else that is not exactly the common
shape. A well-formed line of a fast type with a wrong checksum is handled and counted as
``Reject.BAD_CHECKSUM``.

The values produced agree with ``pyais.decode`` field for field (including pyais' rounding
of latitude/longitude to 1e-6 degrees); "not available" sentinels become NaN. The tests decode
every real recording with and without this module and compare row for row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from mdacentre.decode.ais.layout import (
    ALT_NA,
    FT_PER_M,
    HEADING_NA,
    LAT_NA_DEG,
    LON_NA_DEG,
    MMSI,
    POSITION_FIELDS,
    TYPE_LAYOUT,
    PositionFields,
    PositionLayout,
)
from mdacentre.decode.ais.scan import (
    DOLLAR,
    BoolArray,
    F64Array,
    IntArray,
    Marks,
    U8Array,
    U64Array,
    armor_tables,
    hex_table,
)
from mdacentre.decode.ais.sentences import Frames, candidates, frame_sentences, other_nmea
from mdacentre.decode.ais.statics import SixBits, StaticLayout, decode_static_fields, dual_positions
from mdacentre.decode.ais.tagblocks import TagBlocks
from mdacentre.ingest.framing import LineBuffer
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

_DECODED_CHARS = 28  # 168 bits: every field the fast path reads lies in the first 28 characters
_WORD_CHARS = 8  # 8 six-bit characters = one 48-bit word
_WORD_BITS = 6 * _WORD_CHARS
_WORDS = 4  # 4 words = 32 characters >= _DECODED_CHARS


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


def decode_lines_fast(
    lines: Sequence[bytes] | LineBuffer,
    receive_time: float | npt.ArrayLike,
    feed: int = 0,
    *,
    first_follows_gatehouse: bool = False,
    marks: Marks | None = None,
) -> FastResult:
    """Decode the common AIS reports of ``lines`` in one vectorised pass.

    ``receive_time`` (Unix seconds, one for all lines or one per line) is the event time of
    lines without a tag-block ``c:``. A line right after a Gatehouse ``$PGHP`` header is left to
    the general path (the header carries its time); set ``first_follows_gatehouse`` when the
    previous batch ended with one. ``marks`` may carry separators already found in the buffer.
    Never raises for bad input: lines it does not understand stay unhandled.
    """
    lb = lines if isinstance(lines, LineBuffer) else LineBuffer.of_lines(lines)
    if len(lb) == 0:
        return FastResult(empty_positions(0), np.zeros(0, dtype=bool), {})
    times = np.broadcast_to(np.asarray(receive_time, dtype=np.float64), (len(lb),))
    marks = marks if marks is not None else Marks(lb.buf)
    return _decode_buffer(lb.buf, lb.starts, lb.ends, times, feed, first_follows_gatehouse, marks)


def _decode_buffer(
    buf: U8Array,
    starts: IntArray,
    ends: IntArray,
    receive_time: F64Array,
    feed: int,
    follows_gh: bool,
    marks: Marks,
) -> FastResult:
    n = len(starts)
    handled = np.zeros(n, dtype=bool)
    cand = candidates(buf, starts, ends, follows_gh)
    frames, tag_line, tags = frame_sentences(buf, cand, starts[cand], ends[cand], receive_time[cand], marks)
    # two-sentence messages: the pairs decoded here; every other fragment goes to the general path
    pair_statics, pair_line, pair_first, pair_key = _pairs(buf, frames, feed, marks)
    handled[pair_line] = True
    handled[pair_first] = True
    frames = frames.select(frames.part == 0)
    trailer_line = frames.line[frames.trailer].astype(np.int64)
    trailer_at = frames.star[frames.trailer] + 3
    # the first payload character is the message type: drop other types before the heavy work
    values, valid = armor_tables()
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
    other = other_nmea(buf, starts, ends, ~handled, marks)
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
        dollar=np.asarray(buf[starts] == DOLLAR),
        dual_line=dual_line,
        pair_line=pair_line,
        pair_first=pair_first,
        pair_key=pair_key,
        trailer_at=trailer_at,
        tag_line=tag_line,
        tags=tags,
    )


def _pairs(
    buf: U8Array, frames: Frames, feed: int, marks: Marks
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
    values, valid = armor_tables()
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


_IGNORED_TYPES = np.array([7, 10, 12, 13, 14, 15, 16, 17, 20, 22, 23, 25, 26], dtype=np.int64)
_MIN_BITS = 38  # type, repeat and MMSI
_MAX_BITS = 1008  # five slots; the general path refuses longer messages as too_long
_STATIC_CHARS = 71  # 426 bits >= StaticLayout.TYPE5


def _statics_and_ignored(
    buf: U8Array,
    frames: Frames,
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


def _payload_sixbits(
    buf: U8Array, fr: Frames, width: int = _WORDS * _WORD_CHARS, marks: Marks | None = None
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
    for mtype, lay in TYPE_LAYOUT.items():
        hit = (msg_type == mtype) & (bits >= POSITION_FIELDS[lay].min_bits)
        layout[hit] = int(lay)
    return layout


def _checksum_ok(buf: U8Array, fr: Frames) -> BoolArray:
    """XOR of the bytes between '!' and '*' against the two hex digits after '*'."""
    if len(fr.line) == 0:
        return np.zeros(0, dtype=bool)
    idx = np.empty(2 * len(fr.line), dtype=np.int64)
    idx[0::2] = fr.start + 1
    idx[1::2] = fr.star
    actual = np.bitwise_xor.reduceat(buf, idx)[0::2]
    hexv = hex_table()
    expected = hexv[buf[fr.star + 1]] * 16 + hexv[buf[fr.star + 2]]
    ok: npt.NDArray[np.bool_] = actual.astype(np.int16) == expected
    return ok


def _rows(words: U64Array, msg_type: IntArray, layout: IntArray, time: F64Array, feed: int) -> PositionArray:
    """POSITION_DTYPE rows from the packed payload words (each column computed whole, then written once)."""
    n = len(words)
    if n == 0:
        return empty_positions(0)
    mmsi = _field(words, *MMSI)
    kind = np.full(n, int(TrackKind.VESSEL), dtype=np.int64)
    kind[layout == int(PositionLayout.BASE)] = int(TrackKind.BASE_STATION)
    kind[layout == int(PositionLayout.SAR)] = int(TrackKind.SAR_AIRCRAFT)
    cols = {
        name: np.full(n, np.nan, dtype=np.float64)
        for name in ("lat", "lon", "sog", "cog", "heading", "alt_ft")
    }
    nav = np.full(n, -1, dtype=np.int64)
    for lay in PositionLayout:
        rows = np.flatnonzero(layout == int(lay))
        if len(rows):
            _fill_layout(cols, nav, rows, words[rows], POSITION_FIELDS[lay])
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
    cols: dict[str, F64Array], nav: IntArray, rows: IntArray, words: U64Array, spec: PositionFields
) -> None:
    lon_raw = _signed(words, *spec.lon)
    lat_raw = _signed(words, *spec.lat)
    lon = np.floor_divide(spec.lat_lon_num * lon_raw + 3, 6) / 1e6
    lat = np.floor_divide(spec.lat_lon_num * lat_raw + 3, 6) / 1e6
    cols["lon"][rows] = np.where(lon == LON_NA_DEG, np.nan, lon)
    cols["lat"][rows] = np.where(lat == LAT_NA_DEG, np.nan, lat)
    if spec.sog is not None:
        sog = _field(words, *spec.sog)
        cols["sog"][rows] = np.where(sog == spec.sog_na, np.nan, sog / spec.sog_div)
    if spec.cog is not None:
        cog = _field(words, *spec.cog)
        cols["cog"][rows] = np.where(cog == spec.cog_na, np.nan, cog / spec.cog_div)
    if spec.heading is not None:
        heading = _field(words, *spec.heading)
        cols["heading"][rows] = np.where(heading == HEADING_NA, np.nan, heading)
    if spec.status is not None:
        nav[rows] = _field(words, *spec.status)
    if spec.alt is not None:
        alt = _field(words, *spec.alt)
        cols["alt_ft"][rows] = np.where(alt == ALT_NA, np.nan, alt * FT_PER_M)
