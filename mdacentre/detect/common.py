"""Shared parts of the behaviour detectors: geometry on columns, the sun, zone proximity, carried fixes.

Everything here works on whole NumPy columns. The detectors keep their own per-row state in
:class:`RowState` arrays indexed by track-table row; each state row remembers the key that owns
it, so a row reused by the table for a new track after eviction never inherits the old state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from mdacentre.core.fences import FenceIndex, FenceTracker
from mdacentre.core.refs import track_ref
from mdacentre.core.tracks import TrackTable, UpdateResult
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Finding, Level, ZoneRef
from mdacentre.model.geodesy import HOUR, M_PER_DEG_LAT
from mdacentre.model.trackid import track_id

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Cleared = tuple[tuple[str, int, str], float]
StepOut = tuple[list[Finding], list[Cleared]]


# --- zones -----------------------------------------------------------------------------------------


def zone_indices(zones: list[Zone], kinds: Iterable[ZoneKind]) -> IntArray:
    wanted = set(kinds)
    return np.asarray([i for i, z in enumerate(zones) if z.kind in wanted], dtype=np.int64)


def _buffer_deg(zone: Zone, dist_m: float) -> BaseGeometry:
    """Buffer a zone by ``dist_m`` metres in degrees, generous in longitude (never too small)."""
    if dist_m <= 0:
        return zone.geometry
    miny, maxy = zone.geometry.bounds[1], zone.geometry.bounds[3]
    worst_lat = min(max(abs(miny), abs(maxy)), 85.0)
    deg = dist_m / (M_PER_DEG_LAT * math.cos(math.radians(worst_lat)))
    return zone.geometry.buffer(deg, quad_segs=4)


class ZoneProximity:
    """Is a point within ``dist_m`` metres of any zone of the given kinds? (vectorised, prepared geometry)

    The buffer is built once in degrees with the cosine of the zone's highest latitude, so the
    test errs on the side of "near" (a point called far is at least ``dist_m`` away). With no
    zone of those kinds every point is far.
    """

    def __init__(self, zones: list[Zone], kinds: Iterable[ZoneKind], dist_m: float) -> None:
        self.zone_ids = zone_indices(zones, kinds)
        geoms = [_buffer_deg(zones[i], dist_m) for i in self.zone_ids.tolist()]
        self.geometry: BaseGeometry | None = shapely.union_all(geoms) if geoms else None
        self.bounds = (math.inf, math.inf, -math.inf, -math.inf)
        if self.geometry is not None:
            shapely.prepare(self.geometry)
            b = self.geometry.bounds
            self.bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    @property
    def empty(self) -> bool:
        return self.geometry is None

    def near(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray:
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        if self.geometry is None or len(x) == 0:
            return np.zeros(len(x), dtype=bool)
        # only points inside the geometry's bounding box can touch it (NaN fails every comparison)
        x0, y0, x1, y1 = self.bounds
        ok = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        out = np.zeros(len(x), dtype=bool)
        if ok.any():
            out[ok] = shapely.intersects_xy(self.geometry, x[ok], y[ok])
        return out


def first_zone_inside(fences: FenceTracker, rows: IntArray, zone_ids: IntArray) -> IntArray:
    """For each row, the first of ``zone_ids`` it is confirmed inside, or -1."""
    out = np.full(len(rows), -1, dtype=np.int64)
    if len(rows) == 0:
        return out
    for zi in zone_ids.tolist():
        hit = (out < 0) & fences.is_inside(rows, zi)
        out[hit] = zi
    return out


def zone_ref(zones: list[Zone], zi: int) -> ZoneRef | None:
    if zi < 0:
        return None
    z = zones[zi]
    return ZoneRef(z.id, z.name, z.state)


# --- batches ---------------------------------------------------------------------------------------


def group_bounds(rows: IntArray) -> tuple[BoolArray, BoolArray]:
    """First/last masks of runs of equal rows (positions are sorted by key, then time)."""
    n = len(rows)
    first = np.ones(n, dtype=bool)
    last = np.ones(n, dtype=bool)
    if n > 1:
        same = rows[1:] == rows[:-1]
        first[1:] = ~same
        last[:-1] = ~same
    return first, last


def run_start_index(starts: BoolArray) -> IntArray:
    """Index of the latest True at or before each element (0 where none): start of the current run."""
    idx = np.where(starts, np.arange(len(starts)), 0)
    return np.maximum.accumulate(idx) if len(idx) else idx.astype(np.int64)


class RowState:
    """Per-row arrays owned by one detector, valid only while the row still belongs to the same key."""

    def __init__(self, fields: dict[str, tuple[str, Any]]) -> None:
        self._fields = fields
        self.owner: IntArray = np.full(0, -1, dtype=np.int64)
        self.cols: dict[str, np.ndarray] = {n: np.empty(0, dtype=dt) for n, (dt, _f) in fields.items()}

    def ensure(self, capacity: int) -> None:
        n = len(self.owner)
        if capacity <= n:
            return
        grow = max(capacity, 2 * n, 64)
        self.owner = np.concatenate([self.owner, np.full(grow - n, -1, dtype=np.int64)])
        for name, (dt, fill) in self._fields.items():
            self.cols[name] = np.concatenate([self.cols[name], np.full(grow - n, fill, dtype=dt)])

    def valid(self, table: TrackTable, rows: IntArray) -> BoolArray:
        self.ensure(table.capacity)
        return np.asarray(self.owner[rows] == table.cols["key"][rows])

    def claim(self, table: TrackTable, rows: IntArray) -> None:
        """Reset the state of rows whose owner changed, and record the new owner."""
        self.ensure(table.capacity)
        stale = rows[self.owner[rows] != table.cols["key"][rows]]
        if len(stale):
            for name, (_dt, fill) in self._fields.items():
                self.cols[name][stale] = fill
            self.owner[stale] = table.cols["key"][stale]

    def forget_keys(self, keys: set[int]) -> None:
        if not keys or len(self.owner) == 0:
            return
        gone = np.isin(self.owner, np.fromiter(keys, dtype=np.int64))
        self.owner[gone] = -1


class FixMemory:
    """The last accepted position of each row before the current batch (for consecutive pairs)."""

    def __init__(self) -> None:
        self.state = RowState({"t": ("f8", np.nan), "lat": ("f8", np.nan), "lon": ("f8", np.nan)})

    def previous(
        self, table: TrackTable, rows: IntArray, pos: npt.NDArray[np.void]
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Time, lat, lon of the fix before each batch position (NaN for a track's first fix)."""
        n = len(rows)
        if n == 0:
            return np.full(0, np.nan), np.full(0, np.nan), np.full(0, np.nan)
        first, _last = group_bounds(rows)
        fi = np.flatnonzero(first)
        ok = self.state.valid(table, rows[fi])
        r = rows[fi]
        out: list[FloatArray] = []
        for name in ("t", "lat", "lon"):
            a = np.empty(n)
            a[0] = np.nan
            a[1:] = pos[name][:-1]  # within a track: the batch position before
            # a track's first position of the batch: the fix carried from before, else NaN
            a[fi] = np.where(ok, self.state.cols[name][r], np.nan)
            out.append(a)
        return out[0], out[1], out[2]

    def commit(self, table: TrackTable, rows: IntArray, pos: npt.NDArray[np.void]) -> None:
        if len(rows) == 0:
            return
        _first, last = group_bounds(rows)
        r = rows[last]
        self.state.claim(table, r)
        self.state.cols["t"][r] = pos["t"][last]
        self.state.cols["lat"][r] = pos["lat"][last]
        self.state.cols["lon"][r] = pos["lon"][last]

    def forget(self, keys: set[int]) -> None:
        self.state.forget_keys(keys)


def vessel_positions(update: UpdateResult) -> tuple[npt.NDArray[np.void], IntArray]:
    """The vessel reports of a step (``UpdateResult``) and their track rows, in (key, time) order."""
    return update.vessels


def kind_mask(pos: npt.NDArray[np.void], kind: TrackKind) -> BoolArray:
    return np.asarray(pos["kind"] == int(kind))


# --- findings --------------------------------------------------------------------------------------


def make_finding(
    ctx_table: TrackTable,
    row: int,
    category: str,
    t: float,
    score: float,
    reasons: Iterable[str],
    zone: ZoneRef | None = None,
    extra: dict[str, Any] | None = None,
    track_key: int | None = None,
) -> Finding:
    """A finding whose level follows from its score (see :meth:`Level.from_score`)."""
    s = float(min(100.0, max(0.0, score)))
    return Finding(
        category=category,
        track_key=int(ctx_table.cols["key"][row]) if track_key is None else int(track_key),
        track=track_ref(ctx_table, row),
        t=float(t),
        score=s,
        level=Level.from_score(s),
        reasons=tuple(reasons),
        zone=zone,
        extra=dict(extra or {}),
    )


def fmt_hours(seconds: float) -> str:
    h = seconds / HOUR
    return f"{h:.1f} h" if h >= 1 else f"{seconds / 60:.0f} min"


def track_label(table: TrackTable, row: int) -> str:
    """'MMSI 123456789 (NAME)' or 'ICAO 4ca1fa (CALLSIGN)' for reasons."""
    kind = int(table.cols["kind"][row])
    ident = int(table.cols["ident"][row])
    name = str(table.cols["name"][row]).strip()
    base = f"ICAO {track_id(kind, ident)}" if kind == TrackKind.AIRCRAFT else f"MMSI {track_id(kind, ident)}"
    return f"{base} ({name})" if name else base


class ZoneLocator:
    """Which zone of the given kinds contains each point (library index, -1 for none), grid-accelerated."""

    def __init__(self, zones: list[Zone], kinds: Iterable[ZoneKind], cell_deg: float = 0.1) -> None:
        self.ids = zone_indices(zones, kinds)
        self.index = (
            FenceIndex([zones[i] for i in self.ids.tolist()], cell_deg=cell_deg) if len(self.ids) else None
        )

    @property
    def empty(self) -> bool:
        return self.index is None

    def locate(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> IntArray:
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        out = np.full(len(x), -1, dtype=np.int64)
        if self.index is None or len(x) == 0:
            return out
        p, z = self.index.membership(x, y)
        if len(p):
            _u, first = np.unique(p, return_index=True)
            out[p[first]] = self.ids[z[first]]
        return out
