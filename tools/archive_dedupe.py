"""What dropping repeated records costs when a day of the archive is merged (docs/performance.md).

One day of positions as in ``tools.archive_scale`` (the demo feed repeated over the day, ``--copies``
fleets with their own MMSIs: 30 copies give about 3.3 million positions, a day of the 100-million
archive), as the Arrow table the writer merges. Process CPU, best of ``--runs``:

* ``sort``: the merge's sort before idempotent replays (``key``, then ``t``);
* ``dedupe``: the merge now (sort by the identity columns, compare neighbours, drop repeats);
* ``dedupe_replayed_twice``: the same on the day recorded twice (twice the rows, half dropped)::

    nice -n 10 python -m tools.archive_dedupe --copies 30 --runs 3
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mdacentre.runtime.settings import repo_root
from tools.archive_scale import day_template, decode_feed


def one_day(copies: int, source: Path) -> pa.Table:
    from mdacentre.model.batch import make_key
    from mdacentre.sinks.archive.schema import positions_table

    template = day_template(decode_feed(source))
    rng = np.random.default_rng(42)
    shift = rng.uniform(-1.0, 1.0, size=(copies, 2))
    parts = []
    for c in range(copies):
        p = template.copy()
        p["t"] += 1_767_225_600.0
        ident = 100_000_000 + c * 100_000 + p["ident"].astype(np.int64)
        p["ident"] = ident.astype(np.uint32)
        p["key"] = make_key(p["kind"], ident)
        p["lon"] += shift[c, 0]
        p["lat"] += shift[c, 1]
        parts.append(positions_table(p))
    return pa.concat_tables(parts).combine_chunks()


def best_cpu(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(runs):
        c0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - c0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    from mdacentre.sinks.archive.dedupe import dedupe_sorted
    from mdacentre.sinks.archive.schema import SORT_KEYS, Table

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--source", type=Path, default=repo_root() / "feeds" / "demo" / "caribbean_ais.nmea")
    a = ap.parse_args(argv)
    day = one_day(a.copies, a.source)
    twice = pa.concat_tables([day, day]).combine_chunks()
    sort_s, _ = best_cpu(lambda: day.sort_by(SORT_KEYS[Table.POSITIONS]), a.runs)
    dedupe_s, kept = best_cpu(lambda: dedupe_sorted(Table.POSITIONS, day), a.runs)
    twice_s, kept2 = best_cpu(lambda: dedupe_sorted(Table.POSITIONS, twice), a.runs)
    out = {
        "positions": day.num_rows,
        "kept_once": kept.num_rows,
        "kept_replayed_twice": kept2.num_rows,
        "sort_cpu_s": round(sort_s, 3),
        "dedupe_cpu_s": round(dedupe_s, 3),
        "dedupe_replayed_twice_cpu_s": round(twice_s, 3),
        "dedupe_over_sort": round(dedupe_s / sort_s, 2),
        "dedupe_positions_per_cpu_s": round(day.num_rows / dedupe_s),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
