"""Going dark: vessels whose AIS falls silent for longer than a threshold (GFW gaps, Skylight dark activity).

A gap is *open* while the vessel stays silent (checked against the watermark, the pipeline's
"now") and *closed* when the vessel reports again; the closing finding carries the gap's
duration, the distance between the last and the first position around it and the implied speed.
A gap seen only after the fact (the vessel reappears in the same batch in which the watermark
passed the threshold) is reported and closed in the same step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.common import (
    Cleared,
    FixMemory,
    StepOut,
    ZoneLocator,
    fmt_hours,
    group_bounds,
    make_finding,
    vessel_positions,
    zone_ref,
)
from mdacentre.detect.context import StepContext
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Finding, iso
from mdacentre.model.geodesy import HOUR, M_PER_NM, MS_PER_KN, haversine_m

CATEGORY = "ais_gap"


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


@dataclass
class _Open:
    row: int
    start_t: float  # last position before the silence
    level: int
    zone: int
    lat: float
    lon: float


class AisGapDetector:
    """Open and closed AIS gaps for vessel tracks."""

    def __init__(self, zones: list[Zone], config: AisGapConfig | None = None) -> None:
        self.cfg = config or AisGapConfig()
        self.zones = zones
        self.territorial = ZoneLocator(zones, [ZoneKind.TERRITORIAL_SEA])
        self.ports = ZoneLocator(zones, [ZoneKind.PORT_APPROACH])
        self.fixes = FixMemory()
        self.open: dict[int, _Open] = {}
        self._last_scan = float("-inf")

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

    # -- step ----------------------------------------------------------------------------------
    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = []
        self._reappearances(ctx, findings, cleared)
        if ctx.watermark - self._last_scan >= self.cfg.check_interval_s:
            self._last_scan = ctx.watermark
            self._scan_open(ctx, findings)
        return findings, cleared

    def _reappearances(self, ctx: StepContext, findings: list[Finding], cleared: list[Cleared]) -> None:
        pos, rows = vessel_positions(ctx.update)
        if len(pos) == 0:
            return
        table = ctx.table
        pt, plat, plon = self.fixes.previous(table, rows, pos)
        self.fixes.commit(table, rows, pos)
        # Positions the track had sent before each batch position.
        _first, last = group_bounds(rows)
        last_idx = _next_true_index(last)
        before = table.cols["n_positions"][rows].astype(np.int64) - (last_idx - np.arange(len(rows))) - 1
        dt = pos["t"] - pt
        zone = self.territorial.locate(plon, plat)
        gap = np.isfinite(dt) & (dt > self._threshold_s(zone)) & (before >= self.cfg.min_reports)
        if self.cfg.exclude_port_approach and gap.any():
            gap &= self.ports.locate(plon, plat) < 0
        touched_open = {int(k) for k in np.unique(pos["key"]).tolist()} & set(self.open)
        for i in np.flatnonzero(gap).tolist():
            key = int(pos["key"][i])
            opened = self.open.pop(key, None)
            z = int(zone[i]) if opened is None else opened.zone
            d = float(haversine_m(plat[i], plon[i], pos["lat"][i], pos["lon"][i]))
            g = float(dt[i])
            f = self._closing_finding(
                ctx, int(rows[i]), key, float(pt[i]), float(pos["t"][i]), g, d, z, pos[i]
            )
            findings.append(f)
            cleared.append(((CATEGORY, key, f.zone.id if f.zone else ""), float(pos["t"][i])))
            touched_open.discard(key)
        # A track with an open gap that reports within its threshold (late data): close quietly.
        for key in touched_open:
            op = self.open.pop(key)
            t_new = float(pos["t"][np.flatnonzero(pos["key"] == key)[0]])
            zr = zone_ref(self.zones, op.zone)
            cleared.append(((CATEGORY, key, zr.id if zr else ""), t_new))

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
        hit = gap_s > self._threshold_s(zone)
        if self.cfg.exclude_port_approach and hit.any():
            hit &= self.ports.locate(lon, lat) < 0
        for j in np.flatnonzero(hit).tolist():
            row = int(cand[j])
            key = int(c["key"][row])
            self._open_or_escalate(ctx, row, key, float(gap_s[j]), int(zone[j]), findings)

    def _open_or_escalate(
        self, ctx: StepContext, row: int, key: int, gap_s: float, zone: int, out: list[Finding]
    ) -> None:
        c = ctx.table.cols
        t0 = float(c["t"][row])
        cur = self.open.get(key)
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
        for k in keys:
            self.open.pop(k, None)


def _next_true_index(mask: np.ndarray) -> np.ndarray:
    """For each element, the index of the first True at or after it (mask must end with True)."""
    n = len(mask)
    idx = np.where(mask, np.arange(n), n)
    return np.minimum.accumulate(idx[::-1])[::-1]
