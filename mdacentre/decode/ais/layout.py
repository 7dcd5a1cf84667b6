"""The one bit layout of the AIS position reports, read by the vectorised and the per-message path.

ITU-R M.1371 fixes where each field of a report sits. This table holds, per layout, the
(start bit, width) of every field the service keeps, its scale and its "not available" code.
:mod:`mdacentre.decode.ais.fast` cuts the fields of whole columns of payloads with it, and
:func:`position_fields` reads one payload with it; pyais is the external reference (the tests
compare both paths with pyais field for field on every real recording).

Latitude and longitude are rounded as pyais rounds them: ``floor((num * raw + 3) / 6) / 1e6``
degrees, with ``num`` 10 for 1/10000 minute resolution and 10000 for type 27's 1/10 minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

Field = tuple[int, int]  # (start bit, width)

MMSI: Field = (8, 30)
HEADING_NA = 511
ALT_NA = 4095
LAT_NA_DEG = 91.0
LON_NA_DEG = 181.0
FT_PER_M = 3.280839895


class PositionLayout(IntEnum):
    """Bit layouts of the reports that carry a position."""

    CLASS_A = 0  # types 1, 2, 3
    CLASS_B = 1  # type 18, and the position part of type 19
    LONG_RANGE = 2  # type 27
    BASE = 3  # types 4 and 11 (base station position and UTC/date response)
    SAR = 4  # type 9 (search and rescue aircraft)
    AIDS = 5  # the position part of type 21 (aid to navigation)


@dataclass(frozen=True)
class PositionFields:
    """Where the fields of one layout sit; None where the layout has no such field."""

    status: Field | None
    sog: Field | None
    lon: Field
    lat: Field
    cog: Field | None
    heading: Field | None
    min_bits: int  # every field above lies in the first min_bits bits
    lat_lon_num: int  # degrees = floor((num * raw + 3) / 6) / 1e6 (pyais' exact rounding)
    sog_na: int = 0
    sog_div: float = 1.0
    cog_na: int = 0
    cog_div: float = 1.0
    alt: Field | None = None  # altitude in metres (type 9), ALT_NA not available


_CLASS_A = PositionFields(
    status=(38, 4), sog=(50, 10), lon=(61, 28), lat=(89, 27), cog=(116, 12), heading=(128, 9),
    min_bits=137, lat_lon_num=10, sog_na=1023, sog_div=10.0, cog_na=3600, cog_div=10.0,
)  # fmt: skip
_CLASS_B = PositionFields(
    status=None, sog=(46, 10), lon=(57, 28), lat=(85, 27), cog=(112, 12), heading=(124, 9),
    min_bits=133, lat_lon_num=10, sog_na=1023, sog_div=10.0, cog_na=3600, cog_div=10.0,
)  # fmt: skip
POSITION_FIELDS: dict[PositionLayout, PositionFields] = {
    PositionLayout.CLASS_A: _CLASS_A,
    PositionLayout.CLASS_B: _CLASS_B,
    PositionLayout.LONG_RANGE: PositionFields(
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
    ),  # fmt: skip
    PositionLayout.BASE: PositionFields(
        status=None,
        sog=None,
        lon=(79, 28),
        lat=(107, 27),
        cog=None,
        heading=None,
        min_bits=134,
        lat_lon_num=10,
    ),  # fmt: skip
    PositionLayout.SAR: PositionFields(
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
    ),  # fmt: skip
    PositionLayout.AIDS: PositionFields(
        status=None,
        sog=None,
        lon=(164, 28),
        lat=(192, 27),
        cog=None,
        heading=None,
        min_bits=219,
        lat_lon_num=10,
    ),  # fmt: skip
}
# the single-sentence position reports; types 19 and 21 also carry static data and are read
# with it (their position layouts: CLASS_B and AIDS)
TYPE_LAYOUT: dict[int, PositionLayout] = {
    1: PositionLayout.CLASS_A,
    2: PositionLayout.CLASS_A,
    3: PositionLayout.CLASS_A,
    18: PositionLayout.CLASS_B,
    27: PositionLayout.LONG_RANGE,
    4: PositionLayout.BASE,
    11: PositionLayout.BASE,
    9: PositionLayout.SAR,
}


class BadPosition(ValueError):
    """A latitude or longitude outside the globe that is not the "not available" code."""


def degrees(raw: int, num: int) -> float:
    """Two's complement latitude / longitude units to degrees, rounded as pyais rounds them."""
    return ((num * raw + 3) // 6) / 1e6


def _nan_unless(value: float, ok: bool) -> float:
    return value if ok else math.nan


def position_fields(
    layout: PositionLayout, get: Callable[[int, int], int]
) -> tuple[float, float, float, float, float, int, float]:
    """(lat, lon, sog, cog, heading, nav_status, alt_ft) of one payload; ``get(start, width)`` reads its bits.

    "Not available" values are NaN (-1 for the status); a course of 360 or more and a heading
    above 359 are NaN too. Raises :class:`BadPosition` for a position outside the globe.
    """
    spec = POSITION_FIELDS[layout]

    def signed(f: Field) -> int:
        raw = get(*f)
        return raw - (1 << f[1]) if raw >= 1 << (f[1] - 1) else raw

    lat, lon = degrees(signed(spec.lat), spec.lat_lon_num), degrees(signed(spec.lon), spec.lat_lon_num)
    if lat == LAT_NA_DEG or lon == LON_NA_DEG:
        lat = lon = math.nan
    elif not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise BadPosition(f"position {lat}, {lon} outside the globe")
    sog = cog = heading = alt = math.nan
    if spec.sog is not None:
        raw = get(*spec.sog)
        sog = _nan_unless(raw / spec.sog_div, raw != spec.sog_na)
    if spec.cog is not None:
        raw = get(*spec.cog)
        cog = _nan_unless(raw / spec.cog_div, raw != spec.cog_na and raw / spec.cog_div < 360.0)
    if spec.heading is not None:
        raw = get(*spec.heading)
        heading = _nan_unless(float(raw), raw < 360)
    nav = get(*spec.status) if spec.status is not None else -1
    if spec.alt is not None:
        raw = get(*spec.alt)
        alt = _nan_unless(raw * FT_PER_M, raw != ALT_NA)
    return lat, lon, sog, cog, heading, nav, alt
