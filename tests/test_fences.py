"""Geofence engine: exact membership against shapely, transitions, hysteresis against boundary jitter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

from mdacentre.core.fences import FenceIndex, FenceTracker, Transition
from mdacentre.core.zones import Zone, ZoneKind, load_library


def _zones(repo: Path) -> list[Zone]:
    return load_library(repo / "geofences")


def test_membership_identical_to_shapely_intersects(repo: Path) -> None:
    zones = _zones(repo)
    idx = FenceIndex(zones)
    rng = np.random.default_rng(1)
    n = 50_000
    lon = rng.uniform(-92, -55, n)
    lat = rng.uniform(5, 31, n)
    # Put some points exactly on vertices of zone boundaries: the hardest case.
    verts = np.concatenate([shapely.get_coordinates(z.geometry)[:20] for z in zones])[: n // 2]
    lon[: len(verts)] = verts[:, 0]
    lat[: len(verts)] = verts[:, 1]
    pi, zi = idx.membership(lon, lat)
    tree = shapely.STRtree([z.geometry for z in zones])
    qi = tree.query(shapely.points(lon, lat), predicate="intersects")
    ours = set(zip(pi.tolist(), zi.tolist(), strict=False))
    theirs = set(zip(qi[0].tolist(), qi[1].tolist(), strict=False))
    assert ours == theirs
    assert len(ours) > 1000  # the test data really hits zones


def _square(zid: str = "box") -> Zone:
    return Zone(zid, "Box", ZoneKind.RESTRICTED, "JM", shapely.box(-77.0, 17.0, -76.0, 18.0))


def _run(tracker: FenceTracker, lon: np.ndarray, lat: np.ndarray, t: np.ndarray) -> np.ndarray:
    rows = np.zeros(len(lon), dtype=np.int64)
    keys = np.full(len(lon), 42, dtype=np.int64)
    first = np.zeros(len(lon), dtype=bool)
    return tracker.update(rows, keys, t, lat, lon, first)


def test_clean_crossing_enters_and_exits_at_event_time() -> None:
    tr = FenceTracker(FenceIndex([_square()]), dwell_s=120, hysteresis_m=200)
    lon = -77.45 + 0.1 * np.arange(21)  # 0.1 deg steps: about 10.6 km
    t = 1000.0 + 60 * np.arange(21)
    ev = _run(tr, lon, np.full(21, 17.5), t)
    assert ev["transition"].tolist() == [Transition.ENTER, Transition.EXIT]
    assert ev["t"].tolist() == [t[5], t[15]]  # first reports inside (-76.95) and outside (-75.95)


def test_boundary_jitter_for_an_hour_gives_one_transition() -> None:
    # A ship drifting on the boundary at -77.0, crossing it every report by about 80 m.
    tr = FenceTracker(FenceIndex([_square()]), dwell_s=300, hysteresis_m=300)
    n = 120
    t = 5000.0 + 30 * np.arange(n)
    lon = -77.0 + np.where(np.arange(n) % 2 == 0, -0.00075, 0.00075)
    ev = _run(tr, lon, np.full(n, 17.5), t)
    assert len(ev) == 0
    # Then it really goes in: one enter, confirmed by distance.
    ev2 = _run(tr, np.array([-76.9]), np.array([17.5]), np.array([t[-1] + 60]))
    assert ev2["transition"].tolist() == [Transition.ENTER]


def test_boundary_jitter_one_report_per_batch_gives_no_transition() -> None:
    """The jitter above, one report per batch (event-time steps): a batch on the confirmed side
    cancels the pending change, as a report on that side within one batch does."""
    tr = FenceTracker(FenceIndex([_square()]), dwell_s=300, hysteresis_m=300)
    n = 120
    t = 5000.0 + 30 * np.arange(n)
    lon = -77.0 + np.where(np.arange(n) % 2 == 0, -0.00075, 0.00075)
    lat = np.full(n, 17.5)
    ev = [_run(tr, lon[i : i + 1], lat[i : i + 1], t[i : i + 1]) for i in range(n)]
    assert sum(len(e) for e in ev) == 0


def test_batches_split_anywhere_give_the_same_events() -> None:
    lon = np.linspace(-77.5, -75.5, 41)
    lat = np.full(41, 17.5)
    t = 1000.0 + 60 * np.arange(41)
    whole = _run(FenceTracker(FenceIndex([_square()])), lon, lat, t)
    tr = FenceTracker(FenceIndex([_square()]))
    parts = [_run(tr, lon[a:b], lat[a:b], t[a:b]) for a, b in ((0, 7), (7, 8), (8, 30), (30, 41))]
    split = np.concatenate(parts)
    assert whole[["transition", "t"]].tolist() == split[["transition", "t"]].tolist()


def test_points_in_key_order_not_row_order_are_handled() -> None:
    """The track table hands positions over sorted by key; rows follow first appearance.

    Two trackers get the same batches, one in key order and one in (row, time) order: they must
    agree on every event and every state (40 tracks, some crossing the box, 30 batches).
    """
    rng = np.random.default_rng(3)
    n_tracks = 40
    keys = rng.permutation(np.arange(1000, 1000 + n_tracks))  # row r has key keys[r]
    lon0 = rng.uniform(-77.3, -75.7, n_tracks)
    lat0 = rng.uniform(16.7, 18.3, n_tracks)
    speed = rng.uniform(-0.01, 0.01, (n_tracks, 2))
    a = FenceTracker(FenceIndex([_square()]), dwell_s=120, hysteresis_m=200)
    b = FenceTracker(FenceIndex([_square()]), dwell_s=120, hysteresis_m=200)
    n_events = 0
    for step in range(30):
        reports = 3
        rows = np.repeat(np.arange(n_tracks), reports)
        k = np.arange(reports)[None, :] + step * reports
        t = (1000.0 + 60.0 * k + np.zeros((n_tracks, 1))).ravel()
        lon = (lon0[:, None] + speed[:, :1] * k).ravel()
        lat = (lat0[:, None] + speed[:, 1:] * k).ravel()
        first = np.zeros(len(rows), dtype=bool)
        if step == 0:
            first[::reports] = True
        by_key = np.lexsort((t, keys[rows]))
        ev_a = a.update(rows[by_key], keys[rows][by_key], t[by_key], lat[by_key], lon[by_key], first[by_key])
        ev_b = b.update(rows, keys[rows], t, lat, lon, first)
        assert sorted(ev_a.tolist()) == sorted(ev_b.tolist()), step
        n_events += len(ev_b)
        assert (a.is_inside(np.arange(n_tracks), 0) == b.is_inside(np.arange(n_tracks), 0)).all()
    assert n_events > n_tracks  # initial states plus real crossings
