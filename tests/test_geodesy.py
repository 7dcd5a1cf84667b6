"""The one geodesy module, checked against pyproj's geodesic on a sphere of the same radius."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from mdacentre.model.geodesy import (
    EARTH_RADIUS_M,
    M_PER_NM,
    bearing_deg,
    destination,
    great_circle,
    haversine,
    haversine_m,
)

SPHERE = Geod(a=EARTH_RADIUS_M, b=EARTH_RADIUS_M)
RNG = np.random.default_rng(11)
LAT1, LON1 = RNG.uniform(-60, 60, 200), RNG.uniform(-180, 180, 200)
LAT2, LON2 = RNG.uniform(-60, 60, 200), RNG.uniform(-180, 180, 200)


def test_distance_and_bearing_match_pyproj_on_columns() -> None:
    az, _, dist = SPHERE.inv(LON1, LAT1, LON2, LAT2)
    np.testing.assert_allclose(haversine_m(LAT1, LON1, LAT2, LON2), dist, rtol=1e-9, atol=1e-3)
    diff = (bearing_deg(LAT1, LON1, LAT2, LON2) - np.asarray(az) % 360.0 + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(diff)) < 1e-6


def test_radius_sets_the_unit() -> None:
    nm = haversine(LAT1, LON1, LAT2, LON2, EARTH_RADIUS_M / M_PER_NM)
    np.testing.assert_allclose(nm * M_PER_NM, haversine_m(LAT1, LON1, LAT2, LON2), rtol=1e-12)


def test_destination_matches_pyproj_on_columns_and_scalars() -> None:
    brg, dist = RNG.uniform(0, 360, 200), RNG.uniform(0, 2_000_000, 200)
    lon_ref, lat_ref, _ = SPHERE.fwd(LON1, LAT1, brg, dist)
    lat, lon = destination(LAT1, LON1, brg, dist)
    np.testing.assert_allclose(lat, lat_ref, atol=1e-8)
    np.testing.assert_allclose((lon - lon_ref + 180.0) % 360.0 - 180.0, 0.0, atol=1e-8)
    la, lo = destination(18.0, -77.0, 90.0, 10.0, EARTH_RADIUS_M / M_PER_NM)
    assert float(haversine_m(18.0, -77.0, la, lo)) == pytest.approx(10.0 * M_PER_NM, rel=1e-9)


def test_great_circle_points_lie_on_the_geodesic() -> None:
    lat, lon = great_circle(18.0, -77.0, 52.3, 4.8, 50)
    ref = SPHERE.npts(-77.0, 18.0, 4.8, 52.3, 48)
    np.testing.assert_allclose(lat[1:-1], [p[1] for p in ref], atol=1e-7)
    np.testing.assert_allclose(lon[1:-1], [p[0] for p in ref], atol=1e-7)
    assert (lat[0], lon[0]) == pytest.approx((18.0, -77.0))
    same_lat, _ = great_circle(18.0, -77.0, 18.0, -77.0, 3)
    assert np.allclose(same_lat, 18.0)
