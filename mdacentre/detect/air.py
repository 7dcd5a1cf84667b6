"""Aircraft behaviour: emergency squawks, low flying over the sea, landings away from airports,
transponders lost while low, circling. The link between a circling aircraft and a vessel under alert is
:mod:`mdacentre.detect.crossdomain`.

"Away from airports" needs airport zones: with none in the library the landing, lost-transponder
checks are inactive (every landing would otherwise be "off-airport"), and low flying needs sea
zones (territorial sea, contiguous zone, EEZ or watch areas) to know what is sea.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.common import (
    BoolArray,
    Cleared,
    FloatArray,
    IntArray,
    RowState,
    StepOut,
    ZoneLocator,
    ZoneProximity,
    group_bounds,
    make_finding,
    track_label,
)
from mdacentre.detect.context import StepContext
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Finding, Level
from mdacentre.model.geodesy import is_night
from mdacentre.model.sets import isin

SQUAWK = "squawk_emergency"
LOW = "low_altitude"
LANDING = "offairport_landing"
LOST = "transponder_lost"
CIRCLING = "circling"

SQUAWK_MEANING = {7500: "unlawful interference (hijack)", 7600: "radio failure", 7700: "general emergency"}
SEA_KINDS = (ZoneKind.TERRITORIAL_SEA, ZoneKind.CONTIGUOUS_ZONE, ZoneKind.EEZ, ZoneKind.WATCH_AREA)


@dataclass(frozen=True)
class AircraftConfig:
    squawk_scores: dict[int, float] = field(default_factory=lambda: {7500: 90.0, 7600: 60.0, 7700: 70.0})
    low_altitude_ft: float = 1000.0
    low_clear_ft: float = 1200.0  # hysteresis: the low-altitude alert closes above this
    airport_clearance_m: float = (
        10_000.0  # low flying, lost transponders and circling this close to an airport are normal
    )
    landing_altitude_ft: float = 500.0
    landing_airport_radius_m: float = 5_000.0
    lost_after_s: float = 120.0
    lost_below_ft: float = 1500.0
    min_low_reports: int = 2  # reports below lost_below_ft before a silence counts
    circling_turn_deg: float = 720.0
    circling_window_s: float = 900.0
    circling_clear_deg: float = 360.0
    circling_max_alt_ft: float = 10_000.0  # above this, turns are holding patterns or airway changes
    circling_min_speed_kn: float = 30.0
    max_turn_rate_dps: float = 10.0  # faster heading changes are noise
    max_turn_gap_s: float = 60.0
    low_score: float = 40.0
    night_score: float = 20.0
    landing_score: float = 85.0
    lost_score: float = 60.0
    circling_score: float = 30.0
    check_interval_s: float = 10.0
    coverage_margin_deg: float = 0.5  # landing/lost checks only within the airport zones' bounding box + this


def _in_box(box: tuple[float, float, float, float], lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    return np.asarray((x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3]))


def _wrap180(x: FloatArray) -> FloatArray:
    return np.asarray((x + 180.0) % 360.0 - 180.0)


class AircraftDetector:
    """All aircraft categories in one pass over the batch's aircraft positions."""

    def __init__(self, zones: list[Zone], config: AircraftConfig | None = None) -> None:
        self.cfg = config or AircraftConfig()
        c = self.cfg
        self.zones = zones
        self.airport_near = ZoneProximity(zones, [ZoneKind.AIRPORT], c.airport_clearance_m)
        self.airport_landing = ZoneProximity(zones, [ZoneKind.AIRPORT], c.landing_airport_radius_m)
        self.sea = ZoneLocator(zones, SEA_KINDS)
        self.has_airports = not self.airport_near.empty
        # Where the library knows airports: outside this box (plus a margin) an aircraft landing or
        # vanishing cannot be told from one at an airport the library lacks, so those checks stay off.
        ap = [z.geometry.bounds for z in zones if z.kind == ZoneKind.AIRPORT]
        m = c.coverage_margin_deg
        self.airport_box = (
            (
                min(b[0] for b in ap) - m,
                min(b[1] for b in ap) - m,
                max(b[2] for b in ap) + m,
                max(b[3] for b in ap) + m,
            )
            if ap
            else (0.0, 0.0, -1.0, -1.0)
        )
        self.state = RowState(
            {
                "t": ("f8", np.nan),  # previous position time and course (turn accumulation)
                "cog": ("f8", np.nan),
                "low_reports": ("i4", 0),  # consecutive reports below lost_below_ft away from airports
                "airborne": ("?", False),
                "low_open": ("?", False),
            }
        )
        self.squawk_open: dict[int, int] = {}  # key -> code
        self.lost_open: dict[int, str] = {}  # key -> category (LOST or LANDING)
        self.circling_open: dict[int, int] = {}  # key -> row
        self.turns: dict[int, tuple[FloatArray, FloatArray]] = {}  # key -> (t, turn deg) within the window
        self._last_scan = float("-inf")

    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = []
        self._squawks(ctx, findings, cleared)
        pos_all = ctx.update.positions
        sel = np.flatnonzero(pos_all["kind"] == int(TrackKind.AIRCRAFT))
        if len(sel):
            pos, rows = pos_all[sel], ctx.update.position_rows[sel]
            self.state.claim(ctx.table, np.unique(rows))
            self._reappear(ctx, pos, findings, cleared)
            self._positions(ctx, pos, rows, findings, cleared)
        if self.has_airports and ctx.watermark - self._last_scan >= self.cfg.check_interval_s:
            self._last_scan = ctx.watermark
            self._scan_lost(ctx, findings)
        return findings, cleared

    # -- squawk --------------------------------------------------------------------------------
    def _squawks(self, ctx: StepContext, findings: list[Finding], cleared: list[Cleared]) -> None:
        rows = ctx.update.rows
        tc = ctx.table.cols
        air = rows[tc["kind"][rows] == int(TrackKind.AIRCRAFT)]
        if len(air) == 0:
            return
        sq = tc["squawk"][air].astype(np.int64)
        emerg = isin(sq, tuple(self.cfg.squawk_scores))
        pos = ctx.update.positions
        for row in air[emerg].tolist():
            key = int(tc["key"][row])
            code = int(tc["squawk"][row])
            prev = self.squawk_open.get(key)
            if prev == code or (
                prev is not None and self.cfg.squawk_scores[code] <= self.cfg.squawk_scores[prev]
            ):
                continue
            hit = np.flatnonzero((pos["key"] == key) & (pos["squawk"] == code))
            t = float(pos["t"][hit[0]]) if len(hit) else float(np.fmax(tc["t"][row], tc["static_t"][row]))
            reason = f"{track_label(ctx.table, row)} squawks {code:04d}: {SQUAWK_MEANING[code]}"
            findings.append(
                make_finding(
                    ctx.table, row, SQUAWK, t, self.cfg.squawk_scores[code], (reason,), extra={"squawk": code}
                )
            )
            self.squawk_open[key] = code
        for row in air[~emerg & (sq >= 0)].tolist():
            key = int(tc["key"][row])
            if self.squawk_open.pop(key, None) is not None:
                cleared.append(((SQUAWK, key, ""), float(tc["last_t"][row])))

    # -- silence after low flight --------------------------------------------------------------
    def _reappear(
        self, ctx: StepContext, pos: np.ndarray, findings: list[Finding], cleared: list[Cleared]
    ) -> None:
        if not self.lost_open:
            return
        keys = pos["key"]
        for key in list(self.lost_open):
            hit = np.flatnonzero(keys == key)
            if len(hit) == 0:
                continue
            cat = self.lost_open[key]
            p = pos[hit]
            if cat == LANDING:
                # only an airborne report closes a landing alert
                up = np.flatnonzero((p["on_ground"] == 0) & ~(p["alt_ft"] < self.cfg.landing_altitude_ft))
                if len(up) == 0:
                    continue
                t = float(p["t"][up[0]])
            else:
                t = float(p["t"][0])
            del self.lost_open[key]
            cleared.append(((cat, key, ""), t))

    def _scan_lost(self, ctx: StepContext, findings: list[Finding]) -> None:
        table = ctx.table
        tc = table.cols
        live = table.live_rows()
        c = self.cfg
        self.state.ensure(table.capacity)
        m = (
            (tc["kind"][live] == int(TrackKind.AIRCRAFT))
            & (ctx.watermark - tc["t"][live] > c.lost_after_s)
            & (self.state.owner[live] == tc["key"][live])
            & (self.state.cols["low_reports"][live] >= c.min_low_reports)
        )
        cand = live[m]
        for row in cand.tolist():
            key = int(tc["key"][row])
            if key in self.lost_open:
                continue
            self.state.cols["low_reports"][row] = 0
            alt = float(tc["alt_ft"][row])
            ground = int(tc["on_ground"][row]) == 1
            lat, lon = float(tc["lat"][row]), float(tc["lon"][row])
            t = float(tc["t"][row]) + c.lost_after_s
            silent = ctx.watermark - float(tc["t"][row])
            if not _in_box(self.airport_box, [lon], [lat])[0]:
                continue
            if (ground or alt < c.landing_altitude_ft) and not self.airport_landing.near([lon], [lat])[0]:
                where = "on the ground" if ground else f"at {alt:.0f} ft"
                reason = (
                    f"{track_label(table, row)} last seen {where} more than {c.landing_airport_radius_m / 1000:.0f} km "
                    f"from any known airport, silent for {silent:.0f} s: possible landing away from an airport"
                )
                findings.append(
                    make_finding(
                        table,
                        row,
                        LANDING,
                        t,
                        c.landing_score,
                        (reason,),
                        extra={"alt_ft": alt, "silent_s": silent},
                    )
                )
                self.lost_open[key] = LANDING
            elif alt < c.lost_below_ft:
                reason = (
                    f"{track_label(table, row)} transponder lost at {alt:.0f} ft, "
                    f"{c.airport_clearance_m / 1000:.0f} km or more from any airport"
                )
                findings.append(
                    make_finding(
                        table,
                        row,
                        LOST,
                        t,
                        c.lost_score,
                        (reason,),
                        extra={"alt_ft": alt, "silent_s": silent},
                    )
                )
                self.lost_open[key] = LOST

    # -- per-position checks -------------------------------------------------------------------
    def _positions(
        self,
        ctx: StepContext,
        pos: np.ndarray,
        rows: IntArray,
        findings: list[Finding],
        cleared: list[Cleared],
    ) -> None:
        c = self.cfg
        alt = pos["alt_ft"].astype(np.float64)
        ground = pos["on_ground"] == 1
        near_ap = self.airport_near.near(pos["lon"], pos["lat"])
        airborne = (pos["on_ground"] == 0) | (np.isfinite(alt) & (alt > c.landing_altitude_ft) & ~ground)
        low_away = ~near_ap & (ground | (alt < c.lost_below_ft))
        self._count_low(ctx, rows, low_away, airborne)
        if self.has_airports:
            self._ground_away(ctx, pos, rows, ground, findings)
        if not self.sea.empty:
            sea = self.sea.locate(pos["lon"], pos["lat"]) >= 0
            low = ~ground & np.isfinite(alt) & (alt < c.low_altitude_ft) & (alt > -2000) & sea & ~near_ap
            high = ~low & (ground | ~sea | near_ap | (alt >= c.low_clear_ft))
            self._low_flight(ctx, pos, rows, low, high, findings, cleared)
        self._circling(ctx, pos, rows, alt, near_ap, findings, cleared)

    def _count_low(self, ctx: StepContext, rows: IntArray, low_away: BoolArray, airborne: BoolArray) -> None:
        st = self.state.cols
        # consecutive low-away reports per row, continuing the carried count
        first, last = group_bounds(rows)
        run_break = ~low_away
        idx = np.arange(len(rows))
        last_break = np.maximum.accumulate(np.where(run_break | first, idx, 0))
        carried = np.where(low_away[last_break] & first[last_break], st["low_reports"][rows[last_break]], 0)
        count = np.where(low_away, idx - last_break + np.where(run_break[last_break], 0, 1) + carried, 0)
        li = np.flatnonzero(last)
        st["low_reports"][rows[li]] = count[li]
        np.logical_or.at(st["airborne"], rows, airborne)

    def _ground_away(
        self, ctx: StepContext, pos: np.ndarray, rows: IntArray, ground: BoolArray, findings: list[Finding]
    ) -> None:
        st = self.state.cols
        cand = np.flatnonzero(
            ground & st["airborne"][rows] & _in_box(self.airport_box, pos["lon"], pos["lat"])
        )
        if len(cand) == 0:
            return
        away = ~self.airport_landing.near(pos["lon"][cand], pos["lat"][cand])
        for i in cand[away].tolist():
            key = int(pos["key"][i])
            if key in self.lost_open:
                continue
            row = int(rows[i])
            reason = (
                f"{track_label(ctx.table, row)} reports on the ground more than "
                f"{self.cfg.landing_airport_radius_m / 1000:.0f} km from any known airport"
            )
            findings.append(
                make_finding(ctx.table, row, LANDING, float(pos["t"][i]), self.cfg.landing_score, (reason,))
            )
            self.lost_open[key] = LANDING

    def _low_flight(
        self,
        ctx: StepContext,
        pos: np.ndarray,
        rows: IntArray,
        low: BoolArray,
        high: BoolArray,
        findings: list[Finding],
        cleared: list[Cleared],
    ) -> None:
        st = self.state.cols
        cand = np.unique(np.concatenate([rows[low], rows[st["low_open"][rows]]]))
        for r in cand.tolist():
            idx = np.flatnonzero(rows == r)
            is_open = bool(st["low_open"][r])
            key = int(ctx.table.cols["key"][r])
            for i in idx.tolist():
                if not is_open and low[i]:
                    findings.append(self._low_finding(ctx, r, pos[i]))
                    is_open = True
                elif is_open and high[i]:
                    cleared.append(((LOW, key, ""), float(pos["t"][i])))
                    is_open = False
            st["low_open"][r] = is_open

    def _low_finding(self, ctx: StepContext, row: int, p: np.void) -> Finding:
        c = self.cfg
        night = bool(is_night(np.asarray([p["t"]]), np.asarray([p["lat"]]), np.asarray([p["lon"]]))[0])
        score = c.low_score + (c.night_score if night else 0)
        reason = (
            f"{track_label(ctx.table, row)} flying at {float(p['alt_ft']):.0f} ft over the sea, "
            f"{c.airport_clearance_m / 1000:.0f} km or more from any airport"
            + (", at night" if night else "")
        )
        return make_finding(
            ctx.table,
            row,
            LOW,
            float(p["t"]),
            score,
            (reason,),
            extra={"alt_ft": float(p["alt_ft"]), "night": night},
        )

    # -- circling ------------------------------------------------------------------------------
    def _circling(
        self,
        ctx: StepContext,
        pos: np.ndarray,
        rows: IntArray,
        alt: FloatArray,
        near_ap: BoolArray,
        findings: list[Finding],
        cleared: list[Cleared],
    ) -> None:
        c = self.cfg
        st = self.state.cols
        cog = pos["cog"].astype(np.float64)
        first, last = group_bounds(rows)
        pcog = np.empty(len(rows))
        pt = np.empty(len(rows))
        pcog[1:], pt[1:] = cog[:-1], pos["t"][:-1]
        pcog[first], pt[first] = st["cog"][rows[first]], st["t"][rows[first]]
        dt = pos["t"] - pt
        turn = _wrap180(cog - pcog)
        usable = (
            np.isfinite(turn)
            & (dt > 0)
            & (dt <= c.max_turn_gap_s)
            & (np.abs(turn) <= c.max_turn_rate_dps * np.maximum(dt, 1.0))
            & (pos["sog"] >= c.circling_min_speed_kn)
            & ~(alt > c.circling_max_alt_ft)
            & ~near_ap
        )
        turn = np.where(usable, turn, 0.0)
        # carry course/time (only finite courses)
        li = np.flatnonzero(last)
        has = np.isfinite(cog)
        lastgood = np.maximum.accumulate(np.where(has | first, np.arange(len(rows)), 0))
        lg = lastgood[li]
        ok = has[lg]
        st["cog"][rows[li[ok]]] = cog[lg[ok]]
        st["t"][rows[li[ok]]] = pos["t"][lg[ok]]
        moved = np.unique(rows[np.abs(turn) > 0])
        keys_moved = {int(ctx.table.cols["key"][r]) for r in moved.tolist()}
        for r in np.unique(rows).tolist():
            key = int(ctx.table.cols["key"][r])
            if key not in keys_moved and key not in self.turns:
                continue
            idx = np.flatnonzero(rows == r)
            self._circle_row(ctx, r, key, pos["t"][idx], turn[idx], findings, cleared)

    def _circle_row(
        self,
        ctx: StepContext,
        row: int,
        key: int,
        t: FloatArray,
        turn: FloatArray,
        findings: list[Finding],
        cleared: list[Cleared],
    ) -> None:
        c = self.cfg
        ht, hturn = self.turns.get(key, (np.empty(0), np.empty(0)))
        at = np.concatenate([ht, t])
        aturn = np.concatenate([hturn, turn])
        cs = np.cumsum(aturn)
        lo = np.searchsorted(at, at - c.circling_window_s, side="left")
        window = cs - np.concatenate([[0.0], cs])[lo]
        is_open = key in self.circling_open
        for k in range(len(ht), len(at)):
            w = abs(float(window[k]))
            if not is_open and w >= c.circling_turn_deg:
                reason = f"{track_label(ctx.table, row)} circling: turned {w:.0f} deg within {c.circling_window_s / 60:.0f} min"
                findings.append(
                    make_finding(
                        ctx.table,
                        row,
                        CIRCLING,
                        float(at[k]),
                        c.circling_score,
                        (reason,),
                        extra={"turn_deg": round(w, 1)},
                    )
                )
                self.circling_open[key] = row
                is_open = True
            elif is_open and w < c.circling_clear_deg:
                cleared.append(((CIRCLING, key, ""), float(at[k])))
                self.circling_open.pop(key, None)
                is_open = False
        keep = at >= at[-1] - c.circling_window_s
        nz = keep & (aturn != 0)
        if nz.any() or is_open:
            self.turns[key] = (at[keep], aturn[keep])
        else:
            self.turns.pop(key, None)

    def circling_tracks(self) -> dict[int, int]:
        """Aircraft key -> row of every aircraft with an open circling situation."""
        return self.circling_open

    def forget(self, keys: set[int]) -> None:
        self.state.forget_keys(keys)
        for k in keys:
            self.squawk_open.pop(k, None)
            self.lost_open.pop(k, None)
            self.circling_open.pop(k, None)
            self.turns.pop(k, None)


# --- cross-domain ------------------------------------------------------------------------------


__all__ = ["AircraftConfig", "AircraftDetector", "Level"]
