"""Single-track movement patterns: go-fast small craft and loitering far from shore."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mdacentre.core.context import LearnedContext
from mdacentre.core.tracks import TrackTable
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.common import (
    BoolArray,
    Cleared,
    FixMemory,
    FloatArray,
    IntArray,
    RowState,
    StepOut,
    ZoneLocator,
    ZoneProximity,
    fmt_hours,
    group_bounds,
    make_finding,
    vessel_positions,
    zone_ref,
)
from mdacentre.detect.context import StepContext
from mdacentre.detect.vessels import VesselClass, in_classes, is_small, vessel_class
from mdacentre.model.findings import Finding, Level
from mdacentre.model.geodesy import HOUR, M_PER_NM, MS_PER_KN, destination, haversine_m, is_night
from mdacentre.model.sets import isin

GO_FAST = "go_fast"
LOITERING = "loitering"
CLASS_B_MSG_TYPES = (18, 19)
SMALL_CRAFT_TYPES = (0, 30, 31, 32, 33, 34, 35, 36, 37)


# --- go-fast -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoFastConfig:
    min_speed_kn: float = 25.0
    clear_speed_kn: float = 20.0  # hysteresis: the alert closes below this speed
    max_speed_kn: float = 80.0  # faster is a corrupt SOG, not a boat
    max_length_m: float = 20.0
    static_grace_s: float = (
        360.0  # unknown ship type counts as small craft only after this long without statics
    )
    implied_ratio: float = (
        0.5  # the distance from the previous fix must imply >= ratio x threshold (if <= 1 h apart)
    )
    coast_lookahead_nm: float = (
        30.0  # "heading toward a coast": a territorial sea on the course within this range
    )
    base_score: float = 50.0
    night_score: float = 20.0
    coast_score: float = 15.0
    anonymous_score: float = 10.0  # no name and no ship type known
    pleasure_day_shore_nm: float = 12.0  # a named pleasure craft by day this close to land: routine


def small_craft_mask(
    ship_type: npt.NDArray[np.integer],
    length_m: FloatArray,
    msg_type: npt.NDArray[np.integer],
    max_len: float,
    static_waited: BoolArray | None = None,
) -> BoolArray:
    """Small craft: length < max_len when known; otherwise ship type 0/30-37, a class B transponder, or
    an unknown type once ``static_waited`` (the track has had time to send its static report)."""
    st = np.asarray(ship_type, dtype=np.int64)
    ln = np.asarray(length_m, dtype=np.float64)
    known_len = np.isfinite(ln) & (ln > 0)
    unknown = st < 0
    if static_waited is not None:
        unknown &= static_waited
    by_type = unknown | isin(st, SMALL_CRAFT_TYPES) | isin(np.asarray(msg_type), CLASS_B_MSG_TYPES)
    return np.asarray(np.where(known_len, ln < max_len, by_type))


class GoFastDetector:
    """Small craft above 25 kn; graver at night and when the course leads into a territorial sea."""

    def __init__(
        self, zones: list[Zone], config: GoFastConfig | None = None, context: LearnedContext | None = None
    ) -> None:
        self.cfg = config or GoFastConfig()
        self.context = context or LearnedContext()
        self.routine = 0  # fast named pleasure craft by day near the coast (counted, not alerted)
        self.zones = zones
        self.territorial = ZoneLocator(zones, [ZoneKind.TERRITORIAL_SEA])
        self.fixes = FixMemory()
        self.open: dict[int, tuple[int, int, str]] = {}  # key -> (row, level, zone id of the situation)

    def open_vessel_alerts(self) -> list[tuple[int, str]]:
        """(vessel key, category) of every track with an open go-fast alert."""
        return [(k, GO_FAST) for k in self.open]

    def _coast_ahead(self, lat: FloatArray, lon: FloatArray, cog: FloatArray) -> IntArray:
        zone = self.territorial.locate(lon, lat)
        if self.territorial.empty:
            return zone
        steps = (0.25, 0.5, 0.75, 1.0)
        for f in steps:
            need = (zone < 0) & np.isfinite(cog)
            if not need.any():
                break
            la, lo = destination(lat[need], lon[need], cog[need], f * self.cfg.coast_lookahead_nm * M_PER_NM)
            zone[np.flatnonzero(need)] = self.territorial.locate(lo, la)
        return zone

    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = []
        pos, rows = vessel_positions(ctx.update)
        if len(pos) == 0:
            return findings, cleared
        pt, plat, plon = self.fixes.previous(ctx.table, rows, pos)
        self.fixes.commit(ctx.table, rows, pos)
        c = self.cfg
        sog = pos["sog"].astype(np.float64)
        tc = ctx.table.cols
        # A class A ship's static report comes every 6 min: an unknown type is not "small" before that.
        waited = (pos["t"] - tc["first_t"][rows]) >= c.static_grace_s
        small = small_craft_mask(
            tc["ship_type"][rows], tc["length_m"][rows], pos["msg_type"], c.max_length_m, waited
        )
        dt = pos["t"] - pt
        fast = small & (sog > c.min_speed_kn) & (sog <= c.max_speed_kn)
        # the speed implied by the track, only where the reported speed would call it fast
        cand = np.flatnonzero(fast)
        d = haversine_m(plat[cand], plon[cand], pos["lat"][cand], pos["lon"][cand])
        implied = d / np.maximum(dt[cand], 1.0) / MS_PER_KN
        consistent = ~(np.isfinite(implied) & (dt[cand] <= HOUR)) | (
            implied >= c.implied_ratio * c.min_speed_kn
        )
        fast[cand] = consistent
        slow = np.isfinite(sog) & (sog < c.clear_speed_kn)
        keys = pos["key"]
        closing = slow & ~fast
        if self.open and closing.any():
            closing &= isin(keys, np.fromiter(self.open, dtype=np.int64, count=len(self.open)))
        else:
            closing[:] = False
        for i in np.flatnonzero(closing).tolist():
            key = int(keys[i])
            if key in self.open:
                zid = self.open.pop(key)[2]
                cleared.append(((GO_FAST, key, zid), float(pos["t"][i])))
        fi = np.flatnonzero(fast)
        if len(fi) == 0:
            return findings, cleared
        night = is_night(pos["t"][fi], pos["lat"][fi], pos["lon"][fi])
        # Routine: a pleasure craft that names itself, in daylight, near the coast (water-skiing, ferrying guests).
        rf = rows[fi]
        pleasure = in_classes(vessel_class(tc["ship_type"][rf]), (VesselClass.PLEASURE,))
        named = np.char.str_len(tc["name"][rf].astype(str)) > 0
        shore = self.context.shore_nm(pos["lon"][fi], pos["lat"][fi])
        routine = pleasure & named & ~night & (shore < c.pleasure_day_shore_nm)
        if routine.any():
            already = isin(keys[fi], np.fromiter(self.open, dtype=np.int64, count=len(self.open)))
            routine &= ~already
            self.routine += int(routine.sum())
            fi, night = fi[~routine], night[~routine]
            if len(fi) == 0:
                return findings, cleared
        coast = self._coast_ahead(
            pos["lat"][fi].astype(np.float64),
            pos["lon"][fi].astype(np.float64),
            pos["cog"][fi].astype(np.float64),
        )
        for j, i in enumerate(fi.tolist()):
            self._finding(ctx, int(rows[i]), int(keys[i]), pos[i], bool(night[j]), int(coast[j]), findings)
        return findings, cleared

    def _finding(
        self, ctx: StepContext, row: int, key: int, p: np.void, night: bool, coast: int, out: list[Finding]
    ) -> None:
        c = self.cfg
        tc = ctx.table.cols
        anonymous = not str(tc["name"][row]) and int(tc["ship_type"][row]) < 0
        score = c.base_score + (c.night_score if night else 0) + (c.coast_score if coast >= 0 else 0)
        score += c.anonymous_score if anonymous else 0
        level = int(Level.from_score(min(score, 100.0)))
        cur = self.open.get(key)
        if cur is not None and level <= cur[1]:
            return
        zid = cur[2] if cur is not None else (self.zones[coast].id if coast >= 0 else "")
        zr = (
            next((zone_ref(self.zones, i) for i, z in enumerate(self.zones) if z.id == zid), None)
            if zid
            else None
        )
        parts = [f"small craft at {float(p['sog']):.0f} kn (go-fast threshold {c.min_speed_kn:.0f} kn)"]
        if night:
            parts.append("at night")
        if coast >= 0:
            parts.append(f"heading into {self.zones[coast].name}")
        if anonymous:
            parts.append("no name or ship type broadcast")
        extra = {
            "sog_kn": float(p["sog"]),
            "cog": float(p["cog"]),
            "night": night,
            "coast_zone": self.zones[coast].id if coast >= 0 else None,
        }
        f = make_finding(ctx.table, row, GO_FAST, float(p["t"]), score, ("; ".join(parts),), zr, extra)
        self.open[key] = (row, int(f.level), zid)
        out.append(f)

    def forget(self, keys: set[int]) -> None:
        self.fixes.forget(keys)
        for k in keys:
            self.open.pop(k, None)


# --- loitering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoiteringConfig:
    max_avg_speed_kn: float = 2.0
    min_duration_h: float = 4.0
    burst_speed_kn: float = 5.0  # a single report faster than this ends the stretch
    max_report_gap_h: float = 2.0  # a longer silence ends the stretch
    shore_distance_nm: float = 20.0
    territorial_sea_width_nm: float = 12.0  # shore = territorial sea zones grown by the difference
    base_score: float = 35.0
    long_score: float = 15.0  # stretch >= 3 x min_duration
    anonymous_score: float = 10.0
    stop_min_vessels: int = 3  # a learned stopping place (anchorage, platform) used by this many vessels
    wait_min_vessels: int = 3  # a learned waiting area (offshore anchorage, lightering area) of this many
    routine_classes: tuple[str, ...] = ("towing", "service", "authority")  # slow by trade
    anchored_speed_kn: float = 0.5  # a ship (not small craft) averaging under this is at anchor or on station
    small_length_m: float = 20.0  # small craft (shorter, or pleasure/fishing/unknown) stay suspicious
    route_min_passes: int = 2  # on its own learned regular route (ferry, pilot or tug run): routine


class LoiteringDetector:
    """Average speed under 2 kn for at least 4 h, at least 20 nm from shore (GFW loitering)."""

    def __init__(
        self, zones: list[Zone], config: LoiteringConfig | None = None, context: LearnedContext | None = None
    ) -> None:
        self.cfg = config or LoiteringConfig()
        self.context = context or LearnedContext()
        self.routine = 0  # ships at anchor or on station offshore (counted, not alerted)
        known = {k.label for k in VesselClass}
        self.routine_classes = tuple(VesselClass[k.upper()] for k in self.cfg.routine_classes if k in known)
        c = self.cfg
        extra_nm = max(0.0, c.shore_distance_nm - c.territorial_sea_width_nm)
        self.near_ts = ZoneProximity(zones, [ZoneKind.TERRITORIAL_SEA], extra_nm * M_PER_NM)
        self.near_port = ZoneProximity(zones, [ZoneKind.PORT_APPROACH], c.shore_distance_nm * M_PER_NM)
        self.fixes = FixMemory()
        self.state = RowState(
            {
                "open": ("?", False),  # a slow stretch is running
                "start_t": ("f8", np.nan),
                "integral": ("f8", 0.0),  # integral of speed over the stretch, kn*s
                "last_sog": ("f8", np.nan),
                "alerted": ("?", False),
            }
        )

    def _speed(self, pos: np.ndarray, pt: FloatArray, plat: FloatArray, plon: FloatArray) -> FloatArray:
        speed = pos["sog"].astype(np.float64)
        # without a reported speed, the speed implied by the track
        i = np.flatnonzero(~np.isfinite(speed))
        if len(i):
            d = haversine_m(plat[i], plon[i], pos["lat"][i], pos["lon"][i])
            speed[i] = d / np.maximum(pos["t"][i] - pt[i], 1.0) / MS_PER_KN
        return speed

    def _far(self, lon: FloatArray, lat: FloatArray, ident: np.ndarray) -> BoolArray:
        """Far from shore and ports and not at a learned stopping place.

        With the shore grid the distance comes from the coastline; outside it (or without it), from
        the territorial-sea zones grown to the shore distance."""
        far = ~self.near_port.near(lon, lat)
        # each further test only on the points still called far (the answer is the same, the work less)
        i = np.flatnonzero(far)
        shore = self.context.shore_nm(lon[i], lat[i])
        graded = np.isfinite(shore)
        ok = np.empty(len(i), dtype=bool)
        ok[graded] = shore[graded] >= self.cfg.shore_distance_nm
        g = np.flatnonzero(~graded)
        ok[g] = ~self.near_ts.near(lon[i[g]], lat[i[g]])
        i = i[ok]
        if self.context.areas:
            i = i[self.context.stop_vessels(lon[i], lat[i]) < self.cfg.stop_min_vessels]
            i = i[self.context.wait_vessels(lon[i], lat[i]) < self.cfg.wait_min_vessels]
            i = i[~self.context.on_route(lon[i], lat[i], ident[i], self.cfg.route_min_passes)]
        out = np.zeros(len(lon), dtype=bool)
        out[i] = True
        return out

    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = []
        pos, rows = vessel_positions(ctx.update)
        if len(pos) == 0:
            return findings, cleared
        table = ctx.table
        c = self.cfg
        pt, plat, plon = self.fixes.previous(table, rows, pos)
        self.fixes.commit(table, rows, pos)
        speed = self._speed(pos, pt, plat, plon)
        ok = np.isfinite(speed) & (speed < c.burst_speed_kn)
        ok &= ~in_classes(vessel_class(table.cols["ship_type"][rows]), self.routine_classes)
        slow = np.flatnonzero(ok)  # where from shore only matters for slow reports
        ok[slow] = self._far(
            pos["lon"][slow].astype(np.float64), pos["lat"][slow].astype(np.float64), pos["ident"][slow]
        )
        dt = pos["t"] - pt
        first, last = group_bounds(rows)
        carried = self.state.valid(table, rows) & self.state.cols["open"][rows]
        st = self.state.cols
        # continues[i]: position i extends the stretch running before it
        prev_ok = np.zeros(len(ok), dtype=bool)
        prev_ok[1:] = ok[:-1]
        prev_ok[first] = carried[first]
        cont = ok & prev_ok & np.isfinite(dt) & (dt <= c.max_report_gap_h * HOUR)
        new = ok & ~cont
        # stretch start time and integral per position
        start_idx = np.maximum.accumulate(np.where(new | first, np.arange(len(ok)), 0))
        prev_speed = np.empty(len(ok))
        prev_speed[1:] = speed[:-1]
        prev_speed[first] = st["last_sog"][rows[first]]
        inc = np.where(
            cont,
            np.nan_to_num(dt) * (speed + np.where(np.isfinite(prev_speed), prev_speed, speed)) / 2.0,
            0.0,
        )
        csum = np.cumsum(inc)
        s = start_idx
        carried_int = np.where(carried, st["integral"][rows], 0.0)
        integral = csum - csum[s] + np.where(new[s], 0.0, inc[s] + carried_int[s])
        start_t = np.where(new[s], pos["t"][s], np.where(carried[s], st["start_t"][rows[s]], np.nan))
        duration = pos["t"] - start_t
        avg = np.where(duration > 0, integral / np.maximum(duration, 1e-9), np.inf)
        cond = ok & (duration >= c.min_duration_h * HOUR) & (avg < c.max_avg_speed_kn)
        alerted_carried = carried & self.state.cols["alerted"][rows]
        self._emit(
            ctx,
            pos,
            rows,
            ok,
            new,
            first,
            start_idx,
            start_t,
            duration,
            avg,
            cond,
            alerted_carried,
            findings,
            cleared,
        )
        # carry
        li = np.flatnonzero(last)
        r = rows[li]
        self.state.claim(table, r)
        st = self.state.cols
        st["open"][r] = ok[li]
        st["start_t"][r] = np.where(ok[li], start_t[li], np.nan)
        st["integral"][r] = np.where(ok[li], integral[li], 0.0)
        st["last_sog"][r] = speed[li]
        return findings, cleared

    def _emit(
        self,
        ctx: StepContext,
        pos: np.ndarray,
        rows: IntArray,
        ok: BoolArray,
        new: BoolArray,
        first: BoolArray,
        start_idx: IntArray,
        start_t: FloatArray,
        duration: FloatArray,
        avg: FloatArray,
        cond: BoolArray,
        alerted_carried: BoolArray,
        findings: list[Finding],
        cleared: list[Cleared],
    ) -> None:
        """Walk only the rows that have a condition or an alert to close (candidates)."""
        st = self.state.cols
        cand_rows = np.unique(np.concatenate([rows[cond], rows[first & alerted_carried]]))
        if len(cand_rows) == 0:
            return
        table = ctx.table
        for r in cand_rows.tolist():
            idx = np.flatnonzero(rows == r)
            alerted = bool(alerted_carried[idx[0]])
            key = int(table.cols["key"][r])
            for i in idx.tolist():
                if alerted and (new[i] or not ok[i]):
                    cleared.append(((LOITERING, key, ""), float(pos["t"][i])))
                    alerted = False
                if cond[i] and not alerted:
                    if self._waiting(table, r, float(avg[i])):
                        self.routine += 1  # counted, not alerted; the stretch stays "seen" until it ends
                    else:
                        findings.append(
                            self._finding(
                                ctx, r, float(start_t[i]), float(duration[i]), float(avg[i]), pos[i]
                            )
                        )
                    alerted = True
            self.state.claim(table, np.asarray([r]))
            st["alerted"][r] = alerted

    def _waiting(self, table: TrackTable, row: int, avg: float) -> bool:
        """A ship that is not small craft, at anchor or holding station (not drifting): waiting or at work."""
        c = self.cfg
        cls = vessel_class(table.cols["ship_type"][[row]])
        small = is_small(cls, table.cols["length_m"][[row]], c.small_length_m)[0]
        return bool(not small and avg < c.anchored_speed_kn)

    def _finding(
        self, ctx: StepContext, row: int, start_t: float, duration: float, avg: float, p: np.void
    ) -> Finding:
        c = self.cfg
        tc = ctx.table.cols
        anonymous = not str(tc["name"][row]) and int(tc["ship_type"][row]) < 0
        long_stay = duration >= 3 * c.min_duration_h * HOUR
        score = c.base_score + (c.long_score if long_stay else 0) + (c.anonymous_score if anonymous else 0)
        reason = (
            f"loitering for {fmt_hours(duration)} at an average {avg:.1f} kn, at least "
            f"{c.shore_distance_nm:.0f} nm from shore and ports"
        )
        extra = {
            "duration_s": round(duration, 1),
            "avg_speed_kn": round(avg, 2),
            "lat": float(p["lat"]),
            "lon": float(p["lon"]),
        }
        return make_finding(ctx.table, row, LOITERING, float(p["t"]), score, (reason,), None, extra)

    def forget(self, keys: set[int]) -> None:
        self.fixes.forget(keys)
        self.state.forget_keys(keys)
