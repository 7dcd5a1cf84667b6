"""Column batches: the one data shape that flows from the decoders to the detectors.

A decoder turns frames into two NumPy structured arrays:

* :data:`POSITION_DTYPE` - one row per kinematic report (AIS 1/2/3/18/19/27/9/4/21,
  ADS-B airborne/surface position with the velocity last known for the aircraft);
* :data:`STATIC_DTYPE` - one row per identity/voyage report (AIS 5/19/24, type 8 DAC 1
  FI 25 cargo, ADS-B identification and squawk).

Missing values are NaN for floats and -1 (or 0 where stated) for integers, never None:
every later stage works on whole columns.

A track is identified by ``key = kind << 32 | ident`` (MMSI < 2**30, ICAO < 2**24),
so vessels and aircraft share one track table without collisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt


class TrackKind(IntEnum):
    """What a track is. Stored as ``u1`` in the ``kind`` column."""

    VESSEL = 1
    AIRCRAFT = 2
    BASE_STATION = 3
    AID_TO_NAVIGATION = 4
    SAR_AIRCRAFT = 5

    @property
    def label(self) -> str:
        return self.name.lower()


POSITION_DTYPE = np.dtype(
    [
        ("key", "<i8"),  # kind << 32 | ident
        ("kind", "u1"),  # TrackKind
        ("ident", "<u4"),  # MMSI or ICAO 24-bit address
        ("t", "<f8"),  # event time, seconds since the Unix epoch (UTC)
        ("lat", "<f8"),  # degrees, NaN if unknown
        ("lon", "<f8"),
        ("sog", "<f4"),  # knots, NaN if not available
        ("cog", "<f4"),  # degrees true, NaN if not available
        ("heading", "<f4"),  # degrees true, NaN if not available
        ("nav_status", "i1"),  # AIS navigational status 0-15, -1 unknown
        ("msg_type", "u1"),  # AIS message type; ADS-B: 100 + typecode
        ("alt_ft", "<f4"),  # aircraft barometric altitude in feet, NaN for vessels
        ("vrate_fpm", "<f4"),  # aircraft vertical rate ft/min, NaN if unknown
        ("squawk", "<i2"),  # decimal digits of the octal code (7700 -> 7700), -1 unknown
        ("on_ground", "i1"),  # 1 on ground, 0 airborne, -1 unknown
        ("feed", "<u2"),  # index of the feed the report came from
    ]
)

STATIC_DTYPE = np.dtype(
    [
        ("key", "<i8"),
        ("kind", "u1"),
        ("ident", "<u4"),
        ("t", "<f8"),
        ("msg_type", "u1"),
        ("name", "<U20"),  # vessel name or aircraft callsign, "" unknown
        ("callsign", "<U7"),  # radio call sign, "" unknown
        ("imo", "<u4"),  # IMO number, 0 unknown
        ("ship_type", "<i2"),  # AIS ship and cargo type 0-99, -1 unknown
        ("length_m", "<f4"),  # NaN unknown
        ("beam_m", "<f4"),
        ("draught_m", "<f4"),
        ("destination", "<U20"),
        ("eta", "<U11"),  # "MM-DD HH:MM" as broadcast, "" unknown
        ("imdg_class", "<f4"),  # IMDG class from DAC 1 FI 25 (e.g. 7.0 radioactive), NaN
        ("squawk", "<i2"),  # aircraft squawk, -1 unknown
        ("feed", "<u2"),
    ]
)

PositionArray = npt.NDArray[np.void]
StaticArray = npt.NDArray[np.void]


def _as_void(a: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
    """The rows of a structured array as opaque fixed-size items (same memory, no copy)."""
    return a.view(np.dtype((np.void, a.dtype.itemsize)))


def take_rows(a: npt.NDArray[np.void], index: npt.ArrayLike) -> npt.NDArray[np.void]:
    """``a[index]`` for a structured array, copied as whole rows.

    NumPy copies structured rows field by field in fancy indexing, masking and concatenation
    (10-30x slower than moving the same bytes); these helpers move opaque rows instead.
    """
    idx = np.asarray(index)
    if idx.dtype == np.bool_:
        picked: npt.NDArray[np.void] = _as_void(a)[idx].view(a.dtype)
        return picked
    return np.take(_as_void(a), idx.astype(np.intp, copy=False)).view(a.dtype)


def concat_rows(arrays: list[npt.NDArray[np.void]]) -> npt.NDArray[np.void]:
    """``np.concatenate`` of structured arrays of one dtype, copied as whole rows."""
    if not arrays:
        raise ValueError("concat_rows needs at least one array")
    dtype = arrays[0].dtype
    if any(a.dtype != dtype for a in arrays):
        return np.concatenate(arrays)
    return np.concatenate([_as_void(a) for a in arrays]).view(dtype)


def make_key(
    kind: int | npt.NDArray[np.integer], ident: int | npt.NDArray[np.integer]
) -> npt.NDArray[np.int64]:
    """Track key from kind and identity (works on scalars and arrays)."""
    return (np.asarray(kind, dtype=np.int64) << 32) | np.asarray(ident, dtype=np.int64)


def split_key(key: int) -> tuple[TrackKind, int]:
    """(kind, identity) of one track key; the inverse of :func:`make_key`."""
    return TrackKind(int(key) >> 32), int(key) & 0xFFFFFFFF


def empty_positions(n: int = 0) -> PositionArray:
    """A position array of ``n`` rows with every field set to its 'unknown' value."""
    a = np.zeros(n, dtype=POSITION_DTYPE)
    for name in ("lat", "lon", "sog", "cog", "heading", "alt_ft", "vrate_fpm"):
        a[name] = np.nan
    a["nav_status"] = -1
    a["squawk"] = -1
    a["on_ground"] = -1
    return a


def empty_statics(n: int = 0) -> StaticArray:
    """A static array of ``n`` rows with every field set to its 'unknown' value."""
    a = np.zeros(n, dtype=STATIC_DTYPE)
    for name in ("length_m", "beam_m", "draught_m", "imdg_class"):
        a[name] = np.nan
    a["ship_type"] = -1
    a["squawk"] = -1
    return a


@dataclass
class Batch:
    """What one decoding step hands to the track table: positions, statics, and rejects.

    ``rejects`` maps a reject reason (see :class:`mdacentre.model.rejects.Reject`) to a count,
    so that nothing that was refused disappears without trace.
    """

    positions: PositionArray = field(default_factory=empty_positions)
    statics: StaticArray = field(default_factory=empty_statics)
    rejects: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    # failures of the decoder itself (bugs, not bad input): counted apart from the rejects
    internal_errors: int = 0

    def __len__(self) -> int:
        return int(len(self.positions) + len(self.statics))

    @staticmethod
    def concat(batches: list[Batch]) -> Batch:
        rejects: dict[str, int] = {}
        for b in batches:
            for k, v in b.rejects.items():
                rejects[k] = rejects.get(k, 0) + v
        return Batch(
            positions=concat_rows([b.positions for b in batches]) if batches else empty_positions(),
            statics=concat_rows([b.statics for b in batches]) if batches else empty_statics(),
            rejects=rejects,
            lines=sum(b.lines for b in batches),
            internal_errors=sum(b.internal_errors for b in batches),
        )
