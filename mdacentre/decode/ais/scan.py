"""Byte-level scanning shared by the vectorised AIS framing and payload decoding.

A chunk is one ``uint8`` buffer (:class:`mdacentre.ingest.framing.LineBuffer`); these helpers
find separators once per chunk (:class:`Marks`), classify bytes through 256-entry tables and
answer "first separator at or after each offset" with ``searchsorted``.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from mdacentre.ingest.framing import PAD

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
U8Array = npt.NDArray[np.uint8]
U64Array = npt.NDArray[np.uint64]
F64Array = npt.NDArray[np.float64]

# --- byte values ------------------------------------------------------------------------------
BANG = ord("!")
DOLLAR = ord("$")
BACKSLASH = ord("\\")
COMMA = ord(",")
STAR = ord("*")
SPACE = ord(" ")
TAB = ord("\t")
DOT = ord(".")
HASH = ord("#")
COLON = ord(":")
ZERO = ord("0")
NINE = ord("9")
ONE = ord("1")
TWO = ord("2")
FIVE = ord("5")


# --- lookup tables (built once, on first use) ----------------------------------------------
@functools.cache
def armor_tables() -> tuple[U8Array, BoolArray]:
    """Six-bit value and validity of every byte ('0'-'W' and '`'-'w' are the AIS armour)."""
    codes = np.arange(256, dtype=np.int64)
    valid = ((codes >= 48) & (codes <= 87)) | ((codes >= 96) & (codes <= 119))
    values = np.where(codes - 48 > 40, codes - 56, codes - 48)
    return np.where(valid, values, 0).astype(np.uint8), valid


@functools.cache
def hex_table() -> npt.NDArray[np.int16]:
    """Value of a hex digit byte, -1 for anything else."""
    table = np.full(256, -1, dtype=np.int16)
    for i, ch in enumerate(b"0123456789ABCDEF"):
        table[ch] = i
    for i, ch in enumerate(b"abcdef"):
        table[ch] = 10 + i
    return table


@functools.cache
def byte_class_tables() -> tuple[BoolArray, BoolArray, BoolArray]:
    """(talker byte ok, channel byte ok, digit) per byte value."""
    codes = np.arange(256)
    printable = (codes > SPACE) & (codes < 127)
    talker = printable & (codes != COMMA) & (codes != STAR) & (codes != BACKSLASH)
    digit = (codes >= ZERO) & (codes <= NINE)
    alpha = ((codes >= ord("A")) & (codes <= ord("Z"))) | ((codes >= ord("a")) & (codes <= ord("z")))
    return talker, alpha | digit, digit


class Marks:
    """Offsets of the separator bytes of one buffer, each kind found once, on first use."""

    def __init__(self, buf: U8Array) -> None:
        self.buf = buf

    @functools.cached_property
    def commas(self) -> IntArray:
        return np.flatnonzero(self.buf == COMMA)

    @functools.cached_property
    def stars(self) -> IntArray:
        return np.flatnonzero(self.buf == STAR)

    @functools.cached_property
    def backslashes(self) -> IntArray:
        return np.flatnonzero(self.buf == BACKSLASH)

    @functools.cached_property
    def colons(self) -> IntArray:
        return np.flatnonzero(self.buf == COLON)

    @functools.cached_property
    def not_armour(self) -> BoolArray:
        """True where the byte is not AIS armour ('0'-'W', '`'-'w') (arithmetic, no table)."""
        b = self.buf
        return ((b - np.uint8(48)) > 71) | ((b - np.uint8(88)) < 8)  # uint8 wraps below 48

    @functools.cached_property
    def commas_and_stars(self) -> IntArray:
        return np.flatnonzero((self.buf == COMMA) | (self.buf == STAR))


def glued_sentences(buf: U8Array, marks: Marks) -> bool:
    """True when a checksum is directly followed by another sentence or tag block (see
    :func:`mdacentre.decode.ais.nmea.split_lines`, which repairs such lines)."""
    at = marks.stars
    hexv = hex_table()
    at = at[(hexv[buf[at + 1]] >= 0) & (hexv[buf[at + 2]] >= 0)]
    nxt = buf[at + 3]
    alpha = ((buf[at + 4] | 0x20) >= ord("a")) & ((buf[at + 4] | 0x20) <= ord("z"))
    glued = (nxt == BANG) | (nxt == DOLLAR) | ((nxt == BACKSLASH) & alpha & (buf[at + 5] == COLON))
    return bool(glued.any())


def sentinel(buf: U8Array) -> int:
    """An offset inside the zero padding: "not found" for searches, still safe to read near."""
    return len(buf) - PAD // 2


def next_at_or_after(positions: IntArray, at: IntArray, beyond: int) -> IntArray:
    """For each offset in ``at``, the first entry of ``positions`` >= it (``beyond`` if none)."""
    padded = np.concatenate((positions, [beyond]))
    return padded[np.searchsorted(positions, at)]


def all_printable(buf: U8Array, s0: IntArray, end: IntArray) -> BoolArray:
    """True where every byte of [s0, end) is printable ASCII (space included)."""
    if len(s0) == 0:
        return np.zeros(0, dtype=bool)
    idx = np.empty(2 * len(s0), dtype=np.int64)
    idx[0::2] = s0
    idx[1::2] = end
    lo = np.minimum.reduceat(buf, idx)[0::2]
    hi = np.maximum.reduceat(buf, idx)[0::2]
    return (lo >= SPACE) & (hi < 127)


def all_in_class(buf: U8Array, at: IntArray, count: IntArray, limit: int, klass: BoolArray) -> BoolArray:
    """True where 0 <= count <= limit and the ``count`` bytes from ``at`` are all in ``klass``."""
    ok = (count >= 0) & (count <= limit)
    rows = np.flatnonzero(count > 0)  # most fields here are empty or one byte: look only where needed
    for j in range(limit):
        if len(rows) == 0:
            break
        ok[rows] &= klass[buf[np.minimum(at[rows] + j, len(buf) - 1)]]
        rows = rows[count[rows] > j + 1]
    return ok
