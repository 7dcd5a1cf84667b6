"""Identity, voyage and aircraft fields of one track-table row for the map's track panel.

Only known values are included (the page shows a dash for the others), so the per-track JSON the map
receives grows only by what the feeds actually reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mdacentre.model.batch import TrackKind


def _num(c: dict[str, np.ndarray], name: str, r: int, digits: int) -> float | None:
    v = float(c[name][r])
    return round(v, digits) if np.isfinite(v) else None


def detail_fields(c: dict[str, np.ndarray], r: int, kind: TrackKind) -> dict[str, Any]:
    """The optional fields of row ``r`` of the track table's columns ``c`` (known values only)."""
    out: dict[str, Any] = {}
    if kind in (TrackKind.AIRCRAFT, TrackKind.SAR_AIRCRAFT):
        sq = int(c["squawk"][r])
        if sq >= 0:
            out["squawk"] = f"{sq:04d}"
        vr = _num(c, "vrate_fpm", r, 0)
        if vr is not None:
            out["vrate_fpm"] = vr
        og = int(c["on_ground"][r])
        if og >= 0:
            out["on_ground"] = bool(og)
        return out
    for name in ("callsign", "destination", "eta"):
        text = str(c[name][r]).strip()
        if text:
            out[name] = text
    imo = int(c["imo"][r])
    if imo:
        out["imo"] = str(imo)
    for name in ("length_m", "beam_m", "draught_m"):
        v = _num(c, name, r, 1)
        if v is not None and v > 0:
            out[name] = v
    return out
