"""The map's track documents built column by column are the row-by-row documents, field for field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Level, iso
from mdacentre.model.trackid import format_track_key, track_id
from mdacentre.service.core import Gravity
from mdacentre.service.flags import track_flags
from mdacentre.service.trackdoc import detail_fields
from mdacentre.service.trackrows import tracks_json


def _row_by_row(
    c: dict[str, np.ndarray], rows: np.ndarray, gravity: dict[int, Gravity]
) -> list[dict[str, Any]]:
    """The documents as the service built them before, one NumPy scalar at a time (the reference)."""
    rows = rows[np.isfinite(c["lat"][rows])]
    flags = track_flags(c["kind"][rows], c["ident"][rows])
    out = []
    for i, r in enumerate(rows.tolist()):
        kind = TrackKind(int(c["kind"][r]))
        ident = int(c["ident"][r])
        g = gravity.get(int(c["key"][r]), Gravity())

        def f(name: str, r: int = r) -> float | None:
            v = float(c[name][r])
            return round(v, 6) if np.isfinite(v) else None

        st = int(c["ship_type"][r])
        out.append(
            {
                "key": format_track_key(kind, ident),
                "kind": kind.label,
                "id": track_id(kind, ident),
                "name": str(c["name"][r]) or None,
                "lat": f("lat"),
                "lon": f("lon"),
                "sog": f("sog"),
                "cog": f("cog"),
                "heading": f("heading"),
                "alt_ft": f("alt_ft"),
                "t": iso(float(c["t"][r])),
                "flag": str(flags[i]) or None,
                "ship_type": st if st >= 0 else None,
                "score": g.score,
                "level": g.level.label,
                "reasons": g.reasons,
                **detail_fields(c, r, kind),
                **_port(int(c["key"][r]), kind),
            }
        )
    return out


def _port(key: int, kind: TrackKind) -> dict[str, Any]:
    """A last port of call for some vessels (what the archive's timeline gives the service)."""
    return {"last_port": f"port {key % 5}"} if kind == TrackKind.VESSEL and key % 3 == 0 else {}


def test_column_documents_equal_row_documents(shared_data: Path) -> None:
    from mdacentre.runtime.metrics import Metrics
    from mdacentre.runtime.settings import load_settings
    from mdacentre.service.core import Core
    from mdacentre.service.replay import feed_specs, recording_batches

    path = shared_data / "ais" / "aisdb_marinecadastre_noaa_20230101.csv"
    metrics = Metrics()
    core = Core(load_settings(None), feed_specs([path], ["marinecadastre"]), metrics)
    for batch in recording_batches(core, [path], ["marinecadastre"], metrics):
        core.step(batch)
    n = len(core.pipeline.table)
    c = {k: v[:n].copy() for k, v in core.pipeline.table.cols.items()}
    # some rows as aircraft (squawk, climb, on the ground or not), one without a position
    air = np.arange(0, n, 7)
    c["kind"][air] = int(TrackKind.AIRCRAFT)
    c["squawk"][air] = np.where(air % 2 == 0, 12, -1)
    c["vrate_fpm"][air] = np.where(air % 3 == 0, -640.0, np.nan)
    c["on_ground"][air] = np.where(air % 5 == 0, 1, -1)
    c["lat"][3] = np.nan
    keys = c["key"][:20].tolist()
    gravity = {int(k): Gravity(42.5, Level.HIGH, [f"reason {k}"]) for k in keys[::3]}
    rows = np.arange(n, dtype=np.int64)[::-1]  # any order
    got = tracks_json(c, rows, gravity, Gravity(), track_flags, _port)
    assert len(got) == n - 1
    assert got == _row_by_row(c, rows, gravity)
    assert any("imo" in d for d in got) and any("squawk" in d for d in got)
    assert any(d["reasons"] for d in got) and any("last_port" in d for d in got)
    assert tracks_json(c, np.array([3], dtype=np.int64), gravity, Gravity(), track_flags) == []
