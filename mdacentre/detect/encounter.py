"""Vessel-to-vessel encounters (GFW: 500 m, 2 h, both < 2 kn, >= 10 km from port) and close rendezvous
(Skylight: 250 m for 30 min).

Pairing is vectorised: the current positions of the slow, recent, offshore vessels are bucketed on
a metric grid whose cell equals the largest radius, and every point is compared only with the
points of its own and the eight neighbouring cells. Only the resulting candidate pairs are kept in
a per-pair dictionary (start time, last time seen close).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mdacentre.core.context import LearnedContext
from mdacentre.core.tracks import TrackTable
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.common import (
    Cleared,
    FloatArray,
    IntArray,
    StepOut,
    ZoneProximity,
    fmt_hours,
    make_finding,
    track_label,
)
from mdacentre.detect.context import StepContext
from mdacentre.detect.vessels import CARRIERS, VesselClass, in_classes, is_large, is_small, vessel_class
from mdacentre.detect.watchlist import ShipWatchList
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Finding
from mdacentre.model.geodesy import HOUR, M_PER_DEG_LAT, haversine_m, is_night

ENCOUNTER = "encounter"
RENDEZVOUS = "close_rendezvous"


@dataclass(frozen=True)
class PairRule:
    category: str
    radius_m: float
    min_duration_s: float
    base_score: float


@dataclass(frozen=True)
class EncounterConfig:
    encounter_radius_m: float = 500.0
    encounter_min_h: float = 2.0
    rendezvous_radius_m: float = 250.0
    rendezvous_min_min: float = 30.0
    max_speed_kn: float = 2.0
    port_distance_km: float = 10.0
    stale_s: float = 1800.0  # a vessel's last position must be at most this old to be paired
    max_gap_s: float = 1800.0  # a pair not seen close for this long has ended
    check_interval_s: float = 60.0  # pairing runs at most this often (event time)
    encounter_score: float = 55.0
    rendezvous_score: float = 45.0
    fishing_carrier_score: float = 15.0  # a fishing vessel meeting a non-fishing one
    anonymous_score: float = 10.0
    night_score: float = 10.0
    # pair and type rules (docs/detectors.md): routine pairs are counted, not alerted
    routine_classes: tuple[str, ...] = ("towing", "service", "authority")  # tugs/tows, pilots, SAR, police
    stop_min_vessels: int = 3  # at a learned stopping place used by this many vessels: anchorage, berth
    wait_min_vessels: int = 3  # in a learned waiting area (offshore anchorage, lightering area)
    berth_shore_nm: float = 1.0  # closer to land than this: alongside, in a marina or a small harbour
    pleasure_shore_nm: float = 12.0  # two pleasure craft within this of shore keep company, they do not meet
    offshore_nm: float = 12.0  # a small craft meeting a large ship this far out is suspicious
    small_large_score: float = 15.0
    watch_mmsi: tuple[str, ...] = ()  # watch-listed ships: any meeting of theirs is an alert
    watch_lists: tuple[
        str, ...
    ] = ()  # watch-list CSV files (mmsi,imo,name,reason), relative to the profiles file
    watch_score: float = 25.0
    route_min_passes: int = 2  # a vessel on its own learned regular route (ferry, pilot or tug run)

    def rules(self) -> tuple[PairRule, ...]:
        return (
            PairRule(ENCOUNTER, self.encounter_radius_m, self.encounter_min_h * HOUR, self.encounter_score),
            PairRule(
                RENDEZVOUS, self.rendezvous_radius_m, self.rendezvous_min_min * 60.0, self.rendezvous_score
            ),
        )


@dataclass
class _Pair:
    start: float
    last_close: float
    alerted: bool = False
    routine: str = ""  # why the pair was judged routine (no alert)


@dataclass
class _RuleState:
    rule: PairRule
    pairs: dict[tuple[int, int], _Pair] = field(default_factory=dict)
    active: dict[int, int] = field(default_factory=dict)  # lower key -> alerted pairs it leads


def close_pairs(lat: FloatArray, lon: FloatArray, radius_m: float) -> tuple[IntArray, IntArray, FloatArray]:
    """All index pairs (i < j) of points within ``radius_m`` metres, by grid bucketing (no O(n^2))."""
    n = len(lat)
    if n < 2:
        e = np.empty(0, dtype=np.int64)
        return e, e, np.empty(0)
    # Cells in degrees, never narrower than the radius: latitude at the highest |lat| present.
    cell_lat = 1.01 * radius_m / M_PER_DEG_LAT
    cell_lon = cell_lat / max(np.cos(np.radians(min(float(np.max(np.abs(lat))), 89.0))), 1e-6)
    cx = np.floor((lon + 180.0) / cell_lon).astype(np.int64)
    cy = np.floor((lat + 90.0) / cell_lat).astype(np.int64)
    code = (cx << 32) + cy
    order = np.argsort(code, kind="stable")
    sorted_code = code[order]
    ii: list[IntArray] = []
    jj: list[IntArray] = []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            nb = ((cx + dx) << 32) + (cy + dy)
            lo = np.searchsorted(sorted_code, nb, side="left")
            hi = np.searchsorted(sorted_code, nb, side="right")
            cnt = hi - lo
            tot = int(cnt.sum())
            if tot == 0:
                continue
            src = np.repeat(np.arange(n), cnt)
            off = np.arange(tot) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            dst = order[np.repeat(lo, cnt) + off]
            keep = src < dst
            ii.append(src[keep])
            jj.append(dst[keep])
    if not ii:
        e = np.empty(0, dtype=np.int64)
        return e, e, np.empty(0)
    i = np.concatenate(ii)
    j = np.concatenate(jj)
    d = haversine_m(lat[i], lon[i], lat[j], lon[j])
    near = d <= radius_m
    return i[near], j[near], d[near]


class EncounterDetector:
    """Encounter and close-rendezvous alerts, one per vessel pair (lower key carries the alert)."""

    def __init__(
        self, zones: list[Zone], config: EncounterConfig | None = None, context: LearnedContext | None = None
    ) -> None:
        self.cfg = config or EncounterConfig()
        self.context = context or LearnedContext()
        known = {c.label for c in VesselClass}
        self.routine_classes = tuple(VesselClass[c.upper()] for c in self.cfg.routine_classes if c in known)
        self.watch = ShipWatchList.of([], self.cfg.watch_mmsi)  # the files are added by use_watchlist
        self.routine: dict[str, int] = {}  # reasons pairs were judged routine, counted (for measurement)
        self.ports = ZoneProximity(zones, [ZoneKind.PORT_APPROACH], self.cfg.port_distance_km * 1000.0)
        self.rules = [_RuleState(r) for r in self.cfg.rules()]
        self._last_check = float("-inf")
        self._pending: list[Cleared] = []  # alerts ended by an eviction, reported at the next step

    def open_encounters(self) -> list[tuple[int, int, str]]:
        """(key a, key b, category) of pairs with an open alert (for cross-domain correlation)."""
        return [(a, b, rs.rule.category) for rs in self.rules for (a, b), p in rs.pairs.items() if p.alerted]

    def open_vessel_alerts(self) -> list[tuple[int, str]]:
        """(vessel key, category) of both vessels of every pair with an open alert."""
        return [(k, cat) for a, b, cat in self.open_encounters() for k in (a, b)]

    def _candidates(self, ctx: StepContext) -> IntArray:
        table = ctx.table
        c = table.cols
        live = table.live_rows()
        m = (
            (c["kind"][live] == int(TrackKind.VESSEL))
            & np.isfinite(c["lat"][live])
            & (c["sog"][live] < self.cfg.max_speed_kn)
            & (ctx.watermark - c["t"][live] <= self.cfg.stale_s)
        )
        cand = live[m]
        if len(cand) and not self.ports.empty:
            cand = cand[~self.ports.near(c["lon"][cand], c["lat"][cand])]
        return np.asarray(cand)

    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = self._pending
        self._pending = []
        if ctx.watermark - self._last_check < self.cfg.check_interval_s:
            return findings, cleared
        self._last_check = ctx.watermark
        c = ctx.table.cols
        cand = self._candidates(ctx)
        radius = max(r.rule.radius_m for r in self.rules)
        i, j, d = close_pairs(c["lat"][cand], c["lon"][cand], radius)
        ra, rb = cand[i], cand[j]
        ka, kb = c["key"][ra], c["key"][rb]
        swap = ka > kb
        ra, rb = np.where(swap, rb, ra), np.where(swap, ra, rb)
        ka, kb = np.where(swap, kb, ka), np.where(swap, ka, kb)
        t_obs = np.minimum(c["t"][ra], c["t"][rb])
        for rs in self.rules:
            close = d <= rs.rule.radius_m
            seen = self._update_rule(
                ctx, rs, ra[close], rb[close], ka[close], kb[close], t_obs[close], d[close], findings
            )
            self._end_pairs(ctx, rs, seen, cleared)
        return findings, cleared

    def _update_rule(
        self,
        ctx: StepContext,
        rs: _RuleState,
        ra: IntArray,
        rb: IntArray,
        ka: IntArray,
        kb: IntArray,
        t_obs: FloatArray,
        d: FloatArray,
        findings: list[Finding],
    ) -> set[tuple[int, int]]:
        seen: set[tuple[int, int]] = set()
        for n in range(len(ra)):
            pk = (int(ka[n]), int(kb[n]))
            t = float(t_obs[n])
            seen.add(pk)
            p = rs.pairs.get(pk)
            if p is None or t - p.last_close > self.cfg.max_gap_s:
                p = _Pair(start=t, last_close=t)
                rs.pairs[pk] = p
            p.last_close = max(p.last_close, t)
            if not p.alerted and not p.routine and p.last_close - p.start >= rs.rule.min_duration_s:
                p.routine = self._routine(ctx, int(ra[n]), int(rb[n]))
                if p.routine:
                    self.routine[p.routine] = self.routine.get(p.routine, 0) + 1
                    continue
                p.alerted = True
                n_active = rs.active.get(pk[0], 0)
                rs.active[pk[0]] = n_active + 1
                if n_active == 0:
                    findings.append(self._finding(ctx, rs.rule, int(ra[n]), int(rb[n]), p, float(d[n])))
        return seen

    def _end_pairs(
        self, ctx: StepContext, rs: _RuleState, seen: set[tuple[int, int]], cleared: list[Cleared]
    ) -> None:
        c = ctx.table.cols
        for pk in [k for k in rs.pairs if k not in seen]:
            p = rs.pairs[pk]
            rows = ctx.table.lookup(np.asarray(pk, dtype=np.int64))
            t_now = float(np.min(c["t"][rows])) if (rows >= 0).all() else float("nan")
            if np.isfinite(t_now) and t_now > p.last_close:
                t_end = t_now  # both vessels reported since, and they are no longer a slow close pair
            elif ctx.watermark - p.last_close > self.cfg.max_gap_s:
                t_end = p.last_close
            else:
                continue
            del rs.pairs[pk]
            if p.alerted:
                self._release(rs, pk[0], t_end, cleared)

    def _release(self, rs: _RuleState, low: int, t_end: float, cleared: list[Cleared]) -> None:
        left = rs.active.get(low, 0) - 1
        if left <= 0:
            rs.active.pop(low, None)
            cleared.append(((rs.rule.category, low, ""), t_end))
        else:
            rs.active[low] = left

    def use_watchlist(self, watch: ShipWatchList) -> None:
        """Watch-listed ships (from the files of ``watch_lists`` and ``watch_mmsi``)."""
        self.watch = watch

    def _watched(self, table: TrackTable, ra: int, rb: int) -> str | None:
        """The reason either vessel is watch-listed (by MMSI, IMO number or name), or None."""
        if not len(self.watch):
            return None
        c = table.cols
        for r in (ra, rb):
            why = self.watch.reason(int(c["ident"][r]), int(c["imo"][r]), str(c["name"][r]))
            if why is not None:
                return f"{why} ({track_label(table, r)})"
        return None

    def _routine(self, ctx: StepContext, ra: int, rb: int) -> str:
        """Why two vessels side by side are ordinary work or company ("" when they are not)."""
        c = ctx.table.cols
        rows = np.asarray([ra, rb], dtype=np.int64)
        if self._watched(ctx.table, ra, rb):
            return ""
        cls = vessel_class(c["ship_type"][rows])
        if in_classes(cls, self.routine_classes).any():
            return f"{VesselClass(int(cls[in_classes(cls, self.routine_classes)][0])).label} vessel at work"
        lat = float(np.mean(c["lat"][rows]))
        lon = float(np.mean(c["lon"][rows]))
        ctxt = self.context
        if not ctxt.empty:
            stops = int(ctxt.stop_vessels([lon], [lat])[0])
            if stops >= self.cfg.stop_min_vessels:
                return "at a stopping place (anchorage, berth or platform)"
            if int(ctxt.wait_vessels([lon], [lat])[0]) >= self.cfg.wait_min_vessels:
                return "in a waiting area (offshore anchorage, lightering area)"
            mm = c["ident"][rows]
            if ctxt.on_route(c["lon"][rows], c["lat"][rows], mm, self.cfg.route_min_passes).any():
                return "on its usual route (regular ferry, pilot or tug run)"
            shore = float(ctxt.shore_nm([lon], [lat])[0])
            if np.isfinite(shore):
                if shore < self.cfg.berth_shore_nm:
                    return "alongside the shore (berth, marina or small harbour)"
                pleasure = in_classes(cls, (VesselClass.PLEASURE,))
                if pleasure.all() and shore < self.cfg.pleasure_shore_nm:
                    return "pleasure craft together near the coast"
        return ""

    def _finding(self, ctx: StepContext, rule: PairRule, ra: int, rb: int, p: _Pair, d: float) -> Finding:
        cfg = self.cfg
        table = ctx.table
        c = table.cols
        st = (int(c["ship_type"][ra]), int(c["ship_type"][rb]))
        fishing = (st[0] == 30) != (st[1] == 30)
        anonymous = any(not str(c["name"][r]) and int(c["ship_type"][r]) < 0 for r in (ra, rb))
        t = p.start + rule.min_duration_s
        lat = (float(c["lat"][ra]) + float(c["lat"][rb])) / 2
        lon = (float(c["lon"][ra]) + float(c["lon"][rb])) / 2
        night = bool(is_night(np.asarray([t]), np.asarray([lat]), np.asarray([lon]))[0])
        rows = np.asarray([ra, rb], dtype=np.int64)
        cls = vessel_class(c["ship_type"][rows])
        carrier = fishing and bool(in_classes(cls, CARRIERS).any())
        small = is_small(cls, c["length_m"][rows])
        large = is_large(cls, c["length_m"][rows])
        shore = float(self.context.shore_nm([lon], [lat])[0])
        offshore = np.isfinite(shore) and shore >= cfg.offshore_nm
        small_large = bool(offshore and ((small[0] and large[1]) or (small[1] and large[0])))
        watch_reason = self._watched(table, ra, rb)
        watched = watch_reason is not None
        score = rule.base_score + (cfg.fishing_carrier_score if fishing else 0)
        score += (cfg.anonymous_score if anonymous else 0) + (cfg.night_score if night else 0)
        score += (cfg.small_large_score if small_large else 0) + (cfg.watch_score if watched else 0)
        words = "encounter" if rule.category == ENCOUNTER else "close rendezvous"
        reason = (
            f"{words} with {track_label(table, rb)}: within {rule.radius_m:.0f} m for {fmt_hours(p.last_close - p.start)}, "
            f"both under {cfg.max_speed_kn:.0f} kn, at least {cfg.port_distance_km:.0f} km from any port approach"
        )
        reasons = [reason]
        if carrier:
            reasons.append("a fishing vessel meeting a carrier (possible transshipment)")
        elif fishing:
            reasons.append("a fishing vessel meeting a non-fishing vessel (possible transshipment)")
        if small_large:
            reasons.append(f"a small craft meeting a large ship {shore:.0f} nm offshore")
        if watched:
            reasons.append(f"a watch-listed ship: {watch_reason}")
        if night:
            reasons.append("at night")
        extra = {
            "other_key": int(c["key"][rb]),
            "other_id": str(int(c["ident"][rb])),
            "other_name": str(c["name"][rb]) or None,
            "distance_m": round(d, 1),
            "started": p.start,
            "lat": lat,
            "lon": lon,
        }
        return make_finding(table, ra, rule.category, t, score, reasons, None, extra)

    def forget(self, keys: set[int]) -> None:
        for rs in self.rules:
            for pk in [k for k in rs.pairs if k[0] in keys or k[1] in keys]:
                p = rs.pairs.pop(pk)
                if p.alerted:
                    self._release(rs, pk[0], p.last_close, self._pending)
