"""Going dark: vessels whose AIS falls silent for longer than a threshold (GFW gaps, Skylight dark activity).

A gap is *open* while the vessel stays silent (checked against the watermark, the pipeline's
"now") and *closed* when the vessel reports again; the closing finding carries the gap's
duration, the distance between the last and the first position around it and the implied speed.
A gap seen only after the fact (the vessel reappears in the same batch in which the watermark
passed the threshold) is reported and closed in the same step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from mdacentre.core.context import LearnedContext
from mdacentre.core.tracks import TrackTable
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.common import (
    Cleared,
    FixMemory,
    RowState,
    StepOut,
    ZoneLocator,
    fmt_hours,
    group_bounds,
    make_finding,
    vessel_positions,
    zone_ref,
)
from mdacentre.detect.context import StepContext
from mdacentre.detect.reception import OnlineReception, ReceptionConfig, good_runs
from mdacentre.detect.vessels import VesselClass, in_classes, vessel_class
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Finding, iso
from mdacentre.model.geodesy import HOUR, M_PER_NM, MS_PER_KN, destination, haversine_m

CATEGORY = "ais_gap"
EVENT = "ais_silence"  # a silence that is routine where it happened: an event for the timeline, not an alert


@dataclass(frozen=True)
class AisGapConfig:
    threshold_h: float = 6.0  # silence that counts as a gap (GFW gaps, Skylight dark activity)
    territorial_threshold_h: float = (
        2.0  # shorter threshold when the last position is inside a territorial sea
    )
    long_gap_h: float = 12.0  # GFW: gaps >= 12 h count as possible disabling
    min_reports: int = 5  # positions the vessel sent before the gap (GFW: "reported densely before")
    exclude_port_approach: bool = True  # no gap alerts for vessels that went quiet inside a port approach
    far_reappear_nm: float = 50.0  # reappearing this far away raises the score
    check_interval_s: float = 60.0  # open-gap scan over the whole table at most this often (event time)
    base_score: float = 30.0
    territorial_score: float = 20.0
    long_gap_score: float = 15.0
    very_long_gap_score: float = 10.0  # >= 2 x long_gap_h
    far_reappear_score: float = 15.0
    # where and how (docs/detectors.md): a silence in port, at a stopping place, stopped near the
    # coast or at the edge of receiver coverage is an event (EVENT), not an alert
    stop_min_vessels: int = 3  # learned stopping place used by at least this many vessels
    wait_min_vessels: int = 3  # learned waiting area (offshore anchorage, lightering area)
    moored_speed_kn: float = 0.5  # last report slower than this ...
    moored_shore_nm: float = 3.0  # ... this close to land: at anchor or moored
    berth_shore_nm: float = 0.5  # at any speed this close to the coastline: at a berth, in a harbour
    coverage_lookahead_min: float = 30.0  # a moving vessel whose course leaves good coverage this soon
    coverage_min_quality: float = 0.8  # share of a cell's report intervals that were normal
    coverage_min_neighbours: int = 6  # of the 8 neighbouring coverage cells, heard at all
    inland_shore_nm: float = 0.0  # on the 1:10m land: inside a river, waterway, bayou or harbour
    pleasure_shore_nm: float = 12.0  # pleasure craft (no AIS carriage duty) switching off this close to land
    event_score: float = 10.0
    # reception learned online from the feed itself (detect/reception.py): a gap is dark only where
    # this feed's receivers steadily heard ships before, the vessel itself reported steadily up to
    # the silence, and others were still heard nearby during it
    online_coverage: bool = True
    reception_window_h: int = 24  # hours before the silence that say whether the place is heard
    reception_min_visits: int = 3  # vessel visits to the cell and its 8 neighbours in that window
    reception_min_neighbours: int = 4  # of the 8 neighbouring cells, heard in that window
    reception_min_history_h: int = 2  # before the feed has run this many hours, the online rules wait
    dense_run: int = 5  # consecutive reports at normal intervals (<= good_interval_s) before the silence
    good_interval_s: float = 600.0


@dataclass
class _Open:
    row: int
    start_t: float  # last position before the silence
    level: int
    zone: int
    lat: float
    lon: float
    routine: str = ""  # why this silence is an event and not an alert


class AisGapDetector:
    """Open and closed AIS gaps for vessel tracks."""

    def __init__(
        self, zones: list[Zone], config: AisGapConfig | None = None, context: LearnedContext | None = None
    ) -> None:
        self.cfg = config or AisGapConfig()
        self.zones = zones
        self.context = context or LearnedContext()
        self.motion = RowState({"sog": ("f8", np.nan), "cog": ("f8", np.nan), "run": ("i8", 0)})
        c = self.cfg
        self.reception = OnlineReception(
            ReceptionConfig(
                good_interval_s=c.good_interval_s,
                window_h=c.reception_window_h,
                min_visits=c.reception_min_visits,
                min_quality=c.coverage_min_quality,
                min_neighbours=c.reception_min_neighbours,
            )
        )
        self.territorial = ZoneLocator(zones, [ZoneKind.TERRITORIAL_SEA])
        self.ports = ZoneLocator(zones, [ZoneKind.PORT_APPROACH])
        self.fixes = FixMemory()
        self._runs: np.ndarray = np.empty(0, np.int64)
        self.open: dict[int, _Open] = {}
        self._last_scan = float("-inf")
        self.retracted: list[Cleared] = []  # open gaps that late reports filled (taken by the pipeline)

    def take_retracted(self) -> list[Cleared]:
        out, self.retracted = self.retracted, []
        return out

    # -- scoring -------------------------------------------------------------------------------
    def _threshold_s(self, zone: np.ndarray) -> np.ndarray:
        c = self.cfg
        return np.where(zone >= 0, c.territorial_threshold_h, c.threshold_h) * HOUR

    def _score(self, gap_s: float, zone: int, dist_m: float = float("nan")) -> float:
        c = self.cfg
        s = c.base_score
        if zone >= 0:
            s += c.territorial_score
        if gap_s >= c.long_gap_h * HOUR:
            s += c.long_gap_score
        if gap_s >= 2 * c.long_gap_h * HOUR:
            s += c.very_long_gap_score
        if np.isfinite(dist_m) and dist_m >= c.far_reappear_nm * M_PER_NM:
            s += c.far_reappear_score
        return s

    def _where(self, zone: int) -> str:
        return f"inside {self.zones[zone].name}" if zone >= 0 else "at sea"

    def routine(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        t: np.ndarray,
        sog: np.ndarray,
        cog: np.ndarray,
        ship_type: np.ndarray,
        run: np.ndarray | None = None,
        t_end: np.ndarray | None = None,
    ) -> np.ndarray:
        """Why a silence starting at each last position is routine ("" where it is not), vectorised.

        ``run``: consecutive normal report intervals up to the silence; ``t_end``: when the silence
        became a gap (last report + threshold). Both feed the online reception rules.
        """
        c = self.cfg
        n = len(lon)
        out = np.full(n, "", dtype=object)
        if n == 0:
            return out
        rules: list[tuple[np.ndarray, str]] = []
        if c.exclude_port_approach:
            rules.append((self.ports.locate(lon, lat) >= 0, "in a port approach"))
        ctxt = self.context
        if not ctxt.empty:
            stops = ctxt.stop_vessels(lon, lat)
            rules.append((stops >= c.stop_min_vessels, "at a stopping place (anchorage, berth or platform)"))
            waits = ctxt.wait_vessels(lon, lat)
            rules.append(
                (waits >= c.wait_min_vessels, "in a waiting area (offshore anchorage, lightering area)")
            )
            shore = ctxt.shore_nm(lon, lat)
            stopped = np.isfinite(sog) & (sog < c.moored_speed_kn)
            rules.append(
                (stopped & (shore < c.moored_shore_nm), "stopped near the coast (at anchor or moored)")
            )
            inland = shore <= c.inland_shore_nm
            rules.append((inland, "in inland waters (river, waterway, bayou or harbour)"))
            rules.append((shore < c.berth_shore_nm, "alongside the coast (at a berth or in a harbour)"))
            pleasure = in_classes(vessel_class(ship_type), (VesselClass.PLEASURE,))
            rules.append(
                (
                    pleasure & (shore < c.pleasure_shore_nm),
                    "near the coast, a pleasure craft (no duty to keep AIS on)",
                )
            )
            q, nb = c.coverage_min_quality, c.coverage_min_neighbours
            cov = ctxt.coverage(lon, lat, t, min_quality=q, min_neighbours=nb)
            rules.append((cov.edge, "at the edge of receiver coverage"))
            moving = np.isfinite(sog) & np.isfinite(cog) & ~stopped & cov.good
            if moving.any():
                ahead = np.zeros(n, dtype=bool)
                dist = np.nan_to_num(sog[moving]) * MS_PER_KN * c.coverage_lookahead_min * 60.0
                la, lo = destination(lat[moving], lon[moving], cog[moving], dist)
                ahead[moving] = ~ctxt.coverage(lo, la, t[moving], min_quality=q, min_neighbours=nb).good
                rules.append((ahead, "heading out of receiver coverage"))
        if c.online_coverage and run is not None and t_end is not None:
            rules.extend(self._online_rules(lon, lat, t, sog, cog, run, t_end))
        for mask, why in reversed(rules):
            out[mask] = why
        return out

    def _online_rules(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        t: np.ndarray,
        sog: np.ndarray,
        cog: np.ndarray,
        run: np.ndarray,
        t_end: np.ndarray,
    ) -> list[tuple[np.ndarray, str]]:
        """Reception learned from the feed: the silence means something only where ships are heard."""
        c = self.cfg
        rec = self.reception
        rules: list[tuple[np.ndarray, str]] = [
            (run < c.dense_run, "after irregular reports (reception fading)"),
        ]
        steady = rec.steady(lon, lat, t)
        rules.append((~steady.good, "where this feed's receivers do not steadily hear ships"))
        moving = np.isfinite(sog) & np.isfinite(cog) & (sog >= c.moored_speed_kn) & steady.good
        if moving.any():
            ahead = np.zeros(len(lon), dtype=bool)
            dist = np.nan_to_num(sog[moving]) * MS_PER_KN * c.coverage_lookahead_min * 60.0
            la, lo = destination(lat[moving], lon[moving], cog[moving], dist)
            ahead[moving] = ~rec.steady(lo, la, t[moving]).good
            rules.append((ahead, "heading out of this feed's steady reception"))
        # others heard nearby during the silence: the receiver still heard the place
        during = rec.heard_during(lon, lat, t, t_end)
        whole_hours = np.floor(t_end / HOUR) - np.floor(t / HOUR) >= 2
        rules.append(
            (whole_hours & (during == 0), "while no other vessel was heard nearby (receiver outage?)")
        )
        # a feed that has just started has shown nothing yet: its first silences are judged as before
        known = rec.established(t, c.reception_min_history_h)
        return [(m & known, why) for m, why in rules]

    # -- step ----------------------------------------------------------------------------------
    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = []
        self._reappearances(ctx, findings, cleared)
        if ctx.watermark - self._last_scan >= self.cfg.check_interval_s:
            self._last_scan = ctx.watermark
            self._scan_open(ctx, findings)
        return findings, cleared

    def _previous_motion(
        self, table: TrackTable, rows: np.ndarray, pos: np.ndarray, pt: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SOG, COG and run of normal intervals at the report before each batch position.

        NaN (run 0) for a track's first report. The runs of this batch's reports are kept for
        :meth:`_commit_motion`.
        """
        n = len(rows)
        first, _last = group_bounds(rows)
        fi = np.flatnonzero(first)
        # within a track: the batch position before (shifted columns); a track's first: carried or NaN
        sog = np.empty(n)
        cog = np.empty(n)
        prun = np.empty(n, np.int64)
        for out, name in ((sog, "sog"), (cog, "cog")):
            out[1:] = pos[name][:-1]
            out[fi] = np.nan
        ok = self.motion.valid(table, rows[fi])
        r = rows[fi[ok]]
        sog[fi[ok]] = self.motion.cols["sog"][r]
        cog[fi[ok]] = self.motion.cols["cog"][r]
        carry = np.zeros(n, np.int64)
        carry[fi[ok]] = self.motion.cols["run"][r]
        dt = pos["t"] - pt
        good = np.isfinite(dt) & (dt <= self.cfg.good_interval_s)
        self._runs = good_runs(good, first, carry)
        prun[1:] = self._runs[:-1]
        prun[fi] = carry[fi]
        return sog, cog, prun

    def _commit_motion(self, table: TrackTable, rows: np.ndarray, pos: np.ndarray) -> None:
        _first, last = group_bounds(rows)
        r = rows[last]
        self.motion.claim(table, r)
        self.motion.cols["sog"][r] = pos["sog"][last]
        self.motion.cols["cog"][r] = pos["cog"][last]
        self.motion.cols["run"][r] = self._runs[last]

    def _reappearances(self, ctx: StepContext, findings: list[Finding], cleared: list[Cleared]) -> None:
        pos, rows = vessel_positions(ctx.update)
        if len(pos) == 0:
            return
        table = ctx.table
        pt, plat, plon = self.fixes.previous(table, rows, pos)
        psog, pcog, prun = self._previous_motion(table, rows, pos, pt)
        self.fixes.commit(table, rows, pos)
        self._commit_motion(table, rows, pos)
        self.reception.observe(pos["lon"], pos["lat"], pos["t"], plon, plat, pt)
        # Positions the track had sent before each batch position.
        _first, last = group_bounds(rows)
        last_idx = _next_true_index(last)
        before = table.cols["n_positions"][rows].astype(np.int64) - (last_idx - np.arange(len(rows))) - 1
        dt = pos["t"] - pt
        # the zone (hence the threshold) only of silences longer than the shorter threshold
        c = self.cfg
        shortest = min(c.territorial_threshold_h, c.threshold_h) * HOUR
        gi = np.flatnonzero(np.isfinite(dt) & (dt > shortest) & (before >= c.min_reports))
        zone = np.full(len(rows), -1, dtype=np.int64)
        zone[gi] = self.territorial.locate(plon[gi], plat[gi])
        gi = gi[dt[gi] > self._threshold_s(zone[gi])]
        st = table.cols["ship_type"][rows[gi]]
        t_end = pt[gi] + self._threshold_s(zone[gi])
        why = self.routine(plon[gi], plat[gi], pt[gi], psog[gi], pcog[gi], st, prun[gi], t_end)
        touched_open = {int(k) for k in np.unique(pos["key"]).tolist()} & set(self.open)
        far_m = self.cfg.far_reappear_nm * M_PER_NM
        for j, i in enumerate(gi.tolist()):
            key = int(pos["key"][i])
            opened = self.open.pop(key, None)
            z = int(zone[i]) if opened is None else opened.zone
            routine = str(why[j]) if opened is None else opened.routine
            d = float(haversine_m(plat[i], plon[i], pos["lat"][i], pos["lon"][i]))
            g = float(dt[i])
            t_back = float(pos["t"][i])
            touched_open.discard(key)
            if routine and opened is not None:
                zr = zone_ref(self.zones, z)
                cleared.append(((EVENT, key, zr.id if zr else ""), t_back))
            if routine and d < far_m:
                if opened is None:  # seen only after the fact: the event opens and closes at once
                    ev = self._event(
                        ctx, int(rows[i]), float(pt[i]), z, routine, float(plat[i]), float(plon[i])
                    )
                    findings.append(ev)
                    cleared.append(((EVENT, key, ev.zone.id if ev.zone else ""), t_back))
                continue
            f = self._closing_finding(ctx, int(rows[i]), key, float(pt[i]), t_back, g, d, z, pos[i])
            if routine:
                f = dataclasses.replace(
                    f, reasons=(*f.reasons, f"went silent {routine}, but reappeared far away")
                )
            findings.append(f)
            cleared.append(((CATEGORY, key, f.zone.id if f.zone else ""), t_back))
        # A track with an open gap that reports within its threshold: late reports filled the
        # silence, so the gap never was; its alert is retracted (docs/time.md, lateness).
        for key in touched_open:
            op = self.open.pop(key)
            t_new = float(pos["t"][np.flatnonzero(pos["key"] == key)[0]])
            zr = zone_ref(self.zones, op.zone)
            if op.routine:
                cleared.append(((EVENT, key, zr.id if zr else ""), t_new))
            else:
                self.retracted.append(((CATEGORY, key, zr.id if zr else ""), t_new))

    def _event(
        self, ctx: StepContext, row: int, t0: float, zone: int, routine: str, lat: float, lon: float
    ) -> Finding:
        thr = float(self._threshold_s(np.asarray([zone]))[0])
        reason = (
            f"silent for more than {fmt_hours(thr)} {routine} (last seen {lat:.3f}, {lon:.3f} at {iso(t0)})"
        )
        extra = {"gap_start": iso(t0), "open": True, "routine": routine, "event": True}
        return make_finding(
            ctx.table,
            row,
            EVENT,
            t0 + thr,
            self.cfg.event_score,
            (reason,),
            zone_ref(self.zones, zone),
            extra,
        )

    def _closing_finding(
        self,
        ctx: StepContext,
        row: int,
        key: int,
        t0: float,
        t1: float,
        gap_s: float,
        dist_m: float,
        zone: int,
        p: np.void,
    ) -> Finding:
        speed_kn = dist_m / gap_s / MS_PER_KN if gap_s > 0 else float("nan")
        reason = (
            f"silent for {fmt_hours(gap_s)} {self._where(zone)}; reappeared {dist_m / M_PER_NM:.0f} nm away "
            f"(implied {speed_kn:.1f} kn)"
        )
        extra = {
            "gap_s": round(gap_s, 1),
            "gap_start": iso(t0),
            "gap_end": iso(t1),
            "distance_nm": round(dist_m / M_PER_NM, 2),
            "implied_speed_kn": round(speed_kn, 2),
            "reappeared_lat": float(p["lat"]),
            "reappeared_lon": float(p["lon"]),
            "open": False,
        }
        thr = float(self._threshold_s(np.asarray([zone]))[0])
        return make_finding(
            ctx.table,
            row,
            CATEGORY,
            t0 + thr,
            self._score(gap_s, zone, dist_m),
            (reason,),
            zone_ref(self.zones, zone),
            extra,
        )

    def _scan_open(self, ctx: StepContext, findings: list[Finding]) -> None:
        table = ctx.table
        c = table.cols
        live = table.live_rows()
        t = c["t"][live]
        silent = ctx.watermark - t
        min_thr = min(self.cfg.threshold_h, self.cfg.territorial_threshold_h) * HOUR
        cand = live[
            (c["kind"][live] == int(TrackKind.VESSEL))
            & (silent > min_thr)
            & (c["n_positions"][live] >= self.cfg.min_reports)
        ]
        if len(cand) == 0:
            return
        lat, lon = c["lat"][cand], c["lon"][cand]
        zone = self.territorial.locate(lon, lat)
        gap_s = ctx.watermark - c["t"][cand]
        hit = np.flatnonzero(gap_s > self._threshold_s(zone))
        if len(hit) == 0:
            return
        new = np.asarray([int(c["key"][cand[j]]) not in self.open for j in hit.tolist()], dtype=bool)
        why = np.full(len(hit), "", dtype=object)
        if new.any():
            r = cand[hit[new]]
            ok = self.motion.valid(table, r)
            run = np.where(ok, self.motion.cols["run"][r], 0)
            t_end = c["t"][r] + self._threshold_s(zone[hit[new]])
            why[new] = self.routine(
                c["lon"][r], c["lat"][r], c["t"][r], c["sog"][r], c["cog"][r], c["ship_type"][r], run, t_end
            )
        for k, j in enumerate(hit.tolist()):
            row = int(cand[j])
            key = int(c["key"][row])
            self._open_or_escalate(ctx, row, key, float(gap_s[j]), int(zone[j]), str(why[k]), findings)

    def _open_or_escalate(
        self, ctx: StepContext, row: int, key: int, gap_s: float, zone: int, routine: str, out: list[Finding]
    ) -> None:
        c = ctx.table.cols
        t0 = float(c["t"][row])
        cur = self.open.get(key)
        if cur is not None and cur.routine:
            return  # an event does not escalate; only a far reappearance makes it an alert
        if cur is None and routine:
            ev = self._event(ctx, row, t0, zone, routine, float(c["lat"][row]), float(c["lon"][row]))
            self.open[key] = _Open(row, t0, 0, zone, float(c["lat"][row]), float(c["lon"][row]), routine)
            out.append(ev)
            return
        z = zone if cur is None else cur.zone
        score = self._score(gap_s, z)
        f_level = int(np.searchsorted([20, 40, 60, 80], score, side="right"))
        if cur is not None and f_level <= cur.level:
            return
        thr = float(self._threshold_s(np.asarray([z]))[0])
        # The finding's time is when the silence crossed the last boundary that raised its score.
        bounds = [thr, self.cfg.long_gap_h * HOUR, 2 * self.cfg.long_gap_h * HOUR]
        t_event = t0 + max(b for b in bounds if gap_s >= b - 1e-6)
        reason = f"silent for {fmt_hours(gap_s)} {self._where(z)} (last seen {float(c['lat'][row]):.3f}, {float(c['lon'][row]):.3f} at {iso(t0)})"
        extra = {"gap_s": round(gap_s, 1), "gap_start": iso(t0), "open": True}
        f = make_finding(ctx.table, row, CATEGORY, t_event, score, (reason,), zone_ref(self.zones, z), extra)
        self.open[key] = _Open(row, t0, int(f.level), z, float(c["lat"][row]), float(c["lon"][row]))
        out.append(f)

    def forget(self, keys: set[int]) -> None:
        self.fixes.forget(keys)
        self.motion.forget_keys(keys)
        for k in keys:
            self.open.pop(k, None)


def _next_true_index(mask: np.ndarray) -> np.ndarray:
    """For each element, the index of the first True at or after it (mask must end with True)."""
    n = len(mask)
    idx = np.where(mask, np.arange(n), n)
    return np.minimum.accumulate(idx[::-1])[::-1]
