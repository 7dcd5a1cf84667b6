"""Sea lanes (searoute) and piecewise-linear tracks built leg by leg."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from mdacentre.model.geodesy import M_PER_NM, FloatArray, bearing_deg, destination, haversine
from tools.demo.catalogue import EARTH_RADIUS_NM, NavStatus
from tools.demo.inputs import Port


@dataclass(frozen=True)
class Route:
    """A polyline with cumulative distance (nm) from its first vertex."""

    lat: FloatArray
    lon: FloatArray
    cum: FloatArray

    @property
    def length(self) -> float:
        return float(self.cum[-1])

    @staticmethod
    def of(lat: Sequence[float] | FloatArray, lon: Sequence[float] | FloatArray) -> Route:
        la, lo = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        keep = np.ones(len(la), dtype=bool)
        keep[1:] = (np.diff(la) != 0) | (np.diff(lo) != 0)
        la, lo = la[keep], lo[keep]
        seg = haversine(la[:-1], lo[:-1], la[1:], lo[1:], EARTH_RADIUS_NM) if len(la) > 1 else np.zeros(0)
        return Route(la, lo, np.concatenate([[0.0], np.cumsum(seg)]))

    def at(self, d: Any) -> tuple[Any, Any]:
        return np.interp(d, self.cum, self.lat), np.interp(d, self.cum, self.lon)

    def trimmed(self, d0: float, d1: float) -> Route:
        la, lo, _ = self.sub(d0, d1)
        return Route.of(la, lo)

    def sub(self, d0: float, d1: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Vertices between distances d0 < d1, both ends included (lat, lon, distance)."""
        inner = (self.cum > d0) & (self.cum < d1)
        d = np.concatenate([[d0], self.cum[inner], [d1]])
        la, lo = self.at(d)
        return np.asarray(la), np.asarray(lo), d


@lru_cache(maxsize=1024)
def _searoute(o_lon: float, o_lat: float, d_lon: float, d_lat: float) -> tuple[tuple[float, float], ...]:
    import searoute  # imported late: loading the marnet graph takes a moment

    feat = searoute.searoute([o_lon, o_lat], [d_lon, d_lat], append_orig_dest=True)
    return tuple((float(c[0]), float(c[1])) for c in feat["geometry"]["coordinates"])


def sea_route(a: Port, b: Port, land: BaseGeometry | None = None) -> Route:
    """Sea lane from port ``a`` to port ``b``; with ``land``, both ends are cut back to open water.

    World Port Index positions are often a little inland at 1:10m scale, and the lane's first leg
    to the network may cut a headland: a vessel moors / starts where the lane first reaches the sea.
    """
    coords = _searoute(a.lon, a.lat, b.lon, b.lat)
    route = Route.of([c[1] for c in coords], [c[0] for c in coords])
    if land is None or route.length < 1.0:
        return route
    d = np.arange(0.0, min(15.0, route.length / 2), 0.1)
    wet_a = _first_wet(route, d, land)
    wet_b = _first_wet(route, route.length - d, land)
    if wet_a is None or wet_b is None or wet_b - wet_a < 1.0:
        return route
    return route.trimmed(wet_a, wet_b)


def _first_wet(route: Route, d: FloatArray, land: BaseGeometry) -> float | None:
    lat, lon = route.at(d)
    wet = ~shapely.contains_xy(land, lon, lat)
    return float(d[int(np.argmax(wet))]) if wet.any() else None


# ----------------------------------------------------------------------------- tracks


@dataclass
class Track:
    """Piecewise-linear motion: positions at knot times, a nav status per segment."""

    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    status: npt.NDArray[np.int8]
    speed: FloatArray = field(init=False)
    course: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        dt = np.diff(self.t)
        dist = haversine(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:], EARTH_RADIUS_NM)
        spd = np.where(dt > 0, dist / np.maximum(dt, 1e-9) * 3600.0, 0.0)
        crs = np.asarray(
            bearing_deg(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:]), dtype=np.float64
        )
        moving = dist > 1e-4
        if moving.any():  # hold segments keep the course of the last moving segment
            last = np.maximum.accumulate(np.where(moving, np.arange(len(crs)), -1))
            crs = crs[np.where(last < 0, int(np.argmax(moving)), last)]
        self.speed = np.append(spd, 0.0)
        self.course = np.append(crs, crs[-1] if len(crs) else 0.0)
        self._t_list: list[float] = self.t.tolist()
        self._seg: list[tuple[float, int]] = list(zip(self.speed.tolist(), self.status.tolist(), strict=True))

    def segment_at(self, t: float) -> tuple[float, int]:
        """Speed (kn) and nav status at one time (fast scalar path)."""
        i = min(max(bisect.bisect_right(self._t_list, t) - 1, 0), len(self._seg) - 1)
        return self._seg[i]

    def state(self, t: Any) -> tuple[Any, Any, Any, Any, Any]:
        """lat, lon, speed (kn), course, nav status at times ``t`` (array)."""
        i = np.clip(np.searchsorted(self.t, t, side="right") - 1, 0, len(self.t) - 1)
        return (
            np.interp(t, self.t, self.lat),
            np.interp(t, self.t, self.lon),
            self.speed[i],
            self.course[i],
            self.status[i],
        )


class TrackBuilder:
    """Builds a :class:`Track` leg by leg, starting from one timed position."""

    def __init__(self, t: float, lat: float, lon: float) -> None:
        self.t, self.lat, self.lon = [t], [lat], [lon]
        self.st: list[int] = []

    @property
    def now(self) -> float:
        return self.t[-1]

    def _add(self, t: float, lat: float, lon: float, status: int) -> None:
        if t <= self.t[-1] + 1e-6:
            return
        self.t.append(t)
        self.lat.append(lat)
        self.lon.append(lon)
        self.st.append(status)

    def hold(self, until: float, status: NavStatus) -> TrackBuilder:
        self._add(until, self.lat[-1], self.lon[-1], status)
        return self

    def along(
        self,
        route: Route,
        d_from: float,
        speed_kn: float,
        until: float,
        d_to: float | None = None,
        status: NavStatus = NavStatus.UNDER_WAY,
    ) -> TrackBuilder:
        """Sail ``route`` from distance ``d_from`` at ``speed_kn`` until ``until`` or ``d_to``."""
        end = route.length if d_to is None else min(d_to, route.length)
        if speed_kn <= 0 or end <= d_from:
            return self
        d_stop = min(end, d_from + speed_kn * (until - self.now) / 3600.0)
        la, lo, d = route.sub(d_from, d_stop)
        t0 = self.now
        for k in range(1, len(d)):
            self._add(t0 + (d[k] - d_from) / speed_kn * 3600.0, float(la[k]), float(lo[k]), status)
        return self

    def goto(
        self, lat: float, lon: float, speed_kn: float, status: NavStatus = NavStatus.UNDER_WAY
    ) -> TrackBuilder:
        dist = float(haversine(self.lat[-1], self.lon[-1], lat, lon, EARTH_RADIUS_NM))
        self._add(self.now + dist / speed_kn * 3600.0, lat, lon, status)
        return self

    def wander(
        self,
        rng: np.random.Generator,
        lat0: float,
        lon0: float,
        radius_m: float,
        speed_kn: tuple[float, float],
        until: float,
        step_s: float,
        status: NavStatus,
    ) -> TrackBuilder:
        """Random walk around (lat0, lon0) staying within ``radius_m`` (drifting, loitering)."""
        heading = float(rng.uniform(0, 360))
        while self.now < until - 1:
            dt = min(step_s, until - self.now)
            step_nm = float(rng.uniform(*speed_kn)) * dt / 3600.0
            off_nm = float(haversine(lat0, lon0, self.lat[-1], self.lon[-1], EARTH_RADIUS_NM))
            if off_nm * M_PER_NM > 0.6 * radius_m:
                home = float(bearing_deg(self.lat[-1], self.lon[-1], lat0, lon0))
                heading = home + float(rng.normal(0, 25))
            else:
                heading += float(rng.normal(0, 50))
            lat, lon = destination(self.lat[-1], self.lon[-1], heading % 360.0, step_nm, EARTH_RADIUS_NM)
            self._add(self.now + dt, lat, lon, status)
        return self

    def follow(
        self, t: FloatArray, lat: FloatArray, lon: FloatArray, dlat: float, dlon: float, status: NavStatus
    ) -> TrackBuilder:
        """Copy timed knots (e.g. a drift shared by two vessels lying together), shifted by (dlat, dlon)."""
        for k in range(len(t)):
            self._add(float(t[k]), float(lat[k]) + dlat, float(lon[k]) + dlon, status)
        return self

    def build(self) -> Track:
        st = self.st + [self.st[-1] if self.st else int(NavStatus.UNDER_WAY)]
        if len(self.t) == 1:  # a single point: make it a hold of zero length
            self.t.append(self.t[0] + 1.0)
            self.lat.append(self.lat[0])
            self.lon.append(self.lon[0])
            st.append(st[0])
        return Track(np.array(self.t), np.array(self.lat), np.array(self.lon), np.array(st, dtype=np.int8))
