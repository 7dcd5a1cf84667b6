"""Planted tracks: piecewise-linear motion sampled into position and static batches.

The same kinematics as the demo feed generator, in small: a path is a list of timed knots
(legs at a speed and course, holds with a slow drift, circles for aircraft); positions are the
path sampled at a report interval, with speed and course from the leg being sailed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mdacentre.model.batch import (
    Batch,
    PositionArray,
    StaticArray,
    TrackKind,
    empty_positions,
    empty_statics,
    make_key,
)
from mdacentre.model.geodesy import M_PER_NM, bearing_deg, destination, haversine_m
from mdacentre.service.evaluate.scenarios import Scenario, ScenarioKind


@dataclass
class Path:
    """Timed knots (t, lat, lon); motion is straight and uniform between knots."""

    t: list[float]
    lat: list[float]
    lon: list[float]

    @classmethod
    def at(cls, t: float, lat: float, lon: float) -> Path:
        return cls([t], [lat], [lon])

    def go(self, bearing: float, speed_kn: float, hours: float) -> Path:
        la, lo = destination(self.lat[-1], self.lon[-1], bearing, speed_kn * hours * M_PER_NM)
        return self._add(self.t[-1] + hours * 3600.0, float(la), float(lo))

    def to(self, lat: float, lon: float, speed_kn: float) -> Path:
        d = float(haversine_m(self.lat[-1], self.lon[-1], lat, lon))
        return self._add(self.t[-1] + d / (speed_kn * M_PER_NM) * 3600.0, lat, lon)

    def circle(self, lat: float, lon: float, radius_m: float, speed_kn: float, hours: float) -> Path:
        """Orbit (lat, lon) clockwise at ``radius_m``, starting from the bearing of the last knot."""
        b0 = float(bearing_deg(lat, lon, self.lat[-1], self.lon[-1]))
        period = 2 * math.pi * radius_m / (speed_kn * M_PER_NM / 3600.0)
        n = max(2, int(hours * 3600.0 / period * 36))
        t0 = self.t[-1]
        for k in range(1, n + 1):
            dt = hours * 3600.0 * k / n
            la, lo = destination(lat, lon, (b0 + 360.0 * dt / period) % 360.0, radius_m)
            self._add(t0 + dt, float(la), float(lo))
        return self

    def _add(self, t: float, lat: float, lon: float) -> Path:
        self.t.append(t)
        self.lat.append(lat)
        self.lon.append(lon)
        return self

    @property
    def end(self) -> float:
        return self.t[-1]

    def sample(self, every_s: float, t0: float | None = None, t1: float | None = None) -> PositionArray:
        """Positions every ``every_s`` seconds from ``t0`` to ``t1`` (default: the whole path)."""
        kt = np.asarray(self.t)
        a = kt[0] if t0 is None else t0
        z = kt[-1] if t1 is None else t1
        t = np.arange(math.ceil(a / every_s) * every_s, z + 1e-6, every_s)
        lat = np.interp(t, kt, self.lat)
        lon = np.interp(t, kt, self.lon)
        seg = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, len(kt) - 2)
        dist = haversine_m(np.asarray(self.lat)[:-1], np.asarray(self.lon)[:-1], self.lat[1:], self.lon[1:])
        sog = dist / np.maximum(np.diff(kt), 1e-9) / (M_PER_NM / 3600.0)
        cog = bearing_deg(np.asarray(self.lat)[:-1], np.asarray(self.lon)[:-1], self.lat[1:], self.lon[1:])
        p = empty_positions(len(t))
        p["t"], p["lat"], p["lon"] = t, lat, lon
        p["sog"], p["cog"] = sog[seg], np.where(dist[seg] > 1.0, cog[seg], np.nan)
        return p


@dataclass
class Vessel:
    mmsi: int
    name: str
    ship_type: int
    length_m: float
    class_b: bool = False
    anonymous: bool = False


@dataclass
class Planted:
    """The tracks of one scenario and its expectation in event time."""

    scenario: Scenario
    keys: list[int]
    window: tuple[float, float]
    positions: list[PositionArray] = field(default_factory=list)
    statics: list[StaticArray] = field(default_factory=list)

    def batch(self) -> Batch:
        pos = np.concatenate(self.positions) if self.positions else empty_positions()
        st = np.concatenate(self.statics) if self.statics else empty_statics()
        return Batch(positions=pos, statics=st)


def vessel_rows(v: Vessel, p: PositionArray, nav_status: int = 0) -> tuple[PositionArray, StaticArray]:
    p["kind"], p["ident"] = TrackKind.VESSEL, v.mmsi
    p["key"] = make_key(TrackKind.VESSEL, v.mmsi)
    p["msg_type"] = 18 if v.class_b else 1
    p["nav_status"] = -1 if v.class_b else nav_status
    p["heading"] = p["cog"]
    if v.anonymous or len(p) == 0:
        return p, empty_statics()
    st = empty_statics(1)
    st["kind"], st["ident"], st["key"] = TrackKind.VESSEL, v.mmsi, make_key(TrackKind.VESSEL, v.mmsi)
    st["t"], st["msg_type"] = p["t"][0], 24 if v.class_b else 5
    st["name"], st["ship_type"], st["length_m"] = v.name, v.ship_type, v.length_m
    st["beam_m"] = max(2.0, v.length_m / 6.0)
    return p, st


def aircraft_rows(
    icao: int, p: PositionArray, alt_ft: float, callsign: str
) -> tuple[PositionArray, StaticArray]:
    p["kind"], p["ident"] = TrackKind.AIRCRAFT, icao
    p["key"] = make_key(TrackKind.AIRCRAFT, icao)
    p["msg_type"], p["alt_ft"], p["vrate_fpm"], p["on_ground"], p["squawk"] = 111, alt_ft, 0.0, 0, 1200
    st = empty_statics(1)
    st["kind"], st["ident"], st["key"] = TrackKind.AIRCRAFT, icao, make_key(TrackKind.AIRCRAFT, icao)
    st["t"], st["msg_type"], st["name"], st["squawk"] = p["t"][0], 104, callsign, 1200
    return p, st


def plant(s: Scenario, day0: float, index: int) -> Planted:
    """The tracks of scenario ``s`` started at ``day0 + s.at``; identities are drawn from ``index``."""
    t0 = day0 + s.at_s
    q = s.params
    mmsi = 375_900_000 + 10 * index  # Saint Vincent and the Grenadines MID, a block no real day uses here
    window = (t0 + s.window_h[0] * 3600.0, t0 + s.window_h[1] * 3600.0)
    out = Planted(s, [], window)

    def add(v: Vessel, p: PositionArray, nav: int = 0) -> None:
        pos, st = vessel_rows(v, p, nav)
        out.positions.append(pos)
        out.statics.append(st)
        out.keys.append(int(make_key(TrackKind.VESSEL, v.mmsi)))

    stype = q.ship_type
    if s.kind in (ScenarioKind.ENCOUNTER, ScenarioKind.RENDEZVOUS_AIR):
        held = []
        for j, (approach, leave) in enumerate(((240.0, 60.0), (120.0, 300.0))):
            la, lo = destination(s.lat, s.lon, 90.0, q.separation_m * j)
            start = destination(float(la), float(lo), approach, 5 * M_PER_NM)
            path = Path.at(t0, float(start[0]), float(start[1])).to(float(la), float(lo), 10.0)
            path.go(q.heading_deg, q.drift_kn, q.hold_h).go(leave, 10.0, 1.0)
            held.append(path)
        kinds = (
            (Vessel(mmsi, "SEA HARVEST", 30, 24.0), Vessel(mmsi + 1, "NORTHERN REEFER", 70, 120.0))
            if s.kind == ScenarioKind.ENCOUNTER
            else (Vessel(mmsi, "", 37, 12.0, class_b=True), Vessel(mmsi + 1, "CARIB TRADER", 70, 60.0))
        )
        for v, path in zip(kinds, held, strict=True):
            add(v, path.sample(q.report_s))
        if s.kind == ScenarioKind.RENDEZVOUS_AIR:
            icao = 0x0D0000 + index
            t_on = held[0].t[1] + 0.25 * 3600.0  # on station 15 min after the vessels came together
            entry = destination(s.lat, s.lon, 180.0, 1800.0)
            far = destination(s.lat, s.lon, 180.0, 60_000.0)
            air = Path.at(t_on - 60_000.0 / (140 * M_PER_NM / 3600.0), float(far[0]), float(far[1]))
            air.to(float(entry[0]), float(entry[1]), 140.0)
            air.circle(s.lat, s.lon, 1800.0, 110.0, min(1.0, q.hold_h - 0.25)).go(180.0, 140.0, 0.5)
            pos, st = aircraft_rows(icao, air.sample(5.0), 2500.0, "N731EV")
            out.positions.append(pos)
            out.statics.append(st)
            out.keys.append(int(make_key(TrackKind.AIRCRAFT, icao)))
    elif s.kind == ScenarioKind.GOING_DARK:
        v = Vessel(mmsi, "OCEAN WANDERER", 70 if stype < 0 else stype, q.length_m or 110.0)
        path = Path.at(t0, s.lat, s.lon).go(q.heading_deg, q.speed_kn, q.before_h + q.gap_h + q.after_h)
        dark0, dark1 = t0 + q.before_h * 3600.0, t0 + (q.before_h + q.gap_h) * 3600.0
        p = path.sample(q.report_s)
        add(v, p[(p["t"] <= dark0) | (p["t"] >= dark1)])
    elif s.kind == ScenarioKind.GO_FAST:
        v = Vessel(
            mmsi, "", 37 if stype < 0 else stype, q.length_m or 9.0, class_b=True, anonymous=q.anonymous
        )
        path = Path.at(t0, s.lat, s.lon).go(q.heading_deg, q.speed_kn, q.duration_h)
        add(v, path.sample(q.report_s))
    elif s.kind == ScenarioKind.SPOOFING:
        v = Vessel(mmsi, "GULF STAR", 70 if stype < 0 else stype, q.length_m or 90.0)
        path = Path.at(t0, s.lat, s.lon).go(q.heading_deg, q.speed_kn, q.before_h + q.after_h)
        p = path.sample(q.report_s)
        s0 = t0 + q.before_h * 3600.0
        spoofed = (p["t"] >= s0) & (p["t"] < s0 + q.spoof_min * 60.0)
        spoofed &= (np.round((p["t"] - s0) / q.report_s) % 2) == 1  # every other report from elsewhere
        la, lo = destination(p["lat"][spoofed], p["lon"][spoofed], 180.0, q.jump_km * 1000.0)
        p["lat"][spoofed], p["lon"][spoofed] = la, lo
        add(v, p)
    elif s.kind in (ScenarioKind.HAZARDOUS, ScenarioKind.TRANSIT):
        default = 81 if s.kind == ScenarioKind.HAZARDOUS else 70
        v = Vessel(mmsi, "CARIBBEAN SPIRIT", default if stype < 0 else stype, q.length_m or 180.0)
        path = Path.at(t0, s.lat, s.lon).go(q.heading_deg, q.speed_kn, q.duration_h)
        add(v, path.sample(q.report_s))
    return out
