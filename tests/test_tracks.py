"""Track table bookkeeping against a plain row-by-row model, on random batches."""

from __future__ import annotations

import math

import numpy as np

from mdacentre.core.tracks import TrackTable
from mdacentre.model.batch import TrackKind, empty_positions, empty_statics, make_key


def test_counts_and_times_match_a_row_by_row_model() -> None:
    rng = np.random.default_rng(11)
    table = TrackTable(capacity=16)
    model: dict[int, dict[str, float]] = {}
    for _batch in range(30):
        n = int(rng.integers(0, 60))
        ident = rng.integers(1, 25, n)
        pos = empty_positions(n)
        pos["kind"] = TrackKind.VESSEL
        pos["ident"] = ident
        pos["key"] = make_key(TrackKind.VESSEL, ident)
        pos["t"] = rng.uniform(0, 1000, n).round(1)
        pos["lat"] = rng.uniform(10, 20, n)
        pos["lon"] = rng.uniform(-70, -60, n)
        m = int(rng.integers(0, 10))
        sident = rng.integers(1, 25, m)
        st = empty_statics(m)
        st["kind"] = TrackKind.VESSEL
        st["ident"] = sident
        st["key"] = make_key(TrackKind.VESSEL, sident)
        st["t"] = rng.uniform(0, 1000, m).round(1)
        # the model: late positions (older than the track's latest position) are not counted
        for key in sorted(set(pos["key"].tolist())):
            rows = sorted(pos["t"][pos["key"] == key].tolist())
            rec = model.setdefault(
                key, {"n": 0, "t": -math.inf, "first": math.inf, "last": -math.inf, "st": -math.inf}
            )
            ok = [t for t in rows if not t < rec["t"]]
            rec["n"] += len(ok)
            if ok:
                rec["t"] = max(rec["t"], ok[-1])
                rec["first"] = min(rec["first"], ok[0])
                rec["last"] = max(rec["last"], ok[-1])
        for key, t in zip(st["key"].tolist(), st["t"].tolist(), strict=True):
            rec = model.setdefault(
                key, {"n": 0, "t": -math.inf, "first": math.inf, "last": -math.inf, "st": -math.inf}
            )
            rec["st"] = max(rec["st"], t)
            rec["first"] = min(rec["first"], t)
            rec["last"] = max(rec["last"], t)
        table.update(pos, st)
    keys = np.array(sorted(model), dtype=np.int64)
    rows = table.lookup(keys)
    c = table.cols
    for key, row in zip(keys.tolist(), rows.tolist(), strict=True):
        rec = model[key]
        assert c["n_positions"][row] == rec["n"], key
        assert c["first_t"][row] == rec["first"] and c["last_t"][row] == rec["last"], key
        if rec["st"] > -math.inf:
            assert c["static_t"][row] == rec["st"], key
        if rec["t"] > -math.inf:
            assert c["t"][row] == rec["t"], key


def test_watch_names_normalised_as_str_split_would() -> None:
    from mdacentre.risk.conditions import normalise_names

    values = [
        " ab  c ",
        "x",
        "a\tb",
        "é  e",
        "a \n b",
        "a\u00a0 b",
        "q\x0b\x0bw",
        "a b",
        "",
        "a\u3000b",
        "sea   star",
    ]
    expected = [" ".join(v.upper().split()) for v in values]
    assert normalise_names(values).tolist() == expected
    assert normalise_names([]).tolist() == []
