"""The track picture at a past time, from the archive: each track's last position within a lookback.

A track is in the picture at time ``T`` when the archive holds a position of it in ``(T - lookback, T]``;
it is drawn where its last such position puts it, with the identity from its last static report of the
day before ``T`` and the gravest level of the alerts that were open at ``T`` (the latest archived
version of each alert at or before ``T``, still open or acknowledged). Nothing after ``T`` is read, so
stepping ``T`` forward plays the past forward as the map saw it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from mdacentre.model.batch import TrackKind
from mdacentre.model.errors import MdaError
from mdacentre.model.findings import Level, iso
from mdacentre.model.trackid import track_id
from mdacentre.sinks.archive.query import History

MAX_TRACKS = 20_000
STATIC_LOOKBACK_S = 86_400.0  # identity reports this old still name a track
_OPEN = ("open", "acknowledged")


def _num(v: Any, digits: int) -> float | None:
    if v is None:
        return None
    f = float(v)
    return round(f, digits) if math.isfinite(f) else None


def past_picture(
    root: Path,
    at: float,
    lookback_s: float,
    flags: Any = None,
    limit: int = MAX_TRACKS,
) -> dict[str, Any]:
    """``{"at", "lookback_s", "tracks": [...], "truncated"}``; tracks shaped like the live map's.

    ``flags(kinds, idents) -> list[str]`` names each track's flag state (MID or ICAO block)."""
    t0 = at - lookback_s
    with History(root) as h:
        src = h._source("positions", t0, at)
        w, p = h._window(t0, at)
        pos = h.sql(
            "SELECT key, any_value(kind)::VARCHAR AS kind, any_value(ident) AS ident, "
            "epoch(max(t)) AS t, arg_max(lat, t) AS lat, arg_max(lon, t) AS lon, arg_max(sog, t) AS sog, "
            "arg_max(cog, t) AS cog, arg_max(heading, t) AS heading, arg_max(alt_ft, t) AS alt_ft, "
            "arg_max(vrate_fpm, t) AS vrate_fpm, arg_max(squawk, t) AS squawk, "
            "arg_max(on_ground, t) AS on_ground "
            f"FROM {src} WHERE {w} AND t > to_timestamp(?) AND lat IS NOT NULL AND lon IS NOT NULL "
            "GROUP BY key ORDER BY max(t) DESC LIMIT ?",
            [*p, t0, limit + 1],
        ).to_pylist()
        s0 = at - max(lookback_s, STATIC_LOOKBACK_S)
        ss, sp = h._window(s0, at)
        statics = {
            r["key"]: r
            for r in h.sql(
                "SELECT key, arg_max(name, t) FILTER (WHERE name <> '') AS name, "
                "arg_max(callsign, t) FILTER (WHERE callsign <> '') AS callsign, "
                "arg_max(imo, t) FILTER (WHERE imo > 0) AS imo, "
                "arg_max(ship_type, t) FILTER (WHERE ship_type >= 0) AS ship_type, "
                "arg_max(destination, t) FILTER (WHERE destination <> '') AS destination "
                f"FROM {h._source('statics', s0, at)} WHERE {ss} GROUP BY key",
                sp,
            ).to_pylist()
        }
        aw, ap = h._window(at - STATIC_LOOKBACK_S, at)
        levels: dict[int, tuple[int, list[str]]] = {}
        for r in h.sql(
            "SELECT key, arg_max(status, version) AS status, arg_max(level, version) AS level, "
            "arg_max(category, version) AS category "
            f"FROM {h._source('alerts', at - STATIC_LOOKBACK_S, at)} WHERE {aw} GROUP BY id, key",
            ap,
        ).to_pylist():
            if r["status"] not in _OPEN:
                continue
            try:
                rank = int(Level.parse(str(r["level"])))
            except MdaError:
                continue
            best, cats = levels.get(r["key"], (int(Level.INFO), []))
            levels[r["key"]] = (max(best, rank), [*cats, str(r["category"])])
    truncated = len(pos) > limit
    pos = pos[:limit]
    kinds = [TrackKind[str(r["kind"]).upper()] for r in pos]
    idents = np.asarray([int(r["ident"]) for r in pos], dtype=np.int64)
    names = flags(kinds, idents) if flags is not None and len(pos) else [""] * len(pos)
    tracks: list[dict[str, Any]] = []
    for r, kind, flag in zip(pos, kinds, names, strict=True):
        ident = int(r["ident"])
        tid = track_id(kind, ident)
        st = statics.get(r["key"], {})
        rank, cats = levels.get(r["key"], (int(Level.INFO), []))
        doc: dict[str, Any] = {
            "key": f"{kind.label}:{tid}",
            "kind": kind.label,
            "id": tid,
            "name": st.get("name") or None,
            "lat": _num(r["lat"], 6),
            "lon": _num(r["lon"], 6),
            "sog": _num(r["sog"], 1),
            "cog": _num(r["cog"], 1),
            "heading": _num(r["heading"], 1),
            "alt_ft": _num(r["alt_ft"], 0),
            "t": iso(float(r["t"])),
            "flag": flag or None,
            "ship_type": st.get("ship_type"),
            "level": Level(rank).label,
            "score": 0,
            "reasons": [f"open at that time: {c}" for c in cats],
        }
        for name in ("callsign", "destination"):
            if st.get(name):
                doc[name] = st[name]
        if st.get("imo"):
            doc["imo"] = str(st["imo"])
        if r["squawk"] is not None and int(r["squawk"]) >= 0:
            doc["squawk"] = f"{int(r['squawk']):04d}"
        vr = _num(r["vrate_fpm"], 0)
        if vr is not None:
            doc["vrate_fpm"] = vr
        if r["on_ground"] is not None and int(r["on_ground"]) >= 0:
            doc["on_ground"] = bool(r["on_ground"])
        tracks.append(doc)
    return {"at": iso(at), "lookback_s": lookback_s, "tracks": tracks, "truncated": truncated}
