"""``mdacentre history sql|track|area|export`` and ``mdacentre backtest``: the analyst's view of the archive."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from mdacentre.cli.progress import JobProgress, forced
from mdacentre.model.errors import MdaError
from mdacentre.runtime.settings import Settings
from mdacentre.sinks.archive.query import (
    FORMATS,
    History,
    HistoryError,
    export_bytes,
    parse_time,
    parse_track,
)

SettingsFn = Callable[[argparse.Namespace], Settings]
PRINT_FORMATS = ("table", "csv", "json")


def archive_root(settings: Settings) -> Path:
    return settings.data_dir / settings.archive.dir


def _print(table: pa.Table, fmt: str, limit: int) -> None:
    out = sys.stdout
    if fmt == "csv":
        from mdacentre.sinks.archive.query import to_csv

        if "t" in table.column_names and pa.types.is_timestamp(table.schema.field("t").type):
            sys.stdout.buffer.write(to_csv(table))
        else:
            import pyarrow.csv as pcsv

            pcsv.write_csv(table, sys.stdout.buffer)
        return
    cols = [c for c in table.column_names if c != "geometry"]
    table = table.select(cols)
    if fmt == "json":
        import orjson

        for row in table.to_pylist():
            out.buffer.write(orjson.dumps(row, default=str, option=orjson.OPT_NAIVE_UTC) + b"\n")
        return
    import pandas as pd

    with pd.option_context("display.max_rows", limit, "display.max_columns", 40, "display.width", 200):
        df = table.slice(0, limit).to_pandas()
        print(df.to_string(index=False) if len(df) else "(no rows)")
    if table.num_rows > limit:
        print(f"... {table.num_rows - limit} more rows (use --format csv or --limit)", file=sys.stderr)


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise HistoryError(f"--bbox {text!r} must be W,S,E,N in degrees, e.g. -62,16,-60,18") from None
    return w, s, e, n


def _zone(settings: Settings, zone_id: str) -> Any:
    from mdacentre.core.zones import load_library

    for z in load_library(settings.zones_dir):
        if z.id == zone_id:
            return z.geometry
    raise HistoryError(f"no zone {zone_id!r} in {settings.zones_dir}")


def _days(root: Path, t0: float | None, t1: float | None) -> list[tuple[float, float]]:
    """(start, end) epoch seconds of each archived day of positions inside the window."""
    out: list[tuple[float, float]] = []
    for d in sorted((root / "positions").glob("day=*")):
        try:
            start = datetime.fromisoformat(d.name[4:]).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
        lo, hi = start, start + 86_400 - 1e-6
        if (t1 is not None and lo > t1) or (t0 is not None and hi < t0):
            continue
        out.append((lo if t0 is None else max(lo, t0), hi if t1 is None else min(hi, t1)))
    return out


def _export(
    h: History, settings: Settings, args: argparse.Namespace, root: Path, t0: float | None, t1: float | None
) -> bytes:
    """The export's rows read day by day (a progress step each), then encoded (the last step)."""
    days: list[tuple[float | None, float | None]] = [*_days(root, t0, t1)] or [(t0, t1)]
    key = parse_track(args.track) if args.track else None
    poly = _zone(settings, args.zone) if args.zone else None
    bbox = _bbox(args.bbox) if args.bbox else None
    title = args.track or args.zone or args.bbox
    parts: list[pa.Table] = []
    with JobProgress("export", total=len(days) + 1, enabled=forced(args)) as bar:
        for lo, hi in days:
            parts.append(h.track(key, lo, hi) if key is not None else h.area(bbox, poly, lo, hi))
            label = datetime.fromtimestamp(lo, UTC).date().isoformat() if lo is not None else "all"
            bar.step(f"{label}: {sum(p.num_rows for p in parts):,} positions")
        rows = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
        data = export_bytes(rows, args.format, f"mdacentre {title}")
        bar.step(f"{rows.num_rows:,} positions, {len(data):,} bytes of {args.format}")
    print(f"history export: {rows.num_rows} positions as {args.format}", file=sys.stderr)
    return data


def cmd_history(args: argparse.Namespace, settings_fn: SettingsFn) -> int:
    settings = settings_fn(args)
    root = archive_root(settings)
    if not root.is_dir():
        raise MdaError(f"no archive at {root}: run serve or replay with this --data-dir first")
    t0 = parse_time(getattr(args, "time_from", None))
    t1 = parse_time(getattr(args, "time_to", None), end=True)
    with History(root) as h:
        if args.history_cmd == "sql":
            _print(h.sql(args.query), args.format, args.limit)
        elif args.history_cmd == "track":
            key = parse_track(args.id)
            _print(h.events_of(key, t0, t1) if args.events else h.track(key, t0, t1), args.format, args.limit)
        elif args.history_cmd == "area":
            poly = _zone(settings, args.zone) if args.zone else None
            bbox = _bbox(args.bbox) if args.bbox else None
            _print(h.area(bbox, poly, t0, t1), args.format, args.limit)
        elif args.history_cmd == "export":
            data = _export(h, settings, args, root, t0, t1)
            if args.out:
                Path(args.out).write_bytes(data)
            else:
                sys.stdout.buffer.write(data)
    return 0


def cmd_backtest(args: argparse.Namespace, settings_fn: SettingsFn) -> int:
    from mdacentre.service.backtest import diff_alerts, run_backtest

    settings = settings_fn(args)
    root = archive_root(settings)
    if not root.is_dir():
        raise MdaError(f"no archive at {root}: run serve or replay with this --data-dir first")
    candidate = Path(args.profiles)
    baseline = Path(args.baseline) if args.baseline else settings.profiles
    t0 = parse_time(args.time_from)
    t1 = parse_time(args.time_to, end=True)

    bar = JobProgress("backtest", enabled=forced(args))

    def progress(label: str) -> Callable[[str, int, int], None]:
        def show(day: str, done: int, total: int) -> None:
            if not bar.shown:
                print(f"backtest {label}: day {day} ({done}/{total})", file=sys.stderr)
                return
            bar.set_total(2 * total)  # two passes over the days: baseline, then candidate
            bar.step(f"{label} {day}")

        return show

    with bar:
        base = run_backtest(settings, baseline, root, t0, t1, progress=progress("baseline"))
        cand = run_backtest(settings, candidate, root, t0, t1, progress=progress("candidate"))
    added, removed = diff_alerts(base, cand)
    for sign, alerts in (("+", added), ("-", removed)):
        for a in alerts:
            d = a.to_json()
            line = {"change": "added" if sign == "+" else "removed", **d}
            if args.json:
                print(json.dumps(line))
            else:
                zone = d["zone"]["id"] if d["zone"] else "-"
                print(
                    f"{sign} {d['id']} {d['started']} {d['category']:<20} {d['level']:<8} "
                    f"{d['track']['kind']}:{d['track']['id']} {zone} {'; '.join(d['reasons'])[:100]}"
                )
    summary = {
        "baseline": str(baseline),
        "candidate": str(candidate),
        "baseline_alerts": len({a.id for a in base}),
        "candidate_alerts": len({a.id for a in cand}),
        "added": len(added),
        "removed": len(removed),
    }
    print(json.dumps(summary), file=sys.stderr)
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None], settings_fn: SettingsFn) -> None:
    """Add ``history`` and ``backtest`` to the command line."""
    sp = sub.add_parser("history", help="query the archive (DuckDB): sql, track, area, export")
    hsub = sp.add_subparsers(dest="history_cmd", required=True)

    def window(p: argparse.ArgumentParser) -> None:
        common(p)
        p.add_argument(
            "--from", dest="time_from", help="start, ISO 8601 (e.g. 2026-01-15 or 2026-01-15T06:00Z)"
        )
        p.add_argument("--to", dest="time_to", help="end, ISO 8601 (a bare date means the end of that day)")

    def printing(p: argparse.ArgumentParser) -> None:
        p.add_argument("--format", choices=PRINT_FORMATS, default="table", help="output (default table)")
        p.add_argument("--limit", type=int, default=50, help="rows shown by --format table (default 50)")

    q = hsub.add_parser(
        "sql", help="SQL over the views positions, statics, events, alerts, acks (docs/history.md)"
    )
    common(q)
    q.add_argument("query")
    printing(q)
    q = hsub.add_parser("track", help="one track's positions (or --events) in a time window")
    window(q)
    q.add_argument("id", help="vessel:MMSI, aircraft:ICAO hex, or a bare MMSI / ICAO hex")
    q.add_argument("--events", action="store_true", help="the track's events instead of its positions")
    printing(q)
    q = hsub.add_parser("area", help="positions inside a bounding box or a zone in a time window")
    window(q)
    g = q.add_mutually_exclusive_group(required=True)
    g.add_argument("--bbox", help="W,S,E,N in degrees")
    g.add_argument("--zone", help="zone id of the library (geofences/)")
    printing(q)
    q = hsub.add_parser("export", help="a track or a zone's positions as csv, geojson, geoparquet or kml")
    window(q)
    g = q.add_mutually_exclusive_group(required=True)
    g.add_argument("--track", help="vessel:MMSI, aircraft:ICAO hex, or a bare id")
    g.add_argument("--zone", help="zone id of the library")
    g.add_argument("--bbox", help="W,S,E,N in degrees")
    q.add_argument("--format", choices=FORMATS, default="geojson")
    q.add_argument("--out", help="write here instead of stdout")
    q.add_argument("--progress", action="store_true", help="progress bar on stderr even when not a terminal")
    sp.set_defaults(func=lambda a: cmd_history(a, settings_fn))

    sp = sub.add_parser(
        "backtest", help="replay the archive with another profiles file; print alerts added and removed"
    )
    sp.add_argument("--config", help="settings TOML file (environment MDA_* overrides it)")
    sp.add_argument("--zones", help="zone library directory (default geofences/)")
    sp.add_argument("--data-dir", help="where the archive lives (default var/)")
    sp.add_argument("--profiles", required=True, help="the candidate profiles (and [detectors]) TOML")
    sp.add_argument(
        "--baseline", help="profiles to compare with (default: the service's geofences/profiles.toml)"
    )
    sp.add_argument("--from", dest="time_from", help="start, ISO 8601")
    sp.add_argument("--to", dest="time_to", help="end, ISO 8601")
    sp.add_argument("--json", action="store_true", help="one JSON line per added/removed alert")
    sp.add_argument("--progress", action="store_true", help="progress bar on stderr even when not a terminal")
    sp.set_defaults(func=lambda a: cmd_backtest(a, _backtest_settings(settings_fn)))


def _backtest_settings(settings_fn: SettingsFn) -> SettingsFn:
    """Settings without the candidate ``--profiles`` (it is not the service's profiles file)."""

    def fn(args: argparse.Namespace) -> Settings:
        ns = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "profiles"})
        return settings_fn(ns)

    return fn
