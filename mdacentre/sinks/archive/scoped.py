"""Archive reads for the REST API, cut to what one principal may see (:mod:`mdacentre.alerting.jurisdiction`).

``within=None`` is the whole picture (watch officers, analysts); a :class:`Jurisdiction` keeps a
liaison's agency's positions, events and alert versions only. A track with nothing in the
jurisdiction answers an empty collection, the same as a track that was never recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from mdacentre.alerting.jurisdiction import ALERT_MARGIN_S, Jurisdiction
from mdacentre.sinks.archive.query import MAX_POINTS, History, to_geojson

MAX_ALERTS = 5000


def _seconds(table: pa.Table, name: str) -> npt.NDArray[np.float64]:
    us = table.column(name).cast(pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray(us, dtype=np.float64) / 1e6


def routed_mask(alerts: pa.Table, within: Jurisdiction) -> npt.NDArray[np.bool_]:
    """Which alert versions go to the jurisdiction's agency (one routing decision per distinct key)."""
    if alerts.num_rows == 0:
        return np.zeros(0, dtype=bool)
    keys = list(
        zip(
            alerts.column("state").to_pylist(),
            alerts.column("category").to_pylist(),
            alerts.column("level").to_pylist(),
            strict=True,
        )
    )
    decided = {k: within.routed(*k) for k in set(keys)}
    return np.fromiter((decided[k] for k in keys), dtype=bool, count=len(keys))


def alert_windows(h: History, key: int, within: Jurisdiction) -> list[tuple[float, float]]:
    """Time spans (epoch s) of the track's alerts routed to the agency, widened by the margin."""
    rows = h.sql(
        "SELECT id, min(started) AS started, max(t) AS last FROM alerts WHERE key = ? GROUP BY id",
        [key],
    )
    if rows.num_rows == 0:
        return []
    # an alert is routed when any of its versions is (a level may rise between versions)
    every = h.sql("SELECT id, state, category, level FROM alerts WHERE key = ?", [key])
    ok_ids = {
        i for i, ok in zip(every.column("id").to_pylist(), routed_mask(every, within), strict=True) if ok
    }
    start, last = _seconds(rows, "started"), _seconds(rows, "last")
    return [
        (float(s) - ALERT_MARGIN_S, float(e) + ALERT_MARGIN_S)
        for i, s, e in zip(rows.column("id").to_pylist(), start, last, strict=True)
        if i in ok_ids
    ]


def _visible(table: pa.Table, within: Jurisdiction, windows: list[tuple[float, float]]) -> pa.Table:
    if table.num_rows == 0 or within.everywhere:
        return table
    mask = within.inside(
        table.column("lon").to_numpy(zero_copy_only=False), table.column("lat").to_numpy(zero_copy_only=False)
    )
    if windows:
        t = _seconds(table, "t")
        for lo, hi in windows:
            mask |= (t >= lo) & (t <= hi)
    return table.filter(pa.array(mask))


def track_history(
    root: Path, key: int, t0: float | None, t1: float | None, within: Jurisdiction | None = None
) -> dict[str, Any]:
    """The REST trail of one track (GeoJSON of timed points, then events), cut to ``within``."""
    with History(root) as h:
        pts = h.track(key, t0, t1)
        ev = h.events_of(key, t0, t1)
        if within is not None and not within.everywhere:
            windows = alert_windows(h, key, within)
            pts, ev = _visible(pts, within, windows), _visible(ev, within, windows)
    if pts.num_rows > MAX_POINTS:
        pts = pts.slice(pts.num_rows - MAX_POINTS)
    return to_geojson(pts, ev)


def alert_history(
    root: Path,
    t0: float | None,
    t1: float | None,
    within: Jurisdiction | None = None,
    limit: int = MAX_ALERTS,
) -> list[dict[str, Any]]:
    """Archived alert versions (their MQTT payloads) in a time window, newest first, cut to ``within``."""
    with History(root) as h:
        w, p = h._window(t0, t1)
        rows = h.sql(
            f"SELECT t, id, version, state, category, level, payload FROM alerts WHERE {w} "
            "ORDER BY t DESC, id, version DESC",
            p,
        )
    if within is not None:
        rows = rows.filter(pa.array(routed_mask(rows, within)))
    out: list[dict[str, Any]] = []
    for text in rows.column("payload").to_pylist()[:limit]:
        try:
            out.append(orjson.loads(text))
        except orjson.JSONDecodeError:
            continue
    return out
