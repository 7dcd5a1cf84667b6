"""Context learned from the data and the rules that use it: each rule has a scenario that still alerts and a
near miss that the rule makes routine.

Positions off the north coast of Puerto Rico, measured on the shipped shore grid: NEAR is about 2 nm
from land, MID about 14 nm, FAR about 50 nm.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mdacentre.core.context import (
    COVERAGE_CELL_DEG,
    ContextArea,
    LearnedContext,
    cell_codes,
    load_context,
    neighbour_codes,
    save_area,
)
from mdacentre.core.learn import learn_area
from mdacentre.core.shore import load_shore
from mdacentre.detect.encounter import EncounterConfig, EncounterDetector
from mdacentre.detect.gap import AisGapConfig, AisGapDetector
from mdacentre.detect.motion import GoFastDetector, LoiteringDetector
from mdacentre.detect.registry import load_detectors
from mdacentre.model.batch import TrackKind, empty_positions, make_key
from mdacentre.model.errors import ConfigError
from mdacentre.model.findings import Level
from tests.test_detectors import NOON, T0, by_time, offset, opened, run, vpos, vstatic

REPO = Path(__file__).resolve().parent.parent
LON = -66.3
NEAR, MID, FAR = 18.50, 18.70, 19.30


def shore_only() -> LearnedContext:
    return LearnedContext([], load_shore())


def area_with(
    stops: list[tuple[float, float, int]] = (),  # type: ignore[assignment]
    covered: list[tuple[float, float]] = (),  # type: ignore[assignment]
) -> ContextArea:
    """A hand-made learned area around Puerto Rico: stop cells, and coverage cells heard all day by 5 vessels."""
    sc = cell_codes([s[1] for s in stops], [s[0] for s in stops], 0.005) if stops else np.empty(0, np.int64)
    order = np.argsort(sc)
    cov = np.unique(cell_codes([c[1] for c in covered], [c[0] for c in covered], COVERAGE_CELL_DEG))
    n = len(cov)
    return ContextArea(
        name="test",
        bbox=(-68.0, 17.0, -64.0, 20.0),
        stop_codes=sc[order],
        stop_vessels=np.asarray([s[2] for s in stops], dtype=np.int64)[order],
        cov_codes=cov,
        cov_hours=np.full(n, (1 << 24) - 1, dtype=np.int64),
        cov_vessels=np.full(n, 5, dtype=np.int64),
        cov_good=np.full(n, 100, dtype=np.int64),
        cov_poor=np.zeros(n, dtype=np.int64),
    )


def covered_block(lat: float, lon: float, ring: int = 2) -> list[tuple[float, float]]:
    """Coverage cells around a point (the cell and ``ring`` rings of neighbours)."""
    codes = neighbour_codes(cell_codes([lon], [lat], COVERAGE_CELL_DEG), ring)[0]
    ix, iy = codes >> 32, codes & 0xFFFFFFFF
    return [
        ((y + 0.5) * COVERAGE_CELL_DEG - 90.0, (x + 0.5) * COVERAGE_CELL_DEG - 180.0)
        for x, y in zip(ix, iy, strict=True)
    ]


# --- learned layers ------------------------------------------------------------------------------


def test_shore_grid_distances_from_the_coastline() -> None:
    s = load_shore()
    d = s.nm([LON, LON, LON, -66.1, -76.0, -120.0], [NEAR, MID, FAR, 18.2, 17.0, 18.0])
    assert 1.0 <= d[0] <= 3.5 and 10 <= d[1] <= 17 and 45 <= d[2] <= 55
    assert d[3] == 0.0  # inland Puerto Rico
    assert 50 <= d[4] <= 60  # south of Jamaica
    assert np.isnan(d[5])  # outside the grid


def _stopped(
    mmsi: int, lat: float, lon: float, hours: float, sog: float = 0.1, step: float = 60.0
) -> np.ndarray:
    n = int(hours * 3600 / step)
    p = empty_positions(n)
    p["key"] = make_key(TrackKind.VESSEL, mmsi)
    p["kind"], p["ident"] = TrackKind.VESSEL, mmsi
    p["t"] = T0 + np.arange(n) * step
    p["lat"], p["lon"], p["sog"], p["cog"] = lat, lon, sog, 90.0
    return p


def test_learned_stopping_place_counts_distinct_vessels_and_round_trips(tmp_path: Path) -> None:
    pos = np.concatenate(
        [_stopped(366000100 + k, 18.4601 + k * 1e-4, -66.1001, 1.0) for k in range(3)]
        + [_stopped(366000200, 18.30, -65.50, 0.4)]  # 24 min: too short to count as a stop
        + [_stopped(366000300, 18.80, -65.80, 2.0, sog=6.0)]  # moving: no stop, but coverage
    )
    area = learn_area("t", pos, ["synthetic"])
    ctx = LearnedContext([area])
    assert ctx.stop_vessels([-66.1001, -65.50, -65.80], [18.4602, 18.30, 18.80]).tolist() == [3, 0, 0]
    assert ctx.wait_vessels([-66.1001], [18.4602]).tolist() == [3]
    save_area(area, tmp_path / "t.json")
    back = load_context(tmp_path)
    assert back.stop_vessels([-66.1001], [18.4602]).tolist() == [3]
    assert back.shore is None and back.known([-66.1], [18.46]).tolist() == [True]
    assert back.known([-70.0], [18.46]).tolist() == [False]


def test_coverage_good_inside_edge_at_the_rim_unknown_outside() -> None:
    area = area_with(covered=covered_block(FAR, LON, ring=1))
    ctx = LearnedContext([area])
    rim_lat = FAR + 0.1  # a cell of the block whose outer neighbours were never heard
    cov = ctx.coverage([LON, LON, -70.0], [FAR, rim_lat, 18.0], T0)
    assert cov.good.tolist() == [True, False, False]
    assert cov.edge.tolist() == [False, True, False]
    assert cov.known.tolist() == [True, True, False]


def test_malformed_context_files_are_explained(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"format": "other"}')
    with pytest.raises(ConfigError, match="not a learned-context file"):
        load_context(tmp_path)
    doc = area_with(covered=covered_block(FAR, LON, 1)).to_json()
    doc["coverage"]["good"] = doc["coverage"]["good"][:-1]
    (tmp_path / "a.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="differ in length"):
        load_context(tmp_path)


def test_shipped_context_loads_with_the_detectors() -> None:
    ctx = load_context(REPO / "geofences" / "context")
    assert {a.name for a in ctx.areas} >= {"pr_usvi_20200101", "gulf_west_20200101"}
    assert ctx.shore is not None
    assert load_detectors(REPO / "geofences" / "profiles.toml", [], ctx)


def _learn(path: Path, out: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "mdacentre", "zones", "learn", str(path), "--name", "t", "--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_zones_learn_command_writes_a_loadable_area(tmp_path: Path) -> None:
    bad_path = tmp_path / "other.csv"
    bad_path.write_text("a,b,c\n1,2,3\n")
    bad = _learn(bad_path, tmp_path)
    assert bad.returncode != 0 and "neither MarineCadastre" in bad.stderr
    csv_path = tmp_path / "day.csv"
    rows = ["MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType"]
    for k in range(3):
        for m in range(60):
            rows.append(f"36600010{k},2020-01-01T10:{m:02d}:00,18.46010,-66.10010,0.1,0.0,511,BOAT{k},,,37")
    rows.append("366000199,2020-01-01T10:00:00,not-a-number,-66.1,0,0,511,X,,,37")  # skipped
    csv_path.write_text("\n".join(rows) + "\n")
    out = _learn(csv_path, tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["stop_cells_3_vessels"] == 1
    assert load_context(tmp_path).stop_vessels([-66.1001], [18.4601]).tolist() == [3]
    assert "t.json" in (tmp_path / "SOURCES.md").read_text()


# --- encounters: pair and type rules -------------------------------------------------------------


def _pair(
    lat: float, types: tuple[int, int], t0: float = T0, lengths: tuple[float, float] = (0.0, 0.0)
) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    a, b = 366000010, 366000020
    lat2, lon2 = offset(lat, LON, 0.0, 200.0)
    rows = []
    for k in range(int(2.5 * 3600 / 600) + 1):
        t = t0 + k * 600
        rows += [vpos(a, t, lat, LON, sog=0.4), vpos(b, t, lat2, lon2, sog=0.6)]
    steps = by_time(rows)
    la, lb = (v if v > 0 else float("nan") for v in lengths)
    steps[0][1].extend([vstatic(a, t0, types[0], la, "A"), vstatic(b, t0, types[1], lb, "B")])
    return steps


def _enc(ctx: LearnedContext, steps: list, cfg: EncounterConfig | None = None) -> list:  # type: ignore[type-arg]
    alerts = run([], [EncounterDetector([], cfg, ctx)], steps)
    return opened(alerts, "encounter") + opened(alerts, "close_rendezvous")


def test_tug_with_its_tow_is_routine_but_two_cargo_ships_meeting_offshore_alert() -> None:
    ctx = shore_only()
    assert _enc(ctx, _pair(FAR, (52, 70))) == []  # near miss: a tug alongside a cargo ship
    assert _enc(ctx, _pair(FAR, (33, 70))) == []  # a dredger
    got = _enc(ctx, _pair(FAR, (70, 70)))
    assert {a.category for a in got} == {"encounter", "close_rendezvous"}


def test_watch_listed_ship_alerts_even_with_a_tug() -> None:
    cfg = EncounterConfig(watch_mmsi=("366000020",))
    got = _enc(shore_only(), _pair(FAR, (52, 70)), cfg)
    assert got and any("watch-listed" in r for a in got for r in a.reasons)


def test_pleasure_craft_together_near_the_coast_are_routine_offshore_they_alert() -> None:
    ctx = shore_only()
    assert _enc(ctx, _pair(18.55, (37, 36))) == []  # 4.5 nm out: company, not a meeting
    assert _enc(ctx, _pair(FAR, (37, 36)))


def test_pairs_alongside_the_shore_and_at_a_stopping_place_are_routine() -> None:
    assert _enc(shore_only(), _pair(18.488, (70, 80))) == []  # within 1 nm of land: a berth
    stop = LearnedContext([area_with(stops=[(FAR, LON, 5)])], load_shore())
    assert _enc(stop, _pair(FAR, (70, 80))) == []
    few = LearnedContext([area_with(stops=[(FAR, LON, 2)])], load_shore())  # near miss: 2 vessels only
    assert _enc(few, _pair(FAR, (70, 80)))


def test_small_craft_meeting_a_large_ship_offshore_at_night_is_graver() -> None:
    ctx = shore_only()
    night = [a for a in _enc(ctx, _pair(FAR, (37, 70), T0, (9.0, 180.0))) if a.category == "encounter"]
    assert night and any("small craft meeting a large ship" in r for r in night[0].reasons)
    assert night[0].level == Level.HIGH  # 55 + 15 small/large + 10 night
    two_ships = [a for a in _enc(ctx, _pair(FAR, (70, 70), T0, (150.0, 180.0))) if a.category == "encounter"]
    assert two_ships[0].level == Level.MEDIUM  # no small craft: 55 + 10 night
    fish = [a for a in _enc(ctx, _pair(FAR, (30, 70), T0)) if a.category == "encounter"]
    assert any("meeting a carrier" in r for r in fish[0].reasons)


# --- going dark -----------------------------------------------------------------------------------


def _gap(
    lat: float, silence_s: float, sog: float = 8.0, ship_type: int = 70, back_nm: float = 5.0
) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    mmsi = 366000001
    rows = [vpos(mmsi, T0 + k * 600, lat, LON, sog=sog, cog=0.0) for k in range(7)]
    last = T0 + 3600
    rows += [
        vpos(366000002, T0 + k * 600, 17.5, -67.5, sog=10.0) for k in range(int((3600 + silence_s) / 600) + 3)
    ]
    bl, bo = offset(lat, LON, 0.0, back_nm * 1852.0)
    rows.append(vpos(mmsi, last + silence_s, bl, bo, sog=sog))
    steps = by_time(rows)
    steps[0][1].append(vstatic(mmsi, T0, ship_type, float("nan"), "V"))
    return steps


def _dark(ctx: LearnedContext, steps: list) -> tuple[list, list]:  # type: ignore[type-arg]
    alerts = run([], [AisGapDetector([], AisGapConfig(online_coverage=False), ctx)], steps)
    return opened(alerts, "ais_gap"), opened(alerts, "ais_silence")


def test_pleasure_craft_silent_near_the_coast_is_an_event_offshore_an_alert() -> None:
    ctx = shore_only()
    gaps, events = _dark(ctx, _gap(18.55, 7 * 3600, ship_type=37))  # 4.5 nm out
    assert gaps == [] and len(events) == 1 and "pleasure craft" in events[0].reasons[0]
    assert events[0].level == Level.INFO
    gaps, events = _dark(ctx, _gap(FAR, 7 * 3600, ship_type=37))
    assert len(gaps) == 1 and events == []


def test_stopped_near_the_coast_is_an_event_moving_is_not() -> None:
    ctx = shore_only()
    gaps, events = _dark(ctx, _gap(NEAR, 7 * 3600, sog=0.1))
    assert gaps == [] and "at anchor or moored" in events[0].reasons[0]
    gaps, events = _dark(ctx, _gap(NEAR, 7 * 3600, sog=8.0))  # near miss of the rule: under way
    assert len(gaps) == 1


def test_silence_in_inland_waters_is_an_event() -> None:
    mmsi = 366000001
    rows = [vpos(mmsi, T0 + k * 600, 29.95, -90.06, sog=6.0) for k in range(7)]  # Mississippi, New Orleans
    rows += [vpos(366000002, T0 + k * 600, 28.0, -90.0, sog=10.0) for k in range(50)]
    alerts = run([], [AisGapDetector([], AisGapConfig(online_coverage=False), shore_only())], by_time(rows))
    assert opened(alerts, "ais_gap") == []
    assert "inland waters" in opened(alerts, "ais_silence")[0].reasons[0]


def test_gap_at_the_edge_of_coverage_is_an_event_in_good_coverage_an_alert() -> None:
    lat = 18.9
    good = LearnedContext([area_with(covered=covered_block(lat, LON, ring=4))], load_shore())
    gaps, events = _dark(good, _gap(lat, 7 * 3600, sog=3.0))
    assert len(gaps) == 1 and events == []
    edge = LearnedContext([area_with(covered=covered_block(lat - 0.2, LON, ring=2))], load_shore())
    gaps, events = _dark(edge, _gap(lat, 7 * 3600, sog=3.0))  # on the rim of the heard cells
    assert gaps == [] and "edge of receiver coverage" in events[0].reasons[0]
    # heading north at 8 kn out of the heard block within 30 min: out of range, not dark
    rim = LearnedContext([area_with(covered=covered_block(18.85, LON, ring=2))], load_shore())
    gaps, events = _dark(rim, _gap(18.95, 7 * 3600, sog=8.0))
    assert gaps == [] and "heading out of receiver coverage" in events[0].reasons[0]


def test_routine_silence_that_ends_far_away_becomes_an_alert() -> None:
    ctx = shore_only()
    alerts = run(
        [],
        [AisGapDetector([], AisGapConfig(online_coverage=False), ctx)],
        _gap(NEAR, 7 * 3600, sog=0.1, back_nm=60.0),
    )
    far = opened(alerts, "ais_gap")
    assert len(far) == 1 and "reappeared far away" in far[0].reasons[-1]


# --- loitering and go-fast ------------------------------------------------------------------------


def _loiter(lat: float, ship_type: int, sog: float) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    mmsi = 366000030
    rows = []
    for k in range(int(5 * 3600 / 900) + 1):
        la, lo = offset(lat, LON, k * 900 * sog * 1852 / 3600, 0)
        rows.append(vpos(mmsi, T0 + k * 900, la, lo, sog=sog))
    steps = by_time(rows)
    steps[0][1].append(vstatic(mmsi, T0, ship_type, float("nan"), "L"))
    return steps


def _loiters(ctx: LearnedContext, steps: list) -> list:  # type: ignore[type-arg]
    return opened(run([], [LoiteringDetector([], None, ctx)], steps), "loitering")


def test_loitering_uses_the_coastline_and_spares_ships_at_anchor_and_tugs() -> None:
    ctx = shore_only()
    assert len(_loiters(ctx, _loiter(FAR, 30, 1.0))) == 1  # a fishing vessel drifting 50 nm out
    assert _loiters(ctx, _loiter(MID, 30, 1.0)) == []  # 14 nm from the coastline: too close
    assert _loiters(ctx, _loiter(FAR, 80, 0.1)) == []  # a tanker at anchor: waiting
    assert len(_loiters(ctx, _loiter(FAR, 80, 1.0))) == 1  # near miss: drifting, not anchored
    assert len(_loiters(ctx, _loiter(FAR, 37, 0.1))) == 1  # a small craft holding still offshore
    assert _loiters(ctx, _loiter(FAR, 52, 1.0)) == []  # a tug


def _fast(
    lat: float, t0: float, ship_type: int, name: str = "FUN"
) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    mmsi = 366000040
    rows = []
    for k in range(6):
        la, lo = offset(lat, LON, k * 30 * 30.0 * 1852 / 3600, 0)
        rows.append(vpos(mmsi, t0 + k * 30, la, lo, sog=30.0, cog=0.0, msg_type=18))
    steps = by_time(rows)
    steps[0][1].append(vstatic(mmsi, t0, ship_type, 8.0, name))
    return steps


def test_go_fast_spares_named_pleasure_boats_by_day_near_the_coast() -> None:
    ctx = shore_only()

    def fast(steps: list) -> list:  # type: ignore[type-arg]
        return opened(run([], [GoFastDetector([], None, ctx)], steps), "go_fast")

    assert fast(_fast(NEAR, NOON, 37)) == []
    assert len(fast(_fast(NEAR, T0, 37))) == 1  # at night
    assert len(fast(_fast(FAR, NOON, 37))) == 1  # 50 nm out
    assert len(fast(_fast(NEAR, NOON, 37, name=""))) == 1  # no name
    assert len(fast(_fast(NEAR, NOON, 30))) == 1  # a fishing boat at 30 kn


# --- threats planted into the real Puerto Rico day ----------------------------------------------

PR_DAY = REPO.parent / "shared" / "data" / "ais" / "marinecadastre_20200101_puerto_rico_usvi.csv"
D0 = 1_577_836_800.0  # 2020-01-01T00:00:00Z


def _track(
    mmsi: int, t0: float, lat: float, lon: float, minutes: int, sog: float, cog: float, step: int = 60
):
    p = empty_positions(minutes * 60 // step)
    k = np.arange(len(p))
    dist = sog * 1852.0 / 3600.0 * k * step
    p["lat"] = lat + dist * np.cos(np.radians(cog)) / 111_320.0
    p["lon"] = lon + dist * np.sin(np.radians(cog)) / (111_320.0 * np.cos(np.radians(lat)))
    p["t"], p["sog"], p["cog"] = t0 + k * step, sog, cog
    p["key"], p["kind"], p["ident"], p["msg_type"] = (
        make_key(TrackKind.VESSEL, mmsi),
        TrackKind.VESSEL,
        mmsi,
        1,
    )
    return p


@pytest.mark.skipif(not PR_DAY.is_file(), reason="shared recordings absent")
def test_planted_threats_are_found_in_the_real_puerto_rico_day_and_near_misses_are_not() -> None:
    from mdacentre.core.zones import load_library
    from mdacentre.service.pipeline import Pipeline
    from tools.day_measure import _steps, read_marinecadastre

    ctx = load_context(REPO / "geofences" / "context")
    h = 3600.0
    plants = [
        # encounter at night 45 nm north: small craft and a cargo ship; near miss: a tug with a cargo ship
        (_track(367900001, D0 + 2 * h, 19.2, -66.5, 150, 0.3, 0.0), 37, "SKIFF"),
        (_track(367900002, D0 + 2 * h, 19.2, -66.498, 150, 0.3, 0.0), 70, "BIG CARGO"),
        (_track(367900003, D0 + 2 * h, 19.2, -66.0, 150, 0.3, 0.0), 52, "TUG"),
        (_track(367900004, D0 + 2 * h, 19.2, -65.998, 150, 0.3, 0.0), 70, "TOWED"),
        # going dark under way south of Puerto Rico in good coverage, back 60 nm east 7 h later
        (_track(367900005, D0 + 3 * h, 17.25, -66.99, 60, 8.0, 90.0), 70, "DARK CARGO"),
        (_track(367900005, D0 + 11 * h, 17.25, -65.8, 30, 8.0, 90.0), 70, "DARK CARGO"),
        # near miss: a yacht at anchor 2 nm off the north coast, silent for 7 h
        (_track(367900006, D0 + 3 * h, 18.50, -66.3, 60, 0.1, 0.0), 36, "YACHT"),
        (_track(367900006, D0 + 11 * h, 18.50, -66.3, 30, 0.1, 0.0), 36, "YACHT"),
        # loitering: a fishing vessel drifting 45 nm out; near miss: a cargo ship at anchor nearby
        (_track(367900007, D0 + 6 * h, 19.2, -67.0, 300, 1.0, 45.0), 30, "FISHER"),
        (_track(367900008, D0 + 6 * h, 19.25, -67.1, 300, 0.1, 45.0), 70, "WAITING"),
        # go-fast at night toward the coast, unnamed; near miss: a named pleasure boat by day 2 nm out
        (_track(367900009, D0 + 6 * h, 19.1, -66.0, 20, 35.0, 180.0), -1, ""),
        (_track(367900010, D0 + 16 * h, 18.50, -66.5, 20, 30.0, 90.0), 37, "SUNNY"),
    ]
    day = read_marinecadastre(PR_DAY)
    pos = np.concatenate([day.positions] + [p for p, _t, _n in plants])
    sts = [day.statics] + [
        vstatic(int(p["ident"][0]), float(p["t"][0]), t, float("nan"), n) for p, t, n in plants if n
    ]
    st = np.concatenate(sts)
    for p, _t, _n in plants[-2:]:
        p["msg_type"] = 18
    pos = pos[np.argsort(pos["t"], kind="stable")]
    st = st[np.argsort(st["t"], kind="stable")]
    zones = load_library(REPO / "geofences")
    pipe = Pipeline(
        zones, profiles=[], detectors=load_detectors(REPO / "geofences" / "profiles.toml", zones, ctx)
    )
    got: dict[str, list] = {}
    for b in _steps(pos, st, 60.0):
        for a in pipe.step(b).alerts:
            if a.version == 1 and a.track.id.startswith("3679000"):
                got.setdefault(a.track.id, []).append(a)
    cats = {k: {a.category for a in v} for k, v in got.items()}
    enc = [a for a in got.get("367900001", []) if a.category == "encounter"]
    assert enc and enc[0].time == pytest.approx(D0 + 4 * h, abs=120) and enc[0].level >= Level.HIGH
    assert not cats.get("367900003", set()) & {"encounter", "close_rendezvous"}
    dark = [a for a in got.get("367900005", []) if a.category == "ais_gap"]
    assert dark and dark[0].time == pytest.approx(D0 + 3 * h + 59 * 60 + 6 * h, abs=120)
    assert "ais_gap" not in cats.get("367900006", set())
    loit = [a for a in got.get("367900007", []) if a.category == "loitering"]
    assert loit and loit[0].time == pytest.approx(D0 + 10 * h, abs=120)
    assert "loitering" not in cats.get("367900008", set())
    fast = [a for a in got.get("367900009", []) if a.category == "go_fast"]
    assert fast and fast[0].level >= Level.HIGH
    assert "go_fast" not in cats.get("367900010", set())


def test_rule_settings_are_checked() -> None:
    from mdacentre.detect.config import parse_config

    _on, cfg = parse_config("encounter", {"routine_classes": ["towing"], "watch_mmsi": ["366000020"]}, "t")
    assert cfg.routine_classes == ("towing",) and cfg.watch_mmsi == ("366000020",)
    with pytest.raises(ConfigError, match="tugs"):
        parse_config("encounter", {"routine_classes": ["tugs"]}, "t")
    with pytest.raises(ConfigError, match="watch_mmsi"):
        parse_config("encounter", {"watch_mmsi": ["12"]}, "t")
    with pytest.raises(ConfigError, match="stop_min_vessels"):
        parse_config("loitering", {"stop_min_vessels": -1}, "t")
