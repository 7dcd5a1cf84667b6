"""One row per record when a day's files are merged: replays of the same recording are recorded once.

Rows are equal when they agree on the table's identity columns (:data:`schema.IDENTITY`: for a
position the track, the event time, the message type and the fix). The merged table is sorted by the
table's sort keys, then by the rest of the identity, so equal rows sit next to each other and one
vectorised comparison of neighbours finds them (floats are compared by their bits, so NaN equals NaN).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from mdacentre.sinks.archive.schema import IDENTITY, SORT_KEYS, Table


def _column(table: pa.Table, name: str) -> npt.NDArray[np.generic]:
    col = table.column(name).combine_chunks()
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.int64())
    if pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    arr: npt.NDArray[np.generic] = col.to_numpy(zero_copy_only=False)
    if arr.dtype.kind == "f":
        return np.ascontiguousarray(arr).view(np.int64 if arr.dtype.itemsize == 8 else np.int32)
    return arr


def sort_keys(kind: Table) -> list[tuple[str, str]]:
    """The table's sort order followed by the rest of its identity columns."""
    keys = list(SORT_KEYS[kind])
    have = {k for k, _ in keys}
    return keys + [(c, "ascending") for c in IDENTITY[kind] if c not in have]


def dedupe_sorted(kind: Table, table: pa.Table) -> pa.Table:
    """``table`` sorted by :func:`sort_keys` with every repeated record dropped (the first one kept)."""
    table = table.sort_by(sort_keys(kind))
    n = table.num_rows
    if n < 2:
        return table
    differs = np.zeros(n - 1, dtype=bool)
    for name in IDENTITY[kind]:
        v = _column(table, name)
        differs |= np.asarray(v[1:] != v[:-1], dtype=bool)
    if differs.all():
        return table
    keep = np.concatenate(([True], differs))
    return table.filter(pa.array(keep))
