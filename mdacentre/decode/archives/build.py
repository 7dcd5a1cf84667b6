"""Archive rows (NumPy columns) to the project's column batches: positions, and statics when they change."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mdacentre.model.batch import (
    Batch,
    PositionArray,
    StaticArray,
    TrackKind,
    empty_positions,
    empty_statics,
    make_key,
    take_rows,
)
from mdacentre.model.rejects import Reject

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# identity and voyage fields: a static row is written when one of them changes for an MMSI
STATIC_FIELDS = (
    "name",
    "callsign",
    "imo",
    "ship_type",
    "length_m",
    "beam_m",
    "draught_m",
    "destination",
    "eta",
)


@dataclass
class ArchiveRows:
    """One decoded archive as columns of equal length (one entry per row of the file)."""

    mmsi: IntArray
    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    sog: FloatArray
    cog: FloatArray
    heading: FloatArray
    nav_status: IntArray
    kind: IntArray  # TrackKind
    class_b: npt.NDArray[np.bool_]
    name: npt.NDArray[np.str_]
    callsign: npt.NDArray[np.str_]
    imo: IntArray
    ship_type: IntArray
    length_m: FloatArray
    beam_m: FloatArray
    draught_m: FloatArray
    destination: npt.NDArray[np.str_]
    eta: npt.NDArray[np.str_]


def _positions(r: ArchiveRows, rows: IntArray, feed: int) -> PositionArray:
    pos = empty_positions(len(rows))
    kind = r.kind[rows]
    pos["kind"] = kind
    pos["ident"] = r.mmsi[rows]
    pos["key"] = make_key(kind, r.mmsi[rows])
    pos["t"] = r.t[rows]
    pos["lat"] = r.lat[rows]
    pos["lon"] = r.lon[rows]
    sog = r.sog[rows]
    pos["sog"] = np.where((sog >= 0) & (sog < 102.25), sog, np.nan)  # 102.3 = not available
    cog = r.cog[rows]
    pos["cog"] = np.where((cog >= 0) & (cog < 360.0), cog, np.nan)  # 360 = not available
    hdg = r.heading[rows]
    pos["heading"] = np.where((hdg >= 0) & (hdg < 360.0), hdg, np.nan)  # 511 = not available
    pos["nav_status"] = np.where(
        (r.nav_status[rows] >= 0) & (r.nav_status[rows] <= 15), r.nav_status[rows], -1
    )
    msg = np.where(r.class_b[rows], 18, 1)
    msg = np.where(kind == TrackKind.BASE_STATION, 4, msg)
    msg = np.where(kind == TrackKind.AID_TO_NAVIGATION, 21, msg)
    msg = np.where(kind == TrackKind.SAR_AIRCRAFT, 9, msg)
    pos["msg_type"] = msg
    pos["feed"] = feed
    return pos


def _statics(r: ArchiveRows, rows: IntArray, feed: int) -> StaticArray:
    """One static row per MMSI and change of its identity fields, in time order."""
    if len(rows) == 0:
        return empty_statics()
    order = rows[np.lexsort((r.t[rows], r.mmsi[rows]))]
    changed = np.ones(len(order), dtype=bool)
    changed[1:] = r.mmsi[order][1:] != r.mmsi[order][:-1]
    for name in STATIC_FIELDS:
        v = getattr(r, name)[order]
        if v.dtype.kind == "f":
            same = (v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1]))
        else:
            same = v[1:] == v[:-1]
        changed[1:] |= ~same
    sel = order[changed]
    has_any = (
        (r.name[sel] != "")
        | (r.callsign[sel] != "")
        | (r.imo[sel] > 0)
        | (r.ship_type[sel] >= 0)
        | np.isfinite(r.length_m[sel])
        | np.isfinite(r.draught_m[sel])
        | (r.destination[sel] != "")
    )
    sel = sel[has_any]
    st = empty_statics(len(sel))
    kind = r.kind[sel]
    st["kind"] = kind
    st["ident"] = r.mmsi[sel]
    st["key"] = make_key(kind, r.mmsi[sel])
    st["t"] = r.t[sel]
    st["msg_type"] = np.where(r.class_b[sel], 24, 5)
    for name in STATIC_FIELDS:
        st[name] = getattr(r, name)[sel]  # text columns are already cut to the field widths
    st["feed"] = feed
    return take_rows(st, np.argsort(st["t"], kind="stable"))


def to_batch(r: ArchiveRows, feed: int) -> Batch:
    """All rows of an archive as one batch sorted by event time; unusable rows are counted as rejects."""
    valid = (
        (r.mmsi > 0)
        & (r.mmsi <= 999_999_999)
        & np.isfinite(r.t)
        & np.isfinite(r.lat)
        & np.isfinite(r.lon)
        & (np.abs(r.lat) <= 90.0)
        & (np.abs(r.lon) <= 180.0)
    )
    identified = (r.mmsi > 0) & (r.mmsi <= 999_999_999) & np.isfinite(r.t)
    rows = np.flatnonzero(valid)
    pos = _positions(r, rows, feed)
    pos = take_rows(pos, np.argsort(pos["t"], kind="stable"))
    st = _statics(r, np.flatnonzero(identified), feed)
    bad = int(len(r.mmsi) - len(rows))
    return Batch(
        positions=pos, statics=st, rejects={Reject.BAD_VALUE.value: bad} if bad else {}, lines=len(r.mmsi)
    )


def time_slices(b: Batch, rows: int = 1 << 16) -> Iterator[Batch]:
    """A time-sorted batch cut into batches of about ``rows`` positions (statics follow their times)."""
    pos, st = b.positions, b.statics
    if len(pos) == 0:
        yield b
        return
    cuts = list(range(0, len(pos), rows)) + [len(pos)]
    s0 = 0
    for i, (a, z) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        last = i == len(cuts) - 2
        s1 = len(st) if last else int(np.searchsorted(st["t"], pos["t"][z - 1], side="right"))
        yield Batch(
            positions=pos[a:z],
            statics=st[s0:s1],
            rejects=b.rejects if i == 0 else {},
            lines=b.lines if i == 0 else 0,
        )
        s0 = s1
