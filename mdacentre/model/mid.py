"""Flag state from the Maritime Identification Digits (MID) inside an MMSI, vectorised.

MMSI forms handled (ITU-R M.585), with ``M`` = MID digit and ``X`` = any digit:

* ``MMMXXXXXX`` ship station (first digit 2-7);
* ``0MMMXXXXX`` group of ships, ``00MMMXXXX`` coast station (leading zeros; as integers < 1e8);
* ``111MMMXXX`` SAR aircraft;
* ``8MMMXXXXX`` handheld VHF with DSC/GNSS;
* ``98MMMXXXX`` craft associated with a parent ship, ``99MMMXXXX`` aid to navigation;
* ``970XXXXXX`` AIS-SART, ``972XXXXXX`` man-overboard, ``974XXXXXX`` EPIRB-AIS: valid, but they
  carry no MID, so their flag is ``''``.

Data: ``data/mid.csv`` (ITU MARS table of MIDs) and ``data/mid_alpha2.csv`` (country names of
that table -> ISO 3166-1 alpha-2; overseas territories get their own code, e.g. Puerto Rico PR,
Cayman Islands KY, Aruba AW). A MID shared by several territories (306: Bonaire/Sint Eustatius/Saba,
Curaçao, Sint Maarten) gives the sovereign state (NL). See ``data/SOURCES.md``.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mdacentre.model.errors import ConfigError
from mdacentre.model.sets import isin

DATA_DIR = Path(__file__).resolve().parent / "data"
NO_MID = -1
_DEVICE_PREFIXES = (970, 972, 974)


@functools.cache
def _table() -> npt.NDArray[np.str_]:
    """Array of 1000 alpha-2 codes indexed by MID ('' where the MID is not assigned)."""
    names = _read_names()
    table = np.full(1000, "", dtype="<U2")
    with (DATA_DIR / "mid.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            name = row["Allocated_to"].strip()
            if name not in names:
                raise ConfigError(f"mid.csv: country {name!r} has no entry in mid_alpha2.csv; add one")
            mid, code = int(row["MID"]), names[name]
            if table[mid] and table[mid] != code:
                # a MID shared by several territories (306: BQ, CW, SX): report the sovereign state
                code = names.get(name.split(" - ")[0], "")
            table[mid] = code
    return table


def _read_names() -> dict[str, str]:
    with (DATA_DIR / "mid_alpha2.csv").open(encoding="utf-8", newline="") as fh:
        return {row["name"].strip(): row["alpha2"].strip() for row in csv.DictReader(fh)}


def mid_of(mmsi: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The MID of each MMSI according to its form, or -1 when the form carries none."""
    v = np.asarray(mmsi, dtype=np.int64)
    mid = np.full(v.shape, NO_MID, dtype=np.int64)
    first = v // 100_000_000
    ship = (first >= 2) & (first <= 7)
    mid[ship] = v[ship] // 1_000_000
    group = (v >= 10_000_000) & (v < 100_000_000)
    mid[group] = v[group] // 100_000
    coast = (v >= 1_000_000) & (v < 10_000_000)
    mid[coast] = v[coast] // 10_000
    sar = (v >= 111_000_000) & (v < 112_000_000)
    mid[sar] = (v[sar] // 1_000) % 1000
    handheld = first == 8
    mid[handheld] = (v[handheld] // 100_000) % 1000
    craft_aton = (v >= 980_000_000) & (v < 1_000_000_000)
    mid[craft_aton] = (v[craft_aton] // 10_000) % 1000
    return mid


def flag_states(mmsi: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """ISO 3166 alpha-2 flag of each MMSI (dtype ``<U2``), ``''`` when unknown."""
    mid = mid_of(mmsi)
    out = np.full(mid.shape, "", dtype="<U2")
    known = mid >= 0
    out[known] = _table()[mid[known]]
    return out


def invalid_mmsi(mmsi: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where an MMSI is not a 9-digit number of a known form or its MID is not assigned."""
    v = np.asarray(mmsi, dtype=np.int64)
    in_range = (v > 0) & (v < 1_000_000_000)
    device = isin(v // 1_000_000, _DEVICE_PREFIXES)
    flagged = flag_states(v) != ""
    return np.asarray(~(in_range & (device | flagged)))
