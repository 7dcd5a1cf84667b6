"""Small spherical-earth and solar helpers on NumPy columns (distances, bearings, night)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

EARTH_RADIUS_M = 6_371_008.8
M_PER_NM = 1852.0
M_PER_DEG_LAT = 111_320.0
MS_PER_KN = M_PER_NM / 3600.0
HOUR = 3600.0
# Sun below the horizon: centre of the disc 0.833 deg below it (refraction + half diameter).
SUNSET_ELEVATION_DEG = -0.833
_J2000_UNIX = 946_728_000.0  # 2000-01-01T12:00:00Z


# --- geometry --------------------------------------------------------------------------------------


def haversine(
    lat1: npt.ArrayLike,
    lon1: npt.ArrayLike,
    lat2: npt.ArrayLike,
    lon2: npt.ArrayLike,
    radius: float = EARTH_RADIUS_M,
) -> FloatArray:
    """Great-circle distance between two columns of points, in the unit of ``radius`` (NaN if unknown)."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * radius * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in metres between two columns of points (NaN where a point is unknown)."""
    return haversine(lat1, lon1, lat2, lon2, EARTH_RADIUS_M)


def point_distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """:func:`haversine_m` for one pair of (lat, lon) points, in plain floats (for per-message loops)."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))


def bearing_deg(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Initial true bearing from point 1 to point 2, 0-360 degrees."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.asarray(np.degrees(np.arctan2(y, x)) % 360.0)


def destination(
    lat: npt.ArrayLike,
    lon: npt.ArrayLike,
    bearing: npt.ArrayLike,
    dist: npt.ArrayLike,
    radius: float = EARTH_RADIUS_M,
) -> tuple[FloatArray, FloatArray]:
    """Point reached from (lat, lon) after ``dist`` on an initial true bearing (spherical earth).

    ``dist`` is in the unit of ``radius`` (metres by default).
    """
    p1 = np.radians(np.asarray(lat, dtype=np.float64))
    l1 = np.radians(np.asarray(lon, dtype=np.float64))
    b = np.radians(np.asarray(bearing, dtype=np.float64))
    d = np.asarray(dist, dtype=np.float64) / radius
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(b))
    l2 = l1 + np.arctan2(np.sin(b) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 540.0) % 360.0 - 180.0


def great_circle(lat1: float, lon1: float, lat2: float, lon2: float, n: int) -> tuple[FloatArray, FloatArray]:
    """``n`` points evenly spaced on the great circle from point 1 to point 2 (lat, lon columns)."""
    p1, l1, p2, l2 = np.radians(np.array([lat1, lon1, lat2, lon2], dtype=np.float64))
    a = np.array([np.cos(p1) * np.cos(l1), np.cos(p1) * np.sin(l1), np.sin(p1)])
    b = np.array([np.cos(p2) * np.cos(l2), np.cos(p2) * np.sin(l2), np.sin(p2)])
    omega = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    f = np.linspace(0.0, 1.0, n)
    if omega < 1e-12:
        pts = np.outer(np.ones(n), a)
    else:
        pts = (np.sin((1 - f) * omega)[:, None] * a + np.sin(f * omega)[:, None] * b) / np.sin(omega)
    lat = np.degrees(np.arcsin(np.clip(pts[:, 2], -1, 1)))
    lon = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    return lat, lon


def solar_elevation_deg(t: npt.ArrayLike, lat: npt.ArrayLike, lon: npt.ArrayLike) -> FloatArray:
    """Elevation of the sun's centre above the horizon (degrees), low-precision almanac formula.

    Mean longitude and anomaly of the sun give its ecliptic longitude; declination and right
    ascension follow from the obliquity; the hour angle comes from Greenwich mean sidereal
    time plus the observer's longitude. Accurate to a few tenths of a degree for 1950-2050,
    which is plenty to say whether it is night.
    """
    d = (np.asarray(t, dtype=np.float64) - _J2000_UNIX) / 86400.0
    mean_lon = np.radians((280.460 + 0.9856474 * d) % 360.0)
    anomaly = np.radians((357.528 + 0.9856003 * d) % 360.0)
    ecl = mean_lon + np.radians(1.915) * np.sin(anomaly) + np.radians(0.020) * np.sin(2 * anomaly)
    eps = np.radians(23.439 - 0.0000004 * d)
    ra = np.arctan2(np.cos(eps) * np.sin(ecl), np.cos(ecl))
    dec = np.arcsin(np.sin(eps) * np.sin(ecl))
    gmst_deg = (280.46061837 + 360.98564736629 * d) % 360.0
    hour_angle = np.radians(gmst_deg + np.asarray(lon, dtype=np.float64)) - ra
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    s = np.sin(phi) * np.sin(dec) + np.cos(phi) * np.cos(dec) * np.cos(hour_angle)
    return np.asarray(np.degrees(np.arcsin(np.clip(s, -1.0, 1.0))))


def is_night(t: npt.ArrayLike, lat: npt.ArrayLike, lon: npt.ArrayLike) -> BoolArray:
    """True where the sun is below the horizon at the position and event time."""
    return np.asarray(solar_elevation_deg(t, lat, lon) < SUNSET_ELEVATION_DEG)
