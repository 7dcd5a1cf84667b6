"""Backtest: the archive's positions and static reports through a pipeline built from another profiles file.

The archive is read day by day, in event-time order, and cut into batches of ``batch_s`` seconds of
event time, so that two runs over the same archive see the same batches and give the same alert ids
(ids derive from category, track, zone and start time). :func:`diff_alerts` compares two runs by
alert id: what a new profile set would have added, and what it would have removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mdacentre.alerting.alerts import Alert
from mdacentre.core.zones import load_library
from mdacentre.detect.registry import load_detectors
from mdacentre.model.batch import Batch, empty_positions, empty_statics, take_rows
from mdacentre.risk.profiles import load_profiles
from mdacentre.runtime.settings import Settings
from mdacentre.service.pipeline import Pipeline, PipelineConfig
from mdacentre.sinks.archive.schema import SCHEMAS, Table

Progress = Callable[[str, int, int], None]


def _days(root: Path, table: Table, t0: float | None, t1: float | None) -> list[str]:
    from datetime import UTC, datetime

    lo = datetime.fromtimestamp(t0, UTC).date().isoformat() if t0 is not None else ""
    hi = datetime.fromtimestamp(t1, UTC).date().isoformat() if t1 is not None else "9999"
    return sorted(
        d.name[4:] for d in (root / table.value).glob("day=*") if lo <= d.name[4:] <= hi and d.is_dir()
    )


def _read_day(root: Path, table: Table, day: str, t0: float | None, t1: float | None) -> pa.Table:
    files = sorted((root / table.value / f"day={day}").glob("*.parquet"))
    if not files:
        return SCHEMAS[table].empty_table()
    tbl = pq.read_table(files, schema=SCHEMAS[table])
    secs = pc.divide(tbl.column("t").cast(pa.int64()).cast(pa.float64()), 1e6)
    mask = None
    if t0 is not None:
        mask = pc.greater_equal(secs, t0)
    if t1 is not None:
        m1 = pc.less_equal(secs, t1)
        mask = m1 if mask is None else pc.and_(mask, m1)
    return tbl.filter(mask) if mask is not None else tbl


def _to_numpy(tbl: pa.Table, table: Table) -> np.ndarray:
    n = tbl.num_rows
    out = empty_positions(n) if table == Table.POSITIONS else empty_statics(n)
    out["t"] = tbl.column("t").cast(pa.int64()).to_numpy(zero_copy_only=False) / 1e6
    out["key"] = tbl.column("key").to_numpy(zero_copy_only=False)
    out["kind"] = (out["key"] >> 32).astype(np.uint8)
    out["ident"] = tbl.column("ident").to_numpy(zero_copy_only=False)
    names = set(out.dtype.names or ())
    for name in tbl.column_names:
        if name in names and name not in ("t", "key", "kind", "ident"):
            col = tbl.column(name)
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                out[name] = col.fill_null("").to_numpy(zero_copy_only=False).astype(out.dtype[name])
            else:
                out[name] = col.to_numpy(zero_copy_only=False)
    return out


def archive_batches(
    root: Path,
    t0: float | None = None,
    t1: float | None = None,
    *,
    batch_s: float = 60.0,
    progress: Progress | None = None,
) -> Iterator[Batch]:
    """The archive's positions and statics as pipeline batches of ``batch_s`` seconds of event time."""
    days = sorted(set(_days(root, Table.POSITIONS, t0, t1)) | set(_days(root, Table.STATICS, t0, t1)))
    for i, day in enumerate(days):
        pos = _to_numpy(_read_day(root, Table.POSITIONS, day, t0, t1), Table.POSITIONS)
        st = _to_numpy(_read_day(root, Table.STATICS, day, t0, t1), Table.STATICS)
        pos = take_rows(pos, np.argsort(pos["t"], kind="stable"))
        st = take_rows(st, np.argsort(st["t"], kind="stable"))
        if len(pos) or len(st):
            start = float(min(pos["t"][:1].min(initial=np.inf), st["t"][:1].min(initial=np.inf)))
            wp = np.floor((pos["t"] - start) / batch_s).astype(np.int64)
            ws = np.floor((st["t"] - start) / batch_s).astype(np.int64)
            windows = np.union1d(np.unique(wp), np.unique(ws))
            pb = np.searchsorted(wp, windows, side="left")
            pe = np.searchsorted(wp, windows, side="right")
            sb = np.searchsorted(ws, windows, side="left")
            se = np.searchsorted(ws, windows, side="right")
            for a, b, c, d in zip(pb.tolist(), pe.tolist(), sb.tolist(), se.tolist(), strict=True):
                yield Batch(positions=pos[a:b], statics=st[c:d])
        if progress is not None:
            progress(day, i + 1, len(days))


def run_backtest(
    settings: Settings,
    profiles_path: Path,
    root: Path,
    t0: float | None = None,
    t1: float | None = None,
    *,
    progress: Progress | None = None,
) -> list[Alert]:
    """Every alert version a pipeline with ``profiles_path`` (profiles and detectors) gives on the archive."""
    zones = load_library(settings.zones_dir)
    c = settings.core
    pipe = Pipeline(
        zones,
        load_profiles(profiles_path, zones),
        PipelineConfig(
            track_ttl_s=c.track_ttl_s, dwell_s=c.dwell_s, hysteresis_m=c.hysteresis_m, grid_deg=c.grid_deg
        ),
        detectors=load_detectors(profiles_path, zones),
    )
    out: list[Alert] = []
    for batch in archive_batches(root, t0, t1, progress=progress):
        out.extend(pipe.step(batch).alerts)
    return out


def diff_alerts(baseline: list[Alert], candidate: list[Alert]) -> tuple[list[Alert], list[Alert]]:
    """(added, removed): first versions of alerts whose id is only in the candidate / only in the baseline."""
    first_b = {a.id: a for a in baseline if a.version == 1}
    first_c = {a.id: a for a in candidate if a.version == 1}
    added = sorted((a for i, a in first_c.items() if i not in first_b), key=lambda a: (a.started, a.id))
    removed = sorted((a for i, a in first_b.items() if i not in first_c), key=lambda a: (a.started, a.id))
    return added, removed
