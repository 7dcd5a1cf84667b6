"""Arrow column helpers shared by the archive readers: names, numbers, times, codes.

Every helper works on whole Arrow columns (``pyarrow.compute``) or NumPy arrays; a value that
does not parse becomes null (then NaN / -1 / "" in the batch), never an exception, so one bad
row of a decoded archive costs that row's field, not the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

_NUMBER = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def norm_name(name: str) -> str:
    """Column name folded for matching: ``BaseDateTime``, ``base_date_time`` -> ``basedatetime``."""
    return _NON_ALNUM.sub("", name.lstrip("#").strip().lower())


def normalized(table: pa.Table) -> dict[str, pa.ChunkedArray]:
    """The table's columns by folded name (the first of two columns folding to one name wins)."""
    out: dict[str, pa.ChunkedArray] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        out.setdefault(norm_name(name), col)
    return out


def pick(cols: Mapping[str, pa.ChunkedArray], *names: str) -> pa.ChunkedArray | None:
    """The first of ``names`` (folded) present in ``cols``."""
    for n in names:
        if n in cols:
            return cols[n]
    return None


def as_float(col: pa.ChunkedArray | None, n: int) -> npt.NDArray[np.float64]:
    """A column as float64 with NaN for null or unparsable values (text or numeric input)."""
    if col is None:
        return np.full(n, np.nan)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        ok = pc.match_substring_regex(col, _NUMBER)
        col = pc.if_else(ok, pc.utf8_trim_whitespace(col), pa.scalar(None, col.type))
    elif pa.types.is_dictionary(col.type):
        return as_float(col.cast(pa.string()), n)
    arr = pc.cast(col, pa.float64(), safe=False)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def as_text(col: pa.ChunkedArray | None, n: int, width: int) -> npt.NDArray[np.str_]:
    """A text column, trimmed and cut to ``width`` characters, "" for null."""
    if col is None:
        return np.full(n, "", dtype=f"<U{width}")
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    col = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(pc.fill_null(col, "")), 0, width)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=f"<U{width}")


def as_epoch(col: pa.ChunkedArray | None, n: int, *fmts: str) -> npt.NDArray[np.float64]:
    """Event times in seconds since the epoch (UTC): timestamps as they are, text parsed with the
    first of ``fmts`` that fits each value."""
    if col is None:
        return np.full(n, np.nan)
    if pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        text = pc.utf8_trim_whitespace(col)
        parsed = pc.strptime(text, format=fmts[0], unit="s", error_is_null=True)
        for fmt in fmts[1:]:
            parsed = pc.coalesce(parsed, pc.strptime(text, format=fmt, unit="s", error_is_null=True))
        col = parsed
    if pa.types.is_timestamp(col.type):
        # naive archive times are UTC; a zoned timestamp casts to its UTC instant
        micros = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
        return np.asarray(micros.to_numpy(zero_copy_only=False), dtype=np.float64) / 1e6
    return as_float(col, n)


def map_codes(
    col: pa.ChunkedArray | None, n: int, code_of: Callable[[str], int], missing: int = -1
) -> npt.NDArray[np.int64]:
    """Text labels to integer codes, calling ``code_of`` once per distinct label (not per row)."""
    if col is None:
        return np.full(n, missing, dtype=np.int64)
    enc = pc.dictionary_encode(pc.fill_null(pc.cast(col, pa.string()), "")).combine_chunks()
    labels = enc.dictionary.to_pylist()
    table = np.array([code_of(str(s)) for s in labels] + [missing], dtype=np.int64)
    idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return table[idx] if len(idx) else np.full(n, missing, dtype=np.int64)


def int_or(values: npt.NDArray[np.float64], lo: float, hi: float, missing: int) -> npt.NDArray[np.int64]:
    """Whole numbers inside [lo, hi] as int64, ``missing`` elsewhere (NaN included)."""
    ok = np.isfinite(values) & (values >= lo) & (values <= hi)
    return np.where(ok, np.nan_to_num(values, nan=missing), missing).astype(np.int64)


def digits(col: pa.ChunkedArray | None, n: int) -> npt.NDArray[np.float64]:
    """The digits of a text column as a number (``IMO9344241`` -> 9344241), NaN without digits."""
    if col is None:
        return np.full(n, np.nan)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return as_float(col, n)
    return as_float(pc.replace_substring_regex(col, r"[^0-9]", ""), n)


def eta_text(col: pa.ChunkedArray | None, n: int, fmt: str) -> npt.NDArray[np.str_]:
    """An ETA column (text in ``fmt``) as AIS broadcasts it, ``MM-DD HH:MM``; "" unknown."""
    if col is None:
        return np.full(n, "", dtype="<U11")
    ts = pc.strptime(
        pc.utf8_trim_whitespace(pc.cast(col, pa.string())), format=fmt, unit="s", error_is_null=True
    )
    text = pc.fill_null(pc.strftime(ts, format="%m-%d %H:%M"), "")
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype="<U11")
