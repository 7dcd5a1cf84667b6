"""Scale of the history archive: write rate, bytes per position, and query times on a large archive.

The positions come from a demo feed made by the demo generator (``tools/demo_feed``; default the
bundled ``feeds/demo/caribbean_ais.nmea``), decoded once with the service's decoder, then laid over
many simulated days: the feed is repeated back to back to fill each day, and ``--copies`` fleets
per day are made from it, each with its own MMSIs and shifted by a fixed offset of up to a degree
(so that tracks do not coincide). The archive is written through the service's own writer
(``sinks/archive``: Arrow conversion, day split, zstd, atomic rename, compaction of closed days)::

    nice -n 10 python -m tools.archive_scale --out /tmp/scale --days 30 --copies 36

then prints the figures of docs/performance.md as JSON: write rate (positions/s, wall and CPU),
bytes per position on disk, one track's day and one zone's hour with DuckDB (``mdacentre history``),
first run and best of five.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from mdacentre.runtime.settings import repo_root

DAY = 86_400.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def decode_feed(path: Path) -> np.ndarray:
    from mdacentre.decode.registry import make_decoder
    from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
    from mdacentre.ingest.recordings import read_chunks
    from mdacentre.model.batch import concat_rows

    spec = FeedSpec(name=path.name, kind=FeedKind.AIS, transport=Transport.FILE, path=str(path))
    dec = make_decoder(spec, 0)
    parts = [
        dec.decode(ch.data, ch.receive_time).positions for ch in read_chunks(path, 0, path.stat().st_mtime)
    ]
    pos = concat_rows(parts)
    ok = np.isfinite(pos["lat"]) & np.isfinite(pos["lon"]) & np.isfinite(pos["t"])
    return pos[ok]


def day_template(pos: np.ndarray) -> np.ndarray:
    """The feed repeated back to back over one day (times from 0 to 86,400 s), each vessel its own index."""
    t0, span = float(pos["t"].min()), float(pos["t"].max() - pos["t"].min()) + 60.0
    reps = int(np.ceil(DAY / span))
    tiles = []
    for k in range(reps):
        p = pos.copy()
        p["t"] = p["t"] - t0 + k * span
        tiles.append(p[p["t"] < DAY])
    day = np.concatenate(tiles)
    _u, index = np.unique(day["ident"], return_inverse=True)
    day["ident"] = index.astype(np.uint32)  # vessel index 0..n-1, remapped per copy below
    return day[np.argsort(day["t"], kind="stable")]


def run(out: Path, days: int, copies: int, source: Path, flush_rows: int) -> dict[str, float]:
    from mdacentre.model.batch import make_key
    from mdacentre.sinks.archive.schema import Table, positions_table
    from mdacentre.sinks.archive.writer import ArchiveWriter

    template = day_template(decode_feed(source))
    n_vessels = int(template["ident"].max()) + 1
    rng = np.random.default_rng(42)
    shift = rng.uniform(-1.0, 1.0, size=(copies, 2))
    start = 1_767_225_600.0  # 2026-01-01T00:00Z
    if out.exists():
        shutil.rmtree(out)
    writer = ArchiveWriter(out, flush_s=3600.0, compact_parts=1_000_000)  # flushed below, by rows
    wall0, cpu0 = time.perf_counter(), _cpu()
    written = pending = 0
    for d in range(days):
        for c in range(copies):
            p = template.copy()
            p["t"] += start + d * DAY
            ident = 100_000_000 + c * 100_000 + p["ident"].astype(np.int64)
            p["ident"] = ident.astype(np.uint32)
            p["key"] = make_key(p["kind"], ident)
            p["lon"] += shift[c, 0]
            p["lat"] += shift[c, 1]
            writer.put(Table.POSITIONS, p, positions_table)
            pending += len(p)
            if pending >= flush_rows:
                written += writer.flush()
                pending = 0
        print(f"archive_scale: day {d + 1}/{days} written ({written + pending:,} positions)", file=sys.stderr)
    writer.close()
    wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    files = list((out / "positions").rglob("*.parquet"))
    nbytes = sum(f.stat().st_size for f in files)
    total = writer.rows_written["positions"]
    res = {
        "positions": float(total),
        "days": float(days),
        "tracks": float(n_vessels * copies),
        "files": float(len(files)),
        "bytes": float(nbytes),
        "bytes_per_position": round(nbytes / total, 2),
        "write_positions_per_s_wall": round(total / wall),
        "write_positions_per_s_cpu": round(total / cpu),
    }
    res.update(queries(out, start + (days // 2) * DAY))
    return res


def _timed(fn, reps: int = 5) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    times, n = [], 0
    for _ in range(reps):
        t = time.perf_counter()
        n = fn()
        times.append(time.perf_counter() - t)
    return times[0], min(times), n


def queries(root: Path, day_start: float) -> dict[str, float]:
    from mdacentre.core.zones import load_library
    from mdacentre.sinks.archive.query import History

    zones = {z.id: z for z in load_library(repo_root() / "geofences")}
    with History(root) as h:
        busiest = h.sql(
            "SELECT key, count(*) AS n FROM positions WHERE day = CAST(to_timestamp(?) AS DATE) "
            "GROUP BY key ORDER BY n DESC LIMIT 1",
            [day_start],
        )
        key = int(busiest.column("key")[0].as_py())
        first_t, best_t, n_t = _timed(lambda: h.track(key, day_start, day_start + DAY - 1e-6).num_rows)
        zone = zones["JM-ts"]
        hour = day_start + 12 * 3600.0
        first_z, best_z, n_z = _timed(lambda: h.area(None, zone.geometry, hour, hour + 3600.0).num_rows)
    return {
        "track_day_rows": float(n_t),
        "track_day_first_ms": round(first_t * 1000, 1),
        "track_day_best_ms": round(best_t * 1000, 1),
        "zone_hour_rows": float(n_z),
        "zone_hour_first_ms": round(first_z * 1000, 1),
        "zone_hour_best_ms": round(best_z * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="archive root to create (replaced if present)")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--copies", type=int, default=36, help="fleets per day made from the feed")
    ap.add_argument("--source", type=Path, default=repo_root() / "feeds" / "demo" / "caribbean_ais.nmea")
    ap.add_argument("--flush-rows", type=int, default=1_000_000, help="positions per flush (one file each)")
    ap.add_argument("--queries-only", action="store_true", help="only time the queries on --out")
    a = ap.parse_args(argv)
    if a.queries_only:
        print(json.dumps(queries(a.out, 1_767_225_600.0 + (a.days // 2) * DAY)))
        return 0
    print(json.dumps(run(a.out, a.days, a.copies, a.source, a.flush_rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
