"""Crash-safe GeoParquet writer: buffered Arrow tables -> one file per table and day, renamed into place.

Layout under the archive root (hive-style, readable unchanged by DuckDB, pyarrow.dataset,
dask-geopandas and Spark)::

    positions/day=2026-01-15/part-20260115T102233-000042-1a2b3c4d.parquet
    positions/day=2026-01-15/c-000001-9f8e7d6c.parquet        (compacted: sorted by key, then time)
    statics/ events/ alerts/ acks/

A file is written under a hidden temporary name (``.name.parquet.tmp``: every reader ignores
names starting with a dot and names not ending in ``.parquet``), synced, then renamed: a
reader or a crash never sees half a file. A background thread flushes what was buffered every
``flush_s`` seconds of wall clock, so a SIGKILL loses at most the last ``flush_s`` seconds (plus a
file being written at that moment, which is never visible).

Compaction merges the small files of one day into one. The merged file lists the files it
replaces in its metadata; they are deleted after the rename, and a start-up recovery deletes any
that a crash left behind, so no record is ever visible twice after recovery. Merging also drops
rows equal to one already there (:mod:`mdacentre.sinks.archive.dedupe`): a second replay of the same
recording into the same archive, or a replay after one that crashed half-way, records nothing twice
once the day is merged.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mdacentre.model.errors import ConfigError
from mdacentre.sinks.archive.dedupe import dedupe_sorted
from mdacentre.sinks.archive.schema import GEO_TABLES, SCHEMAS, Table, geo_metadata, table_times

log = logging.getLogger(__name__)

Converter = Callable[[Any], pa.Table]

REPLACES_KEY = b"mdacentre.replaces"
ROW_GROUP_ROWS = 128 * 1024
ZSTD_LEVEL = 3  # small files of an open day (written every flush_s)
ZSTD_LEVEL_COMPACT = 6  # merged files, written once: on the demo feed 24 bytes/position instead of 25
_US_PER_DAY = 86_400 * 1_000_000


def day_of(us: np.ndarray) -> np.ndarray:
    """Day numbers (days since the epoch) of microsecond timestamps."""
    return np.asarray(np.floor_divide(us, _US_PER_DAY), dtype=np.int64)


def day_label(day_number: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day_number))).isoformat()


def write_parquet_atomic(
    table: pa.Table,
    path: Path,
    kind: Table,
    extra_meta: dict[bytes, bytes] | None = None,
    level: int = ZSTD_LEVEL,
) -> int:
    """Write ``table`` to ``path`` through a hidden temporary file and an atomic rename. Returns bytes."""
    meta = dict(table.schema.metadata or {})
    if kind in GEO_TABLES:
        meta[b"geo"] = geo_metadata(table)
    if extra_meta:
        meta.update(extra_meta)
    table = table.replace_schema_metadata(meta)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        pq.write_table(
            table,
            fh,
            compression="zstd",
            compression_level=level,
            row_group_size=ROW_GROUP_ROWS,
            write_statistics=True,
        )
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path.stat().st_size


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ArchiveWriter:
    """Buffers Arrow tables by (table, day) and writes them out from a background thread."""

    def __init__(
        self, root: Path, *, flush_s: float = 5.0, retention_days: int = 0, compact_parts: int = 120
    ) -> None:
        if not flush_s > 0:
            raise ConfigError(f"archive.flush_s must be positive, not {flush_s}")
        if retention_days < 0:
            raise ConfigError(f"archive.retention_days must be 0 (keep all) or more, not {retention_days}")
        if compact_parts < 2:
            raise ConfigError(f"archive.compact_parts must be at least 2, not {compact_parts}")
        self.root = Path(root)
        self.flush_s = float(flush_s)
        self.retention_days = int(retention_days)
        self.compact_parts = int(compact_parts)
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._buf: dict[Table, list[tuple[Any, Converter | None]]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._open_days: set[tuple[Table, int]] = set()
        self.newest_day: int | None = None
        self.rows_written: dict[str, int] = {t.value: 0 for t in Table}
        self.bytes_written = 0
        self.files_written = 0
        self.errors = 0
        self.duplicates_dropped = 0  # rows equal to one already archived (a replay recorded twice)
        for t in Table:
            (self.root / t.value).mkdir(parents=True, exist_ok=True)
        recover(self.root)

    # -- buffering (called from the pipeline's thread) -------------------------------------------
    def put(self, kind: Table, payload: Any, convert: Converter | None = None) -> None:
        """Buffer rows of one table: an Arrow table, or a payload that ``convert`` turns into one.

        Conversion, splitting by event-time day, compression and writing all happen in the
        writer's thread at the next flush; NumPy payloads of one converter are concatenated first,
        so each flush converts once per table. The payload must not be changed after this call.
        """
        with self._lock:
            self._buf.setdefault(kind, []).append((payload, convert))

    def pending(self) -> int:
        """Buffered items (steps' worth of rows) not yet written."""
        with self._lock:
            return sum(len(v) for v in self._buf.values())

    @staticmethod
    def _materialise(items: list[tuple[Any, Converter | None]]) -> pa.Table:
        tables: list[pa.Table] = []
        run: list[np.ndarray] = []
        run_conv: Converter | None = None

        def close_run() -> None:
            if run and run_conv is not None:
                tables.append(run_conv(np.concatenate(run) if len(run) > 1 else run[0]))
            run.clear()

        for payload, conv in items:
            if conv is not None and isinstance(payload, np.ndarray):
                if conv is not run_conv:
                    close_run()
                    run_conv = conv
                run.append(payload)
                continue
            close_run()
            run_conv = None
            tables.append(conv(payload) if conv is not None else payload)
        close_run()
        tables = [t for t in tables if t.num_rows]
        if not tables:
            return pa.table({})
        return pa.concat_tables(tables).combine_chunks()

    # -- writing ------------------------------------------------------------------------------
    def start(self) -> ArchiveWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            try:
                self.flush()
            except Exception:  # the live service keeps running; the error is counted and logged
                self.errors += 1
                log.exception("archive flush failed")

    def flush(self) -> int:
        """Write what is buffered: one new file per (table, day). Returns the number of rows written."""
        with self._lock:
            buf, self._buf = self._buf, {}
        rows = 0
        with self._io_lock:
            touched: set[tuple[Table, int]] = set()
            for kind, items in sorted(buf.items()):
                tbl = self._materialise(items)
                if tbl.num_rows == 0:
                    continue
                days = day_of(table_times(tbl))
                lo, hi = int(days.min()), int(days.max())
                self.newest_day = hi if self.newest_day is None else max(self.newest_day, hi)
                for day in np.unique(days).tolist():
                    part = tbl if lo == hi else tbl.filter(pa.array(days == day))
                    d = self._day_dir(kind, int(day))
                    self._seq += 1
                    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
                    path = d / f"part-{stamp}-{self._seq:06d}-{uuid.uuid4().hex[:8]}.parquet"
                    self.bytes_written += write_parquet_atomic(part, path, kind)
                    self.files_written += 1
                    self.rows_written[kind.value] += part.num_rows
                    rows += part.num_rows
                    touched.add((kind, int(day)))
            self._open_days |= touched
            for kind, day in touched:
                d = self._day_dir(kind, day)
                parts = sorted(d.glob("part-*.parquet"))
                if len(parts) >= self.compact_parts:
                    self._compact(kind, d, parts)
            # A day two days behind the newest one is closed: merge its files into one.
            newest = self.newest_day
            for kind, day in sorted(self._open_days):
                if newest is not None and day < newest - 1:
                    self._open_days.discard((kind, day))
                    d = self._day_dir(kind, day)
                    self._compact(kind, d, sorted(d.glob("*.parquet")))
            self._apply_retention()
        return rows

    def _day_dir(self, kind: Table, day: int) -> Path:
        d = self.root / kind.value / f"day={day_label(day)}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _compact(self, kind: Table, d: Path, files: list[Path]) -> None:
        if len(files) < 2:
            return
        read = pq.read_table(files, schema=SCHEMAS[kind])
        tbl = dedupe_sorted(kind, read)
        self.duplicates_dropped += read.num_rows - tbl.num_rows
        self._seq += 1
        out = d / f"c-{self._seq:06d}-{uuid.uuid4().hex[:8]}.parquet"
        names = "\n".join(f.name for f in files).encode()
        self.bytes_written += write_parquet_atomic(tbl, out, kind, {REPLACES_KEY: names}, ZSTD_LEVEL_COMPACT)
        for f in files:
            f.unlink(missing_ok=True)
        _fsync_dir(d)

    def compact_all(self) -> None:
        """Merge every day folder that holds more than one file into one (sorted) file."""
        with self._io_lock:
            for kind in Table:
                for d in sorted((self.root / kind.value).glob("day=*")):
                    files = sorted(d.glob("*.parquet"))
                    if len(files) > 1:
                        self._compact(kind, d, files)

    def _apply_retention(self) -> None:
        if not self.retention_days or self.newest_day is None:
            return
        cutoff = day_label(self.newest_day - self.retention_days)
        for kind in Table:
            for d in (self.root / kind.value).glob("day=*"):
                if d.name[4:] < cutoff:
                    shutil.rmtree(d, ignore_errors=True)

    def close(self, compact: bool = True) -> None:
        """Stop the thread, write what is buffered, merge the small files."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        self.flush()
        if compact:
            self.compact_all()
        if self.duplicates_dropped:
            log.info(
                "archive: %d rows were already archived (a replay recorded again): kept once",
                self.duplicates_dropped,
            )

    def stats(self) -> dict[str, object]:
        return {
            "rows": dict(self.rows_written),
            "files": self.files_written,
            "bytes": self.bytes_written,
            "errors": self.errors,
            "duplicates_dropped": self.duplicates_dropped,
        }


def recover(root: Path) -> int:
    """Finish what a crash interrupted: drop temporary files, and files a compacted file replaces."""
    removed = 0
    for tmp in root.glob("*/day=*/.*.tmp"):
        tmp.unlink(missing_ok=True)
        removed += 1
    for merged in root.glob("*/day=*/c-*.parquet"):
        try:
            meta = pq.read_schema(merged).metadata or {}
        except (OSError, pa.ArrowInvalid):
            continue
        for name in meta.get(REPLACES_KEY, b"").decode().split("\n"):
            if name and (merged.parent / name).exists():
                (merged.parent / name).unlink()
                removed += 1
    return removed


def now_wall() -> float:
    return time.time()
