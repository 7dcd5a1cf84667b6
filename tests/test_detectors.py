"""Behaviour detectors: one scenario and one near miss per detector, run through the real Pipeline.

Scenarios are column batches built from POSITION_DTYPE/STATIC_DTYPE rows, stepped one batch per
report time (as a live feed would), with small hand-made zone lists. The last tests replay real
recordings from ../shared/data and bound the share of tracks each detector flags.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from mdacentre.alerting.alerts import Alert, AlertStatus
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.air import AircraftConfig, AircraftDetector
from mdacentre.detect.context import Detector
from mdacentre.detect.crossdomain import CrossDomainDetector
from mdacentre.detect.encounter import EncounterDetector, close_pairs
from mdacentre.detect.gap import AisGapConfig, AisGapDetector
from mdacentre.detect.motion import GoFastDetector, LoiteringDetector
from mdacentre.detect.registry import TransitDetector, build_detectors, load_detectors
from mdacentre.detect.spoof import SpoofDetector, invalid_ship_mmsi
from mdacentre.model.batch import Batch, TrackKind, empty_positions, empty_statics, make_key
from mdacentre.model.errors import ConfigError
from mdacentre.model.findings import Level
from mdacentre.model.geodesy import haversine_m, is_night, solar_elevation_deg
from mdacentre.service.pipeline import Pipeline

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
T0 = 1_705_312_800.0  # 2024-01-15T10:00:00Z (05:00 local time at 76 W: night)
NOON = 1_705_338_000.0  # 2024-01-15T17:00:00Z (about noon at 76 W)
LAT, LON = 17.0, -76.0  # south of Jamaica
M_PER_DEG = 111_320.0


# --- builders ----------------------------------------------------------------------------------


def vpos(
    mmsi: int, t: float, lat: float, lon: float, sog: float = 0.5, cog: float = 90.0, msg_type: int = 1
) -> np.ndarray:
    p = empty_positions(1)
    p["key"] = make_key(TrackKind.VESSEL, mmsi)
    p["kind"] = TrackKind.VESSEL
    p["ident"] = mmsi
    p["t"], p["lat"], p["lon"], p["sog"], p["cog"], p["msg_type"] = t, lat, lon, sog, cog, msg_type
    return p


def apos(
    icao: int,
    t: float,
    lat: float,
    lon: float,
    alt: float,
    sog: float = 120.0,
    cog: float = 0.0,
    squawk: int = -1,
    ground: int = 0,
) -> np.ndarray:
    p = empty_positions(1)
    p["key"] = make_key(TrackKind.AIRCRAFT, icao)
    p["kind"] = TrackKind.AIRCRAFT
    p["ident"] = icao
    p["t"], p["lat"], p["lon"], p["alt_ft"], p["sog"], p["cog"] = t, lat, lon, alt, sog, cog
    p["squawk"], p["on_ground"], p["msg_type"] = squawk, ground, 111
    return p


def vstatic(mmsi: int, t: float, ship_type: int, length: float, name: str = "TEST") -> np.ndarray:
    s = empty_statics(1)
    s["key"] = make_key(TrackKind.VESSEL, mmsi)
    s["kind"] = TrackKind.VESSEL
    s["ident"] = mmsi
    s["t"], s["ship_type"], s["length_m"], s["name"], s["msg_type"] = t, ship_type, length, name, 5
    return s


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / M_PER_DEG, lon + east_m / (M_PER_DEG * math.cos(math.radians(lat)))


def circle(lat: float, lon: float, radius_m: float) -> shapely.Polygon:
    r = radius_m / M_PER_DEG
    return shapely.Point(lon, lat).buffer(r, quad_segs=16)


def zone(zid: str, kind: ZoneKind, geom: Any, state: str = "JM") -> Zone:
    return Zone(id=zid, name=zid.replace("_", " ").title(), kind=kind, state=state, geometry=geom)


def run(
    zones: list[Zone], detectors: list[Detector], steps: Iterable[tuple[list[np.ndarray], list[np.ndarray]]]
) -> list[Alert]:
    pipe = Pipeline(zones, profiles=[], detectors=detectors)
    out: list[Alert] = []
    for pos, st in steps:
        b = Batch(
            positions=np.concatenate(pos) if pos else empty_positions(),
            statics=np.concatenate(st) if st else empty_statics(),
        )
        out.extend(pipe.step(b).alerts)
    return out


def by_time(rows: list[np.ndarray]) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """One batch per distinct report time."""
    rows = sorted(rows, key=lambda r: float(r["t"][0]))
    steps: list[tuple[list[np.ndarray], list[np.ndarray]]] = []
    last = None
    for r in rows:
        t = float(r["t"][0])
        if t != last:
            steps.append(([], []))
            last = t
        steps[-1][0].append(r)
    return steps


def opened(alerts: list[Alert], category: str) -> list[Alert]:
    return [a for a in alerts if a.category == category and a.status == AlertStatus.OPEN]


def closed(alerts: list[Alert], category: str) -> list[Alert]:
    return [a for a in alerts if a.category == category and a.status == AlertStatus.CLOSED]


# --- helpers -----------------------------------------------------------------------------------


def test_solar_elevation_day_and_night() -> None:
    assert solar_elevation_deg(np.array([NOON]), np.array([LAT]), np.array([LON]))[0] > 45
    assert is_night(np.array([T0 - 5 * 3600]), np.array([LAT]), np.array([LON]))[0]  # 00:00 local
    assert not is_night(np.array([NOON]), np.array([LAT]), np.array([LON]))[0]


def test_close_pairs_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    lat = LAT + rng.uniform(0, 0.05, 400)
    lon = LON + rng.uniform(0, 0.05, 400)
    i, j, _d = close_pairs(lat, lon, 500.0)
    got = set(zip(i.tolist(), j.tolist(), strict=True))
    d = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    want = {(int(a), int(b)) for a, b in zip(*np.nonzero(d <= 500.0), strict=True) if a < b}
    assert got == want and len(want) > 10


def test_invalid_mmsi() -> None:
    bad = invalid_ship_mmsi(np.array([123456789, 12345, 366123456, 999999999, 111111111, 538009123]))
    assert bad.tolist() == [True, True, False, True, True, False]


# --- ais_gap -----------------------------------------------------------------------------------

# one vessel alone on a synthetic sea: no reception to learn from the feed (tests/test_reception.py)
OFFLINE = AisGapConfig(online_coverage=False)


def _gap_rows(silence_s: float, lat: float = LAT, lon: float = LON) -> list[np.ndarray]:
    rows = [vpos(366000001, T0 + k * 600, lat, lon, sog=8.0) for k in range(7)]  # 1 h of reports
    last = T0 + 3600
    # a second vessel keeps the watermark moving every 10 min
    rows += [
        vpos(366000002, T0 + k * 600, 16.0, -75.0, sog=10.0)
        for k in range(int((last + silence_s) / 600 - T0 / 600) + 3)
    ]
    back_lat, back_lon = offset(lat, lon, 0.0, 40 * 1852.0)
    rows.append(vpos(366000001, last + silence_s, back_lat, back_lon, sog=8.0))
    return rows


def test_ais_gap_opens_at_threshold_and_closes_on_reappearance() -> None:
    alerts = run([], [AisGapDetector([], OFFLINE)], by_time(_gap_rows(7 * 3600)))
    op = opened(alerts, "ais_gap")
    assert len(op) == 1
    assert op[0].time == pytest.approx(T0 + 3600 + 6 * 3600)
    assert op[0].level == Level.LOW and op[0].track.id == "366000001"
    cl = closed(alerts, "ais_gap")
    assert len(cl) == 1 and cl[0].time == pytest.approx(T0 + 3600 + 7 * 3600)


def test_ais_gap_inside_territorial_sea_uses_two_hours_and_reports_distance() -> None:
    ts = zone("jm_ts", ZoneKind.TERRITORIAL_SEA, circle(LAT, LON, 40_000))
    alerts = run([ts], [AisGapDetector([ts], OFFLINE)], by_time(_gap_rows(3 * 3600)))
    op = opened(alerts, "ais_gap")
    assert len(op) == 1 and op[0].zone is not None and op[0].zone.id == "jm_ts"
    assert op[0].time == pytest.approx(T0 + 3600 + 2 * 3600)
    assert op[0].level == Level.MEDIUM
    assert "inside Jm Ts" in op[0].reasons[0]


def test_ais_gap_seen_after_the_fact_in_one_batch_has_distance_and_speed() -> None:
    rows = _gap_rows(7 * 3600)
    alerts = run([], [AisGapDetector([], OFFLINE)], [(rows, [])])  # one big batch: gap found on reappearance
    op = opened(alerts, "ais_gap")
    assert len(op) == 1 and op[0].time == pytest.approx(T0 + 7 * 3600)
    assert op[0].extra["distance_nm"] == pytest.approx(40.0, abs=0.2)
    assert op[0].extra["implied_speed_kn"] == pytest.approx(40 / 7, abs=0.05)
    assert "reappeared 40 nm away (implied 5.7 kn)" in op[0].reasons[0]
    assert len(closed(alerts, "ais_gap")) == 1


def test_ais_gap_near_miss_5h50() -> None:
    alerts = run([], [AisGapDetector([], OFFLINE)], by_time(_gap_rows(5 * 3600 + 50 * 60)))
    assert opened(alerts, "ais_gap") == []


# --- encounter / close rendezvous ----------------------------------------------------------------


def _pair_rows(
    sep_m: float, duration_s: float, step_s: float = 600.0, lat: float = LAT, lon: float = LON
) -> list[np.ndarray]:
    rows = []
    n = int(duration_s / step_s) + 1
    lat2, lon2 = offset(lat, lon, 0.0, sep_m)
    for k in range(n):
        t = T0 + k * step_s
        rows.append(vpos(366000010, t, lat, lon, sog=0.4))
        rows.append(vpos(366000020, t, lat2, lon2, sog=0.6))
    return rows


def test_encounter_after_two_hours_within_500_m() -> None:
    alerts = run([], [EncounterDetector([])], by_time(_pair_rows(300, 2.5 * 3600)))
    op = opened(alerts, "encounter")
    assert len(op) == 1
    assert op[0].time == pytest.approx(T0 + 2 * 3600)
    assert op[0].track.id == "366000010" and op[0].extra["other_id"] == "366000020"
    assert opened(alerts, "close_rendezvous") == []  # 300 m is too far for a rendezvous


@pytest.mark.parametrize(("sep", "dur"), [(600, 2.5 * 3600), (300, 110 * 60)])
def test_encounter_near_misses(sep: float, dur: float) -> None:
    alerts = run([], [EncounterDetector([])], by_time(_pair_rows(sep, dur)))
    assert opened(alerts, "encounter") == []


def test_encounter_near_a_port_approach_is_ignored() -> None:
    port = zone("kingston_approach", ZoneKind.PORT_APPROACH, circle(*offset(LAT, LON, 8000, 0), 1000))
    alerts = run([port], [EncounterDetector([port])], by_time(_pair_rows(300, 2.5 * 3600)))
    assert opened(alerts, "encounter") == []


def test_close_rendezvous_after_30_min_and_closes_when_apart() -> None:
    rows = _pair_rows(200, 40 * 60, step_s=300)
    lat2, lon2 = offset(LAT, LON, 0, 3000)
    rows += [
        vpos(366000010, T0 + 45 * 60, LAT, LON, sog=0.4),
        vpos(366000020, T0 + 45 * 60, lat2, lon2, sog=6.0),
    ]
    alerts = run([], [EncounterDetector([])], by_time(rows))
    op = opened(alerts, "close_rendezvous")
    assert len(op) == 1 and op[0].time == pytest.approx(T0 + 30 * 60)
    assert closed(alerts, "close_rendezvous")[0].time == pytest.approx(T0 + 45 * 60)
    assert opened(alerts, "encounter") == []


# --- loitering ---------------------------------------------------------------------------------


def _loiter_rows(duration_s: float, sog: float = 1.0) -> list[np.ndarray]:
    rows = []
    for k in range(int(duration_s / 900) + 1):
        la, lo = offset(LAT, LON, k * 900 * sog * 1852 / 3600, 0)
        rows.append(vpos(366000030, T0 + k * 900, la, lo, sog=sog))
    return rows


def test_loitering_after_four_hours() -> None:
    alerts = run([], [LoiteringDetector([])], by_time(_loiter_rows(5 * 3600)))
    op = opened(alerts, "loitering")
    assert len(op) == 1 and op[0].time == pytest.approx(T0 + 4 * 3600)
    assert op[0].extra["avg_speed_kn"] == pytest.approx(1.0, abs=0.01)


def test_loitering_one_batch_gives_the_same_time() -> None:
    alerts = run([], [LoiteringDetector([])], [(_loiter_rows(5 * 3600), [])])
    assert [a.time for a in opened(alerts, "loitering")] == [pytest.approx(T0 + 4 * 3600)]


def test_loitering_near_misses() -> None:
    assert (
        opened(run([], [LoiteringDetector([])], by_time(_loiter_rows(3 * 3600 + 50 * 60))), "loitering") == []
    )
    assert (
        opened(run([], [LoiteringDetector([])], by_time(_loiter_rows(5 * 3600, sog=2.5))), "loitering") == []
    )
    # territorial sea edge 10 km (5.4 nm) away: the shore is about 17 nm away, closer than 20 nm
    ts = zone("jm_ts", ZoneKind.TERRITORIAL_SEA, circle(*offset(LAT, LON, 0, 15_000), 5000))
    assert opened(run([ts], [LoiteringDetector([ts])], by_time(_loiter_rows(5 * 3600))), "loitering") == []


# --- go-fast -----------------------------------------------------------------------------------


def _fast_rows(sog: float, t0: float, mmsi: int = 366000040, cog: float = 0.0) -> list[np.ndarray]:
    rows = []
    for k in range(6):
        la, lo = offset(LAT, LON, k * 30 * sog * 1852 / 3600, 0)
        rows.append(vpos(mmsi, t0 + k * 30, la, lo, sog=sog, cog=cog, msg_type=18))
    return rows


def test_go_fast_class_b_by_day_and_by_night_toward_coast() -> None:
    day = run([], [GoFastDetector([])], by_time(_fast_rows(30.0, NOON)))
    op = opened(day, "go_fast")
    assert (
        len(op) == 1 and op[0].time == pytest.approx(NOON) and op[0].level == Level.HIGH
    )  # 50 + 10 anonymous
    ts = zone("jm_ts", ZoneKind.TERRITORIAL_SEA, circle(*offset(LAT, LON, 30_000, 0), 10_000))
    night = run([ts], [GoFastDetector([ts])], by_time(_fast_rows(30.0, T0)))
    op = opened(night, "go_fast")
    assert (
        len(op) == 1 and op[0].level == Level.CRITICAL and op[0].zone is not None and op[0].zone.id == "jm_ts"
    )
    assert "at night" in op[0].reasons[0] and "heading into" in op[0].reasons[0]


def test_go_fast_near_misses() -> None:
    assert opened(run([], [GoFastDetector([])], by_time(_fast_rows(24.0, NOON))), "go_fast") == []
    rows = _fast_rows(30.0, NOON + 60, mmsi=366000041)
    for r in rows:
        r["msg_type"] = 1
    steps = [([vpos(366000041, NOON, LAT, LON, sog=12.0)], [vstatic(366000041, NOON, 70, 180.0)])] + by_time(
        rows
    )
    assert opened(run([], [GoFastDetector([])], steps), "go_fast") == []  # a 180 m cargo ship


# --- position jump / identity ----------------------------------------------------------------------


def test_position_jump_and_identity_conflict() -> None:
    mmsi = 366000050
    far_lat, far_lon = offset(LAT, LON, 0, 50_000)
    rows = [
        vpos(mmsi, T0, LAT, LON, sog=10),
        vpos(mmsi, T0 + 60, far_lat, far_lon, sog=10),
        vpos(mmsi, T0 + 120, LAT, LON + 0.001, sog=10),
    ]
    steps = [([rows[0]], [vstatic(mmsi, T0, 70, 150.0)]), ([rows[1]], []), ([rows[2]], [])]
    alerts = run([], [SpoofDetector([])], steps)
    jump = opened(alerts, "position_jump")
    assert len(jump) == 1 and jump[0].time == pytest.approx(T0 + 60)
    conflict = opened(alerts, "identity_conflict")
    assert (
        len(conflict) == 1 and conflict[0].time == pytest.approx(T0 + 120) and conflict[0].level == Level.HIGH
    )


def test_position_jump_near_miss_24_kn_cargo() -> None:
    mmsi = 366000051
    la, lo = offset(LAT, LON, 24 * 1852 / 3600 * 600, 0)  # 24 kn for 10 min
    steps = [
        ([vpos(mmsi, T0, LAT, LON)], [vstatic(mmsi, T0, 70, 150.0)]),
        ([vpos(mmsi, T0 + 600, la, lo)], []),
    ]
    alerts = run([], [SpoofDetector([])], steps)
    assert opened(alerts, "position_jump") == [] and opened(alerts, "identity") == []


def test_identity_for_invalid_mmsi() -> None:
    alerts = run([], [SpoofDetector([])], [([vpos(12345, T0, LAT, LON)], [])])
    ident = opened(alerts, "identity")
    assert len(ident) == 1 and ident[0].time == pytest.approx(T0) and ident[0].level == Level.LOW


# --- aircraft ----------------------------------------------------------------------------------


def _zones_air() -> list[Zone]:
    sea = zone("caribbean_sea", ZoneKind.WATCH_AREA, shapely.box(-80, 14, -72, 20), state="XX")
    apt = zone("apt_mkjp", ZoneKind.AIRPORT, circle(17.9357, -76.7875, 3000))
    apt2 = zone(
        "apt_south", ZoneKind.AIRPORT, circle(16.4, -75.4, 3000)
    )  # airports on both sides: covered area
    return [sea, apt, apt2]


def test_emergency_squawks() -> None:
    steps = by_time(
        [
            apos(0xABC001, T0, LAT, LON, 20000, squawk=1200),
            apos(0xABC001, T0 + 5, LAT, LON, 20000, squawk=7500),
        ]
    )
    alerts = run([], [AircraftDetector([])], steps)
    sq = opened(alerts, "squawk_emergency")
    assert len(sq) == 1 and sq[0].time == pytest.approx(T0 + 5) and sq[0].level == Level.CRITICAL
    steps = by_time(
        [
            apos(0xABC002, T0, LAT, LON, 20000, squawk=7700),
            apos(0xABC002, T0 + 60, LAT, LON, 20000, squawk=1200),
        ]
    )
    alerts = run([], [AircraftDetector([])], steps)
    assert opened(alerts, "squawk_emergency")[0].level == Level.HIGH
    assert closed(alerts, "squawk_emergency")[0].time == pytest.approx(T0 + 60)
    assert (
        opened(
            run([], [AircraftDetector([])], by_time([apos(0xABC003, T0, LAT, LON, 20000, squawk=7000)])),
            "squawk_emergency",
        )
        == []
    )


def test_low_altitude_over_sea_and_near_miss() -> None:
    zones = _zones_air()
    low = by_time([apos(0xABC010, NOON + k * 10, LAT, LON + k * 0.005, 800) for k in range(5)])
    alerts = run(zones, [AircraftDetector(zones)], low)
    op = opened(alerts, "low_altitude")
    assert len(op) == 1 and op[0].time == pytest.approx(NOON) and op[0].level == Level.MEDIUM
    high = by_time([apos(0xABC011, NOON + k * 10, LAT, LON + k * 0.005, 1100) for k in range(5)])
    assert opened(run(zones, [AircraftDetector(zones)], high), "low_altitude") == []


def _descent(icao: int, lat: float, lon: float, last_alt: float) -> list[np.ndarray]:
    alts = [3000, 2000, 1200, 900, last_alt]
    rows = [apos(icao, NOON + k * 10, lat, lon + k * 0.003, a, sog=90) for k, a in enumerate(alts)]
    # another aircraft keeps the watermark moving
    rows += [apos(0xFFF000, NOON + k * 10, 15.0, -75.0, 30000) for k in range(30)]
    return rows


def test_offairport_landing_and_near_airport_miss() -> None:
    zones = _zones_air()
    alerts = run(zones, [AircraftDetector(zones)], by_time(_descent(0xABC020, LAT, LON, 300)))
    op = opened(alerts, "offairport_landing")
    assert len(op) == 1 and op[0].time == pytest.approx(NOON + 40 + 120) and op[0].level == Level.CRITICAL
    near = run(zones, [AircraftDetector(zones)], by_time(_descent(0xABC021, 17.9357, -76.80, 300)))
    assert opened(near, "offairport_landing") == [] and opened(near, "transponder_lost") == []


def test_transponder_lost_while_low() -> None:
    zones = _zones_air()
    alerts = run(zones, [AircraftDetector(zones)], by_time(_descent(0xABC030, LAT, LON, 1100)))
    op = opened(alerts, "transponder_lost")
    assert len(op) == 1 and op[0].time == pytest.approx(NOON + 40 + 120) and op[0].level == Level.HIGH
    assert opened(alerts, "offairport_landing") == []


def test_no_landing_alerts_without_airport_zones_or_outside_their_area() -> None:
    alerts = run([], [AircraftDetector([])], by_time(_descent(0xABC031, LAT, LON, 300)))
    assert opened(alerts, "offairport_landing") == []
    zones = _zones_air()
    far = run(
        zones, [AircraftDetector(zones)], by_time(_descent(0xABC032, 25.0, -80.0, 300))
    )  # beyond the airports known
    assert opened(far, "offairport_landing") == [] and opened(far, "transponder_lost") == []


def _circle_rows(
    icao: int, total_deg: float, t0: float = NOON, lat: float = LAT, lon: float = LON
) -> list[np.ndarray]:
    rows = []
    n = int(total_deg / 15) + 1
    for k in range(n):
        a = math.radians(k * 15)
        la, lo = offset(lat, lon, 1500 * math.cos(a), 1500 * math.sin(a))
        rows.append(apos(icao, t0 + k * 5, la, lo, 2000, sog=100, cog=(k * 15 + 90) % 360))
    return rows


def test_circling_and_near_miss() -> None:
    alerts = run([], [AircraftDetector([])], by_time(_circle_rows(0xABC040, 750)))
    op = opened(alerts, "circling")
    assert len(op) == 1 and op[0].time == pytest.approx(NOON + 48 * 5)
    assert opened(run([], [AircraftDetector([])], by_time(_circle_rows(0xABC041, 700))), "circling") == []


def test_cross_domain_circling_over_go_fast() -> None:
    air = AircraftDetector([])
    gf = GoFastDetector([])
    rows = _fast_rows(30.0, NOON - 30) + _circle_rows(0xABC050, 750, lat=LAT + 0.01)
    alerts = run([], [gf, air, CrossDomainDetector(air, [gf])], by_time(rows))
    cd = opened(alerts, "cross_domain")
    assert len(cd) == 1 and cd[0].track.kind == "aircraft" and cd[0].extra["vessel_id"] == "366000040"
    assert cd[0].level == Level.HIGH
    alone = run(
        [],
        [air2 := AircraftDetector([]), gf2 := GoFastDetector([]), CrossDomainDetector(air2, [gf2])],
        by_time(_circle_rows(0xABC051, 750)),
    )
    assert opened(alone, "cross_domain") == []


# --- transits ----------------------------------------------------------------------------------


def test_zone_entry_on_crossing_only() -> None:
    ts = zone("jm_ts", ZoneKind.TERRITORIAL_SEA, shapely.box(LON - 0.2, LAT + 0.1, LON + 0.2, LAT + 0.5))
    rows = [vpos(366000060, T0 + k * 300, *offset(LAT, LON, k * 3000, 0), sog=12) for k in range(12)]
    alerts = run([ts], [TransitDetector([ts])], by_time(rows))
    op = opened(alerts, "zone_entry")
    assert len(op) == 1 and op[0].zone is not None and op[0].zone.id == "jm_ts" and op[0].level == Level.INFO
    assert op[0].time == pytest.approx(T0 + 4 * 300)  # first report 300 m inside (LAT + 0.1 is 11.1 km north)
    inside = [vpos(366000061, T0 + k * 300, LAT + 0.3, LON, sog=5) for k in range(3)]
    assert opened(run([ts], [TransitDetector([ts])], by_time(inside)), "zone_entry") == []


# --- configuration -------------------------------------------------------------------------------


def test_repository_profiles_file_loads_every_detector() -> None:
    dets = load_detectors(REPO / "geofences" / "profiles.toml", [])
    names = {type(d).__name__ for d in dets}
    assert {"AisGapDetector", "EncounterDetector", "CrossDomainDetector"} <= names
    assert "TransitDetector" not in names  # transits are timeline events in the shipped profiles


def test_bad_detector_config_is_explained(tmp_path: Path) -> None:
    p = tmp_path / "p.toml"
    p.write_text("[detectors.ais_gap]\nthreshold_hours = 6\n")
    with pytest.raises(ConfigError, match="unknown key.*threshold_h"):
        load_detectors(p, [])
    p.write_text("[detectors.go_fast]\nmin_speed_kn = 'fast'\n")
    with pytest.raises(ConfigError, match="must be a number"):
        load_detectors(p, [])
    p.write_text("[detectors.warp]\n")
    with pytest.raises(ConfigError, match="unknown detector"):
        load_detectors(p, [])


def test_config_changes_thresholds() -> None:
    dets = build_detectors(
        {"ais_gap": {"threshold_h": 3.0, "online_coverage": False}, "aircraft": {"enabled": False}}, []
    )
    gap = next(d for d in dets if isinstance(d, AisGapDetector))
    assert gap.cfg.threshold_h == 3.0 and not any(isinstance(d, AircraftDetector) for d in dets)
    alerts = run([], [gap], by_time(_gap_rows(4 * 3600)))
    assert opened(alerts, "ais_gap")[0].time == pytest.approx(T0 + 3600 + 3 * 3600)
    assert AircraftConfig().squawk_scores[7500] == 90.0


# --- profile conditions (mdacentre.risk.conditions) ------------------------------------------------------


def _table_with(rows: list[np.ndarray], statics: list[np.ndarray]) -> Any:
    from mdacentre.core.tracks import TrackTable

    table = TrackTable()
    pos = np.concatenate(rows)
    table.update(pos, np.concatenate(statics) if statics else empty_statics())
    return table, table.lookup(pos["key"])  # rows in the order given


def test_watchlist_and_conditions_masks(tmp_path: Path) -> None:
    from mdacentre.risk.conditions import load_watchlist, parse_conditions

    wl = load_watchlist(REPO / "geofences" / "watchlists" / "inf_ships.csv")
    assert len(wl) == 3
    rows = [vpos(999000001, NOON, LAT, LON), vpos(366000070, NOON, LAT, LON), vpos(538000071, NOON, LAT, LON)]
    statics = [
        vstatic(366000070, NOON, 70, 120.0, name="Example  atom trader"),
        vstatic(538000071, NOON, 80, 250.0),
    ]
    table, trows = _table_with(rows, statics)
    assert wl.mask(table, trows).tolist() == [True, True, False]
    assert wl.label_of(table, int(trows[1])) == "EXAMPLE INF carrier (fictitious)"
    cond = parse_conditions({"flag": ["MH"], "min_length_m": 200}, tmp_path, "test")
    assert cond.mask(table, trows).tolist() == [False, False, True]  # MID 538 = Marshall Islands
    night = parse_conditions({"night": True}, tmp_path, "test")
    assert not night.mask(table, trows).any()  # noon at 76 W


def test_bad_watchlist_is_explained(tmp_path: Path) -> None:
    from mdacentre.risk.conditions import load_watchlist

    p = tmp_path / "w.csv"
    p.write_text("kind,value,label\nmmsi,12ab,x\n")
    with pytest.raises(ConfigError, match="entry 1: mmsi '12ab' is not valid"):
        load_watchlist(p)
    p.write_text("kind,value\nship,1\n")
    with pytest.raises(ConfigError, match="kind 'ship' unknown"):
        load_watchlist(p)


def test_go_fast_unknown_class_a_waits_for_its_static_report() -> None:
    rows = []
    for k in range(17):  # 8 min at 30 kn, class A, no static report
        la, lo = offset(LAT, LON, k * 30 * 30 * 1852 / 3600, 0)
        rows.append(vpos(366000042, NOON + k * 30, la, lo, sog=30.0, cog=0.0, msg_type=1))
    op = opened(run([], [GoFastDetector([])], by_time(rows)), "go_fast")
    assert len(op) == 1 and op[0].time == pytest.approx(NOON + 360)


# --- watch-list profiles (risk.py + conditions.py, the default profiles file) -------------------------


def test_inf_ship_entering_an_eez_raises_one_critical_watchlist_alert() -> None:
    from mdacentre.risk.profiles import load_profiles

    eez = zone("jm_eez", ZoneKind.EEZ, circle(LAT, LON, 50_000))
    profiles = load_profiles(REPO / "geofences" / "profiles.toml", [eez, *_caribbean_stub()])
    pipe = Pipeline([eez, *_caribbean_stub()], profiles=profiles, detectors=[])
    out: list[Alert] = []
    # the listed ship (by name, from its static report) and an unlisted one sail the same line into the EEZ
    for mmsi, name in ((366000090, "EXAMPLE ATOM TRADER"), (366000091, "ORDINARY TRADER")):
        out += pipe.step(
            Batch(positions=empty_positions(), statics=vstatic(mmsi, NOON - 60, 70, 150.0, name))
        ).alerts
    for k in range(40):  # 20 min steps from 80 km east, inbound at 12 kn
        la, lo = offset(LAT, LON, 0.0, 80_000 - k * 3700)
        rows = [vpos(m, NOON + k * 1200, la, lo, sog=12.0, cog=270.0) for m in (366000090, 366000091)]
        out += pipe.step(Batch(positions=np.concatenate(rows), statics=empty_statics())).alerts
    hits = opened(out, "watchlist")
    assert len(hits) == 1, [a.reasons for a in hits]
    a = hits[0]
    assert a.track.id == "366000090" and a.level == Level.CRITICAL and a.zone is not None
    assert a.zone.id == "jm_eez"
    assert "EXAMPLE INF carrier (fictitious)" in a.reasons[0] and "EXAMPLE ATOM TRADER" in a.reasons[0]
    # it crossed the 50 km circle between steps 8 (50.4 km out) and 9 (46.7 km); the fence dwell delays it
    assert NOON + 8 * 1200 < a.time <= NOON + 9 * 1200 + 180


def _caribbean_stub() -> list[Zone]:
    """A zone named caribbean_sea and a transit gate, which the default hazardous-cargo profiles refer to."""
    return [
        zone("caribbean_sea", ZoneKind.WATCH_AREA, shapely.box(-60.0, 30.0, -59.0, 31.0), state="XX"),
        zone("gate_stub", ZoneKind.TRANSIT_GATE, shapely.box(-58.0, 30.0, -57.0, 31.0), state="XX"),
    ]


# --- position on land (detect_spoof + land.py, the shipped geofences/land/land.geojson) ----------------

INLAND_JM = (18.01, -77.2)  # about 10 km from the south coast of Jamaica, north of Old Harbour Bay
OFF_NORTH_COAST_JM = (18.407, -77.0)  # about 500 m off the north coast
KINGSTON_HARBOUR = (17.955, -76.80)


def _jm_waters() -> Zone:
    return zone("JM-ts", ZoneKind.TERRITORIAL_SEA, shapely.box(-77.5, 17.5, -76.5, 17.85))


def test_land_mask_geometry_of_the_test_points() -> None:
    from mdacentre.core.land import load_land

    land = load_land()
    deep, on = land.inland([INLAND_JM[1]], [INLAND_JM[0]], 2000.0)
    assert deep[0] and on[0]
    assert land.coast_distance_m(INLAND_JM[1], INLAND_JM[0]) == pytest.approx(10_000, abs=500)
    lat, lon = OFF_NORTH_COAST_JM
    assert not land.on_land([lon], [lat])[0]
    assert 300 < land.coast_distance_m(lon, lat) < 700
    assert not land.on_land([KINGSTON_HARBOUR[1]], [KINGSTON_HARBOUR[0]])[0]
    # ships sail where the 1:10m coastline draws land: canal, river ports, WPI harbours are cut out
    for lat, lon in ((9.12, -79.70), (10.96, -74.78), (8.35, -62.72), (20.0167, -75.8333)):
        assert not land.inland([lon], [lat], 2000.0)[0][0], (lat, lon)


def test_position_on_land_10_km_inland_in_jamaica_once_then_closed_at_sea() -> None:
    mmsi = 366000080
    near_coast = (17.905, -77.2)  # on land, but within the 2 km margin: neither opens nor closes
    rows = [
        vpos(mmsi, T0, 17.60, -77.2, sog=10),  # 12 km off the south coast
        vpos(mmsi, T0 + 600, *INLAND_JM, sog=10),
        vpos(mmsi, T0 + 1200, INLAND_JM[0] + 0.002, INLAND_JM[1], sog=10),
        vpos(mmsi, T0 + 1800, *near_coast, sog=10),
        vpos(mmsi, T0 + 2400, INLAND_JM[0] + 0.004, INLAND_JM[1], sog=10),
        vpos(mmsi, T0 + 3000, 17.60, -77.2, sog=10),
    ]
    zones = [_jm_waters()]
    alerts = run(zones, [SpoofDetector(zones)], by_time(rows))
    op = opened(alerts, "position_on_land")
    assert len(op) == 1
    a = op[0]
    assert a.time == pytest.approx(T0 + 600) and a.level == Level.MEDIUM
    assert a.zone is not None and a.zone.id == "JM-ts" and a.state == "JM"
    assert a.extra["inland_m"] == pytest.approx(10_000, abs=500)
    assert "reported a position on land (18.0100, -77.2000)" in a.reasons[0]
    cl = closed(alerts, "position_on_land")
    assert len(cl) == 1 and cl[0].time == pytest.approx(T0 + 3000)


def test_position_on_land_in_one_batch_opens_and_closes_once() -> None:
    mmsi = 366000086
    rows = [
        vpos(mmsi, T0, 17.60, -77.2),
        vpos(mmsi, T0 + 600, *INLAND_JM),
        vpos(mmsi, T0 + 1200, 17.60, -77.2),
        vpos(mmsi, T0 + 1800, 17.61, -77.2),
    ]
    alerts = run([], [SpoofDetector([])], [(rows, [])])  # a replay step holding the whole episode
    assert [a.time for a in opened(alerts, "position_on_land")] == [pytest.approx(T0 + 600)]
    assert [a.time for a in closed(alerts, "position_on_land")] == [pytest.approx(T0 + 1200)]


def test_position_on_land_near_misses_harbour_and_coast() -> None:
    rows = []
    for k in range(6):
        rows.append(vpos(366000081, T0 + k * 300, *KINGSTON_HARBOUR, sog=0.1))
        rows.append(vpos(366000082, T0 + k * 300, *OFF_NORTH_COAST_JM, sog=3.0))
        # on land but only ~0.8 km from the coast: inside the margin
        rows.append(vpos(366000083, T0 + k * 300, 18.395, -77.0, sog=0.0))
    alerts = run([_jm_waters()], [SpoofDetector([_jm_waters()])], by_time(rows))
    assert opened(alerts, "position_on_land") == []


def test_position_on_land_only_for_vessels_and_configurable(tmp_path: Path) -> None:
    over = [apos(0xABC060, NOON + k * 10, INLAND_JM[0], INLAND_JM[1] + k * 0.001, 3000) for k in range(3)]
    assert opened(run([], [SpoofDetector([])], by_time(over)), "position_on_land") == []
    inland = [vpos(366000084, T0 + k * 600, *INLAND_JM) for k in range(3)]
    off = build_detectors({"position_jump": {"land_check": False}}, [])
    assert opened(run([], off, by_time(inland)), "position_on_land") == []
    wide = build_detectors({"position_jump": {"land_margin_m": 12_000.0}}, [])
    assert opened(run([], wide, by_time(inland)), "position_on_land") == []
    # an own land file, relative to the profiles file
    import json

    (tmp_path / "land").mkdir()
    square = {"type": "Polygon", "coordinates": [[[-61, 15], [-60, 15], [-60, 16], [-61, 16], [-61, 15]]]}
    feature = {"type": "Feature", "properties": {}, "geometry": square}
    (tmp_path / "land" / "mine.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]})
    )
    p = tmp_path / "profiles.toml"
    p.write_text('[detectors.position_jump]\nland_file = "land/mine.geojson"\n')
    alerts = run([], load_detectors(p, []), by_time([vpos(366000085, T0, 15.5, -60.5)]))
    assert len(opened(alerts, "position_on_land")) == 1
    p.write_text("[detectors.position_jump]\nland_file = 3\n")
    with pytest.raises(ConfigError, match="land_file must be a string"):
        load_detectors(p, [])
    p.write_text('[detectors.position_jump]\nland_file = "nowhere.geojson"\n')
    with pytest.raises(ConfigError, match="land_check = false"):
        load_detectors(p, [])


@pytest.mark.skipif(
    not (SHARED / "geo" / "ne_10m_land_caribbean.geojson").is_file(), reason="needs ../shared/data"
)
def test_shipped_land_file_is_the_build_output(tmp_path: Path) -> None:
    from mdacentre.core.land import build_land, write_land

    out = tmp_path / "land.geojson"
    size = write_land(build_land(SHARED / "geo"), out)
    shipped = REPO / "geofences" / "land" / "land.geojson"
    assert size < 1_500_000
    assert out.read_bytes() == shipped.read_bytes()


def test_exclude_watchlist_spares_authorised_vessels(tmp_path: Path) -> None:
    from mdacentre.risk.conditions import parse_conditions

    (tmp_path / "authorised.csv").write_text("kind,value,label\nmmsi,366000070,coast guard cutter\n")
    rows = [vpos(366000070, NOON, LAT, LON), vpos(366000071, NOON, LAT, LON)]
    table, trows = _table_with(rows, [])
    cond = parse_conditions({"exclude_watchlist": ["authorised.csv"]}, tmp_path, "test")
    assert cond.mask(table, trows).tolist() == [False, True]


def _alert_versions(alerts: list[Alert]) -> list[tuple[str, str, int, str, float, str]]:
    return sorted(
        (a.category, a.id, a.version, a.status.value, round(a.time, 3), a.level.label) for a in alerts
    )


def test_cross_domain_result_does_not_depend_on_detector_order() -> None:
    rows = _fast_rows(30.0, NOON - 30) + _circle_rows(0xABC052, 750, lat=LAT + 0.01)
    results = []
    for perm in itertools.permutations(range(3)):
        air = AircraftDetector([])
        gf = GoFastDetector([])
        dets: list[Detector] = [gf, air, CrossDomainDetector(air, [gf])]
        results.append(_alert_versions(run([], [dets[i] for i in perm], by_time(rows))))
    assert any(r[0] == "cross_domain" for r in results[0])
    assert all(r == results[0] for r in results[1:])


def test_cross_domain_without_its_sources_is_refused() -> None:
    air = AircraftDetector([])
    with pytest.raises(ConfigError, match="GoFastDetector, which is not among the detectors"):
        Pipeline([], profiles=[], detectors=[air, CrossDomainDetector(air, [GoFastDetector([])])])
