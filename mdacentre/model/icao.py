"""Flag state of an aircraft from its ICAO 24-bit address, vectorised.

ICAO Annex 10, Volume III, Part I, Chapter 9 allocates each State a block of 24-bit aircraft addresses
(United States A00000-AFFFFF, Jamaica 0BE000-0BEFFF, ...). ``data/icao_blocks.csv`` holds the blocks
as hex ranges with the State's ISO 3166-1 alpha-2 code (see ``data/SOURCES.md``). An address outside
every block (ICAO's temporary and special-use blocks, unallocated space) has no flag: ``''``.
Territories use their State's block (Cayman Islands, Puerto Rico: GB, US).
"""

from __future__ import annotations

import csv
import functools

import numpy as np
import numpy.typing as npt

from mdacentre.model.errors import ConfigError
from mdacentre.model.mid import DATA_DIR


@functools.cache
def _blocks() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.str_]]:
    starts: list[int] = []
    ends: list[int] = []
    codes: list[str] = []
    with (DATA_DIR / "icao_blocks.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            a, b = int(row["start"], 16), int(row["end"], 16)
            if b < a or (ends and a <= ends[-1]):
                raise ConfigError(f"icao_blocks.csv: block {row['start']}-{row['end']} is out of order")
            starts.append(a)
            ends.append(b)
            codes.append(row["alpha2"].strip())
    return (
        np.asarray(starts, dtype=np.int64),
        np.asarray(ends, dtype=np.int64),
        np.asarray(codes, dtype="<U2"),
    )


def icao_flags(addresses: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """The alpha-2 code of the State each ICAO address is allocated to ('' when none)."""
    a = np.asarray(addresses, dtype=np.int64)
    starts, ends, codes = _blocks()
    i = np.searchsorted(starts, a, side="right") - 1
    ok = (i >= 0) & (a <= ends[np.maximum(i, 0)])
    return np.where(ok, codes[np.maximum(i, 0)], "")
