"""Geofence engine: which zones contain a whole batch of positions, and when tracks enter or leave them.

Membership uses a regular grid laid over the zone library once at start-up. Each cell
knows the zones that cover it entirely (every point in it is inside: no test needed) and
the zones whose boundary crosses it (an exact shapely test is needed, done for all points of
that zone at once with :func:`shapely.intersects_xy`). The result equals shapely's exact
``intersects`` predicate (points on a boundary count as inside, as in ``STRtree.query(...,
predicate="intersects")``).

Transitions follow Tile38's enter/exit/inside model, with hysteresis against boundary
jitter: a change of side counts only once the track has stayed on the new side for
``dwell_s`` seconds of event time, or is at least ``hysteresis_m`` metres from the boundary.
A confirmed transition carries the event time and position of the first report on the new
side (when the track crossed), not of the report that confirmed it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt
import shapely

from mdacentre.core.zones import Zone
from mdacentre.model.geodesy import M_PER_DEG_LAT
from mdacentre.model.sets import isin

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class Transition(IntEnum):
    ENTER = 1
    EXIT = 2


class ZoneState(IntEnum):
    OUTSIDE = 0
    INSIDE = 1


FENCE_EVENT_DTYPE = np.dtype(
    [
        ("row", "<i8"),
        ("key", "<i8"),
        ("zone", "<i4"),  # index into the library's zone list
        ("transition", "u1"),  # Transition
        ("initial", "?"),  # ENTER at a track's first position (not a crossing)
        ("t", "<f8"),
        ("lat", "<f8"),
        ("lon", "<f8"),
    ]
)


class FenceIndex:
    """Grid-accelerated point-in-zone tests for a fixed zone list."""

    def __init__(self, zones: list[Zone], cell_deg: float = 0.1) -> None:
        self.zones = zones
        self.geoms = np.array([z.geometry for z in zones], dtype=object)
        for g in self.geoms:
            shapely.prepare(g)
        self.boundaries = np.array([g.boundary for g in self.geoms], dtype=object)
        self.cell = float(cell_deg)
        if zones:
            b = shapely.bounds(self.geoms)
            self.x0 = math.floor(float(b[:, 0].min()) / self.cell) * self.cell
            self.y0 = math.floor(float(b[:, 1].min()) / self.cell) * self.cell
            self.nx = int(math.ceil((float(b[:, 2].max()) - self.x0) / self.cell)) + 1
            self.ny = int(math.ceil((float(b[:, 3].max()) - self.y0) / self.cell)) + 1
        else:
            self.x0 = self.y0 = 0.0
            self.nx = self.ny = 1
        self._build()

    def _build(self) -> None:
        cells_l: list[IntArray] = []
        zone_l: list[IntArray] = []
        full_l: list[npt.NDArray[np.bool_]] = []
        c = self.cell
        for zi, g in enumerate(self.geoms):
            minx, miny, maxx, maxy = g.bounds
            ix0 = int((minx - self.x0) // c)
            ix1 = int((maxx - self.x0) // c)
            iy0 = int((miny - self.y0) // c)
            iy1 = int((maxy - self.y0) // c)
            gx, gy = np.meshgrid(np.arange(ix0, ix1 + 1), np.arange(iy0, iy1 + 1))
            ix = gx.ravel()
            iy = gy.ravel()
            boxes = shapely.box(
                self.x0 + ix * c, self.y0 + iy * c, self.x0 + (ix + 1) * c, self.y0 + (iy + 1) * c
            )
            hit = shapely.intersects(g, boxes)
            full = shapely.contains_properly(g, boxes[hit])
            cells_l.append((iy[hit] * self.nx + ix[hit]).astype(np.int64))
            zone_l.append(np.full(int(hit.sum()), zi, dtype=np.int64))
            full_l.append(full)
        cells = np.concatenate(cells_l) if cells_l else np.empty(0, np.int64)
        zone = np.concatenate(zone_l) if zone_l else np.empty(0, np.int64)
        full = np.concatenate(full_l) if full_l else np.empty(0, bool)
        order = np.argsort(cells, kind="stable")
        self._entry_zone = zone[order]
        self._entry_full = full[order]
        ncell = self.nx * self.ny
        counts = np.bincount(cells, minlength=ncell)
        self._offsets = np.zeros(ncell + 1, dtype=np.int64)
        np.cumsum(counts, out=self._offsets[1:])
        self.n_entries = int(len(cells))
        self.n_boundary_entries = int((~full).sum())

    def nbytes(self) -> int:
        return int(self._entry_zone.nbytes + self._entry_full.nbytes + self._offsets.nbytes)

    def membership(self, lon: FloatArray, lat: FloatArray) -> tuple[IntArray, IntArray]:
        """All (point index, zone index) pairs with the point inside the zone, sorted by point."""
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        n = len(lon)
        if n == 0 or not self.zones:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        ix = np.floor((lon - self.x0) / self.cell)
        iy = np.floor((lat - self.y0) / self.cell)
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny) & np.isfinite(ix) & np.isfinite(iy)
        pts = np.flatnonzero(ok)
        cell = iy[ok].astype(np.int64) * self.nx + ix[ok].astype(np.int64)
        start = self._offsets[cell]
        cnt = self._offsets[cell + 1] - start
        total = int(cnt.sum())
        if total == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        # Expand (point, entry) candidates without a Python loop.
        p_rep = np.repeat(pts, cnt)
        first = np.repeat(np.cumsum(cnt) - cnt, cnt)
        entry = np.repeat(start, cnt) + (np.arange(total) - first)
        z = self._entry_zone[entry]
        full = self._entry_full[entry]
        keep = full.copy()
        need = np.flatnonzero(~full)
        if len(need):
            # one exact test per (point, boundary zone) candidate, in one call (prepared geometries)
            p = p_rep[need]
            keep[need] = shapely.intersects_xy(self.geoms[z[need]], lon[p], lat[p])
        pi = p_rep[keep]
        zi_out = z[keep]
        order = np.lexsort((zi_out, pi))
        return pi[order], zi_out[order]

    def distance_to_boundary_m(self, zone: int, lon: float, lat: float) -> float:
        """Conservative (never larger than true) distance in metres from a point to a zone's boundary."""
        d_deg = float(shapely.distance(self.boundaries[zone], shapely.Point(lon, lat)))
        return d_deg * M_PER_DEG_LAT * math.cos(math.radians(min(abs(lat), 89.0)))


@dataclass
class _Pending:
    state: ZoneState
    since_t: float  # first report on the new side: the transition's event time once confirmed
    lat: float
    lon: float


class FenceTracker:
    """Confirmed inside/outside state per (track row, zone), updated a batch at a time."""

    def __init__(self, index: FenceIndex, *, dwell_s: float = 180.0, hysteresis_m: float = 300.0) -> None:
        self.index = index
        self.nz = max(1, len(index.zones))
        self.dwell_s = float(dwell_s)
        self.hysteresis_m = float(hysteresis_m)
        self._inside: IntArray = np.empty(0, dtype=np.int64)  # sorted codes row * nz + zone
        self._pending: dict[int, _Pending] = {}

    # -- queries -------------------------------------------------------------------
    def inside_pairs(self) -> tuple[IntArray, IntArray]:
        return self._inside // self.nz, self._inside % self.nz

    def rows_inside(self, zone: int) -> IntArray:
        rows, zones = self.inside_pairs()
        return np.asarray(rows[zones == zone])

    def zones_of(self, row: int) -> IntArray:
        lo = np.searchsorted(self._inside, row * self.nz)
        hi = np.searchsorted(self._inside, (row + 1) * self.nz)
        return self._inside[lo:hi] % self.nz

    def is_inside(self, rows: IntArray, zone: int) -> npt.NDArray[np.bool_]:
        codes = np.asarray(rows, dtype=np.int64) * self.nz + zone
        pos = np.searchsorted(self._inside, codes)
        pos_c = np.minimum(pos, max(0, len(self._inside) - 1))
        if len(self._inside) == 0:
            return np.zeros(len(codes), dtype=bool)
        return np.asarray(self._inside[pos_c] == codes)

    def drop_rows(self, rows: IntArray) -> None:
        """Forget every state of evicted rows (rows may be reused by new tracks)."""
        if len(rows) == 0:
            return
        self._inside = self._inside[~isin(self._inside // self.nz, rows)]
        gone = set(int(r) for r in rows)
        self._pending = {k: v for k, v in self._pending.items() if k // self.nz not in gone}

    # -- update --------------------------------------------------------------------
    def update(
        self,
        rows: IntArray,
        keys: IntArray,
        t: FloatArray,
        lat: FloatArray,
        lon: FloatArray,
        first_position: npt.NDArray[np.bool_] | None = None,
    ) -> npt.NDArray[np.void]:
        """Positions of touched rows (any order). Returns confirmed transitions as FENCE_EVENT_DTYPE rows.

        Points are taken in (row, event time) order: the track table hands them over sorted by
        track key, and row numbers follow first appearance, so the two orders differ.
        """
        n = len(rows)
        if n == 0:
            return np.empty(0, dtype=FENCE_EVENT_DTYPE)
        rows = np.asarray(rows, dtype=np.int64)
        if n > 1 and not bool(np.all((rows[1:] > rows[:-1]) | ((rows[1:] == rows[:-1]) & (t[1:] >= t[:-1])))):
            order = np.lexsort((t, rows))
            rows, keys, t, lat, lon = rows[order], keys[order], t[order], lat[order], lon[order]
            if first_position is not None:
                first_position = first_position[order]
        pidx, zidx = self.index.membership(lon, lat)
        nz = self.nz
        raw_codes = np.unique(rows[pidx] * nz + zidx)  # (row, zone) pairs inside at some point
        touched_rows = np.unique(rows)
        lo = np.searchsorted(self._inside, touched_rows * nz)
        hi = np.searchsorted(self._inside, (touched_rows + 1) * nz)
        # the inside codes of the touched rows: the ranges [lo, hi) of the sorted codes, without a loop
        span = hi - lo
        total = int(span.sum())
        prev_codes = self._inside[
            np.repeat(lo - np.cumsum(span) + span, span) + np.arange(total, dtype=np.int64)
        ]
        cand = np.union1d(raw_codes, prev_codes)
        if self._pending:
            # a change pending for a touched row is decided too: a track back on its confirmed side
            # for the whole step cancels it (else a later report would confirm a stale change)
            pending = np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))
            cand = np.union1d(cand, pending[isin(pending // nz, touched_rows)])
        if len(cand) == 0:
            return np.empty(0, dtype=FENCE_EVENT_DTYPE)
        # For each candidate pair, is the raw state the same at every point of that row?
        # point-level inside codes: p * nz + zone
        inside_pz = np.sort(pidx * nz + zidx)
        row_start = np.searchsorted(rows, touched_rows, side="left")
        row_end = np.searchsorted(rows, touched_rows, side="right")
        cand_row = cand // nz
        cand_zone = cand % nz
        ri = np.searchsorted(touched_rows, cand_row)
        npts = row_end[ri] - row_start[ri]
        # number of points of that row inside that zone
        cnt_in = np.zeros(len(cand), dtype=np.int64)
        prow = rows[pidx]
        pair_of_point = prow * nz + zidx
        uniq, c = np.unique(pair_of_point, return_counts=True)
        pos = np.searchsorted(uniq, cand)
        pos_c = np.minimum(pos, max(0, len(uniq) - 1))
        hit = (len(uniq) > 0) & (uniq[pos_c] == cand) if len(uniq) else np.zeros(len(cand), bool)
        cnt_in[hit] = c[pos_c[hit]]
        was_inside = isin(cand, prev_codes)
        all_in = cnt_in == npts
        none_in = cnt_in == 0
        steady = (was_inside & all_in) | (~was_inside & none_in)
        steady_codes = cand[steady]
        # Pairs steady and confirmed: any pending change is cancelled.
        if self._pending and len(steady_codes):
            for code in steady_codes.tolist():
                self._pending.pop(code, None)
        events: list[tuple[int, int, int, int, bool, float, float, float]] = []
        new_inside = set()
        new_outside = set()
        busy = np.flatnonzero(~steady)
        for k in busy.tolist():
            code = int(cand[k])
            row = int(cand_row[k])
            zone = int(cand_zone[k])
            a, b = int(row_start[ri[k]]), int(row_end[ri[k]])
            state = ZoneState.INSIDE if was_inside[k] else ZoneState.OUTSIDE
            for p in range(a, b):
                j = np.searchsorted(inside_pz, p * nz + zone)
                raw = (
                    ZoneState.INSIDE
                    if j < len(inside_pz) and inside_pz[j] == p * nz + zone
                    else ZoneState.OUTSIDE
                )
                if raw == state:
                    self._pending.pop(code, None)
                    continue
                pend = self._pending.get(code)
                if pend is None or pend.state != raw:
                    pend = _Pending(raw, float(t[p]), float(lat[p]), float(lon[p]))
                    self._pending[code] = pend
                first = bool(first_position[p]) if first_position is not None else False
                confirmed = (
                    first
                    or float(t[p]) - pend.since_t >= self.dwell_s
                    or self.index.distance_to_boundary_m(zone, float(lon[p]), float(lat[p]))
                    >= self.hysteresis_m
                )
                if confirmed:
                    state = raw
                    self._pending.pop(code, None)
                    tr = Transition.ENTER if raw == ZoneState.INSIDE else Transition.EXIT
                    events.append((row, int(keys[p]), zone, int(tr), first, pend.since_t, pend.lat, pend.lon))
            if state == ZoneState.INSIDE and not was_inside[k]:
                new_inside.add(code)
            elif state == ZoneState.OUTSIDE and was_inside[k]:
                new_outside.add(code)
        if new_outside:
            self._inside = self._inside[~isin(self._inside, np.fromiter(new_outside, dtype=np.int64))]
        if new_inside:
            self._inside = np.union1d(self._inside, np.fromiter(new_inside, dtype=np.int64))
        out = np.array(events, dtype=FENCE_EVENT_DTYPE) if events else np.empty(0, dtype=FENCE_EVENT_DTYPE)
        if len(out):
            out = out[np.lexsort((out["zone"], out["t"]))]
        return out
