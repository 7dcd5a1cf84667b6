"""The scripted incidents: their vessels and aircraft, refined times and scenarios.json."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from mdacentre.model.geodesy import FloatArray, haversine
from tools.demo.air import Flight, airliner, circling_flight, landing_flight
from tools.demo.ais import AisEvent
from tools.demo.catalogue import AIS_FILE, EARTH_RADIUS_NM, FLIGHTS, SBS_FILE, AlertCategory, in_box
from tools.demo.fleet import ScenarioRecord, Vessel, stream, utc
from tools.demo.inputs import Inputs
from tools.demo.planner import Planner


def scenario_vessels(p: Planner) -> tuple[list[Vessel], list[ScenarioRecord]]:
    vs: list[Vessel] = []
    recs: list[ScenarioRecord] = []

    def add(v: Vessel | list[Vessel], r: ScenarioRecord) -> None:
        vs.extend(v if isinstance(v, list) else [v])
        recs.append(r)

    add(
        *p.hazardous(
            1000,
            "hazmat_tanker_guadeloupe_passage",
            "ES ALG",
            "CW WIL",
            81,
            13.0,
            22 * 60.0,
            (636,),
            "chemical/products tanker (ship type 81, hazardous category X) from the Atlantic entering "
            "the Caribbean Sea through the Guadeloupe Passage",
        )
    )
    add(
        *p.hazardous(
            1001,
            "hazmat_cargo_windward",
            "US SAV",
            "JM KIN",
            71,
            15.0,
            34 * 60.0,
            (538,),
            "general cargo ship carrying dangerous goods (ship type 71) entering through the Windward Passage",
        )
    )
    add(*p.go_fast(1010, "go_fast_jamaica", 16.35, -76.25, 17.83, -77.42, 40.0, 4 * 60.0, False, "Jamaica"))
    add(
        *p.rendezvous(
            1020,
            "rendezvous_south_of_jamaica",
            15.60,
            -77.55,
            15 * 60.0,
            2.5,
            (70, 30),
            "reefer-sized cargo ship and fishing vessel meet far from port and drift side by side",
        )
    )
    add(*p.going_dark(1030, "dark_vessel_open_gap", "CO BAQ", "BS NAS", 12.5, 3600.0, None, 0.0))
    add(*p.going_dark(1031, "dark_vessel_reappears", "PA ONX", "PR PSE", 11.0, 3600.0, 6.5 * 3600.0, 50.0))
    add(*p.spoofer(1040, "mmsi_jump_kingston_lane", "JM KIN", "PA ONX", 20 * 60.0))
    add(*p.loiterer(1050, "loitering_fishing_vessel", 14.90, -73.60))
    # repeats later in the data
    add(
        *p.hazardous(
            1002,
            "hazmat_tanker_galleons",
            "NG LOS",
            "TT POS",
            83,
            12.5,
            4 * 3600.0,
            (636, 538),
            "LPG/chemical tanker (ship type 83) entering the Caribbean Sea south of Grenada",
        )
    )
    add(
        *p.go_fast(
            1011, "go_fast_hispaniola", 15.60, -71.05, 17.90, -71.20, 42.0, 4 * 3600.0, True, "Hispaniola"
        )
    )
    add(
        *p.rendezvous(
            1022,
            "rendezvous_north_of_colombia",
            13.50,
            -76.00,
            4 * 3600.0 + 15 * 60.0,
            2.5,
            (80, 80),
            "two tankers meet far from port and lie together (possible ship-to-ship transfer)",
        )
    )
    add(*p.spoofer(1041, "mmsi_jump_mona_lane", "DO SDQ", "PR PSE", 5 * 3600.0))
    return vs, recs


def scenario_aircraft(
    seed: int, t0: float, inp: Inputs, rendezvous: ScenarioRecord
) -> tuple[list[Flight], list[ScenarioRecord]]:
    flights: list[Flight] = []
    for i, (o, d, op, block, airborne_min) in enumerate(FLIGHTS):
        rng = stream(seed, 950, i)
        hexid = block + int(rng.integers(0x100, 0xFFF))
        callsign = f"{op}{int(rng.integers(100, 2999))}"
        a, b = inp.airports[o], inp.airports[d]
        t_dep = t0 - airborne_min * 60.0
        if not in_box(
            a.lat, a.lon
        ):  # long-haul arrival: airborne_min is then minutes before it enters coverage
            probe = airliner(hexid, callsign, a, b, 0.0, stream(seed, 950, i))
            t_dep = t0 - airborne_min * 60.0 - float(probe.t[np.argmax(in_box(probe.lat, probe.lon))])
        flights.append(airliner(hexid, callsign, a, b, t_dep, rng))
    recs: list[ScenarioRecord] = []
    # squawk 7500 briefly: a charter from Port of Spain to Miami (fictional operator designator)
    rng = stream(seed, 960)
    hj = airliner(0xA7C51E, "DMO750", inp.airports["TTPP"], inp.airports["KMIA"], t0 - 45 * 60.0, rng)
    t_sq = t0 + 25 * 60.0
    hj.squawks += [(t_sq, 7500), (t_sq + 4 * 60.0, hj.squawks[0][1])]
    flights.append(hj)
    i_sq = int(np.searchsorted(hj.t, t_sq))
    recs.append(
        ScenarioRecord(
            "squawk_7500",
            "squawk_unlawful_interference",
            AlertCategory.SQUAWK_EMERGENCY,
            start=t_sq,
            end=t_sq + 240.0,
            detectable_from=t_sq,
            icao=f"{hj.hexid:06X}",
            name=hj.callsign,
            lat=float(hj.lat[i_sq]),
            lon=float(hj.lon[i_sq]),
            note="airliner squawks 7500 for 4 min, then back to its assigned code "
            "(fictional operator designator)",
            extra={"squawk": 7500},
        )
    )
    spot = (17.93, -77.45)
    la, t_td = landing_flight(t0, spot)
    flights.append(la)
    near_km = (
        float(
            np.min(
                haversine(
                    inp.airport_points[:, 0], inp.airport_points[:, 1], spot[0], spot[1], EARTH_RADIUS_NM
                )
            )
        )
        * 1.852
    )
    recs.append(
        ScenarioRecord(
            "offairport_landing_jamaica",
            "light_aircraft_lands_off_airport",
            AlertCategory.AIRCRAFT_OFFAIRPORT_LANDING,
            start=t_td,
            end=t_td + 300.0,
            detectable_from=t_td,
            icao=f"{la.hexid:06X}",
            name=la.callsign,
            lat=spot[0],
            lon=spot[1],
            note="light aircraft below 1000 ft over the sea from the south, lands "
            "on a field far from any known airport, transponder off 5 min later",
            extra={"nearest_airport_km": round(near_km, 1), "max_alt_ft": 800},
        )
    )
    ci, t_arr, t_leave, period = circling_flight(t0, rendezvous.lat, rendezvous.lon)
    flights.append(ci)
    recs.append(
        ScenarioRecord(
            "circling_over_rendezvous",
            "aircraft_circling_over_vessels",
            AlertCategory.AIRCRAFT_CIRCLING,
            start=t_arr,
            end=t_leave,
            detectable_from=t_arr + period,
            icao=f"{ci.hexid:06X}",
            name=ci.callsign,
            lat=rendezvous.lat,
            lon=rendezvous.lon,
            note="aircraft orbits at 1500 ft, radius 1.4 nm, over the rendezvous",
            extra={"orbit_period_s": round(period), "radius_nm": 1.4, "over_scenario": rendezvous.id},
        )
    )
    return flights, recs


Reports = dict[int, tuple[npt.NDArray[np.int64], FloatArray, FloatArray]]


def reports_by_mmsi(events: list[AisEvent]) -> Reports:
    rows: dict[int, list[tuple[int, float, float]]] = {}
    for e in events:
        if e.data["type"] in (1, 3, 18):
            rows.setdefault(int(e.data["mmsi"]), []).append((e.t, float(e.data["lat"]), float(e.data["lon"])))
    out: Reports = {}
    for mmsi, r in rows.items():
        a = np.array(r, dtype=np.float64)
        out[mmsi] = (a[:, 0].astype(np.int64), a[:, 1], a[:, 2])
    return out


def refine_scenarios(recs: list[ScenarioRecord], reports: Reports, sea: BaseGeometry) -> None:
    """Replace planned incident times with the times of the reports actually written."""
    for r in recs:
        if r.mmsi is None or r.mmsi not in reports:
            continue
        t, lat, lon = reports[r.mmsi]
        if r.category == AlertCategory.HAZARDOUS_CARGO:
            inside = shapely.contains_xy(sea, lon, lat)
            if inside.any() and not inside[0]:
                k = int(np.argmax(inside))
                r.start = r.end = r.detectable_from = float(t[k])
                r.lat, r.lon = float(lat[k]), float(lon[k])
        elif r.category == AlertCategory.POSITION_JUMP and len(t) > 1:
            step = haversine(lat[:-1], lon[:-1], lat[1:], lon[1:], EARTH_RADIUS_NM)
            k = int(np.argmax(step > 100.0)) + 1  # the first implausible step (the return is the second)
            r.start = r.end = r.detectable_from = float(t[k])
            r.extra["jump_nm"] = round(float(step[k - 1]), 1)
            r.extra["seconds_after_previous"] = int(t[k] - t[k - 1])
        elif r.category == AlertCategory.AIS_GAP and len(t) > 1:
            k = int(np.argmax(np.diff(t))) if math.isfinite(r.end) else len(t) - 1
            r.start, r.lat, r.lon = float(t[k]), float(lat[k]), float(lon[k])
            r.detectable_from = r.start + 6 * 3600.0
            if math.isfinite(r.end):
                r.end = float(t[k + 1])
                r.extra["reappear_nm"] = round(
                    float(haversine(lat[k], lon[k], lat[k + 1], lon[k + 1], EARTH_RADIUS_NM)), 1
                )
        elif r.category == AlertCategory.GO_FAST:
            r.start, r.detectable_from = float(t[0]), float(t[min(1, len(t) - 1)])


def _iso(t: float) -> str | None:
    if not math.isfinite(t):
        return None
    return utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def scenario_json(
    recs: list[ScenarioRecord], seed: int, hours: float, t0: float, t_end: float, counts: dict[str, int]
) -> str:
    items: list[dict[str, Any]] = []
    for r in sorted(recs, key=lambda r: (r.start, r.id)):
        if r.start >= t_end:
            continue
        end = min(r.end, t_end)
        item: dict[str, Any] = {"id": r.id, "kind": r.kind, "category": str(r.category)}
        if r.mmsi is not None:
            item["mmsi"] = r.mmsi
        if r.other_mmsi is not None:
            item["other_mmsi"] = r.other_mmsi
        if r.icao is not None:
            item["icao"] = r.icao
        item.update(
            {
                "name": r.name,
                "start": _iso(r.start),
                "end": _iso(end),
                "start_t": int(r.start),
                "end_t": int(end),
                "open_at_end": bool(r.end > t_end),
                "detectable_from": _iso(r.detectable_from),
                "detectable_from_t": int(r.detectable_from),
                "detectable_in_data": bool(r.detectable_from < t_end),
                "minutes_into_data": round((r.start - t0) / 60.0, 1),
                "lat": round(r.lat, 5),
                "lon": round(r.lon, 5),
                "note": r.note,
            }
        )
        item.update(r.extra)
        items.append(item)
    doc = {
        "generator": "tools.demo_feed.generate",
        "seed": seed,
        "hours": hours,
        "start": _iso(t0),
        "end": _iso(t_end),
        "start_t": int(t0),
        "end_t": int(t_end),
        "replay_speed": 60,
        "files": {"ais": AIS_FILE, "sbs": SBS_FILE},
        "counts": counts,
        "notes": [
            "start/end: when the behaviour happens in the data; detectable_from: when the published default "
            "thresholds (shared/reference/detectors.md) are first met.",
            "Background traffic is built not to raise these categories (no hazardous ship types, no gaps, "
            "no drifting at sea).",
            "Vessel names, call signs, IMO numbers and MMSIs are invented; aircraft of the scenarios use "
            "fictional call signs.",
        ],
        "scenarios": items,
    }
    return json.dumps(doc, indent=2) + "\n"
