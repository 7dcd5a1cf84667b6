"""The track panel's last port of call and flags, and Natural Earth place names drawn offline, in real
headless Chromium, signed in (issue 17, "Track detail panel" and "Map aids")."""

from __future__ import annotations

# ruff: noqa: F811  (the fixtures imported from test_map_browser are named as test arguments)
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_floor_browser import floor_state
from tests.test_map_browser import (  # noqa: F401  (fixtures)
    CANVAS_2D,
    Served,
    Watch,
    browser_ctx,
    open_map,
    page,
    serve,
)

pytestmark = [pytest.mark.browser]


@pytest.fixture
def panel_served() -> Iterator[Served]:
    state, vessels, plane, _t = floor_state()
    vessels[0].update(last_port="Kingston", last_port_t="2026-01-14T22:10:00Z")
    plane.update(flag="JM")
    state.upsert_tracks([vessels[0], plane])
    s = serve(state)
    s.vessels, s.aircraft = vessels, plane
    yield s
    s.stop()


def labels(pg: Any) -> list[str]:
    """The names drawn on the place-name canvas in its last frame."""
    return list(pg.evaluate("() => mdaMap.shownPlaces()"))


def test_panel_last_port_and_flags_and_place_names(panel_served: Served, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    s = panel_served
    open_map(pg, s, 5)
    panel = pg.get_by_role("region", name="Selected track")
    pg.evaluate("(k) => mdaMap.openTrack(k)", s.vessels[0]["key"])
    panel.wait_for()
    text = panel.text_content() or ""
    assert "Last port" in text and "Kingston (arrived 2026-01-14 22:10:00Z)" in text
    assert "Flag (MID)" in text and "PA" in text
    pg.evaluate("(k) => mdaMap.openTrack(k)", s.aircraft["key"])
    pg.wait_for_function(
        "() => document.getElementById('track-panel').textContent.includes('Flag (ICAO address block)')"
    )
    assert "JM" in (panel.text_content() or "")
    # place names: the seas on the wide view, towns (ports) only close in
    pg.wait_for_function("() => mdaMap.shownPlaces().includes('Caribbean Sea')", timeout=15000)
    assert "Kingston" not in labels(pg)
    painted = (
        """() => { const c = document.querySelector('canvas.mda-place-canvas');
      const d = """
        + CANVAS_2D
        + """(c).getImageData(0, 0, c.width, c.height).data;
      let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert pg.evaluate(painted) > 500  # the names are on the canvas, not only in the list
    pg.evaluate("() => { mdaMap.map().setView([17.95, -76.8], 9, {animate: false}); }")
    pg.wait_for_function("() => mdaMap.shownPlaces().includes('Kingston')")
    assert "Kingston" in labels(pg) and "Jamaica" in labels(pg)
    # one overlay switches them off
    pg.get_by_label("Place names").uncheck()
    pg.wait_for_function("() => mdaMap.shownPlaces().length === 0")
    assert pg.evaluate("() => document.querySelectorAll('canvas.mda-place-canvas').length") == 0
    assert watch.errors == [] and watch.foreign() == []
