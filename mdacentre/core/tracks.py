"""The track table: one row per live vessel or aircraft, stored as a structure of arrays.

Updates take whole column batches. Row lookup for a batch of keys is vectorised
(a sorted key index searched with :func:`numpy.searchsorted`), so no per-message
dictionary work happens on the hot path. Reports older than a track's latest event
time never overwrite its state (a late message cannot move a ship backwards);
they are counted as ``late``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mdacentre.model.batch import (
    POSITION_DTYPE,
    STATIC_DTYPE,
    PositionArray,
    StaticArray,
    TrackKind,
    take_rows,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Columns of the table and their fill values. Kinematic columns mirror POSITION_DTYPE,
# identity columns mirror STATIC_DTYPE; a few are the table's own.
_POSITION_COLUMNS = (
    "lat",
    "lon",
    "sog",
    "cog",
    "heading",
    "nav_status",
    "alt_ft",
    "vrate_fpm",
    "on_ground",
    "msg_type",
)
_STATIC_COLUMNS = (
    "name",
    "callsign",
    "imo",
    "ship_type",
    "length_m",
    "beam_m",
    "draught_m",
    "destination",
    "eta",
    "imdg_class",
)


def _column_specs() -> dict[str, tuple[np.dtype[np.generic], object]]:
    specs: dict[str, tuple[np.dtype[np.generic], object]] = {
        "key": (np.dtype("<i8"), -1),
        "kind": (np.dtype("u1"), 0),
        "ident": (np.dtype("<u4"), 0),
        "t": (np.dtype("<f8"), np.nan),  # event time of the latest position
        "first_t": (np.dtype("<f8"), np.nan),  # first report of any kind
        "last_t": (np.dtype("<f8"), np.nan),  # latest report of any kind (position or static)
        "prev_t": (np.dtype("<f8"), np.nan),  # the position before the latest one
        "prev_lat": (np.dtype("<f8"), np.nan),
        "prev_lon": (np.dtype("<f8"), np.nan),
        "n_positions": (np.dtype("<u4"), 0),
        "static_t": (np.dtype("<f8"), np.nan),
        "squawk": (np.dtype("<i2"), -1),
        "feed": (np.dtype("<u2"), 0),
    }
    for name in _POSITION_COLUMNS:
        dt = POSITION_DTYPE[name]
        specs[name] = (dt, np.nan if dt.kind == "f" else (-1 if dt.kind == "i" else 0))
    for name in _STATIC_COLUMNS:
        dt = STATIC_DTYPE[name]
        fill: object = np.nan if dt.kind == "f" else (-1 if dt.kind == "i" else ("" if dt.kind == "U" else 0))
        specs[name] = (dt, fill)
    return specs


@dataclass(frozen=True)
class UpdateResult:
    """Which rows a batch touched, and the batch's positions in (key, time) order with their rows."""

    rows: IntArray  # unique rows touched by the batch (positions or statics)
    new_rows: IntArray  # rows created by this batch
    positions: PositionArray  # valid positions of the batch, sorted by (key, t)
    position_rows: IntArray  # table row of each of those positions
    late: int  # positions older than the track's state (kept out of the live state)

    @functools.cached_property
    def vessels(self) -> tuple[PositionArray, IntArray]:
        """The vessel reports and their rows (computed once per step, shared by the detectors: read-only)."""
        vessel = self.positions["kind"] == int(TrackKind.VESSEL)
        if vessel.all():  # a feed of vessels only: no copy
            return self.positions, self.position_rows.astype(np.int64)
        sel = np.flatnonzero(vessel)
        # sorted by key, and a key starts with its kind: the vessels are usually one run, a view
        if len(sel) == 0 or sel[-1] - sel[0] + 1 == len(sel):
            lo, hi = (int(sel[0]), int(sel[-1]) + 1) if len(sel) else (0, 0)
            return self.positions[lo:hi], self.position_rows[lo:hi].astype(np.int64)
        return take_rows(self.positions, sel), self.position_rows[sel].astype(np.int64)


class TrackTable:
    """Structure-of-arrays table of tracks keyed by ``key`` (see :func:`mdacentre.model.batch.make_key`)."""

    def __init__(self, capacity: int = 1024) -> None:
        self._specs = _column_specs()
        self.size = 0
        self.cols: dict[str, np.ndarray] = {}
        self._alloc(max(16, capacity))
        self._index_keys: IntArray = np.empty(0, dtype=np.int64)
        self._index_rows: IntArray = np.empty(0, dtype=np.int64)
        self.free_rows: list[int] = []

    # -- storage -----------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return int(len(self.cols["key"]))

    def _alloc(self, capacity: int) -> None:
        old = self.cols
        new: dict[str, np.ndarray] = {}
        for name, (dt, fill) in self._specs.items():
            arr = np.empty(capacity, dtype=dt)
            arr[...] = fill
            if name in old:
                arr[: len(old[name])] = old[name]
            new[name] = arr
        self.cols = new

    def _clear_rows(self, rows: IntArray) -> None:
        for name, (_dt, fill) in self._specs.items():
            self.cols[name][rows] = fill

    def nbytes(self) -> int:
        return int(
            sum(a.nbytes for a in self.cols.values()) + self._index_keys.nbytes + self._index_rows.nbytes
        )

    # -- lookup ------------------------------------------------------------------
    def lookup(self, keys: npt.ArrayLike) -> IntArray:
        """Rows of ``keys`` (-1 where a key has no track)."""
        k = np.asarray(keys, dtype=np.int64)
        if len(self._index_keys) == 0:
            return np.full(k.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self._index_keys, k)
        pos_c = np.minimum(pos, len(self._index_keys) - 1)
        found = self._index_keys[pos_c] == k
        return np.where(found, self._index_rows[pos_c], -1)

    def lookup_or_insert(self, keys: npt.ArrayLike) -> tuple[IntArray, IntArray]:
        """Rows of ``keys``, creating tracks for unknown keys. Returns (rows, new_rows)."""
        k = np.asarray(keys, dtype=np.int64)
        rows = self.lookup(k)
        missing = rows < 0
        if not missing.any():
            return rows, np.empty(0, dtype=np.int64)
        new_keys = np.unique(k[missing])
        n = len(new_keys)
        reuse = min(n, len(self.free_rows))
        taken = [self.free_rows.pop() for _ in range(reuse)]
        fresh_needed = n - reuse
        if self.size + fresh_needed > self.capacity:
            self._alloc(max(self.capacity * 2, self.size + fresh_needed))
        fresh = np.arange(self.size, self.size + fresh_needed, dtype=np.int64)
        self.size += fresh_needed
        new_rows = np.concatenate([np.asarray(taken, dtype=np.int64), fresh])
        self.cols["key"][new_rows] = new_keys
        self.cols["kind"][new_rows] = (new_keys >> 32).astype(np.uint8)
        self.cols["ident"][new_rows] = (new_keys & 0xFFFFFFFF).astype(np.uint32)
        all_keys = np.concatenate([self._index_keys, new_keys])
        all_rows = np.concatenate([self._index_rows, new_rows])
        order = np.argsort(all_keys, kind="stable")
        self._index_keys = all_keys[order]
        self._index_rows = all_rows[order]
        rows[missing] = self.lookup(k[missing])
        return rows, new_rows

    def _rows_of_sorted(self, keys: IntArray) -> tuple[IntArray, IntArray]:
        """:meth:`lookup_or_insert` for sorted keys: each distinct key is looked up once."""
        n = len(keys)
        if n == 0:
            return self.lookup_or_insert(keys)
        starts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        bounds = np.concatenate([[0], starts, [n]])
        rows, new_rows = self.lookup_or_insert(keys[bounds[:-1]])
        return np.repeat(rows, np.diff(bounds)), new_rows

    def live_rows(self) -> IntArray:
        return np.sort(self._index_rows)

    def __len__(self) -> int:
        return int(len(self._index_keys))

    # -- updates -----------------------------------------------------------------
    def update(self, positions: PositionArray, statics: StaticArray) -> UpdateResult:
        """Apply a batch. Positions are applied in event-time order per track."""
        valid = np.isfinite(positions["lat"]) & np.isfinite(positions["lon"]) & np.isfinite(positions["t"])
        keep = None if valid.all() else np.flatnonzero(valid)
        keys = positions["key"] if keep is None else positions["key"][keep]
        times = positions["t"] if keep is None else positions["t"][keep]
        order = _key_time_order(keys, times)
        # one copy of the whole rows: the valid ones, in (key, t) order
        pos = take_rows(positions, order if keep is None else keep[order])
        prow, new_p = self._rows_of_sorted(pos["key"])
        c = self.cols
        # Late reports: older than what the track already shows.
        not_late = ~(pos["t"] < np.nan_to_num(c["t"][prow], nan=-np.inf))
        late = int((~not_late).sum())
        pos_ok, prow_ok = (pos, prow) if late == 0 else (take_rows(pos, not_late), prow[not_late])
        if len(pos_ok):
            # Each track's reports of this batch, together (pos is sorted by key, then t).
            starts, lr = _groups(prow_ok)
            idx_last = np.append(starts[1:], len(prow_ok)) - 1
            # The position before the last one: previous batch row of the same track, or the table's state.
            has_prev_in_batch = idx_last > starts
            prev_idx = np.maximum(idx_last - 1, 0)
            c["prev_t"][lr] = np.where(has_prev_in_batch, pos_ok["t"][prev_idx], c["t"][lr])
            c["prev_lat"][lr] = np.where(has_prev_in_batch, pos_ok["lat"][prev_idx], c["lat"][lr])
            c["prev_lon"][lr] = np.where(has_prev_in_batch, pos_ok["lon"][prev_idx], c["lon"][lr])
            src = take_rows(pos_ok, idx_last)
            c["t"][lr] = src["t"]
            for name in _POSITION_COLUMNS:
                c[name][lr] = src[name]
            # Aircraft squawk rides on position rows too; keep the last known one.
            sq = src["squawk"]
            c["squawk"][lr] = np.where(sq >= 0, sq, c["squawk"][lr])
            c["feed"][lr] = src["feed"]
            c["n_positions"][lr] += (idx_last + 1 - starts).astype(c["n_positions"].dtype)
            self._touch(starts, lr, pos_ok["t"])

        srow = np.empty(0, dtype=np.int64)
        new_s = np.empty(0, dtype=np.int64)
        if len(statics):
            st = take_rows(statics, _key_time_order(statics["key"], statics["t"]))
            srow, new_s = self._rows_of_sorted(st["key"])
            starts, rows = _groups(srow)
            self._apply_statics(st, srow, starts, rows)
            self._touch(starts, rows, st["t"])

        # each track's reports are together (sorted by key): its rows are the groups' first rows
        touched = np.unique(np.concatenate([_groups(prow)[1], _groups(srow)[1]]))
        new_rows = np.unique(np.concatenate([new_p, new_s]))
        return UpdateResult(
            rows=touched, new_rows=new_rows, positions=pos_ok, position_rows=prow_ok, late=late
        )

    def _touch(self, starts: IntArray, r: IntArray, t: npt.NDArray[np.float64]) -> None:
        """First and last report times of rows ``r``, whose reports are ``t[starts[i]:starts[i + 1]]``."""
        c = self.cols
        c["last_t"][r] = np.fmax(c["last_t"][r], np.fmax.reduceat(t, starts))
        c["first_t"][r] = np.fmin(c["first_t"][r], np.fmin.reduceat(t, starts))

    def _apply_statics(self, st: StaticArray, rows: IntArray, starts: IntArray, r: IntArray) -> None:
        """Merge identity fields: a known value is never replaced by 'unknown'."""
        c = self.cols
        # Rows are sorted by (key, t): fancy assignment keeps the last write per row,
        # so applying masked subsets in order gives "latest known value wins".
        for name in _STATIC_COLUMNS:
            v = st[name]
            dt = v.dtype
            if dt.kind == "f":
                known = np.isfinite(v)
            elif dt.kind == "U":
                known = v != ""
            elif name == "ship_type":
                known = v >= 0
            else:
                known = v > 0
            if known.any():
                c[name][rows[known]] = v[known]
        sq = st["squawk"] >= 0
        if sq.any():
            c["squawk"][rows[sq]] = st["squawk"][sq]
        c["static_t"][r] = np.fmax(c["static_t"][r], np.fmax.reduceat(st["t"], starts))

    # -- eviction ----------------------------------------------------------------
    def evict_older_than(self, cutoff_t: float) -> IntArray:
        """Remove tracks whose last report is older than ``cutoff_t`` (event time). Returns their keys."""
        live = self._index_rows
        stale = live[self.cols["last_t"][live] < cutoff_t]
        if len(stale) == 0:
            return np.empty(0, dtype=np.int64)
        keys = self.cols["key"][stale].copy()
        keep = ~np.isin(self._index_rows, stale)
        self._index_keys = self._index_keys[keep]
        self._index_rows = self._index_rows[keep]
        self._clear_rows(stale)
        self.free_rows.extend(int(r) for r in stale)
        return keys

    # -- views -------------------------------------------------------------------
    def kind_of(self, rows: IntArray) -> npt.NDArray[np.uint8]:
        return self.cols["kind"][rows]

    def is_vessel(self, rows: IntArray) -> BoolArray:
        return np.asarray(self.cols["kind"][rows] == TrackKind.VESSEL)


def _groups(rows: IntArray) -> tuple[IntArray, IntArray]:
    """Start of each run of equal values in ``rows`` (grouped, as sorted by key), and the run's value."""
    if len(rows) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    starts = np.flatnonzero(first)
    return starts, rows[starts]


def _key_time_order(keys: IntArray, times: npt.NDArray[np.float64]) -> IntArray:
    """``np.lexsort((times, keys))``: reports already in time order (the usual case) need only
    the stable sort by key."""
    if len(times) < 2 or bool(np.all(times[1:] >= times[:-1])):
        return np.argsort(keys, kind="stable")
    return np.lexsort((times, keys))
