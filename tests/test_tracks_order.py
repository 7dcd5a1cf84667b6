"""The track table's batch order and rows against the plain definitions, on random batches.

The table sorts each batch by (key, time) with shortcuts (a batch already in time order is sorted by
key alone, each distinct key is looked up once, the vessels are a slice of the sorted batch); these
tests hold the shortcuts to ``np.lexsort`` over the valid rows, a lookup per report and a vessel mask.
"""

from __future__ import annotations

import numpy as np

from mdacentre.core.tracks import TrackTable
from mdacentre.model.batch import TrackKind, empty_positions, empty_statics, make_key


def _batch(rng: np.random.Generator, n: int, in_time_order: bool) -> np.ndarray:
    pos = empty_positions(n)
    kind = rng.choice([int(TrackKind.VESSEL), int(TrackKind.AIRCRAFT), int(TrackKind.BASE_STATION)], n)
    ident = rng.integers(1, 40, n)
    pos["kind"] = kind
    pos["ident"] = ident
    pos["key"] = make_key(kind, ident)
    t = rng.integers(0, 50, n).astype(np.float64)  # many equal times: the sort must be stable
    pos["t"] = np.sort(t) if in_time_order else t
    pos["lat"] = rng.uniform(10, 20, n)
    pos["lon"] = rng.uniform(-70, -60, n)
    pos["sog"] = np.arange(n)  # tells equal (key, t) reports apart
    pos["lat"][rng.random(n) < 0.05] = np.nan
    pos["t"][rng.random(n) < 0.02] = np.nan
    return pos


def test_sorted_batch_rows_and_vessels_match_the_plain_definitions() -> None:
    rng = np.random.default_rng(5)
    table = TrackTable(capacity=16)
    for step in range(40):
        n = int(rng.integers(0, 300))
        pos = _batch(rng, n, in_time_order=step % 2 == 0)
        m = int(rng.integers(0, 20))
        st = empty_statics(m)
        sident = rng.integers(1, 40, m)
        st["kind"] = TrackKind.VESSEL
        st["ident"] = sident
        st["key"] = make_key(TrackKind.VESSEL, sident)
        st["t"] = np.sort(rng.integers(0, 50, m).astype(np.float64)) if step % 3 else rng.uniform(0, 50, m)
        valid = np.isfinite(pos["lat"]) & np.isfinite(pos["lon"]) & np.isfinite(pos["t"])
        v = pos[valid]
        expect = v[np.lexsort((v["t"], v["key"]))]
        r0 = table.lookup(expect["key"])
        state_t = np.where(r0 >= 0, table.cols["t"][np.maximum(r0, 0)], np.nan)
        late = expect["t"] < np.nan_to_num(state_t, nan=-np.inf)

        up = table.update(pos, st)

        assert up.late == int(late.sum())
        assert up.positions.tobytes() == expect[~late].tobytes()
        assert np.array_equal(up.position_rows, table.lookup(up.positions["key"]))
        touched = np.unique(np.concatenate([table.lookup(v["key"]), table.lookup(st["key"])]))
        assert np.array_equal(up.rows, touched)

        vpos, vrows = up.vessels
        mask = up.positions["kind"] == int(TrackKind.VESSEL)
        assert vpos.tobytes() == up.positions[mask].tobytes()
        assert np.array_equal(vrows, up.position_rows[mask])
        assert vrows.dtype == np.int64
