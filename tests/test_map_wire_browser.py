"""The columnar track frames in real Chromium: moves, changed details and removals reach the page.

The server sends the moving fields as columns and the other fields only when they change
(api/mapwire.py); the socket worker decodes frames into typed-array slices (web/js/wsworker.js) that
the page applies in place (web/js/trackstore.js) and draws in time-sliced redraws (web/js/trackcanvas.js).
"""

from __future__ import annotations

# ruff: noqa: F811  (fixtures imported from test_map_browser)
from datetime import datetime
from typing import Any

import pytest

from mdacentre.api import mapwire
from mdacentre.api.web import MemoryMapState
from tests.test_map_browser import (  # noqa: F401  (fixtures)
    DRAWN_AT,
    Watch,
    browser_ctx,
    iso,
    open_map,
    page,
    real_aircraft,
    real_vessels,
    serve,
)

pytestmark = [pytest.mark.browser]

TRACK = "(k) => { const t = window.mdaMap && mdaMap.track(k); return t ? JSON.stringify(t) : null; }"


def test_moves_details_and_removals_reach_the_page(page: tuple[Any, Watch]) -> None:
    pg, watch = page
    t = datetime.fromisoformat(real_aircraft()["t"]).timestamp()
    vessels = real_vessels(2, t)
    vessels[0]["name"] = "FIRST LIGHT"
    state = MemoryMapState()
    # more tracks than one snapshot frame: the snapshot arrives in parts, then "synced"
    fleet = [
        dict(vessels[1], key=f"vessel:{700000000 + i}", id=str(700000000 + i), lat=10 + i * 0.001)
        for i in range(mapwire.SNAPSHOT_CHUNK + 5)
    ]
    state.upsert_tracks([vessels[0], *fleet])
    s = serve(state)
    try:
        n = len(fleet) + 1
        open_map(pg, s, n)
        assert pg.evaluate("() => mdaMap.synced()") is True
        v = vessels[0]
        first = pg.evaluate(TRACK, v["key"])
        assert first is not None and v["name"] in first
        # a move: only the columns change on the page, the name stays
        state.upsert_tracks([dict(v, lat=18.2, lon=-76.9, cog=90.0, t=iso(t + 10))])
        pg.wait_for_function("(k) => mdaMap.track(k).lat === 18.2", arg=v["key"], timeout=10000)
        moved = pg.evaluate("(k) => mdaMap.track(k)", v["key"])
        assert moved["lon"] == -76.9 and moved["cog"] == 90.0 and moved["name"] == v["name"]
        assert moved["_ms"] == (t + 10) * 1000
        pg.wait_for_function(DRAWN_AT, arg=v["key"], timeout=10000)  # drawn where it moved to
        # a changed detail replaces the track's other fields; the search finds the new name
        state.upsert_tracks([dict(v, lat=18.2, lon=-76.9, name="RENAMED AT SEA", t=iso(t + 20))])
        pg.wait_for_function("(k) => mdaMap.track(k).name === 'RENAMED AT SEA'", arg=v["key"], timeout=10000)
        pg.fill("#search", "renamed at")
        pg.wait_for_selector("#search-results .search-hit", timeout=10000)
        assert "RENAMED AT SEA" in pg.locator("#search-results .search-hit").first.inner_text()
        # a removal
        state.remove_tracks([f["key"] for f in fleet])
        pg.wait_for_function("() => mdaMap.trackCount() === 1 && mdaMap.drawnCount() === 1", timeout=10000)
        assert pg.evaluate("() => mdaMap.badMessages()") == 0
        assert watch.errors == []
    finally:
        s.stop()
