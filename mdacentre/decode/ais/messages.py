"""One complete AIS message to rows: the per-message half of the general decoder.

:func:`message_rows` takes the payload of a complete message (armour already checked) and adds
its position and static rows to a :class:`Rows`. The position reports of the one bit layout
(:mod:`mdacentre.decode.ais.layout`) are read straight from the payload bits; type 5 and 24
statics are collected for one vectorised pass (:mod:`mdacentre.decode.ais.statics`) when the
caller allows it; every other type is decoded by pyais (``MSG_CLASS[type].from_vector``).

Input that cannot be a valid message raises nothing here: it returns a reject
(``decode_error`` for payloads pyais refuses or that are too short for their fields,
``bad_value`` for a position outside the globe). Only pyais' own calls are guarded against
pyais' failures; any other exception is a bug of this code and is left to the caller, which
counts it apart from the input errors.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from pyais.bit_vector import bit_vector
from pyais.exceptions import AISBaseException
from pyais.messages import MSG_CLASS

from mdacentre.decode.ais.layout import FT_PER_M, POSITION_FIELDS, TYPE_LAYOUT, BadPosition, position_fields
from mdacentre.decode.ais.scan import IntArray
from mdacentre.decode.ais.statics import StaticLayout, leading_bytes
from mdacentre.model.batch import TrackKind, concat_rows, take_rows
from mdacentre.model.rejects import Reject

NAN = math.nan
# what pyais raises for a payload it refuses (its own exceptions, and ValueError for values it
# cannot convert); anything else raised while decoding is a bug, not bad input
INPUT_FAILURES = (AISBaseException, ValueError)
ARMOR = bytes(range(48, 88)) + bytes(range(96, 120))  # '0'..'W' and '`'..'w'
_ARMOR_TO_B64 = bytes.maketrans(ARMOR, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

POSITION_KIND = {
    1: TrackKind.VESSEL,
    2: TrackKind.VESSEL,
    3: TrackKind.VESSEL,
    18: TrackKind.VESSEL,
    19: TrackKind.VESSEL,
    27: TrackKind.VESSEL,
    9: TrackKind.SAR_AIRCRAFT,
    4: TrackKind.BASE_STATION,
    11: TrackKind.BASE_STATION,
    21: TrackKind.AID_TO_NAVIGATION,
}
ROW_TYPES = frozenset((1, 2, 3, 4, 5, 6, 8, 9, 11, 18, 19, 21, 24, 27))


class Outcome(StrEnum):
    """Non-reject outcomes of a line (rejects use :class:`~mdacentre.model.rejects.Reject`)."""

    MESSAGE = "message"
    FRAGMENT = "fragment"
    HEADER = "header"
    IGNORED_TYPE = "ignored_type"
    INTERNAL_ERROR = "internal_error"  # a bug of the decoder, not bad input: logged, counted apart


class MessageTooShort(ValueError):
    """A payload that ends before a field every row needs (the MMSI, the part number)."""


@dataclass(slots=True)
class Rows:
    """Rows and counts of one decode call."""

    positions: list[tuple[Any, ...]] = field(default_factory=list)
    statics: list[tuple[Any, ...]] = field(default_factory=list)
    rejects: Counter[str] = field(default_factory=Counter)
    internal_errors: int = 0
    # static rows decoded later in one NumPy pass (statics), and the order of all static rows
    static_seq: list[int] = field(default_factory=list)
    deferred: dict[StaticLayout, tuple[list[bytes], list[float], list[int]]] = field(default_factory=dict)
    n_static: int = 0

    def add_static(self, row: tuple[Any, ...]) -> None:
        self.statics.append(row)
        self.static_seq.append(self.n_static)
        self.n_static += 1

    def defer_static(self, layout: StaticLayout, blob: bytes, t: float) -> None:
        blobs, times, seq = self.deferred.setdefault(layout, ([], [], []))
        blobs.append(blob)
        times.append(t)
        seq.append(self.n_static)
        self.n_static += 1


def message_rows(
    msg_type: int, value: int, nbits: int, payload: bytes, fill: int, t: float, feed: int, out: Rows, *,
    defer_statics: bool,
) -> str:  # fmt: skip
    """Rows of one complete message of a row type (``value``: its ``nbits`` payload bits); its outcome.

    Raises only for bugs of this code (see the module docstring).
    """
    try:
        layout = TYPE_LAYOUT.get(msg_type)
        if layout is not None and nbits >= POSITION_FIELDS[layout].min_bits:

            def get(start: int, width: int) -> int:
                return (value >> (nbits - start - width)) & ((1 << width) - 1)

            lat, lon, sog, cog, heading, nav, alt = position_fields(layout, get)
            kind = int(POSITION_KIND[msg_type])
            out.positions.append(
                (0, kind, get(8, 30), t, lat, lon, sog, cog, heading, nav, msg_type, alt, NAN, -1, -1, feed)
            )
            return Outcome.MESSAGE
        if defer_statics and msg_type in (5, 24):
            lay = static_layout(msg_type, value, nbits)
            if lay is not None:
                out.defer_static(lay, leading_bytes(value, nbits, int(lay)), t)
                return Outcome.MESSAGE
        try:
            bv = bit_vector(payload, fill)
        except INPUT_FAILURES:
            return Reject.DECODE_ERROR
        return _pyais_rows(msg_type, bv, t, feed, out)
    except BadPosition:
        return Reject.BAD_VALUE
    except MessageTooShort:
        return Reject.DECODE_ERROR


def _pyais_rows(msg_type: int, bv: Any, t: float, feed: int, out: Rows) -> str:
    if msg_type in (6, 8):
        return _cargo(msg_type, bv, t, feed, out)
    try:
        msg = MSG_CLASS[msg_type].from_vector(bv)
    except INPUT_FAILURES:  # pyais refuses the payload
        return Reject.DECODE_ERROR
    if msg.mmsi is None:
        raise MessageTooShort(f"type {msg_type} payload of {len(bv)} bits has no MMSI")
    if msg_type in POSITION_KIND:
        out.positions.append(_position(msg_type, msg, t, feed))
    if msg_type in (5, 19, 21, 24):
        out.add_static(_static(msg_type, msg, t, feed))
    return Outcome.MESSAGE


def _position(msg_type: int, msg: Any, t: float, feed: int) -> tuple[Any, ...]:
    lat, lon = _lat_lon(msg.lat, msg.lon)
    sog = cog = heading = alt = NAN
    nav = -1
    if msg_type == 27:
        sog = _num(msg.speed, 63)
        cog = _angle(msg.course, 511, 360)
        nav = _int(msg.status, -1)
    elif msg_type == 9:
        sog = _num(msg.speed, 1023)
        cog = _angle(msg.course, 360.0, 360)
        raw_alt = _num(msg.alt, 4095)
        alt = raw_alt * FT_PER_M
    elif msg_type in (1, 2, 3, 18, 19):
        sog = _num(msg.speed, 102.3)
        cog = _angle(msg.course, 360.0, 360)
        heading = _angle(msg.heading, 511, 360)
        if msg_type < 4:
            nav = _int(msg.status, -1)
    kind = int(POSITION_KIND[msg_type])
    mmsi = int(msg.mmsi)
    return (0, kind, mmsi, t, lat, lon, sog, cog, heading, nav, msg_type, alt, NAN, -1, -1, feed)


def _static(msg_type: int, msg: Any, t: float, feed: int) -> tuple[Any, ...]:
    name = callsign = destination = eta = ""
    imo = 0
    ship_type = -1
    length = beam = draught = NAN
    kind = TrackKind.VESSEL
    if msg_type == 24:
        if msg.partno is None:
            raise MessageTooShort("type 24 payload without a part number")
        if msg.partno == 0:
            name = _text(msg.shipname)
        else:
            ship_type = _ship_type(msg.ship_type)
            callsign = _text(msg.callsign)
            if not 980_000_000 <= int(msg.mmsi) <= 989_999_999:  # auxiliary craft: mothership MMSI
                length, beam = _dims(msg)
    elif msg_type == 21:
        kind = TrackKind.AID_TO_NAVIGATION
        name = _text(_text(msg.name) + _text(getattr(msg, "name_ext", "")))
        length, beam = _dims(msg)
    else:  # 5 and 19
        name = _text(msg.shipname)
        ship_type = _ship_type(msg.ship_type)
        length, beam = _dims(msg)
        if msg_type == 5:
            callsign = _text(msg.callsign)
            imo = _int(msg.imo, 0)
            draught = _num(msg.draught, 0.0)
            destination = _text(msg.destination)
            eta = _eta(msg.month, msg.day, msg.hour, msg.minute)
    mmsi = int(msg.mmsi)
    return (
        0, int(kind), mmsi, t, msg_type, name, callsign, imo, ship_type,
        length, beam, draught, destination, eta, NAN, -1, feed,
    )  # fmt: skip


def _cargo(msg_type: int, bv: Any, t: float, feed: int, out: Rows) -> str:
    """IMO 289 dangerous cargo indication (DAC 1, FI 25) in type 8 or the addressed type 6."""
    base = 56 if msg_type == 8 else 88  # first bit after the FI field
    if len(bv) < base or bv.get(base - 16, 10) != 1 or bv.get(base - 6, 6) != 25:
        return Outcome.IGNORED_TYPE
    imdg = imdg_class_from_cargo_bits(bv, base + 12, len(bv))
    if math.isnan(imdg):
        return Outcome.IGNORED_TYPE
    mmsi = bv.get(8, 30)
    out.add_static(
        (
            0,
            int(TrackKind.VESSEL),
            mmsi,
            t,
            msg_type,
            "",
            "",
            0,
            -1,
            NAN,
            NAN,
            NAN,
            "",
            "",
            imdg,
            -1,
            feed,
        )
    )
    return Outcome.MESSAGE


# ---------------------------------------------------------------------- field helpers


def imdg_class_from_cargo_bits(bv: Any, start: int, end: int) -> float:
    """First IMDG class in the 17-bit cargo records (4-bit code, 13-bit subtype) from ``start``.

    Code 1 (IMDG, packed) and 3 (BC code) carry a 7-bit packed IMDG value: class in the upper
    4 bits, division in the lower 3 (``2.1`` -> class 2, division 1). Returns NaN when none.
    """
    pos = start
    while pos + 17 <= end:
        code = bv.get(pos, 4)
        sub = bv.get(pos + 4, 13)
        packed = sub >> 6 if code == 1 else (sub >> 3) & 0x7F if code == 3 else 0
        cls, div = packed >> 3, packed & 7
        if 1 <= cls <= 9:
            return cls + div / 10.0
        pos += 17
    return NAN


def merge_by_line(
    fast: np.ndarray, fast_line: IntArray, slow: np.ndarray, slow_line: list[int]
) -> np.ndarray:
    """Rows of the fast and the general path in input-line order (stable within a line)."""
    if len(fast) == 0:
        return slow
    if len(slow) == 0:
        return fast
    order = np.argsort(np.concatenate([fast_line, np.asarray(slow_line, dtype=np.int64)]), kind="stable")
    return take_rows(concat_rows([fast, slow]), order)


def static_layout(msg_type: int, value: int, nbits: int) -> StaticLayout | None:
    """The vectorised layout of a type 5 / 24 message, None when pyais must decode it (short, part 2/3)."""
    if msg_type == 5:
        return StaticLayout.TYPE5 if nbits >= StaticLayout.TYPE5 else None
    if nbits < 40:  # no part number: pyais decides (too short)
        return None
    part = (value >> (nbits - 40)) & 3
    if part == 0 and nbits >= StaticLayout.PART_A:
        return StaticLayout.PART_A
    if part == 1 and nbits >= StaticLayout.PART_B:
        return StaticLayout.PART_B
    return None


def payload_bits(payload: bytes, fill: int) -> tuple[int, int]:
    """The armoured 6-bit payload as one integer and its bit count (fill bits removed).

    The armour is mapped onto the base64 alphabet so that ``b64decode`` does the 6-to-8 bit
    repacking in C; the payload must hold armour characters only (checked by the caller).
    """
    pad = -len(payload) % 4
    raw = base64.b64decode(payload.translate(_ARMOR_TO_B64) + b"A" * pad)
    return int.from_bytes(raw, "big") >> (6 * pad + fill), 6 * len(payload) - fill


def _lat_lon(lat: float | None, lon: float | None) -> tuple[float, float]:
    if lat is None or lon is None or lat == 91.0 or lon == 181.0:
        return NAN, NAN
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise BadPosition(f"position {lat}, {lon} outside the globe")
    return float(lat), float(lon)


def _num(value: float | None, unavailable: float) -> float:
    if value is None or value == unavailable:
        return NAN
    return float(value)


def _angle(value: float | None, unavailable: float, limit: float) -> float:
    if value is None or value == unavailable or not 0 <= value < limit:
        return NAN
    return float(value)


def _int(value: Any, missing: int) -> int:
    return missing if value is None else int(value)


def _text(value: str | None) -> str:
    return (value or "").rstrip("@ ").strip()


def _ship_type(value: Any) -> int:
    if value is None:
        return -1
    v = int(value)
    return v if 1 <= v <= 99 else -1


def _dims(msg: Any) -> tuple[float, float]:
    bow, stern, port, star = msg.to_bow, msg.to_stern, msg.to_port, msg.to_starboard
    length = float(bow + stern) if bow is not None and stern is not None and bow + stern > 0 else NAN
    beam = float(port + star) if port is not None and star is not None and port + star > 0 else NAN
    return length, beam


def _eta(month: int | None, day: int | None, hour: int | None, minute: int | None) -> str:
    if month is None or day is None or hour is None or minute is None:
        return ""
    if month == 0 and day == 0 and hour == 24 and minute == 60:
        return ""
    return f"{month:02d}-{day:02d} {hour:02d}:{minute:02d}"
