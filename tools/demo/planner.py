"""Plans background traffic and the scripted vessel incidents on a fixed horizon."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from mdacentre.model.errors import ConfigError
from mdacentre.model.geodesy import destination, haversine
from tools.demo.catalogue import (
    CARIBBEAN_SEA_ID,
    EARTH_RADIUS_NM,
    PLAN_HOURS,
    ROLES,
    TRANSIT_ORIGINS,
    AisClass,
    AlertCategory,
    NavStatus,
    Role,
    RoleSpec,
    in_box,
)
from tools.demo.fleet import Registry, ScenarioRecord, Vessel, dest_text, identity, stream, utc
from tools.demo.inputs import Inputs, Port
from tools.demo.motion import Route, TrackBuilder, sea_route


class Planner:
    """Builds background and scenario vessels and aircraft on a fixed planning horizon."""

    def __init__(self, seed: int, start: float, inputs: Inputs) -> None:
        self.seed, self.t0, self.inp = seed, start, inputs
        self.t_plan = start + PLAN_HOURS * 3600.0
        self.reg = Registry(seed)
        self.big = [p for p in inputs.ports if p.size in ("Large", "Medium")]
        self.mid = [p for p in inputs.ports if p.size in ("Large", "Medium", "Small")]
        self.small = [p for p in inputs.ports if p.size in ("Small", "Very Small")]

    # -- background -------------------------------------------------------------------

    def _pick_pair(self, rng: np.random.Generator, spec: RoleSpec, role: Role) -> tuple[Port, Port, Route]:
        pool = self.small if spec.local else self.mid
        lo_km, hi_km = spec.route_km
        for _ in range(60):
            if role == Role.TRANSIT:
                codes = [c for c in TRANSIT_ORIGINS if c in self.inp.outside_ports]
                a = self.inp.outside_ports[codes[int(rng.integers(len(codes)))]]
                b = self.big[int(rng.integers(len(self.big)))]
                if rng.uniform() < 0.35:
                    a, b = b, a
                gc_km = float(haversine(a.lat, a.lon, b.lat, b.lon, EARTH_RADIUS_NM)) * 1.852
            else:
                a = pool[int(rng.integers(len(pool)))]
                to = self.big if not spec.local and rng.uniform() < 0.6 else pool
                far = (
                    haversine(
                        a.lat,
                        a.lon,
                        np.array([p.lat for p in to]),
                        np.array([p.lon for p in to]),
                        EARTH_RADIUS_NM,
                    )
                    * 1.852
                )
                ok = np.flatnonzero((far >= lo_km) & (far <= hi_km))
                if len(ok) == 0:
                    continue
                k = int(ok[int(rng.integers(len(ok)))])
                b, gc_km = to[k], float(far[k])
            route = sea_route(a, b, self.inp.land)
            if route.length * 1.852 > 3.0 * gc_km + 30.0:  # the network detours: try another pair
                continue
            if self.land_share(route) > 0.01:  # the coarse network cuts across an island: try another pair
                continue
            return a, b, route
        raise ConfigError(f"no usable port pair for role {role}: check the World Port Index input")

    def background(self, idx: int, role: Role) -> Vessel:
        spec = ROLES[role]
        rng = stream(self.seed, 100, idx)
        ident = identity(self.reg, spec, rng, spec.local)
        a, b, route = self._pick_pair(rng, spec, role)
        if role == Role.ANCHORED:
            return self._anchored(idx, ident, rng, a, route)
        speed = float(rng.uniform(*spec.speed_kn))
        horizon_nm = speed * PLAN_HOURS
        inside = np.flatnonzero(in_box(route.lat, route.lon))
        d_in = float(route.cum[inside[0]]) if len(inside) else 0.0
        d_out = float(route.cum[inside[-1]]) if len(inside) else route.length
        d0 = float(rng.uniform(d_in - 0.3 * horizon_nm, max(d_in, d_out - 0.15 * horizon_nm)))
        if role == Role.TRANSIT:
            d0 = float(rng.uniform(max(0.0, d_in - 0.5 * horizon_nm), max(d_in, d_out - 0.3 * horizon_nm)))
        if d_out < route.length - 1.0:  # the route leaves coverage: stay inside for the whole horizon,
            d0 = min(d0, d_out - horizon_nm)  # or the watch would see a vessel vanish at sea (an AIS gap)
        b0 = TrackBuilder(self.t0, *map(float, route.at(max(d0, 0.0))))
        if d0 < 0:  # still alongside: departs later
            b0.hold(self.t0 + (-d0) / speed * 3600.0, NavStatus.MOORED)
            d0 = 0.0
        b0.along(route, d0, speed, self.t_plan)
        b0.hold(self.t_plan, NavStatus.MOORED)
        arrive = self.t0 + (route.length - d0) / speed * 3600.0
        status = (
            NavStatus.FISHING if role in (Role.FISHING_A, Role.FISHING_B) and rng.uniform() < 0.3 else None
        )
        track = b0.build()
        if status is not None:  # fishing vessels heading out report 'engaged in fishing' some of the time
            track.status[track.status == NavStatus.UNDER_WAY] = int(status)
        v = Vessel(idx=idx, destination=dest_text(b), eta=utc(arrive), track=track, **ident)
        v.pos_type = 18 if spec.ais_class == AisClass.B else (3 if rng.uniform() < 0.15 else 1)
        return v

    def land_share(self, route: Route) -> float:
        """Share of the route (sampled every 0.5 nm inside the coverage box) that lies on land."""
        d = np.arange(0.0, route.length, 0.5)
        lat, lon = route.at(d)
        inside = in_box(lat, lon)
        if not inside.any():
            return 0.0
        return float(shapely.contains_xy(self.inp.land, lon[inside], lat[inside]).mean())

    def _anchored(
        self, idx: int, ident: dict[str, Any], rng: np.random.Generator, port: Port, route: Route
    ) -> Vessel:
        d = min(route.length * 0.5, float(rng.uniform(1.0, 3.0)))
        lat, lon = map(float, route.at(d))
        for _ in range(20):  # an anchorage near the lane, in open water
            la, lo = destination(
                lat, lon, float(rng.uniform(0, 360)), float(rng.uniform(0.2, 0.8)), EARTH_RADIUS_NM
            )
            if not shapely.contains_xy(self.inp.land, lo, la):
                lat, lon = la, lo
                break
        track = (
            TrackBuilder(self.t0, lat, lon)
            .wander(rng, lat, lon, 60.0, (0.0, 0.15), self.t_plan, 1800.0, NavStatus.AT_ANCHOR)
            .build()
        )
        return Vessel(idx=idx, destination=dest_text(port), eta=None, track=track, **ident)

    # -- scenarios --------------------------------------------------------------------

    def _port(self, locode: str) -> Port:
        for p in self.inp.ports:
            if p.locode == locode:
                return p
        if locode in self.inp.outside_ports:
            return self.inp.outside_ports[locode]
        raise ConfigError(f"port {locode} not in the World Port Index input")

    def _entry_distance(self, route: Route) -> float:
        """Distance along ``route`` where it first enters the Caribbean Sea watch area."""
        inside = shapely.contains_xy(self.inp.caribbean_sea, route.lon, route.lat)
        k = int(np.argmax(inside))
        if not inside.any() or k == 0:
            raise ConfigError("hazardous-cargo scenario route does not enter the Caribbean Sea from outside")
        ls = LineString([(route.lon[k - 1], route.lat[k - 1]), (route.lon[k], route.lat[k])])
        cross = ls.intersection(self.inp.caribbean_sea.boundary)
        pt = (
            cross
            if isinstance(cross, Point)
            else list(getattr(cross, "geoms", [Point(route.lon[k], route.lat[k])]))[0]
        )
        return float(
            route.cum[k - 1] + haversine(route.lat[k - 1], route.lon[k - 1], pt.y, pt.x, EARTH_RADIUS_NM)
        )

    def hazardous(
        self,
        idx: int,
        key: str,
        origin: str,
        dest: str,
        ship_type: int,
        speed: float,
        cross_after_s: float,
        mids: tuple[int, ...],
        note: str,
    ) -> tuple[Vessel, ScenarioRecord]:
        rng = stream(self.seed, 200, idx)
        spec = ROLES[Role.TANKER if ship_type >= 80 else Role.CARGO]
        ident = identity(self.reg, spec, rng, False, ship_type=ship_type, mids=mids)
        a, b = self._port(origin), self._port(dest)
        route = sea_route(a, b, self.inp.land)
        d_cross = self._entry_distance(route)
        d0 = d_cross - speed * cross_after_s / 3600.0
        track = (
            TrackBuilder(self.t0, *map(float, route.at(d0)))
            .along(route, d0, speed, self.t_plan)
            .hold(self.t_plan, NavStatus.MOORED)
            .build()
        )
        arrive = self.t0 + (route.length - d0) / speed * 3600.0
        v = Vessel(
            idx=idx, destination=dest_text(b), eta=utc(arrive), track=track, always_report=True, **ident
        )
        t_cross = self.t0 + cross_after_s
        lat, lon = map(float, route.at(d_cross))
        rec = ScenarioRecord(
            key,
            "hazardous_vessel_entering_caribbean_sea",
            AlertCategory.HAZARDOUS_CARGO,
            start=t_cross,
            end=t_cross,
            detectable_from=t_cross,
            mmsi=v.mmsi,
            name=v.name,
            lat=lat,
            lon=lon,
            note=note,
            extra={"ship_type": ship_type, "watch_area": CARIBBEAN_SEA_ID, "from": a.name, "to": b.name},
        )
        return v, rec

    def go_fast(
        self,
        idx: int,
        key: str,
        lat0: float,
        lon0: float,
        lat1: float,
        lon1: float,
        speed: float,
        depart_s: float,
        with_static: bool,
        coast: str,
    ) -> tuple[Vessel, ScenarioRecord]:
        rng = stream(self.seed, 300, idx)
        spec = RoleSpec(1, AisClass.B, (37,), (10, 13), 3.6, (0.8, 1.0), (speed, speed), (0, 0), True)
        ident = identity(self.reg, spec, rng, True, ship_type=37 if with_static else 0, mids=(339,))
        if not with_static:
            ident["name"], ident["callsign"] = "", ""
        t_dep = self.t0 + depart_s
        b = TrackBuilder(t_dep, lat0, lon0).goto(lat1, lon1, speed)
        t_arr = b.now
        track = b.hold(t_arr + 240.0, NavStatus.UNDEFINED).build()
        v = Vessel(
            idx=idx,
            destination="",
            eta=None,
            track=track,
            pos_type=18,
            send_static=with_static,
            always_report=True,
            fast_interval_s=15.0,
            **ident,
        )
        rec = ScenarioRecord(
            key,
            "go_fast_run_at_night",
            AlertCategory.GO_FAST,
            start=t_dep,
            end=t_arr,
            detectable_from=t_dep + 60.0,
            mmsi=v.mmsi,
            name=v.name,
            lat=lat1,
            lon=lon1,
            note=f"small craft at {speed:.0f} kn toward the south coast of {coast} at night; "
            + ("class B with type 24 (ship type 37)" if with_static else "class B, no static data"),
            extra={"speed_kn": speed, "heading_to": coast},
        )
        return v, rec

    def rendezvous(
        self,
        idx: int,
        key: str,
        lat: float,
        lon: float,
        meet_s: float,
        hours: float,
        types: tuple[int, int],
        note: str,
    ) -> tuple[list[Vessel], ScenarioRecord]:
        """Two vessels converge, lie ~120 m apart drifting together (< 1 kn) for ``hours``, then part."""
        t_meet, t_part = self.t0 + meet_s, self.t0 + meet_s + hours * 3600.0
        drift = TrackBuilder(t_meet, lat, lon).wander(
            stream(self.seed, 410, idx), lat, lon, 700.0, (0.15, 0.6), t_part, 600.0, NavStatus.UNDER_WAY
        )
        d_t, d_lat, d_lon = np.array(drift.t), np.array(drift.lat), np.array(drift.lon)
        vessels: list[Vessel] = []
        for j, (stype, spd, brg_in, brg_out) in enumerate(
            ((types[0], 11.0, 250.0, 70.0), (types[1], 8.5, 15.0, 195.0))
        ):
            rng = stream(self.seed, 400, idx + j)
            spec = ROLES[Role.FISHING_A if stype == 30 else (Role.TANKER if stype >= 80 else Role.CARGO)]
            ident = identity(self.reg, spec, rng, False, ship_type=stype)
            olat, olon = destination(
                lat, lon, 90.0 + 180.0 * j, 0.0324, EARTH_RADIUS_NM
            )  # 60 m east / west of the pair's centre
            dlat, dlon = olat - lat, olon - lon
            approach_nm = spd * (t_meet - self.t0) / 3600.0 + 25.0
            slat, slon = destination(olat, olon, (brg_in + 180.0) % 360.0, approach_nm, EARTH_RADIUS_NM)
            b = TrackBuilder(t_meet - approach_nm / spd * 3600.0, slat, slon).goto(olat, olon, spd)
            b.follow(d_t, d_lat, d_lon, dlat, dlon, NavStatus.UNDER_WAY)
            elat, elon = destination(b.lat[-1], b.lon[-1], brg_out, spd * PLAN_HOURS, EARTH_RADIUS_NM)
            b.goto(elat, elon, spd)
            vessels.append(
                Vessel(idx=idx + j, destination="", eta=None, track=b.build(), always_report=True, **ident)
            )
        rec = ScenarioRecord(
            key,
            "rendezvous_at_sea",
            AlertCategory.ENCOUNTER,
            start=t_meet,
            end=t_part,
            detectable_from=t_meet + 2 * 3600.0,
            mmsi=vessels[0].mmsi,
            other_mmsi=vessels[1].mmsi,
            name=f"{vessels[0].name} / {vessels[1].name}",
            lat=lat,
            lon=lon,
            note=note,
            extra={"separation_m": 120, "drift_kn_max": 1.0},
        )
        return vessels, rec

    def going_dark(
        self,
        idx: int,
        key: str,
        origin: str,
        dest: str,
        speed: float,
        dark_after_s: float,
        reappear_after_s: float | None,
        reappear_nm: float,
    ) -> tuple[Vessel, ScenarioRecord]:
        rng = stream(self.seed, 500, idx)
        ident = identity(self.reg, ROLES[Role.CARGO], rng, False, ship_type=70)
        a, b = self._port(origin), self._port(dest)
        route = sea_route(a, b, self.inp.land)
        d0 = float(rng.uniform(0.15, 0.25)) * route.length
        t_dark = self.t0 + dark_after_s
        tb = TrackBuilder(self.t0, *map(float, route.at(d0))).along(route, d0, speed, t_dark)
        d_dark = d0 + speed * dark_after_s / 3600.0
        if reappear_after_s is not None:
            slow = reappear_nm / (reappear_after_s / 3600.0)
            tb.along(route, d_dark, slow, t_dark + reappear_after_s)
            tb.along(route, d_dark + reappear_nm, speed, self.t_plan)
        else:
            tb.along(route, d_dark, speed, self.t_plan)
        tb.hold(self.t_plan, NavStatus.MOORED)
        t_back = t_dark + (reappear_after_s if reappear_after_s is not None else 1e9)
        v = Vessel(
            idx=idx,
            destination=dest_text(b),
            eta=utc(self.t0 + (route.length - d0) / speed * 3600.0),
            track=tb.build(),
            silences=[(t_dark, t_back)],
            always_report=True,
            **ident,
        )
        lat, lon = map(float, route.at(d_dark))
        if reappear_after_s is None:
            rec = ScenarioRecord(
                key,
                "vessel_goes_dark",
                AlertCategory.AIS_GAP,
                start=t_dark,
                end=math.inf,
                detectable_from=t_dark + 6 * 3600.0,
                mmsi=v.mmsi,
                name=v.name,
                lat=lat,
                lon=lon,
                note="reports for the first hour, then silence to the end of the data (open gap)",
            )
        else:
            rec = ScenarioRecord(
                key,
                "vessel_goes_dark_and_reappears",
                AlertCategory.AIS_GAP,
                start=t_dark,
                end=t_back,
                detectable_from=t_dark + 6 * 3600.0,
                mmsi=v.mmsi,
                name=v.name,
                lat=lat,
                lon=lon,
                note=f"silent for {reappear_after_s / 3600:.1f} h, reappears {reappear_nm:.0f} nm "
                "further along its route",
                extra={"reappear_nm": reappear_nm},
            )
        return v, rec

    def spoofer(
        self, idx: int, key: str, origin: str, dest: str, jump_after_s: float
    ) -> tuple[Vessel, ScenarioRecord]:
        rng = stream(self.seed, 600, idx)
        ident = identity(self.reg, ROLES[Role.CARGO], rng, False, ship_type=70)
        a, b = self._port(origin), self._port(dest)
        route = sea_route(a, b, self.inp.land)
        speed = float(rng.uniform(12.0, 14.0))
        d0 = float(rng.uniform(0.2, 0.4)) * route.length
        track = (
            TrackBuilder(self.t0, *map(float, route.at(d0)))
            .along(route, d0, speed, self.t_plan)
            .hold(self.t_plan, NavStatus.MOORED)
            .build()
        )
        t_jump = self.t0 + jump_after_s
        lat, lon, *_ = track.state(np.array([t_jump]))
        jlat, jlon = self._sea_point_at(float(lat[0]), float(lon[0]), 200.0)
        v = Vessel(
            idx=idx,
            destination=dest_text(b),
            eta=utc(self.t0 + (route.length - d0) / speed * 3600.0),
            track=track,
            jumps=[(t_jump, jlat, jlon)],
            always_report=True,
            **ident,
        )
        rec = ScenarioRecord(
            key,
            "mmsi_position_jump",
            AlertCategory.POSITION_JUMP,
            start=t_jump,
            end=t_jump,
            detectable_from=t_jump,
            mmsi=v.mmsi,
            name=v.name,
            lat=jlat,
            lon=jlon,
            note="one report 200 nm away from the true track, 2 min after the previous report; "
            "the track continues normally afterwards",
            extra={"true_lat": round(float(lat[0]), 5), "true_lon": round(float(lon[0]), 5), "jump_nm": 200},
        )
        return v, rec

    def _sea_point_at(self, lat: float, lon: float, dist_nm: float) -> tuple[float, float]:
        for brg in (60.0, 100.0, 20.0, 140.0, 300.0, 220.0, 180.0, 0.0, 260.0, 340.0):
            p = destination(lat, lon, brg, dist_nm, EARTH_RADIUS_NM)
            if in_box(p[0], p[1]) and self.inp.land.distance(Point(p[1], p[0])) > 0.25:
                return p
        raise ConfigError("no sea point 200 nm from the spoofing vessel: move the scenario")

    def loiterer(self, idx: int, key: str, lat: float, lon: float) -> tuple[Vessel, ScenarioRecord]:
        rng = stream(self.seed, 700, idx)
        ident = identity(self.reg, ROLES[Role.FISHING_A], rng, True, ship_type=30)
        track = (
            TrackBuilder(self.t0, lat, lon)
            .wander(rng, lat, lon, 6000.0, (0.4, 2.2), self.t_plan, 420.0, NavStatus.FISHING)
            .build()
        )
        v = Vessel(idx=idx, destination="FISHING GROUNDS", eta=None, track=track, always_report=True, **ident)
        rec = ScenarioRecord(
            key,
            "loitering_far_from_port",
            AlertCategory.LOITERING,
            start=self.t0,
            end=math.inf,
            detectable_from=self.t0 + 4 * 3600.0,
            mmsi=v.mmsi,
            name=v.name,
            lat=lat,
            lon=lon,
            note="fishing vessel moving slowly (mean < 2 kn) inside a ~6 km area, far from port",
        )
        return v, rec
