"""Compact Position Reporting (DO-260B A.1.7): global decoding of even/odd pairs, local decoding against a reference."""

from __future__ import annotations

import math
from bisect import bisect_right
from functools import lru_cache

_CPR_SCALE = 131072.0


@lru_cache(maxsize=1)
def _nl_boundaries() -> tuple[float, ...]:
    """Latitudes (ascending) where the CPR longitude-zone count NL drops by one."""
    a = 1.0 - math.cos(math.pi / 30.0)  # 1 - cos(pi / (2 * NZ)), NZ = 15
    bounds = [
        math.degrees(math.acos(math.sqrt(a / (1.0 - math.cos(2.0 * math.pi / k))))) for k in range(59, 1, -1)
    ]
    return tuple(bounds)


def cpr_nl(lat: float) -> int:
    """Number of CPR longitude zones at ``lat`` (DO-260B A.1.7.2)."""
    abs_lat = abs(lat)
    if abs_lat >= 87.0:
        return 1 if abs_lat > 87.0 else 2
    return 59 - bisect_right(_nl_boundaries(), abs_lat)


def cpr_global(
    even: tuple[int, int],
    odd: tuple[int, int],
    current_odd: bool,
    surface: bool = False,
    reference: tuple[float, float] | None = None,
) -> tuple[float, float] | None:
    """Position of the current frame from an even/odd CPR pair; None if the pair straddles a zone.

    ``even``/``odd`` are raw (lat, lon) 17-bit fields. Surface pairs need ``reference``.
    """
    span = 90.0 if surface else 360.0
    lat_e, lon_e = even[0] / _CPR_SCALE, even[1] / _CPR_SCALE
    lat_o, lon_o = odd[0] / _CPR_SCALE, odd[1] / _CPR_SCALE
    j = math.floor(59.0 * lat_e - 60.0 * lat_o + 0.5)
    rlat_e = span / 60.0 * (j % 60 + lat_e)
    rlat_o = span / 59.0 * (j % 59 + lat_o)
    if surface:
        if reference is None:
            return None
        if abs(reference[0] - (rlat_o if current_odd else rlat_e)) > abs(
            reference[0] - ((rlat_o if current_odd else rlat_e) - 90.0)
        ):
            rlat_e -= 90.0
            rlat_o -= 90.0
    else:
        rlat_e = rlat_e - 360.0 if rlat_e >= 270.0 else rlat_e
        rlat_o = rlat_o - 360.0 if rlat_o >= 270.0 else rlat_o
    if abs(rlat_e) > 90.0 or abs(rlat_o) > 90.0 or cpr_nl(rlat_e) != cpr_nl(rlat_o):
        return None
    lat = rlat_o if current_odd else rlat_e
    nl = cpr_nl(lat)
    ni = max(nl - (1 if current_odd else 0), 1)
    m = math.floor(lon_e * (nl - 1) - lon_o * nl + 0.5)
    lon = span / ni * (m % ni + (lon_o if current_odd else lon_e))
    if surface:
        assert reference is not None
        return lat, _nearest_quadrant(lon, reference[1])
    return lat, _wrap_lon(lon)


def cpr_local(
    cpr: tuple[int, int], odd: bool, reference: tuple[float, float], surface: bool = False
) -> tuple[float, float]:
    """Position of one CPR frame decoded against a reference within half a zone."""
    span = 90.0 if surface else 360.0
    ylat, xlon = cpr[0] / _CPR_SCALE, cpr[1] / _CPR_SCALE
    dlat = span / (59.0 if odd else 60.0)
    j = math.floor(0.5 + reference[0] / dlat - ylat)
    lat = dlat * (j + ylat)
    ni = cpr_nl(lat) - (1 if odd else 0)
    dlon = span / ni if ni > 0 else span
    m = math.floor(0.5 + reference[1] / dlon - xlon)
    return lat, _wrap_lon(dlon * (m + xlon))


def _wrap_lon(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def _nearest_quadrant(lon: float, ref_lon: float) -> float:
    best = _wrap_lon(lon)
    for q in (90.0, 180.0, 270.0):
        cand = _wrap_lon(lon + q)
        if abs(_wrap_lon(cand - ref_lon)) < abs(_wrap_lon(best - ref_lon)):
            best = cand
    return best
