"""Decoded AIS archives (MarineCadastre CSV and GeoParquet, Danish Maritime Authority CSV) as column batches.

Files are read whole by Arrow (``pyarrow.csv`` multithreaded, ``pyarrow.parquet``) and turned into
:class:`~mdacentre.model.batch.Batch` columns without a Python loop over rows. Positions come out
sorted by event time; statics are written for each MMSI when its identity fields change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mdacentre.decode.archives import dma, marinecadastre
from mdacentre.decode.archives.build import time_slices, to_batch
from mdacentre.decode.archives.columns import norm_name
from mdacentre.ingest.recordings import ARCHIVE_FORMATS
from mdacentre.model.batch import Batch
from mdacentre.model.errors import MdaError
from mdacentre.model.rejects import Reject

GZIP_MAGIC = b"\x1f\x8b"


def _header(path: Path, gz: bool) -> list[str]:
    with pa.input_stream(str(path), compression="gzip" if gz else None) as fh:
        line = fh.read(1 << 16).split(b"\n", 1)[0]
    return [c.strip() for c in line.decode("utf-8", "replace").rstrip("\r").split(",")]


def read_table(path: Path) -> tuple[pa.Table, int]:
    """An archive file as an Arrow table (CSV, plain or gzip, with every column as text; or Parquet),
    and the number of CSV rows skipped for a wrong number of fields."""
    skipped = [0]

    def skip(_row: object) -> str:
        skipped[0] += 1
        return "skip"

    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
        if magic == b"PAR1":
            return pq.read_table(path), 0
        gz = magic[:2] == GZIP_MAGIC
        names = _header(path, gz)
        table = pacsv.read_csv(
            pa.input_stream(str(path), compression="gzip" if gz else None),
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=skip),
        )
        return table, skipped[0]
    except (OSError, pa.ArrowInvalid) as exc:
        raise MdaError(f"{path.name}: cannot read as a decoded AIS archive: {exc}") from exc


def read_archive(path: Path, feed: int = 0) -> Batch:
    """Every row of a MarineCadastre or DMA archive (CSV, CSV.gz, GeoParquet) as one time-sorted batch.

    Rows without a usable MMSI, time or position count as ``bad_value`` rejects, CSV rows with a
    wrong number of fields as ``bad_frame``.
    """
    table, skipped = read_table(path)
    names = [norm_name(n) for n in table.column_names]
    if marinecadastre.matches(names):
        rows = marinecadastre.rows_of(table)
    elif dma.matches(names):
        rows = dma.rows_of(table)
    else:
        raise MdaError(
            f"{path.name}: columns {table.column_names[:6]} are neither MarineCadastre "
            "(MMSI, BaseDateTime, ...) nor Danish Maritime Authority (# Timestamp, Type of mobile, MMSI, ...)"
        )
    b = to_batch(rows, feed)
    if skipped:
        b.rejects[Reject.BAD_FRAME.value] = skipped
        b.lines += skipped
    return b


def archive_batches(path: Path, feed: int = 0, rows: int = 1 << 16) -> Iterator[Batch]:
    """An archive as time-ordered batches of about ``rows`` positions each."""
    yield from time_slices(read_archive(path, feed), rows)


__all__ = ["ARCHIVE_FORMATS", "archive_batches", "read_archive", "read_table"]
