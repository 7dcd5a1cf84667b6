"""Track-table rows as the map's JSON documents, column by column.

The live loop sends every moving track to the map twice a second; building each document from
NumPy scalars (one array access and one ``isfinite`` per field) cost more than the pipeline step
at 10,000 lines/s. Here each column is turned into a Python list once and the documents are
zipped from the lists. The output is the same as the row-by-row form
(:func:`mdacentre.service.trackdoc.detail_fields` documents the optional fields).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Level, iso
from mdacentre.model.trackid import format_track_key, track_id

AIR_KINDS = (int(TrackKind.AIRCRAFT), int(TrackKind.SAR_AIRCRAFT))


class GravityLike(Protocol):
    score: float
    level: Level
    reasons: list[str]


def _nums(col: npt.NDArray[Any], digits: int) -> list[float | None]:
    return [round(v, digits) if math.isfinite(v) else None for v in col.astype(np.float64).tolist()]


def _texts(col: npt.NDArray[Any]) -> list[str]:
    return [str(v) for v in col.tolist()]


def tracks_json(
    cols: Mapping[str, npt.NDArray[Any]],
    rows: npt.NDArray[np.int64],
    gravity: Mapping[int, GravityLike],
    default: GravityLike,
    flags: Callable[[npt.NDArray[Any], npt.NDArray[Any]], Sequence[str]],
    extra: Callable[[int, TrackKind], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The map's document of each row with a position (rows without one are left out).

    ``flags(kinds, idents)`` gives each track's flag; ``extra(key, kind)`` fields added last.
    """
    rows = rows[np.isfinite(cols["lat"][rows])]
    if not len(rows):
        return []
    kinds = cols["kind"][rows].tolist()
    idents = cols["ident"][rows].tolist()
    keys = cols["key"][rows].tolist()
    flag = [str(f) for f in flags(cols["kind"][rows], cols["ident"][rows])]
    names = _texts(cols["name"][rows])
    geo = {n: _nums(cols[n][rows], 6) for n in ("lat", "lon", "sog", "cog", "heading", "alt_ft")}
    times = cols["t"][rows].astype(np.float64).tolist()
    ship = cols["ship_type"][rows].tolist()
    air = np.isin(cols["kind"][rows], AIR_KINDS)
    detail = _details(cols, rows, air)
    out: list[dict[str, Any]] = []
    for i, k in enumerate(kinds):
        kind = TrackKind(k)
        g = gravity.get(int(keys[i]))
        score, level, reasons = (
            (g.score, g.level, g.reasons) if g is not None else (default.score, default.level, [])
        )
        st = int(ship[i])
        out.append(
            {
                "key": format_track_key(kind, idents[i]),
                "kind": kind.label,
                "id": track_id(kind, idents[i]),
                "name": names[i] or None,
                "lat": geo["lat"][i],
                "lon": geo["lon"][i],
                "sog": geo["sog"][i],
                "cog": geo["cog"][i],
                "heading": geo["heading"][i],
                "alt_ft": geo["alt_ft"][i],
                "t": iso(times[i]),
                "flag": flag[i] or None,
                "ship_type": st if st >= 0 else None,
                "score": score,
                "level": level.label,
                "reasons": reasons,
                **detail[i],
                **(extra(int(keys[i]), kind) if extra is not None else {}),
            }
        )
    return out


def _details(
    cols: Mapping[str, npt.NDArray[Any]], rows: npt.NDArray[np.int64], air: npt.NDArray[np.bool_]
) -> list[dict[str, Any]]:
    """The optional identity, voyage and aircraft fields of each row (known values only)."""
    out: list[dict[str, Any]] = [{} for _ in range(len(rows))]
    ai = np.flatnonzero(air).tolist()
    if ai:
        r = rows[air]
        squawk = cols["squawk"][r].tolist()
        vrate = _nums(cols["vrate_fpm"][r], 0)
        ground = cols["on_ground"][r].tolist()
        for j, i in enumerate(ai):
            d = out[i]
            if squawk[j] >= 0:
                d["squawk"] = f"{int(squawk[j]):04d}"
            if vrate[j] is not None:
                d["vrate_fpm"] = vrate[j]
            if ground[j] >= 0:
                d["on_ground"] = bool(ground[j])
    vi = np.flatnonzero(~air).tolist()
    if vi:
        r = rows[~air]
        texts = {n: _texts(cols[n][r]) for n in ("callsign", "destination", "eta")}
        imo = cols["imo"][r].tolist()
        size = {n: _nums(cols[n][r], 1) for n in ("length_m", "beam_m", "draught_m")}
        for j, i in enumerate(vi):
            d = out[i]
            for n in ("callsign", "destination", "eta"):
                text = texts[n][j].strip()
                if text:
                    d[n] = text
            if imo[j]:
                d["imo"] = str(int(imo[j]))
            for n in ("length_m", "beam_m", "draught_m"):
                v = size[n][j]
                if v is not None and v > 0:
                    d[n] = v
    return out
