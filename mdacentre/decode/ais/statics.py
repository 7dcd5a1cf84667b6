"""Vectorised decoding of AIS static and voyage reports (type 5, type 24 parts A and B).

The general decoder collects the complete messages of one call as leading bit strings (the
first ``width`` bits of each payload, as big-endian bytes) and decodes them here in one NumPy
pass per layout: bit matrix, integer fields as dot products, 6-bit text through a lookup table.
The results equal what :class:`~mdacentre.decode.ais.AisDecoder` makes of pyais's messages, field for
field (``tests/test_ais_decode.py`` compares both on every real recording).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt
from pyais.constants import ShipType

from mdacentre.decode.ais.layout import (
    HEADING_NA,
    LAT_NA_DEG,
    LON_NA_DEG,
    POSITION_FIELDS,
    PositionLayout,
)
from mdacentre.model.batch import TrackKind, empty_positions, empty_statics, make_key

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

# 6-bit AIS text code -> ASCII byte ('@' for 0, letters, then space and punctuation)
_SIXBIT_ASCII = np.array([v + 64 if v < 32 else v for v in range(64)], dtype=np.uint8)
# pyais folds unknown ship types to its "reserved" members; the same table, as an array
_SHIP_TYPE_FOLD = np.array([int(ShipType.from_value(v) or 0) for v in range(256)], dtype=np.int64)


class StaticLayout(IntEnum):
    """The bit layouts decoded here, with the number of leading bits each needs."""

    TYPE5 = 422  # up to the end of the destination
    PART_A = 160  # type 24 part A: name
    PART_B = 162  # type 24 part B: up to the end of the dimensions / mothership MMSI
    AIDS = 272  # type 21 aid to navigation (a name extension may follow)
    TYPE19 = 312  # type 19 extended class B report (position and static data)


def leading_bytes(value: int, nbits: int, width: int) -> bytes:
    """The first ``width`` bits of a payload (``value`` holds ``nbits`` bits), left-aligned in bytes."""
    nbytes = (width + 7) // 8
    return ((value >> (nbits - width)) << (nbytes * 8 - width)).to_bytes(nbytes, "big")


class FieldReader(Protocol):
    """Reads bit fields of many messages at once (one message per row)."""

    def num(self, start: int, width: int) -> I64: ...

    def text(self, start: int, width: int) -> npt.NDArray[np.str_]: ...


def _clean_text(codes: I64) -> npt.NDArray[np.str_]:
    """6-bit text codes (n, k) as pyais + the decoder clean them: trailing '@' and blanks cut, leading blanks cut."""
    n, k = codes.shape
    raw = _SIXBIT_ASCII[codes]  # ASCII codes, never 0
    keep = (raw != ord("@")) & (raw != ord(" "))
    last = np.where(keep.any(axis=1), k - np.argmax(keep[:, ::-1], axis=1), 0)
    raw = np.where(np.arange(k)[None, :] < last[:, None], raw, 0).astype("<u4")  # NULs: U dtype cuts them
    out = raw.view(f"<U{k}").reshape(n)  # UCS-4 code points are the string itself
    lead = np.flatnonzero(raw[:, 0] == ord(" "))
    for i in lead.tolist():  # rare: leading blanks
        out[i] = str(out[i]).lstrip(" ")
    return out


@dataclass
class _Bits:
    """Fields from a (messages x bits) matrix of 0/1."""

    bits: U8

    def num(self, start: int, width: int) -> I64:
        weights = 1 << np.arange(width - 1, -1, -1, dtype=np.int64)
        return np.asarray(self.bits[:, start : start + width].astype(np.int64) @ weights)

    def text(self, start: int, width: int) -> npt.NDArray[np.str_]:
        groups = self.bits[:, start : start + width].reshape(len(self.bits), width // 6, 6).astype(np.int64)
        return _clean_text(np.asarray(groups @ np.array([32, 16, 8, 4, 2, 1], dtype=np.int64)))


@dataclass
class SixBits:
    """Fields from a (messages x characters) matrix of the payloads' 6-bit values (no bit matrix)."""

    six: U8

    def num(self, start: int, width: int) -> I64:
        j0, j1 = start // 6, (start + width - 1) // 6
        acc = np.zeros(len(self.six), dtype=np.int64)
        for j in range(j0, j1 + 1):  # at most 7 characters: widths here are <= 30 bits
            acc = (acc << 6) | self.six[:, j]
        return (acc >> ((j1 + 1) * 6 - start - width)) & ((1 << width) - 1)

    def chars(self, start: int, count: int) -> I64:
        """The ``count`` 6-bit groups from bit ``start``, as an (n, count) array."""
        j0, r = start // 6, start % 6
        six = self.six[:, j0 : j0 + count + 1].astype(np.int64)
        if r == 0:
            return six[:, :count]
        return ((six[:, :count] << r) | (six[:, 1 : count + 1] >> (6 - r))) & 63

    def text(self, start: int, width: int) -> npt.NDArray[np.str_]:
        return _clean_text(self.chars(start, width // 6))


_NAME_EXT_AT = 272  # type 21: the name extension follows the 272 bits of the fixed part
_NAME_EXT_CHARS = 15  # pyais reads 6-bit groups starting at 272, 278, ... 356 (a width of 88 bits)


def _name_extension(b: SixBits, nbits: I64) -> npt.NDArray[np.str_]:
    """Type 21 name extension as pyais reads it from a message of ``nbits`` bits.

    Groups past the end read as 0 ('@'); a group cut by the end is the bits that remain,
    right-aligned; fill bits are not message bits.
    """
    codes = b.chars(_NAME_EXT_AT, _NAME_EXT_CHARS)
    at = _NAME_EXT_AT + 6 * np.arange(_NAME_EXT_CHARS)[None, :]
    cut = np.clip(at + 6 - nbits[:, None], 0, 6)  # bits of each group beyond the message
    return _clean_text(np.where(cut < 6, codes >> cut, 0))


def _matrix(blobs: list[bytes], width: int) -> _Bits:
    nbytes = (width + 7) // 8
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), nbytes)
    return _Bits(np.unpackbits(raw, axis=1)[:, :width])


def _dims(b: FieldReader, at: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    length = (b.num(at, 9) + b.num(at + 9, 9)).astype(np.float64)
    beam = (b.num(at + 18, 6) + b.num(at + 24, 6)).astype(np.float64)
    return np.where(length > 0, length, np.nan), np.where(beam > 0, beam, np.nan)


def _eta(month: I64, day: I64, hour: I64, minute: I64) -> npt.NDArray[np.str_]:
    """ "MM-DD HH:MM" as broadcast ("" for the not-available pattern 0-0 24:60), built as bytes."""
    n = len(month)
    chars = np.empty((n, 11), dtype="<u4")
    for col, v in ((0, month), (3, day), (6, hour), (9, minute)):
        chars[:, col] = 48 + v // 10 % 10
        chars[:, col + 1] = 48 + v % 10
    chars[:, 2], chars[:, 5], chars[:, 8] = ord("-"), ord(" "), ord(":")
    out = chars.view("<U11").reshape(n).copy()
    unset = (month == 0) & (day == 0) & (hour == 24) & (minute == 60)
    out[unset] = ""
    return out


def _ship_type(raw: I64, fold: bool) -> I64:
    v = _SHIP_TYPE_FOLD[raw] if fold else raw
    return np.where((v >= 1) & (v <= 99), v, -1)


def decode_statics(
    layout: StaticLayout, blobs: list[bytes], t: npt.ArrayLike, feed: int
) -> npt.NDArray[np.void]:
    """STATIC_DTYPE rows for messages of one layout (``blobs`` from :func:`leading_bytes`)."""
    if len(blobs) == 0:
        return empty_statics(0)
    return decode_static_fields(layout, _matrix(blobs, int(layout)), t, feed)


def decode_static_fields(
    layout: StaticLayout, b: FieldReader, t: npt.ArrayLike, feed: int, nbits: I64 | None = None
) -> npt.NDArray[np.void]:
    """STATIC_DTYPE rows from messages holding at least ``layout`` bits.

    ``nbits`` (the length of each message) is needed for the name extension of type 21 when
    ``b`` is a :class:`SixBits` holding more than 272 bits.
    """
    n = len(np.asarray(t))
    out = empty_statics(n)
    if n == 0:
        return out
    mmsi = b.num(8, 30)
    kind = int(TrackKind.AID_TO_NAVIGATION if layout == StaticLayout.AIDS else TrackKind.VESSEL)
    out["kind"] = kind
    out["ident"] = mmsi
    out["key"] = make_key(kind, mmsi)
    out["t"] = np.asarray(t, dtype=np.float64)
    out["feed"] = feed
    out["imo"] = 0
    if layout == StaticLayout.TYPE5:
        out["msg_type"] = 5
        out["imo"] = b.num(40, 30)
        out["callsign"] = b.text(70, 42)
        out["name"] = b.text(112, 120)
        out["ship_type"] = _ship_type(b.num(232, 8), fold=True)
        out["length_m"], out["beam_m"] = _dims(b, 240)
        out["eta"] = _eta(b.num(274, 4), b.num(278, 5), b.num(283, 5), b.num(288, 6))
        draught = b.num(294, 8) / 10.0
        out["draught_m"] = np.where(draught == 0.0, np.nan, draught)
        out["destination"] = b.text(302, 120)
    elif layout == StaticLayout.TYPE19:
        out["msg_type"] = 19
        out["name"] = b.text(143, 120)
        out["ship_type"] = _ship_type(b.num(263, 8), fold=True)
        out["length_m"], out["beam_m"] = _dims(b, 271)
    elif layout == StaticLayout.PART_A:
        out["msg_type"] = 24
        out["name"] = b.text(40, 120)
    elif layout == StaticLayout.AIDS:
        out["msg_type"] = 21
        name = b.text(43, 120)
        if isinstance(b, SixBits) and nbits is not None and bool((nbits > _NAME_EXT_AT).any()):
            # name and extension, each cleaned, joined (the name column keeps 20 characters)
            name = np.char.add(name, _name_extension(b, nbits))
        out["name"] = name
        out["length_m"], out["beam_m"] = _dims(b, 219)
    else:
        out["msg_type"] = 24
        out["ship_type"] = _ship_type(b.num(40, 8), fold=False)
        out["callsign"] = b.text(90, 42)
        length, beam = _dims(b, 132)
        aux = (mmsi >= 980_000_000) & (mmsi <= 989_999_999)  # auxiliary craft: mothership MMSI there
        out["length_m"] = np.where(aux, np.nan, length)
        out["beam_m"] = np.where(aux, np.nan, beam)
    return out


def dual_positions(layout: StaticLayout, b: FieldReader, t: npt.ArrayLike, feed: int) -> npt.NDArray[np.void]:
    """POSITION_DTYPE rows of the messages that carry a position besides their static data:
    type 21 (aids to navigation) and type 19 (extended class B), scaled as pyais scales them;
    "not available" values become NaN (a course of 360 or more and a heading of 511 too, later)."""
    n = len(np.asarray(t))
    out = empty_positions(n)
    if n == 0:
        return out
    mmsi = b.num(8, 30)
    aids = layout == StaticLayout.AIDS
    kind = int(TrackKind.AID_TO_NAVIGATION if aids else TrackKind.VESSEL)
    out["kind"] = kind
    out["ident"] = mmsi
    out["key"] = make_key(kind, mmsi)
    out["t"] = np.asarray(t, dtype=np.float64)
    out["msg_type"] = 21 if aids else 19
    out["feed"] = feed
    spec = POSITION_FIELDS[PositionLayout.AIDS if aids else PositionLayout.CLASS_B]
    for name, (start, width), na in (("lon", spec.lon, LON_NA_DEG), ("lat", spec.lat, LAT_NA_DEG)):
        raw = b.num(start, width)
        raw = np.where(raw >= 1 << (width - 1), raw - (1 << width), raw)
        deg = np.floor_divide(spec.lat_lon_num * raw + 3, 6) / 1e6
        out[name] = np.where(deg == na, np.nan, deg)  # not available, as for the other reports
    if spec.sog is not None and spec.cog is not None and spec.heading is not None:  # type 19
        sog = b.num(*spec.sog)
        out["sog"] = np.where(sog == spec.sog_na, np.nan, sog / spec.sog_div)
        cog = b.num(*spec.cog)
        out["cog"] = np.where(cog == spec.cog_na, np.nan, cog / spec.cog_div)
        heading = b.num(*spec.heading)
        out["heading"] = np.where(heading == HEADING_NA, np.nan, heading)
    return out
