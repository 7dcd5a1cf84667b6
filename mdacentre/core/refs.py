"""Reference to one track-table row as carried in findings and alerts."""

from __future__ import annotations

import numpy as np

from mdacentre.core.tracks import TrackTable
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import TrackRef
from mdacentre.model.mid import flag_states
from mdacentre.model.trackid import track_id


def track_ref(table: TrackTable, row: int, flag: str | None = None) -> TrackRef:
    c = table.cols
    kind = TrackKind(int(c["kind"][row]))
    ident = int(c["ident"][row])
    if flag is None and kind != TrackKind.AIRCRAFT:
        flag = str(flag_states(np.array([ident], dtype=np.int64))[0]) or None

    def num(name: str) -> float | None:
        v = float(c[name][row])
        return None if not np.isfinite(v) else round(v, 6)

    st = int(c["ship_type"][row])
    return TrackRef(
        kind=kind.label,
        id=track_id(kind, ident),
        name=str(c["name"][row]) or None,
        lat=num("lat"),
        lon=num("lon"),
        sog=num("sog"),
        cog=num("cog"),
        flag=flag,
        ship_type=st if st >= 0 else None,
    )
