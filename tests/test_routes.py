"""Regular routes learned from the archive (core/learn.py) and used by the encounter and loitering rules."""

from __future__ import annotations

import json

import numpy as np

from mdacentre.core.context import ContextArea, LearnedContext, load_context
from mdacentre.core.learn import learn_area
from mdacentre.core.shore import load_shore
from mdacentre.detect.encounter import EncounterDetector
from mdacentre.detect.motion import LoiteringDetector
from mdacentre.model.batch import TrackKind, empty_positions, make_key
from tests.test_context import FAR, LON, REPO, _pair
from tests.test_detectors import T0, opened, run

H = 3600.0
FERRY, TRANSIT, OTHER = 366000010, 366000030, 366000020


def _shuttle(mmsi: int, runs: int, north: bool = False, step_s: float = 60.0) -> np.ndarray:
    """A vessel shuttling ``runs`` times 10 km east (or north) and back at 10 kn, an hour at each end."""
    legs = []
    t = T0
    for r in range(runs):
        n = int(10_000 / (10 * 1852 / 3600) / step_s)
        x = np.linspace(0.0, 0.1, n) if r % 2 == 0 else np.linspace(0.1, 0.0, n)
        p = empty_positions(n + 60)
        along = np.concatenate([x, np.full(60, x[-1])])
        p["lon"], p["lat"] = (LON, FAR + along) if north else (LON + along, FAR)
        p["t"] = t + np.arange(n + 60) * step_s
        p["sog"] = np.concatenate([np.full(n, 10.0), np.full(60, 0.0)])
        t = float(p["t"][-1]) + step_s
        legs.append(p)
    out = np.concatenate(legs)
    out["key"], out["kind"], out["ident"], out["cog"] = (
        make_key(TrackKind.VESSEL, mmsi),
        TrackKind.VESSEL,
        mmsi,
        90.0,
    )
    return out


def _area() -> ContextArea:
    pos = np.concatenate([_shuttle(FERRY, 4), _shuttle(TRANSIT, 1)])
    return learn_area("routes", pos, ["synthetic"])


def test_a_shuttle_is_learned_as_its_own_route_a_single_transit_is_not() -> None:
    area = _area()
    ctx = LearnedContext([area])
    lat, lon = np.full(3, FAR), np.full(3, LON + 0.05)
    assert ctx.on_route(lon, lat, [FERRY, TRANSIT, OTHER], min_passes=2).tolist() == [True, False, False]
    assert not ctx.on_route(lon, lat, [FERRY] * 3, min_passes=5).any()  # 4 passes learned, not 5
    far_off = ctx.on_route([LON + 0.5], [FAR], [FERRY], min_passes=2)
    assert far_off.tolist() == [False]
    # kept in the area's file, with the other layers; files of an older layout (no routes) still load
    doc = area.to_json()
    back = ContextArea.from_json(json.loads(json.dumps(doc)), "test")
    assert np.array_equal(back.route_codes, area.route_codes) and np.array_equal(
        back.route_passes, area.route_passes
    )
    doc.pop("routes")
    assert len(ContextArea.from_json(doc, "old").route_codes) == 0


def _with_routes(area: ContextArea) -> LearnedContext:
    return LearnedContext([area], load_shore())


def test_a_vessel_on_its_usual_route_meeting_another_is_routine_elsewhere_it_alerts() -> None:
    area = _area()
    pair = _pair(FAR, (60, 70))  # MMSI 366000010 (a ferry) lies 200 m from a cargo ship for 2.5 h
    got = run([], [EncounterDetector([], None, _with_routes(area))], pair)
    assert opened(got, "encounter") == [] and opened(got, "close_rendezvous") == []
    plain = run([], [EncounterDetector([], None, LearnedContext([], load_shore()))], _pair(FAR, (60, 70)))
    assert opened(plain, "encounter")  # near miss of the rule: no route learned, the same pair alerts


def test_loitering_on_its_own_route_is_routine() -> None:
    from tests.test_context import _loiter

    # MMSI 366000030 drifts north from FAR for 5 h at 1 kn: loitering, unless that is its usual run
    area = learn_area("routes", _shuttle(366000030, 4, north=True), ["synthetic"])
    steps = _loiter(FAR, 30, 1.0)
    assert opened(run([], [LoiteringDetector([], None, _with_routes(area))], steps), "loitering") == []
    plain = LearnedContext([], load_shore())
    assert opened(run([], [LoiteringDetector([], None, plain)], _loiter(FAR, 30, 1.0)), "loitering")


def test_shipped_context_holds_the_routes_of_both_days() -> None:
    ctx = load_context(REPO / "geofences" / "context")
    assert all(len(a.route_codes) > 100 for a in ctx.areas)
