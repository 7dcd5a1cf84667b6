"""Vectorised framing of AIS sentences: which lines of a chunk are checked sentences, and where their fields are.

The sentence structure (``!xxVDM,n,m,<seq>,<chan>,<payload>,<fill>*hh``, optionally behind an
NMEA 4.0 tag block and optionally followed by USCG-style trailing fields) is checked with
comparisons at offsets found by ``searchsorted`` over the comma positions of the whole chunk.
Lines that are not exactly the common shape are left to the per-line framing of
:mod:`mdacentre.decode.ais.nmea`. Two-sentence messages get a number per fragment key
(:func:`fragment_number`) equal to the one the general path's key maps to.
"""

from __future__ import annotations

import numpy as np

from mdacentre.decode.ais.scan import (
    BACKSLASH,
    BANG,
    COMMA,
    DOLLAR,
    DOT,
    FIVE,
    HASH,
    NINE,
    ONE,
    SPACE,
    STAR,
    TAB,
    TWO,
    ZERO,
    BoolArray,
    F64Array,
    IntArray,
    Marks,
    U8Array,
    all_in_class,
    all_printable,
    byte_class_tables,
    hex_table,
    next_at_or_after,
    sentinel,
)
from mdacentre.decode.ais.tagblocks import TagBlocks, tag_blocks

MAX_PAYLOAD_CHARS = 200  # pyais refuses longer payloads ("AIS payload too large")
_MAX_SEQ_DIGITS = 3
_MAX_CHANNEL_CHARS = 2
# shortest line that can be a handled sentence: "!AIVDM,1,1,,,X,0*hh"
_MIN_LINE = 19

# --- candidate sentences -------------------------------------------------------------------
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


class Frames:
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

    def select(self, keep: BoolArray | IntArray) -> Frames:
        return Frames(self.data[:, keep], self.time[keep])

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


def other_nmea(buf: U8Array, starts: IntArray, ends: IntArray, todo: BoolArray, marks: Marks) -> BoolArray:
    """Sentences that are NMEA but not AIS, as the general path counts them (``other_nmea``).

    ``$`` lines whose address (up to the first comma) is 3-6 printable characters, not ``PGHP``;
    and ``!`` lines (``!AIPWR``, ``!AIALR`` ...) with such an address that is not ``ccVDM`` /
    ``ccVDO``, whose first ``*`` is followed by two hex digits and then the end or a comma.
    """
    other = np.zeros(len(starts), dtype=bool)
    first = buf[starts]
    lines = np.flatnonzero(((first == DOLLAR) | (first == BANG)) & todo)
    if len(lines) == 0:
        return other
    s0, e0 = starts[lines], ends[lines]
    beyond = sentinel(buf)
    comma = next_at_or_after(marks.commas, s0 + 1, beyond)
    n_addr = comma - s0 - 1
    ok = (comma < e0) & (n_addr >= 3) & (n_addr <= 6)
    printable = np.zeros(256, dtype=bool)
    printable[0x21:0x7F] = True
    for k in range(6):  # every address byte printable and not blank
        at = np.minimum(s0 + 1 + k, len(buf) - 1)
        ok &= (k >= n_addr) | printable[buf[at]]
    dollar = buf[s0] == DOLLAR
    pghp = (n_addr == 4) & (buf[s0 + 1] == ord("P")) & (buf[s0 + 2] == ord("G"))
    pghp &= (buf[s0 + 3] == ord("H")) & (buf[s0 + 4] == ord("P"))
    ais = (n_addr == 5) & (buf[s0 + 3] == ord("V")) & (buf[s0 + 4] == ord("D"))
    ais &= (buf[s0 + 5] == ord("M")) | (buf[s0 + 5] == ord("O"))
    star = next_at_or_after(marks.stars, s0, beyond)
    hexv = hex_table()
    framed = (star < e0) & (hexv[buf[star + 1]] >= 0) & (hexv[buf[star + 2]] >= 0) & (star + 2 < e0)
    framed &= (star + 3 == e0) | (buf[star + 3] == COMMA)
    other[lines] = ok & np.where(dollar, ~pghp, ~ais & framed)
    return other


def candidates(buf: U8Array, starts: IntArray, ends: IntArray, follows_gh: bool) -> IntArray:
    """Lines that start like a sentence or a tag block and are long enough; not after $PGHP."""
    lengths = ends - starts
    first = buf[starts]
    cand = (lengths >= _MIN_LINE) & ((first == BANG) | (first == BACKSLASH))
    gh = (lengths >= 5) & (first == DOLLAR)
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


def frame_sentences(
    buf: U8Array, line: IntArray, s0: IntArray, end: IntArray, receive_time: F64Array, marks: Marks
) -> tuple[Frames, IntArray, TagBlocks | None]:
    """Check the sentence structure and return the offsets of the lines that pass.

    ``receive_time`` is the receive time of each line (its event time without a tag-block ``c:``).
    """
    beyond = sentinel(buf)
    ok = np.ones(len(s0), dtype=bool)
    has_tb = buf[s0] == BACKSLASH
    tb_end = s0 - 1
    if has_tb.any():
        tb_end = np.where(has_tb, next_at_or_after(marks.backslashes, s0 + 1, beyond), s0 - 1)
        ok &= tb_end < end - _MIN_LINE + 1
    s = np.where(ok, tb_end + 1, s0)
    talker_ok, channel_ok, digit = byte_class_tables()
    commas = marks.commas
    first = np.searchsorted(commas, s)
    padded = np.concatenate((commas, np.full(6, beyond, dtype=commas.dtype)))
    c1, c2, c3, c4, c5, c6 = (padded[first + j] for j in range(6))
    ok &= (buf[s] == BANG) & (c1 == s + 6) & talker_ok[buf[s + 1]] & talker_ok[buf[s + 2]]
    ok &= (buf[s + 3] == ord("V")) & (buf[s + 4] == ord("D"))
    ok &= (buf[s + 5] == ord("M")) | (buf[s + 5] == ord("O"))
    ok &= (c2 == c1 + 2) & (c3 == c2 + 2)
    count, num = buf[c1 + 1], buf[c2 + 1]
    single = (count == ONE) & (num == ONE)
    two_part = (count == TWO) & ((num == ONE) | (num == TWO))
    ok &= single | two_part
    part = np.where(two_part, num.astype(np.int64) - ZERO, 0)
    # sequence id (0-9, or none: 10) and channel (one byte, or none: 0) of two-part messages
    seq = np.where(c4 == c3 + 1, 10, np.where(c4 == c3 + 2, buf[c3 + 1].astype(np.int64) - ZERO, -1))
    chan = np.where(c5 == c4 + 1, 0, np.where(c5 == c4 + 2, buf[c4 + 1].astype(np.int64), -1))
    # talker and formatter (VDM / VDO) belong to the general path's key of a message too
    talker = (buf[s + 1].astype(np.int64) << 8) | buf[s + 2]
    own = (buf[s + 5] == ord("O")).astype(np.int64)
    key = np.where((seq >= 0) & (chan >= 0), (talker << 16) | (own << 12) | (seq << 8) | chan, -1)
    ok &= all_in_class(buf, c3 + 1, c4 - c3 - 1, _MAX_SEQ_DIGITS, digit)
    ok &= all_in_class(buf, c4 + 1, c5 - c4 - 1, _MAX_CHANNEL_CHARS, channel_ok)
    length = c6 - c5 - 1
    ok &= (length >= 1) & (length <= MAX_PAYLOAD_CHARS)
    fill_ch = buf[c6 + 1].astype(np.int64)
    ok &= (fill_ch >= ZERO) & (fill_ch <= FIVE) & (buf[c6 + 2] == STAR)
    hexv = hex_table()
    ok &= (hexv[buf[c6 + 3]] >= 0) & (hexv[buf[c6 + 4]] >= 0)
    tail = c6 + 5
    # end of line, or USCG-style trailing fields after the checksum. pyais then reads the fill
    # bits as 0, which cannot change a field value: every field read lies inside the payload
    # trailing fields carry a time and a station that only count without a tag block (the tag
    # block's c: would win, and its absence is not known here): tagged lines with them go slow
    ok &= (tail == end) | ((tail < end) & (buf[tail] == COMMA) & ~has_tb)
    trailing = ok & (tail != end)
    if trailing.any():  # a '*' there would make pyais read the fill bits from it
        ok[trailing] = next_at_or_after(marks.stars, tail[trailing], beyond) >= end[trailing]
    # the sentence fields are checked byte by byte above; tag blocks and trailing fields not yet
    extra = has_tb | (tail != end)
    if extra.any():
        ok[extra] &= all_printable(buf, s0[extra], end[extra])
    time = np.array(receive_time, dtype=np.float64)
    tb: TagBlocks | None = None
    if has_tb.any():
        tb = tag_blocks(buf, s0[has_tb], tb_end[has_tb], marks)
        ok[has_tb] &= tb.usable
        time[has_tb] = np.where(np.isnan(tb.time), time[has_tb], tb.time)
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
    columns = (line, s, end, c5 + 1, length, fill_ch - ZERO, c6 + 2, tail != end, part, key, has_tb)
    data = np.empty((len(_FRAME_FIELDS), len(s0)), dtype=np.int64)
    for k, col in enumerate(columns):
        data[k] = col
    keep = np.flatnonzero(ok)
    return Frames(data[:, keep], time[keep]), line[has_tb], tb


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
        return _GROUP_SPACE | (gid << 4) | (seq[0] - ZERO if seq else 10)
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
    s = 10 if not seq else seq[0] - ZERO
    c = channel[0] if channel else 0
    own = 1 if address[4:5] == b"O" else 0
    return (address[0] << 24) | (address[1] << 16) | (own << 12) | (s << 8) | c


# --- Unix-time prefixes ------------------------------------------------------------------------
_PREFIX_WINDOW = 32  # bytes looked at: the time, its blanks and the first byte of the sentence
_SECONDS_DIGITS = (9, 10)  # 1973 .. 2286 in seconds
_MS_DIGITS = 13  # the same span in milliseconds (no fraction then)
_MAX_FRACTION = 9


def unix_time_prefixes(
    buf: U8Array, starts: IntArray, ends: IntArray, receive_time: float
) -> tuple[IntArray, float | F64Array]:
    """Lines that loggers prefixed with their receive time: ``1452468552.938 !AIVDM,...``.

    A prefix is a Unix time (9-10 digits of seconds with an optional fraction, or 13 digits of
    milliseconds), one or more blanks (space or tab), then the sentence (``!``, ``$`` or a tag
    block's ``\\``, or a ``#`` comment). Returns the lines' starts with the prefixes cut off and the receive time of
    every line: the prefix where there is one, else ``receive_time``. When no line has a prefix
    the inputs come back unchanged (``starts`` itself and the scalar ``receive_time``).
    """
    first = buf[starts]
    cand = np.flatnonzero((first >= ZERO) & (first <= NINE) & (ends - starts > _SECONDS_DIGITS[0] + 2))
    if len(cand) == 0:
        return starts, receive_time
    s0 = starts[cand]
    win = np.lib.stride_tricks.sliding_window_view(buf, _PREFIX_WINDOW)[
        np.minimum(s0, len(buf) - _PREFIX_WINDOW)
    ]
    col = np.arange(_PREFIX_WINDOW)[None, :]
    blank = (win == SPACE) | (win == TAB)
    n = np.argmax(blank, axis=1)  # length of the time (first blank)
    in_time = col < n[:, None]
    digit = (win >= ZERO) & (win <= NINE)
    dot = (win == DOT) & in_time
    n_dot = dot.sum(axis=1)
    int_len = np.argmax(dot, axis=1)  # digits before the point (when there is one)
    fraction = n - int_len - 1
    with_point = np.isin(int_len, _SECONDS_DIGITS) & (fraction >= 1) & (fraction <= _MAX_FRACTION)
    ok = blank.any(axis=1) & ((digit | dot) | ~in_time).all(axis=1)
    ok &= np.where(n_dot == 1, with_point, (n_dot == 0) & np.isin(n, (*_SECONDS_DIGITS, _MS_DIGITS)))
    after = ~blank & ~in_time  # the first byte after the blanks opens the sentence
    at = np.argmax(after, axis=1)
    ok &= after.any(axis=1) & (s0 + at < ends[cand])
    opener = win[np.arange(len(cand)), at]
    ok &= (opener == BANG) | (opener == DOLLAR) | (opener == BACKSLASH) | (opener == HASH)
    hit = np.flatnonzero(ok)
    if len(hit) == 0:
        return starts, receive_time
    text = np.where(in_time[hit], win[hit], 0).astype(np.uint8)
    value = np.ascontiguousarray(text).view(f"S{_PREFIX_WINDOW}").reshape(-1).astype(np.float64)
    times = np.full(len(starts), receive_time, dtype=np.float64)
    times[cand[hit]] = np.where(value >= 1e11, value / 1000.0, value)
    out = starts.copy()
    out[cand[hit]] += at[hit]
    return out, times
