"""NMEA 4.0 tag blocks and trailing time fields, read for whole chunks at once.

Reads ``\\c:...,s:...,g:...*hh\\`` blocks as :func:`mdacentre.decode.ais.nmea.parse_tag_block`
reads them, and the USCG / exactEarth number after a checksum as
:func:`mdacentre.decode.ais.nmea.parse_trailer` reads it, with NumPy over the offsets found
while framing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from mdacentre.decode.ais.nmea import MAX_FRAGMENTS
from mdacentre.decode.ais.scan import (
    ZERO,
    BoolArray,
    F64Array,
    IntArray,
    Marks,
    U8Array,
    all_in_class,
    byte_class_tables,
    hex_table,
    next_at_or_after,
    sentinel,
)

_MAX_TIME_DIGITS = 13  # c: in milliseconds has 13 digits until the year 2286
_MS_THRESHOLD = 100_000_000_000  # c: values at or above this are milliseconds


@dataclass
class TagBlocks:
    """Tag blocks ``\\key:value,...*hh\\`` read as :func:`mdacentre.decode.ais.nmea.parse_tag_block` reads them.

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
    beyond = sentinel(buf)
    stars = marks.stars
    hi_star = np.searchsorted(stars, tb_end)
    one_star = hi_star - np.searchsorted(stars, s0) == 1
    star = np.where(one_star, stars[np.maximum(hi_star - 1, 0)] if len(stars) else tb_end, tb_end)
    hexv = hex_table()
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
    item_end = next_at_or_after(seps, item, beyond)
    colon = next_at_or_after(colons, item, beyond)
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
    _, _, digit = byte_class_tables()
    usable &= ~has_c | ((ndig >= 1) & all_in_class(buf, v0, ndig, _MAX_TIME_DIGITS, digit))
    value = np.zeros(k, dtype=np.int64)
    for j in range(_MAX_TIME_DIGITS):
        take = j < ndig
        d = buf[np.minimum(v0 + j, beyond)].astype(np.int64) - ZERO
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
    """``g:num-total-id`` per block as :func:`mdacentre.decode.ais.nmea._parse_group` keeps it.

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
    _, _, digit = byte_class_tables()
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
            value = np.where(step, value * 10 + byte.astype(np.int64) - ZERO, value)
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
    valid = well & (num >= 1) & (num <= tot) & (tot <= MAX_FRAGMENTS)
    total[who[valid]] = tot[valid]
    gid[who[valid]] = ident[valid]
    return total, gid, readable


_MAX_TRAILER_DIGITS = 15


def trailer_times(buf: U8Array, at: IntArray, end: IntArray) -> tuple[F64Array, BoolArray]:
    """Epochs of the trailers ``,<digits>`` that hold one number only, as :func:`mdacentre.decode.ais.nmea.parse_trailer` reads them.

    ``at`` is the offset of the comma after the checksum, ``end`` the end of the line. Returns the
    epoch (NaN when the number is no time) and which trailers had that simple form; the others
    must be read by ``parse_trailer``.
    """
    _, _, digit = byte_class_tables()
    n = end - at - 1
    simple = (n >= 1) & all_in_class(buf, at + 1, n, _MAX_TRAILER_DIGITS, digit)
    value = np.zeros(len(at), dtype=np.float64)
    for j in range(_MAX_TRAILER_DIGITS):
        d = buf[np.minimum(at + 1 + j, len(buf) - 1)].astype(np.float64) - ZERO
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
