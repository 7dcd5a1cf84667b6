"""Receiver coverage learned online from the stream itself: where, and in which hours, reports are heard.

A feed from an area never learned (no ``zones learn`` file) still tells where its receivers hear
ships: every consecutive pair of reports of a vessel says that the cell of the first report was
heard, and whether the next report came at a normal interval (*good*, at most
``good_interval_s``) or after a longer silence (*poor*, up to ``max_silence_s``; longer silences
say nothing about reception). Counts are kept per cell of :data:`COVERAGE_CELL_DEG` (about 11 km)
and per hour of event time (absolute hours, a ring of ``ring_h`` hours), together with *visits*
(a vessel heard in a cell-hour it was not heard in by its previous report).

Everything is keyed by event time and attributed by consecutive pairs of one vessel's reports,
never by batch, so the counts, and every answer about completed hours, are the same however the
input was cut into batches (:meth:`OnlineReception.steady` reads only hours before the silence
began, :meth:`OnlineReception.heard_during` only whole hours inside it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mdacentre.core.context import COVERAGE_CELL_DEG, cell_codes, neighbour_codes

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HOUR_S = 3600.0


@dataclass(frozen=True)
class ReceptionConfig:
    good_interval_s: float = 600.0  # consecutive reports at most this far apart: normal reception
    max_silence_s: float = 6 * 3600.0  # longer silences say nothing about reception
    window_h: int = 24  # hours before a silence that say whether a place is steadily heard
    ring_h: int = 96  # hours kept per cell (a gap found after the fact still sees its window)
    min_visits: int = 3  # vessel visits to the cell and its neighbours in the window
    min_quality: float = 0.8  # share of the report intervals there in the window that were good
    min_neighbours: int = 6  # of the 8 neighbouring cells, heard in the window


@dataclass(frozen=True)
class Steady:
    """Reception before a silence, per query point."""

    visits: IntArray  # vessel visits to the cell and its 8 neighbours in the window
    quality: FloatArray  # good / (good + poor) intervals there in the window (NaN: none)
    neighbours: IntArray  # neighbouring cells heard in the window
    good: BoolArray  # all three thresholds met


class OnlineReception:
    """Per-cell, per-hour heard counts of one stream (vectorised updates and lookups)."""

    def __init__(self, config: ReceptionConfig | None = None) -> None:
        self.cfg = config or ReceptionConfig()
        r = self.cfg.ring_h
        self.codes: IntArray = np.empty(0, np.int64)  # sorted cell codes
        self.slot_of: IntArray = np.empty(0, np.int64)  # storage row of each sorted code
        self.hour: IntArray = np.full((0, r), -1, np.int64)  # absolute hour held by each ring slot
        self.good: IntArray = np.zeros((0, r), np.int64)
        self.poor: IntArray = np.zeros((0, r), np.int64)
        self.visits: IntArray = np.zeros((0, r), np.int64)
        self.first_hour: int | None = None  # the earliest hour of event time observed

    @property
    def cells(self) -> int:
        return len(self.codes)

    # -- update --------------------------------------------------------------------------------
    def _rows(self, codes: IntArray, create: bool) -> IntArray:
        """Storage rows of ``codes`` (-1 where unknown and not ``create``)."""
        out = np.full(len(codes), -1, np.int64)
        if len(codes) == 0:
            return out
        self._lookup(codes, out)
        if create:
            miss = (out < 0) & (codes >= 0)
            if miss.any():
                # only the codes not stored yet are sorted out (in a running feed, a few)
                new = np.unique(codes[miss])
                n0 = len(self.hour)
                r = self.cfg.ring_h
                self.hour = np.vstack([self.hour, np.full((len(new), r), -1, np.int64)])
                for name in ("good", "poor", "visits"):
                    setattr(self, name, np.vstack([getattr(self, name), np.zeros((len(new), r), np.int64)]))
                codes_all = np.concatenate([self.codes, new])
                slots_all = np.concatenate([self.slot_of, np.arange(n0, n0 + len(new), dtype=np.int64)])
                order = np.argsort(codes_all, kind="stable")
                self.codes, self.slot_of = codes_all[order], slots_all[order]
                sub = np.full(int(miss.sum()), -1, np.int64)
                self._lookup(codes[miss], sub)
                out[miss] = sub
        return out

    def _lookup(self, codes: IntArray, out: IntArray) -> None:
        """Write the storage row of each known code of ``codes`` into ``out``."""
        if len(self.codes) == 0:
            return
        i = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
        hit = (self.codes[i] == codes) & (codes >= 0)
        out[hit] = self.slot_of[i[hit]]

    def _add(self, name: str, rows: IntArray, hours: IntArray, weight: IntArray | None = None) -> None:
        if len(rows) == 0:
            return
        ring = self.cfg.ring_h
        slot = hours % ring
        # (row, slot) as one index into the flattened tables: 1-D ufunc.at takes NumPy's fast path
        flat = rows * ring + slot
        hour = _flat(self.hour)
        # A slot holding an older hour is recycled for the newer one; reports older than the slot's
        # hour (later than the ring) are dropped.
        before = hour[flat]
        np.maximum.at(hour, flat, hours)
        now = hour[flat]
        changed = now != before
        if changed.any():
            for n in ("good", "poor", "visits"):
                _flat(getattr(self, n))[flat[changed]] = 0
        keep = now == hours
        w = np.ones(len(rows), np.int64) if weight is None else weight
        np.add.at(_flat(getattr(self, name)), flat[keep], w[keep])

    def observe(
        self,
        lon: FloatArray,
        lat: FloatArray,
        t: FloatArray,
        plon: FloatArray,
        plat: FloatArray,
        pt: FloatArray,
    ) -> None:
        """Reports (``lon``, ``lat``, ``t``) and each one's previous report of the same vessel (NaN: none)."""
        if len(t) == 0:
            return
        c = self.cfg
        cur = cell_codes(lon, lat, COVERAGE_CELL_DEG)
        prev = cell_codes(plon, plat, COVERAGE_CELL_DEG)
        ok_t = np.isfinite(t)
        h = np.floor(np.where(ok_t, t, 0.0) / HOUR_S).astype(np.int64)
        has_prev = np.isfinite(pt) & (prev >= 0)
        ph = np.floor(np.where(has_prev, pt, 0.0) / HOUR_S).astype(np.int64)
        visit = ok_t & (cur >= 0) & ~(has_prev & (prev == cur) & (ph == h))
        dt = np.where(has_prev & ok_t, t - np.where(has_prev, pt, 0.0), np.nan)
        counted = np.isfinite(dt) & (dt >= 0) & (dt <= c.max_silence_s)
        good = counted & (dt <= c.good_interval_s)
        poor = counted & (dt > c.good_interval_s)
        if ok_t.any():
            h_min = int(h[ok_t].min())
            self.first_hour = h_min if self.first_hour is None else min(self.first_hour, h_min)
        rows_cur = self._rows(cur[visit], create=True)
        self._add("visits", rows_cur, h[visit])
        for name, mask in (("good", good), ("poor", poor)):
            rows = self._rows(prev[mask], create=True)
            self._add(name, rows, ph[mask])

    # -- lookups -------------------------------------------------------------------------------
    def _sum(self, name: str, codes: IntArray, h0: IntArray, h1: IntArray) -> IntArray:
        """Sum of ``name`` over hours h0 <= h < h1 (per row of ``codes``, which may be 2-D)."""
        shape = codes.shape
        flat = codes.reshape(len(codes), -1) if codes.ndim > 1 else codes[:, None]
        width = int(max(int((h1 - h0).max(initial=0)), 0))
        out = np.zeros(flat.shape, np.int64)
        if width == 0 or len(self.codes) == 0:
            return out.reshape(shape)
        rows = self._rows(flat.ravel(), create=False).reshape(flat.shape)
        arr = getattr(self, name)
        for k in range(min(width, self.cfg.ring_h)):
            hh = h0 + k
            live = hh < h1
            slot = hh % self.cfg.ring_h
            ok = (rows >= 0) & live[:, None]
            r = np.where(ok, rows, 0)
            s = np.broadcast_to(slot[:, None], r.shape)
            held = self.hour[r, s] == hh[:, None]
            out += np.where(ok & held, arr[r, s], 0)
        return out.reshape(shape)

    def established(self, t0: FloatArray, min_history_h: int) -> BoolArray:
        """Had the stream run ``min_history_h`` whole hours before the hour of each ``t0``?"""
        h0 = np.floor(np.nan_to_num(t0) / HOUR_S).astype(np.int64)
        if self.first_hour is None:
            return np.zeros(len(h0), dtype=bool)
        return np.asarray(h0 - self.first_hour >= min_history_h)

    def steady(self, lon: FloatArray, lat: FloatArray, t0: FloatArray) -> Steady:
        """Was each place steadily heard in the ``window_h`` whole hours before the hour of ``t0``?"""
        c = self.cfg
        codes = cell_codes(lon, lat, COVERAGE_CELL_DEG)
        h1 = np.floor(np.nan_to_num(t0) / HOUR_S).astype(np.int64)
        h0 = h1 - c.window_h
        nb = neighbour_codes(codes, 1)
        ring_visits = self._sum("visits", nb, h0, h1)
        heard = ring_visits > 0
        visits = ring_visits.sum(axis=1)
        g = self._sum("good", nb, h0, h1).sum(axis=1)
        p = self._sum("poor", nb, h0, h1).sum(axis=1)
        quality = np.where(g + p > 0, g / np.maximum(g + p, 1), np.nan)
        neighbours = heard.sum(axis=1) - heard[:, 4]
        good = (
            (visits >= c.min_visits)
            & (np.nan_to_num(quality) >= c.min_quality)
            & (neighbours >= c.min_neighbours)
        )
        return Steady(visits, quality, neighbours.astype(np.int64), good & (codes >= 0))

    def heard_during(self, lon: FloatArray, lat: FloatArray, t0: FloatArray, t1: FloatArray) -> IntArray:
        """Visits to the cell and its 8 neighbours in the whole hours strictly inside (t0, t1)."""
        codes = cell_codes(lon, lat, COVERAGE_CELL_DEG)
        h0 = np.floor(np.nan_to_num(t0) / HOUR_S).astype(np.int64) + 1
        h1 = np.floor(np.nan_to_num(t1) / HOUR_S).astype(np.int64)
        nb = neighbour_codes(codes, 1)
        return np.asarray(self._sum("visits", nb, h0, np.maximum(h1, h0)).sum(axis=1), dtype=np.int64)


def good_runs(good: BoolArray, first: BoolArray, carry: IntArray) -> IntArray:
    """Consecutive good intervals ending at each report, per run of one vessel's reports.

    ``good``: the interval to the previous report was normal; ``first``: the report opens its
    vessel's group in this batch; ``carry``: the run length before the batch (at group starts).
    """
    n = len(good)
    if n == 0:
        return np.empty(0, np.int64)
    idx = np.arange(n)
    mark = ~good | first
    last = np.maximum.accumulate(np.where(mark, idx, 0))
    base = np.where(good[last], carry[last] + 1, 0)  # a group start that was good continues its carry
    return np.asarray(base + (idx - last), dtype=np.int64)


def _flat(a: IntArray) -> IntArray:
    """A 1-D view of a C-contiguous table (raises rather than copy: writes must reach the table)."""
    if not a.flags.c_contiguous:
        raise ValueError("reception tables must be C-contiguous")
    return a.reshape(-1)
