"""Kinematic and identity plausibility of vessel reports (aisdb spoof_detect, GFW segmenting).

* ``position_jump``: the implied speed between consecutive reports exceeds the maximum for the
  vessel's type (fishing 15, tug 14, tanker 18, cargo 25, passenger 35, other 50 kn), with a
  1 km distance and a 60 s time tolerance;
* ``identity_conflict``: two jumps in a row where the second comes back near the position before
  the first (one MMSI transmitted from two places);
* ``identity``: an MMSI that cannot belong to a ship station (wrong length, unknown MID, test numbers);
* ``position_on_land``: a vessel report on land at least ``land_margin_m`` (2 km) from any coast,
  port or navigable waterway of the land mask ``geofences/land/land.geojson`` (Natural Earth
  1:10m land, see :mod:`mdacentre.core.land`); one alert per stay on land, closed by the first report
  at sea. Reports on land but nearer the coast than the margin neither open nor close it (the
  1:10m coastline is coarse). Vessels only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely

from mdacentre.core.land import LandMask, load_land
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.common import (
    Cleared,
    FloatArray,
    IntArray,
    RowState,
    StepOut,
    group_bounds,
    make_finding,
    track_label,
    vessel_positions,
)
from mdacentre.detect.context import StepContext
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Finding, ZoneRef
from mdacentre.model.geodesy import MS_PER_KN, haversine_m
from mdacentre.model.mid import invalid_mmsi
from mdacentre.model.sets import isin

JUMP = "position_jump"
IDENTITY = "identity"
CONFLICT = "identity_conflict"
LAND = "position_on_land"

# Known placeholder MMSIs seen on real transponders that were never programmed properly.
PLACEHOLDER_MMSI = frozenset({0, 1, 111111111, 123456789, 987654321, 999999999, 100000000, 200000000})


@dataclass(frozen=True)
class SpoofConfig:
    fishing_max_kn: float = 15.0
    tug_max_kn: float = 14.0
    tanker_max_kn: float = 18.0
    cargo_max_kn: float = 25.0
    passenger_max_kn: float = 35.0
    other_max_kn: float = 50.0
    distance_tolerance_m: float = 1000.0
    time_tolerance_s: float = 60.0
    quiet_s: float = (
        1800.0  # the jump alert closes at the first plausible report this long after the last jump
    )
    check_identity: bool = True
    jump_score: float = 45.0
    conflict_score: float = 65.0
    identity_score: float = 30.0
    land_check: bool = True
    land_margin_m: float = 2000.0  # how far inland (from coast, port circle or waterway) before it counts
    land_score: float = 45.0
    land_file: str = ""  # empty: the shipped geofences/land/land.geojson
    land_zone_deg: float = 1.0  # route to the nearest territorial sea within this many degrees


def type_max_speed_kn(ship_type: npt.NDArray[np.integer], cfg: SpoofConfig) -> FloatArray:
    """Maximum plausible speed per AIS ship type (aisdb spoof_detect table)."""
    st = np.asarray(ship_type, dtype=np.int64)
    out = np.full(len(st), cfg.other_max_kn, dtype=np.float64)
    out[st == 30] = cfg.fishing_max_kn
    out[isin(st, (31, 32, 52))] = cfg.tug_max_kn
    out[(st >= 80) & (st <= 89)] = cfg.tanker_max_kn
    out[(st >= 70) & (st <= 79)] = cfg.cargo_max_kn
    out[(st >= 60) & (st <= 69)] = cfg.passenger_max_kn
    return out


def invalid_ship_mmsi(mmsi: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
    """MMSIs that cannot identify a ship station: :func:`mdacentre.model.mid.invalid_mmsi`, plus placeholders."""
    m = np.asarray(mmsi, dtype=np.int64)
    return np.asarray(invalid_mmsi(m) | isin(m, tuple(PLACEHOLDER_MMSI)))


class SpoofDetector:
    """position_jump, identity_conflict, identity and position_on_land findings for vessel tracks."""

    def __init__(self, zones: list[Zone], config: SpoofConfig | None = None) -> None:
        self.cfg = config or SpoofConfig()
        self.zones = zones
        self.land: LandMask | None = None
        self.open_land: dict[int, str] = {}  # key -> zone id of the open position_on_land alert
        self._ts_ids: list[int] = []
        self._ts_tree: shapely.STRtree | None = None
        if self.cfg.land_check:
            self.land = load_land(Path(self.cfg.land_file) if self.cfg.land_file else None)
            self._ts_ids = [i for i, z in enumerate(zones) if z.kind == ZoneKind.TERRITORIAL_SEA]
            if self._ts_ids:
                self._ts_tree = shapely.STRtree([zones[i].geometry for i in self._ts_ids])
        # The two last fixes of each row (p = previous, pp = the one before).
        self.state = RowState(
            {
                "p_t": ("f8", np.nan),
                "p_lat": ("f8", np.nan),
                "p_lon": ("f8", np.nan),
                "pp_t": ("f8", np.nan),
                "pp_lat": ("f8", np.nan),
                "pp_lon": ("f8", np.nan),
            }
        )
        self.open_jump: dict[int, float] = {}  # key -> event time of the latest jump
        self.open_conflict: dict[int, float] = {}
        self.checked = RowState({"done": ("?", False)})  # identity checked for this track

    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = []
        if self.cfg.check_identity:
            self._identity(ctx, findings)
        pos, rows = vessel_positions(ctx.update)
        if len(pos):
            self._kinematics(ctx, pos, rows, findings, cleared)
            if self.land is not None:
                self._on_land(ctx, pos, rows, findings, cleared)
        return findings, cleared

    # -- positions on land ---------------------------------------------------------------------
    def _nearest_waters(self, lon: float, lat: float) -> ZoneRef | None:
        """The nearest territorial sea (routes the alert to that state), if within land_zone_deg."""
        if self._ts_tree is None:
            return None
        hit = self._ts_tree.query_nearest(shapely.Point(lon, lat), max_distance=self.cfg.land_zone_deg)
        if len(hit) == 0:
            return None
        z = self.zones[self._ts_ids[int(hit.min())]]
        return ZoneRef(z.id, z.name, z.state)

    def _on_land(
        self,
        ctx: StepContext,
        pos: np.ndarray,
        rows: IntArray,
        findings: list[Finding],
        cleared: list[Cleared],
    ) -> None:
        """Open on the first report deep inland, close on the first report at sea (positions in key, t order)."""
        assert self.land is not None
        lon = np.asarray(pos["lon"], dtype=np.float64)
        lat = np.asarray(pos["lat"], dtype=np.float64)
        inland, on = self.land.inland(lon, lat, self.cfg.land_margin_m)
        keys = np.asarray(pos["key"], dtype=np.int64)
        # reports at sea matter only for tracks already on land or going inland in this batch
        watched = np.concatenate(
            [np.fromiter(self.open_land, dtype=np.int64, count=len(self.open_land)), keys[inland]]
        )
        back = ~on & isin(keys, watched) if len(watched) else np.zeros(len(keys), dtype=bool)
        table = ctx.table
        for k in np.flatnonzero(inland | back).tolist():
            key = int(keys[k])
            t = float(pos["t"][k])
            if not inland[k]:
                if key in self.open_land:
                    cleared.append(((LAND, key, self.open_land.pop(key)), t))
                continue
            if key in self.open_land:
                continue
            x, y = float(lon[k]), float(lat[k])
            zone = self._nearest_waters(x, y)
            dist = self.land.coast_distance_m(x, y)
            row = int(rows[k])
            reason = (
                f"{track_label(table, row)} reported a position on land ({y:.4f}, {x:.4f}), "
                f"{dist / 1000:.1f} km from the nearest coast, port or waterway: falsified AIS position "
                "or faulty GNSS receiver?"
            )
            if zone is not None:
                reason += f" Nearest waters: {zone.name}."
            extra = {"lat": y, "lon": x, "inland_m": round(dist), "margin_m": self.cfg.land_margin_m}
            findings.append(make_finding(table, row, LAND, t, self.cfg.land_score, (reason,), zone, extra))
            self.open_land[key] = zone.id if zone is not None else ""

    # -- identity ------------------------------------------------------------------------------
    def _identity(self, ctx: StepContext, out: list[Finding]) -> None:
        rows = ctx.update.rows
        c = ctx.table.cols
        v = rows[(c["kind"][rows] == int(TrackKind.VESSEL)) & np.isfinite(c["lat"][rows])]
        if len(v) == 0:
            return
        done = self.checked.valid(ctx.table, v) & self.checked.cols["done"][v]
        v = v[~done]
        if len(v) == 0:
            return
        self.checked.claim(ctx.table, v)
        self.checked.cols["done"][v] = True
        bad = invalid_ship_mmsi(c["ident"][v])
        for row in v[bad].tolist():
            mmsi = int(c["ident"][row])
            reason = f"MMSI {mmsi} cannot belong to a ship station (not 9 digits, unknown country code or a placeholder)"
            t = float(c["first_t"][row])
            out.append(
                make_finding(
                    ctx.table, row, IDENTITY, t, self.cfg.identity_score, (reason,), extra={"mmsi": mmsi}
                )
            )

    # -- kinematics ----------------------------------------------------------------------------
    def _extended(
        self, ctx: StepContext, pos: np.ndarray, rows: IntArray
    ) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
        """Per row: the two carried fixes followed by the batch positions (row, t, lat, lon, real)."""
        first, _last = group_bounds(rows)
        fi = np.flatnonzero(first)
        ok = self.state.valid(ctx.table, rows[fi])
        st = self.state.cols
        r0 = rows[fi]
        n_g = len(fi)
        n = len(rows) + 2 * n_g
        # Insert two carried slots before each group start.
        shift = np.cumsum(first) * 2  # positions shift by 2 per group started so far
        real_idx = np.arange(len(rows)) + shift
        slot_pp = fi + 2 * np.arange(n_g)
        slot_p = slot_pp + 1
        e_row = np.empty(n, dtype=np.int64)
        e_t = np.full(n, np.nan)
        e_lat = np.full(n, np.nan)
        e_lon = np.full(n, np.nan)
        real = np.zeros(n, dtype=bool)
        e_row[real_idx] = rows
        e_t[real_idx] = pos["t"]
        e_lat[real_idx] = pos["lat"]
        e_lon[real_idx] = pos["lon"]
        real[real_idx] = True
        e_row[slot_pp] = r0
        e_row[slot_p] = r0
        okr = r0[ok]
        for slot, pre in ((slot_pp, "pp_"), (slot_p, "p_")):
            s_ok = slot[ok]
            e_t[s_ok] = st[pre + "t"][okr]
            e_lat[s_ok] = st[pre + "lat"][okr]
            e_lon[s_ok] = st[pre + "lon"][okr]
        return e_row, e_t, e_lat, e_lon, real

    def _kinematics(
        self,
        ctx: StepContext,
        pos: np.ndarray,
        rows: IntArray,
        findings: list[Finding],
        cleared: list[Cleared],
    ) -> None:
        cfg = self.cfg
        table = ctx.table
        e_row, e_t, e_lat, e_lon, real = self._extended(ctx, pos, rows)
        vmax = type_max_speed_kn(table.cols["ship_type"][e_row], cfg) * MS_PER_KN
        # pair k = (k-1, k)
        same = np.zeros(len(e_row), dtype=bool)
        same[1:] = e_row[1:] == e_row[:-1]
        d = np.full(len(e_row), np.nan)
        dt = np.full(len(e_row), np.nan)
        d[1:] = haversine_m(e_lat[:-1], e_lon[:-1], e_lat[1:], e_lon[1:])
        dt[1:] = e_t[1:] - e_t[:-1]
        valid_pair = same & np.isfinite(d) & np.isfinite(dt)
        jump = valid_pair & (d > cfg.distance_tolerance_m) & (d / np.maximum(dt, cfg.time_tolerance_s) > vmax)
        # Back-and-forth: jump now, jump before, and the fix two back is plausible from here.
        same2 = np.zeros(len(e_row), dtype=bool)
        same2[2:] = e_row[2:] == e_row[:-2]
        prev_jump = np.zeros(len(e_row), dtype=bool)
        prev_jump[1:] = jump[:-1]
        conflict = jump & prev_jump & same2
        k = np.flatnonzero(conflict)  # the distance two fixes back only where it can matter
        d2 = haversine_m(e_lat[k - 2], e_lon[k - 2], e_lat[k], e_lon[k])
        dt2 = e_t[k] - e_t[k - 2]
        plausible2 = (d2 <= cfg.distance_tolerance_m) | (
            d2 / np.maximum(dt2, cfg.time_tolerance_s) <= vmax[k]
        )
        conflict[k] = np.isfinite(d2) & plausible2
        self._report(
            ctx, e_row, e_t, e_lat, e_lon, d, dt, jump & real, conflict & real, real, findings, cleared
        )
        self._carry(ctx, e_row, e_t, e_lat, e_lon, real)

    def _report(
        self,
        ctx: StepContext,
        e_row: IntArray,
        e_t: FloatArray,
        e_lat: FloatArray,
        e_lon: FloatArray,
        d: FloatArray,
        dt: FloatArray,
        jump: npt.NDArray[np.bool_],
        conflict: npt.NDArray[np.bool_],
        real: npt.NDArray[np.bool_],
        findings: list[Finding],
        cleared: list[Cleared],
    ) -> None:
        table = ctx.table
        keys = table.cols["key"][e_row]
        st = table.cols["ship_type"][e_row]
        vmax_kn = type_max_speed_kn(st, self.cfg)
        for k in np.flatnonzero(jump).tolist():
            key = int(keys[k])
            row = int(e_row[k])
            t = float(e_t[k])
            implied = float(d[k] / max(float(dt[k]), self.cfg.time_tolerance_s) / MS_PER_KN)
            extra = {
                "from_lat": float(e_lat[k - 1]),
                "from_lon": float(e_lon[k - 1]),
                "to_lat": float(e_lat[k]),
                "to_lon": float(e_lon[k]),
                "distance_m": round(float(d[k]), 1),
                "dt_s": round(float(dt[k]), 1),
                "implied_speed_kn": round(implied, 1),
                "max_speed_kn": float(vmax_kn[k]),
            }
            if conflict[k] and key not in self.open_conflict:
                self.open_conflict[key] = t
                reason = (
                    f"{track_label(table, row)} reported from two places: jumped {d[k] / 1000:.1f} km and back "
                    f"within {float(e_t[k] - e_t[k - 2]):.0f} s (one MMSI used by two transmitters?)"
                )
                findings.append(
                    make_finding(table, row, CONFLICT, t, self.cfg.conflict_score, (reason,), extra=extra)
                )
            elif conflict[k]:
                self.open_conflict[key] = t
            if key not in self.open_jump:
                reason = (
                    f"position jumped {d[k] / 1000:.1f} km in {float(dt[k]):.0f} s (implied {implied:.0f} kn, "
                    f"more than the {vmax_kn[k]:.0f} kn a vessel of this type can make)"
                )
                findings.append(
                    make_finding(table, row, JUMP, t, self.cfg.jump_score, (reason,), extra=extra)
                )
            self.open_jump[key] = t
        self._close_quiet(keys, e_t, jump, real, cleared)

    def _close_quiet(
        self,
        keys: IntArray,
        e_t: FloatArray,
        jump: npt.NDArray[np.bool_],
        real: npt.NDArray[np.bool_],
        cleared: list[Cleared],
    ) -> None:
        if not self.open_jump and not self.open_conflict:
            return
        calm = real & ~jump
        opened = np.fromiter(set(self.open_jump) | set(self.open_conflict), dtype=np.int64)
        calm_idx = np.flatnonzero(calm & isin(keys, opened))  # only tracks with something open can close it
        if len(calm_idx) == 0:
            return
        ck, ct = keys[calm_idx], e_t[calm_idx]
        # per category, the first calm row of each open key that comes quiet_s after its last event
        closing: list[tuple[int, int, str, int, float]] = []
        for order, (cat, book) in enumerate(((JUMP, self.open_jump), (CONFLICT, self.open_conflict))):
            if not book:
                continue
            bk = np.fromiter(book.keys(), dtype=np.int64, count=len(book))
            bt = np.fromiter(book.values(), dtype=np.float64, count=len(book))
            srt = np.argsort(bk)
            bk, bt = bk[srt], bt[srt]
            at = np.minimum(np.searchsorted(bk, ck), len(bk) - 1)
            quiet = np.flatnonzero((bk[at] == ck) & (ct - bt[at] >= self.cfg.quiet_s))
            _, first = np.unique(ck[quiet], return_index=True)
            for j in quiet[first].tolist():
                closing.append((int(calm_idx[j]), order, cat, int(ck[j]), float(ct[j])))
        for _k, _o, cat, key, t in sorted(closing):  # row order, as a row-by-row pass would close them
            book = self.open_jump if cat == JUMP else self.open_conflict
            del book[key]
            cleared.append(((cat, key, ""), t))

    def _carry(
        self,
        ctx: StepContext,
        e_row: IntArray,
        e_t: FloatArray,
        e_lat: FloatArray,
        e_lon: FloatArray,
        real: npt.NDArray[np.bool_],
    ) -> None:
        _f, last = group_bounds(e_row)
        li = np.flatnonzero(last)
        r = e_row[li]
        self.state.claim(ctx.table, r)
        st = self.state.cols
        st["p_t"][r], st["p_lat"][r], st["p_lon"][r] = e_t[li], e_lat[li], e_lon[li]
        pi = li - 1  # every group has at least the two carried slots, so li - 1 is the same row
        st["pp_t"][r], st["pp_lat"][r], st["pp_lon"][r] = e_t[pi], e_lat[pi], e_lon[pi]

    def forget(self, keys: set[int]) -> None:
        self.state.forget_keys(keys)
        self.checked.forget_keys(keys)
        for k in keys:
            self.open_jump.pop(k, None)
            self.open_conflict.pop(k, None)
            self.open_land.pop(k, None)
