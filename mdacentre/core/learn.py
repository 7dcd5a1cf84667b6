"""Learn stopping places and receiver coverage from an archive of positions (whole columns, no per-row Python).

Stopping places, in the manner of GFW's anchorages: a vessel *stops* in a cell (about 550 m) when
it spends at least ``min_dwell_s`` there under ``stop_speed_kn`` (0.5 kn), the time between two
consecutive reports counting up to ``max_interval_s``. A cell's value is the number of distinct
vessels that stopped in it; the detectors call it a stopping place from a threshold on.

Coverage: every report marks the hour of day of its cell as heard and its vessel as heard there;
every pair of consecutive reports of a vessel counts as *good* when they are at most
``good_interval_s`` apart and *poor* when the silence was longer (but under ``max_silence_s``,
beyond which the pair says nothing about reception), attributed to the cell of the first report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mdacentre.core.context import (
    COVERAGE_CELL_DEG,
    STOP_CELL_DEG,
    WAIT_CELL_DEG,
    ContextArea,
    cell_codes,
    route_codes,
)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LearnConfig:
    stop_speed_kn: float = 0.5
    min_dwell_s: float = 1800.0
    max_interval_s: float = 900.0
    good_interval_s: float = 600.0
    max_silence_s: float = 6 * 3600.0
    margin_deg: float = 0.0  # grow the learned box by this much (0: the box of the reports)
    route_pass_gap_s: float = 3600.0  # back in a route cell after this long away: a new pass
    route_min_passes: int = 2  # (cell, vessel) pairs with fewer passes are not kept


def _distinct_per_cell(cells: IntArray, keys: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted unique cells and the number of distinct keys in each."""
    if len(cells) == 0:
        e = np.empty(0, np.int64)
        return e, e
    pairs = np.unique(np.stack([cells, keys]), axis=1)
    u, n = np.unique(pairs[0], return_counts=True)
    return u.astype(np.int64), n.astype(np.int64)


def _stops(
    cells: IntArray, key: IntArray, dwell: np.ndarray, min_dwell_s: float
) -> tuple[IntArray, IntArray]:
    """Cells and the distinct vessels that spent at least ``min_dwell_s`` stopped in each."""
    sel = dwell > 0
    if not sel.any():
        e = np.empty(0, np.int64)
        return e, e
    uniq, inv = np.unique(np.stack([cells[sel], key[sel]]), axis=1, return_inverse=True)
    total = np.bincount(inv.ravel(), weights=dwell[sel])
    long_enough = total >= min_dwell_s
    return _distinct_per_cell(uniq[0][long_enough], uniq[1][long_enough])


def _routes(
    key: IntArray, mmsi: IntArray, t: np.ndarray, lon: np.ndarray, lat: np.ndarray, c: LearnConfig
) -> tuple[IntArray, IntArray]:
    """Route cells of each vessel: (cell, vessel) codes and the passes it made through the cell.

    Positions are sorted by (key, t). A pass is a run of consecutive reports in one cell; two runs
    in the same cell less than ``route_pass_gap_s`` apart (jitter on a cell border) are one pass.
    """
    rc = route_codes(lon, lat, mmsi)[:, 0]
    n = len(rc)
    start = np.ones(n, dtype=bool)
    start[1:] = (key[1:] != key[:-1]) | (rc[1:] != rc[:-1])
    first = np.flatnonzero(start)
    last = np.append(first[1:] - 1, n - 1)
    rk, rcell, t0, t1 = key[first], rc[first], t[first], t[last]
    ok = rcell >= 0
    rk, rcell, t0, t1 = rk[ok], rcell[ok], t0[ok], t1[ok]
    o = np.lexsort((t0, rcell, rk))
    rk, rcell, t0, t1 = rk[o], rcell[o], t0[o], t1[o]
    new = np.ones(len(rk), dtype=bool)
    same = (rk[1:] == rk[:-1]) & (rcell[1:] == rcell[:-1])
    new[1:] = ~same | (t0[1:] - t1[:-1] >= c.route_pass_gap_s)
    codes, inv = np.unique(rcell, return_inverse=True)
    passes = np.bincount(inv.ravel(), weights=new).astype(np.int64)
    keep = passes >= c.route_min_passes
    return codes[keep].astype(np.int64), passes[keep]


def learn_area(
    name: str, pos: npt.NDArray[np.void], sources: list[str], config: LearnConfig | None = None
) -> ContextArea:
    """A :class:`ContextArea` from vessel positions (POSITION_DTYPE rows, any order)."""
    c = config or LearnConfig()
    ok = np.isfinite(pos["lat"]) & np.isfinite(pos["lon"]) & np.isfinite(pos["t"])
    p = pos[ok]
    p = p[np.lexsort((p["t"], p["key"]))]
    if len(p) == 0:
        return ContextArea(name, (0.0, 0.0, 0.0, 0.0), sources)
    key = p["key"].astype(np.int64)
    t = p["t"].astype(np.float64)
    lat = p["lat"].astype(np.float64)
    lon = p["lon"].astype(np.float64)
    same_next = np.zeros(len(p), dtype=bool)
    same_next[:-1] = key[1:] == key[:-1]
    dt_next = np.full(len(p), np.nan)
    dt_next[:-1] = t[1:] - t[:-1]
    dt_next[~same_next] = np.nan

    # stopping places
    sog = p["sog"].astype(np.float64)
    stopped = np.isfinite(sog) & (sog < c.stop_speed_kn)
    dwell = np.where(
        stopped & np.isfinite(dt_next), np.minimum(np.nan_to_num(dt_next), c.max_interval_s), 0.0
    )
    stop_codes, stop_vessels = _stops(cell_codes(lon, lat, STOP_CELL_DEG), key, dwell, c.min_dwell_s)
    wait_codes, wait_vessels = _stops(cell_codes(lon, lat, WAIT_CELL_DEG), key, dwell, c.min_dwell_s)

    # coverage
    ccell = cell_codes(lon, lat, COVERAGE_CELL_DEG)
    cov_codes, inv = np.unique(ccell, return_inverse=True)
    hour = (np.floor(t / 3600.0).astype(np.int64)) % 24
    hours = np.zeros(len(cov_codes), dtype=np.int64)
    for h in range(24):
        hit = np.unique(inv[hour == h])
        hours[hit] |= 1 << h
    _u, ves = _distinct_per_cell(ccell, key)
    counted = np.isfinite(dt_next) & (dt_next <= c.max_silence_s)
    good = np.bincount(inv[counted & (dt_next <= c.good_interval_s)], minlength=len(cov_codes))
    poor = np.bincount(inv[counted & (dt_next > c.good_interval_s)], minlength=len(cov_codes))
    rcodes, rpasses = _routes(key, p["ident"].astype(np.int64), t, lon, lat, c)
    m = c.margin_deg
    bbox = (float(lon.min()) - m, float(lat.min()) - m, float(lon.max()) + m, float(lat.max()) + m)
    return ContextArea(
        name=name,
        bbox=bbox,
        sources=sources,
        stop_codes=stop_codes,
        stop_vessels=stop_vessels,
        wait_codes=wait_codes,
        wait_vessels=wait_vessels,
        cov_codes=cov_codes.astype(np.int64),
        cov_hours=hours,
        cov_vessels=ves,
        cov_good=good.astype(np.int64),
        cov_poor=poor.astype(np.int64),
        route_codes=rcodes,
        route_passes=rpasses,
    )
