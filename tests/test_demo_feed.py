"""The bundled demo feed (feeds/demo): real NMEA/SBS, the scripted incidents, determinism.

Most checks read the committed files, so they guard what the demo actually replays. The
determinism checks regenerate a short run with tools.demo_feed and need the shared data
(../shared/data/geo next to the repository); they skip with a reason if it is absent.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyais.encode import encode_dict
from pyais.messages import NMEASentenceFactory
from pyais.stream import FileReaderStream
from shapely.geometry import shape

from mdacentre.model.errors import ConfigError, MdaError
from mdacentre.model.geodesy import M_PER_NM, bearing_deg, haversine_m
from tools import demo_feed as demo
from tools.demo import catalogue, inputs
from tools.demo.ais import tag_block

REPO = Path(__file__).resolve().parents[1]
FEED = REPO / "feeds" / "demo"
AIS = FEED / catalogue.AIS_FILE
SBS = FEED / catalogue.SBS_FILE
SCEN = FEED / catalogue.SCENARIO_FILE
GEO = REPO.parent / "shared" / "data" / "geo"
needs_shared = pytest.mark.skipif(
    not (GEO / catalogue.WPI_CARIBBEAN).is_file(),
    reason=f"shared data not found at {GEO} (checked out next to the repo in CI)",
)

# MIDs the demo may use (ITU allocations of the flags in tools.demo.catalogue.FLAGS)
ALLOWED_MIDS = {m for f in catalogue.FLAGS for m in f[1]}
TAG = re.compile(r"^\\(?P<body>[^\\*]*)\*(?P<cs>[0-9A-F]{2})\\(?P<nmea>!AIVDM,.*)$")


def _nmea_checksum(body: str) -> int:
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return cs


def _nm(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in nautical miles."""
    return haversine_m(lat1, lon1, lat2, lon2) / M_PER_NM


@dataclass
class Report:
    t: int
    station: str
    msg: dict[str, Any]


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCEN.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def ais_messages() -> list[Report]:
    """Every message of the committed AIS file, decoded by pyais (multi-part assembled)."""
    out: list[Report] = []
    for msg in FileReaderStream(str(AIS)):
        tb = msg.tag_block
        assert tb is not None, "message without a tag block"
        tb.init()
        out.append(Report(int(tb.receiver_timestamp or -1), str(tb.source_station), msg.decode().asdict()))
    return out


def _positions(msgs: list[Report], mmsi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows = [
        (r.t, r.msg["lat"], r.msg["lon"], r.msg["speed"])
        for r in msgs
        if r.msg["mmsi"] == mmsi and r.msg["msg_type"] in (1, 2, 3, 18)
    ]
    a = np.array(rows, dtype=np.float64)
    return a[:, 0], a[:, 1], a[:, 2], a[:, 3]


def _caribbean_sea() -> shapely.Geometry:
    feats = json.loads((REPO / "geofences" / "watch_areas.geojson").read_text(encoding="utf-8"))["features"]
    return shape(next(f for f in feats if f["properties"]["id"] == "caribbean_sea")["geometry"])


def _scenario(scenarios: dict[str, Any], category: str) -> list[dict[str, Any]]:
    return [s for s in scenarios["scenarios"] if s["category"] == category]


# ----------------------------------------------------------------------------- AIS file


def test_every_ais_line_has_a_valid_tag_block_and_sentence() -> None:
    lines = AIS.read_text(encoding="ascii").splitlines()
    assert len(lines) > 40_000
    last_t = 0
    for n, ln in enumerate(lines, 1):
        m = TAG.match(ln)
        assert m, f"line {n} is not tag block + !AIVDM: {ln!r}"
        body = m["body"]
        assert int(m["cs"], 16) == _nmea_checksum(body), f"line {n}: bad tag-block checksum"
        fields = dict(f.split(":", 1) for f in body.split(","))
        assert re.fullmatch(r"[A-Z]{2}-[A-Z]{3}|S-AIS", fields["s"]), f"line {n}: odd station {fields['s']}"
        t = int(fields["c"])
        assert t >= last_t, f"line {n}: not sorted by event time"
        last_t = t
        nmea = m["nmea"]
        star = nmea.rindex("*")
        assert int(nmea[star + 1 :], 16) == _nmea_checksum(nmea[1:star]), f"line {n}: bad NMEA checksum"
        sentence = NMEASentenceFactory.produce(ln.encode())  # pyais's own tag-block parser agrees
        assert sentence.tag_block is not None
        sentence.tag_block.init()
        assert sentence.tag_block.is_valid and sentence.tag_block.receiver_timestamp == fields["c"]


def test_every_ais_message_decodes_with_pyais(ais_messages: list[Report], scenarios: dict[str, Any]) -> None:
    n_lines = len(AIS.read_text(encoding="ascii").splitlines())
    n_type5 = sum(1 for r in ais_messages if r.msg["msg_type"] == 5)
    assert len(ais_messages) + n_type5 == n_lines  # type 5 is the only two-sentence message
    types = {r.msg["msg_type"] for r in ais_messages}
    assert {1, 3, 5, 18, 24} <= types
    mmsis = {r.msg["mmsi"] for r in ais_messages}
    assert 140 <= len(mmsis) <= 160
    assert {m // 1_000_000 for m in mmsis} <= ALLOWED_MIDS
    assert all(scenarios["start_t"] <= r.t < scenarios["end_t"] for r in ais_messages)
    positions = [r for r in ais_messages if r.msg["msg_type"] in (1, 3, 18)]
    assert len(positions) <= 60_000
    assert all(-90 <= r.msg["lon"] <= -55 and 5 <= r.msg["lat"] <= 30 for r in positions)


def test_sizes_and_counts(scenarios: dict[str, Any]) -> None:
    assert AIS.stat().st_size < 5_000_000
    assert SBS.stat().st_size < 2_000_000
    assert scenarios["counts"]["ais_bytes"] == AIS.stat().st_size
    assert scenarios["counts"]["sbs_bytes"] == SBS.stat().st_size


def test_class_a_sends_type5_every_six_minutes(ais_messages: list[Report]) -> None:
    by_mmsi: dict[int, list[int]] = {}
    for r in ais_messages:
        if r.msg["msg_type"] == 5:
            by_mmsi.setdefault(r.msg["mmsi"], []).append(r.t)
    assert len(by_mmsi) > 90
    gaps = np.concatenate([np.diff(v) for v in by_mmsi.values() if len(v) > 1])
    assert 330 <= float(np.median(gaps)) <= 390
    fives = [r.msg for r in ais_messages if r.msg["msg_type"] == 5]
    assert all(m["shipname"] and m["callsign"] for m in fives)
    assert any(m["destination"] for m in fives) and any(m["imo"] for m in fives)


@needs_shared
def test_positions_are_at_sea(ais_messages: list[Report], scenarios: dict[str, Any]) -> None:
    land = shapely.union_all(
        [
            shape(f["geometry"])
            for f in json.loads((GEO / catalogue.LAND).read_text(encoding="utf-8"))["features"]
        ]
    )
    shapely.prepare(land)
    pos = [r.msg for r in ais_messages if r.msg["msg_type"] in (1, 3, 18)]
    xy = np.array([(float(m["lon"]), float(m["lat"])) for m in pos])
    on_land = shapely.contains_xy(land, xy[:, 0], xy[:, 1])
    assert on_land.mean() < 0.005, f"{on_land.sum()} of {len(xy)} positions on land"
    scripted = {s.get("mmsi") for s in scenarios["scenarios"]} | {
        s.get("other_mmsi") for s in scenarios["scenarios"]
    }
    assert not any(on_land[k] for k, m in enumerate(pos) if m["mmsi"] in scripted)


# ----------------------------------------------------------------------------- scenarios


def test_scenarios_json_lists_every_category(scenarios: dict[str, Any]) -> None:
    cats = {s["category"] for s in scenarios["scenarios"]}
    assert cats == {c.value for c in catalogue.AlertCategory}
    for s in scenarios["scenarios"]:
        assert ("mmsi" in s) != ("icao" in s), s["id"]
        assert s["start_t"] <= s["end_t"] <= scenarios["end_t"]
        assert s["start"] == datetime.fromtimestamp(s["start_t"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    early = {s["category"] for s in scenarios["scenarios"] if s["minutes_into_data"] <= 45}
    assert {
        "hazardous_cargo",
        "go_fast",
        "encounter",
        "position_jump",
        "loitering",
        "squawk_emergency",
        "aircraft_offairport_landing",
        "aircraft_circling",
    } <= early
    late = [s for s in scenarios["scenarios"] if s["minutes_into_data"] > 120]
    assert {s["category"] for s in late} >= {"hazardous_cargo", "go_fast", "encounter", "position_jump"}


def test_hazardous_vessels_enter_the_caribbean_sea(
    ais_messages: list[Report], scenarios: dict[str, Any]
) -> None:
    sea = _caribbean_sea()
    haz = _scenario(scenarios, "hazardous_cargo")
    early = [s for s in haz if s["minutes_into_data"] <= 40]
    assert {s["ship_type"] for s in early} >= {71} and any(81 <= s["ship_type"] <= 84 for s in early)
    for s in haz:
        t, lat, lon, _ = _positions(ais_messages, s["mmsi"])
        inside = shapely.contains_xy(sea, lon, lat)
        assert not inside[0], f"{s['id']} starts inside the Caribbean Sea"
        k = int(np.argmax(inside))
        assert inside[k] and int(t[k]) == s["start_t"]
        assert t[k] - t[0] <= 40 * 60 or s["minutes_into_data"] > 40
        types = {
            r.msg["ship_type"] for r in ais_messages if r.msg["msg_type"] == 5 and r.msg["mmsi"] == s["mmsi"]
        }
        assert types == {s["ship_type"]} and s["ship_type"] // 10 in (7, 8) and 1 <= s["ship_type"] % 10 <= 4
    first = min(early, key=lambda s: s["start_t"])
    assert first["start_t"] - scenarios["start_t"] <= 40 * 60


def test_background_traffic_carries_no_hazardous_type(
    ais_messages: list[Report], scenarios: dict[str, Any]
) -> None:
    haz = {s["mmsi"] for s in _scenario(scenarios, "hazardous_cargo")}
    for r in ais_messages:
        if r.msg["msg_type"] in (5, 24) and r.msg.get("ship_type") is not None and r.msg["mmsi"] not in haz:
            st = int(r.msg["ship_type"])
            assert not (st // 10 in (2, 4, 6, 7, 8, 9) and 1 <= st % 10 <= 4), (r.msg["mmsi"], st)


def test_go_fast_runs_at_night(ais_messages: list[Report], scenarios: dict[str, Any]) -> None:
    runs = _scenario(scenarios, "go_fast")
    assert len(runs) >= 2
    for s in runs:
        t, _, _, sog = _positions(ais_messages, s["mmsi"])
        fast = (t >= s["start_t"]) & (t <= s["end_t"]) & (sog > 2)
        assert fast.sum() > 20 and 35 <= np.median(sog[fast]) <= 45
        local_hour = datetime.fromtimestamp(s["start_t"], UTC).hour - 5  # Jamaica UTC-5, Hispaniola UTC-4
        assert local_hour % 24 >= 18 or local_hour % 24 < 5
        types = {r.msg["msg_type"] for r in ais_messages if r.msg["mmsi"] == s["mmsi"]}
        assert types <= {18, 24}
        stype = {
            r.msg["ship_type"]
            for r in ais_messages
            if r.msg["mmsi"] == s["mmsi"] and r.msg["msg_type"] == 24 and r.msg.get("partno") == 1
        }
        assert stype <= {0, 37}


def test_rendezvous_drifts_together_far_from_port(
    ais_messages: list[Report], scenarios: dict[str, Any]
) -> None:
    for s in _scenario(scenarios, "encounter"):
        ta, la, oa, sa = _positions(ais_messages, s["mmsi"])
        tb, lb, ob, sb = _positions(ais_messages, s["other_mmsi"])
        win = (ta >= s["start_t"] + 600) & (ta <= s["end_t"] - 600)
        assert s["end_t"] - s["start_t"] >= 2.5 * 3600 - 60
        lat_b, lon_b = np.interp(ta[win], tb, lb), np.interp(ta[win], tb, ob)
        sep_m = _nm(la[win], oa[win], lat_b, lon_b) * M_PER_NM
        assert win.sum() > 30 and float(np.max(sep_m)) < 250.0
        assert float(np.max(sa[win])) < 1.0
        assert float(np.max(sb[(tb >= s["start_t"] + 600) & (tb <= s["end_t"] - 600)])) < 1.0


@needs_shared
def test_incidents_at_sea_are_far_from_ports(scenarios: dict[str, Any]) -> None:
    ports = inputs.read_ports(GEO / catalogue.WPI_CARIBBEAN)
    plat, plon = np.array([p.lat for p in ports]), np.array([p.lon for p in ports])
    for cat, min_km in (("encounter", 20.0), ("loitering", 37.0)):
        for s in _scenario(scenarios, cat):
            near_km = float(np.min(_nm(plat, plon, s["lat"], s["lon"]))) * 1.852
            assert near_km > min_km, (s["id"], near_km)


def test_vessels_go_dark(ais_messages: list[Report], scenarios: dict[str, Any]) -> None:
    gaps = _scenario(scenarios, "ais_gap")
    assert len(gaps) == 2
    for s in gaps:
        t, lat, lon, _ = _positions(ais_messages, s["mmsi"])
        assert t[0] - scenarios["start_t"] < 120 and 55 * 60 <= s["start_t"] - scenarios["start_t"] <= 61 * 60
        silent = (t > s["start_t"]) & (t < s["end_t"])
        assert not silent.any()
        statics = [r for r in ais_messages if r.msg["mmsi"] == s["mmsi"] and s["start_t"] < r.t < s["end_t"]]
        assert not statics
        if s["open_at_end"]:
            assert t[-1] == s["start_t"] and scenarios["end_t"] - t[-1] >= 6.5 * 3600
        else:
            k = int(np.searchsorted(t, s["end_t"]))
            assert s["end_t"] - s["start_t"] >= 6.4 * 3600
            jump = float(_nm(lat[k - 1], lon[k - 1], lat[k], lon[k]))
            assert 45 <= jump <= 55


def test_mmsi_jumps_200_nm_in_two_minutes(ais_messages: list[Report], scenarios: dict[str, Any]) -> None:
    for s in _scenario(scenarios, "position_jump"):
        t, lat, lon, _ = _positions(ais_messages, s["mmsi"])
        step = _nm(lat[:-1], lon[:-1], lat[1:], lon[1:])
        k = int(np.flatnonzero(step > 100)[0])
        assert int(t[k + 1]) == s["start_t"] and t[k + 1] - t[k] == 120
        assert 195 <= step[k] <= 205
        assert (step > 100).sum() == 2  # the jump and the return to the true track


@needs_shared
def test_loitering_fishing_vessel(ais_messages: list[Report], scenarios: dict[str, Any]) -> None:
    (s,) = _scenario(scenarios, "loitering")
    t, lat, lon, sog = _positions(ais_messages, s["mmsi"])
    assert t[-1] - t[0] >= 4 * 3600 and float(np.mean(sog)) < 2.0
    spread_nm = _nm(lat, lon, s["lat"], s["lon"])
    assert float(np.max(spread_nm)) < 5.0
    statuses = {
        r.msg["status"] for r in ais_messages if r.msg["mmsi"] == s["mmsi"] and r.msg["msg_type"] == 1
    }
    assert statuses == {7}
    types = {
        r.msg["ship_type"] for r in ais_messages if r.msg["mmsi"] == s["mmsi"] and r.msg["msg_type"] == 5
    }
    assert types == {30}


# ----------------------------------------------------------------------------- SBS file


def _sbs_rows() -> list[list[str]]:
    return [ln.split(",") for ln in SBS.read_text(encoding="ascii").splitlines()]


def test_sbs_lines_are_22_field_msg_records() -> None:
    rows = _sbs_rows()
    assert len(rows) > 3000
    last = ""
    for n, f in enumerate(rows, 1):
        assert len(f) == 22 and f[0] == "MSG" and f[1] in {"1", "2", "3", "4", "5", "6", "7", "8"}, n
        assert re.fullmatch(r"[0-9A-F]{6}", f[4]), n
        stamp = f"{f[6]} {f[7]}"
        datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S.%f")
        assert (f[6], f[7]) == (f[8], f[9])
        assert stamp >= last, f"line {n} not sorted"
        last = stamp
        if f[1] == "3":
            alt, lat, lon = int(f[11]), float(f[14]), float(f[15])
            assert -1000 < alt < 50_000 and 5 <= lat <= 30 and -90 <= lon <= -55
            assert f[21] == "0"
        if f[1] == "4":
            assert 0 <= int(f[12]) < 700 and 0 <= int(f[13]) < 360
        if f[1] == "6":
            assert re.fullmatch(r"[0-7]{4}", f[17])
    icaos = {f[4] for f in rows}
    assert 15 <= len(icaos) <= 25


def _sbs_track(icao: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows = [f for f in _sbs_rows() if f[4] == icao and f[1] == "3"]
    t = np.array(
        [
            datetime.strptime(f"{f[6]} {f[7]}", "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
            for f in rows
        ]
    )
    return (
        t,
        np.array([float(f[14]) for f in rows]),
        np.array([float(f[15]) for f in rows]),
        np.array([float(f[11]) for f in rows]),
    )


def test_squawk_7500_briefly(scenarios: dict[str, Any]) -> None:
    (s,) = _scenario(scenarios, "squawk_emergency")
    codes = [(f[7], f[17], f[19]) for f in _sbs_rows() if f[4] == s["icao"] and f[1] == "6"]
    hijack = [c for c in codes if c[1] == "7500"]
    assert hijack and all(c[2] == "-1" for c in hijack)
    assert codes[-1][1] != "7500"  # back to the assigned code
    assert {f[4] for f in _sbs_rows() if f[1] == "6" and f[17] in ("7500", "7600", "7700")} == {s["icao"]}


@needs_shared
def test_light_aircraft_lands_away_from_airports(scenarios: dict[str, Any]) -> None:
    (s,) = _scenario(scenarios, "aircraft_offairport_landing")
    t, lat, lon, alt = _sbs_track(s["icao"])
    assert float(alt.max()) < 1000
    ground = [f for f in _sbs_rows() if f[4] == s["icao"] and f[1] == "2" and f[21] == "-1"]
    assert ground
    glat, glon = float(ground[-1][14]), float(ground[-1][15])
    airports = inputs.read_airports(GEO / catalogue.AIRPORTS_CARIBBEAN)
    alat, alon = np.array([a.lat for a in airports]), np.array([a.lon for a in airports])
    assert float(np.min(_nm(alat, alon, glat, glon))) * 1.852 > 15.0
    land = shapely.union_all(
        [
            shape(f["geometry"])
            for f in json.loads((GEO / catalogue.LAND).read_text(encoding="utf-8"))["features"]
        ]
    )
    low = alt < 1000
    assert not shapely.contains_xy(land, lon[low][:20], lat[low][:20]).any()  # low over the sea first
    assert shapely.contains_xy(land, glon, glat)


def test_aircraft_circles_over_the_rendezvous(scenarios: dict[str, Any]) -> None:
    (s,) = _scenario(scenarios, "aircraft_circling")
    t, lat, lon, alt = _sbs_track(s["icao"])
    win = (t >= s["start_t"]) & (t <= s["end_t"])
    brg = bearing_deg(lat[win][:-1], lon[win][:-1], lat[win][1:], lon[win][1:])
    turn = np.diff(np.unwrap(np.radians(brg)))
    assert abs(math.degrees(float(turn.sum()))) > 5 * 360
    d_nm = _nm(lat[win], lon[win], s["lat"], s["lon"])
    assert float(d_nm.max()) < 3.0
    rendezvous = next(x for x in scenarios["scenarios"] if x["id"] == s["over_scenario"])
    assert rendezvous["start_t"] <= s["start_t"] <= rendezvous["end_t"]


# ----------------------------------------------------------------------------- generator


@needs_shared
def test_generator_is_deterministic_and_the_committed_feed_is_current(
    tmp_path: Path, scenarios: dict[str, Any]
) -> None:
    start = datetime.fromtimestamp(scenarios["start_t"], UTC)
    a, b = tmp_path / "a", tmp_path / "b"
    ca = demo.generate(a, seed=scenarios["seed"], hours=0.2, start=start)
    cb = demo.generate(b, seed=scenarios["seed"], hours=0.2, start=start)
    assert ca == cb
    for name in (catalogue.AIS_FILE, catalogue.SBS_FILE, catalogue.SCENARIO_FILE, catalogue.SOURCES_FILE):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # a short run is an exact prefix of the committed 8 h feed: the committed files are up to date
    cut = scenarios["start_t"] + 0.2 * 3600
    short = (a / catalogue.AIS_FILE).read_text(encoding="ascii").splitlines()
    committed = AIS.read_text(encoding="ascii").splitlines()
    head = [ln for ln in committed if int(re.search(r"c:(\d+)", ln)[1]) < cut]  # type: ignore[index]
    assert short == head[: len(short)] and len(short) == len(head)
    short_sbs = (a / catalogue.SBS_FILE).read_text(encoding="ascii").splitlines()
    assert short_sbs == SBS.read_text(encoding="ascii").splitlines()[: len(short_sbs)]
    other = demo.generate(tmp_path / "c", seed=scenarios["seed"] + 1, hours=0.2, start=start)
    assert (tmp_path / "c" / catalogue.AIS_FILE).read_bytes() != (a / catalogue.AIS_FILE).read_bytes()
    assert other["vessels"] == ca["vessels"]


def test_generator_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hours"):
        demo.generate(tmp_path, hours=0)
    with pytest.raises(ConfigError, match="timezone"):
        demo.generate(tmp_path, hours=1, start=datetime(2026, 1, 15))
    with pytest.raises(MdaError, match="data_dir"):
        demo.generate(tmp_path, hours=1, data_dir=tmp_path / "nowhere")
    assert not (tmp_path / catalogue.AIS_FILE).exists()


def test_tag_block_helper_matches_nmea_checksum() -> None:
    tb = tag_block("JM-KIN", 1768435200)
    assert tb == "\\s:JM-KIN,c:1768435200*" + f"{_nmea_checksum('s:JM-KIN,c:1768435200'):02X}" + "\\"
    grouped = tag_block("S-AIS", 1768435200, "1-2-7")
    first = encode_dict(
        {"type": 5, "mmsi": 339123456, "shipname": "TEST", "callsign": "6YABC"},
        talker_id="AI",
        sentence_type="VDM",
        seq_id=3,
    )[0]
    s = NMEASentenceFactory.produce((grouped + first).encode())
    assert s.tag_block is not None
    s.tag_block.init()
    assert s.tag_block.is_valid and str(s.tag_block.group) == "1-2-7"


def test_demo_in_small_live_batches_raises_each_hazardous_transit_once() -> None:
    """As the live service sees it: a few lines per batch. One alert per transit, no flapping."""
    import random

    from mdacentre.core.zones import load_library
    from mdacentre.decode.ais import AisDecoder
    from mdacentre.risk.profiles import load_profiles
    from mdacentre.service.pipeline import Pipeline

    repo = Path(__file__).resolve().parents[1]
    zones = load_library(repo / "geofences")
    pipe = Pipeline(zones, profiles=load_profiles(repo / "geofences" / "profiles.toml", zones), detectors=[])
    lines = (repo / "feeds" / "demo" / "caribbean_ais.nmea").read_bytes().split(b"\n")[:25_000]
    dec = AisDecoder(0)
    rnd = random.Random(1)
    got = []
    i = 0
    while i < len(lines):
        n = rnd.randint(1, 40)
        for a in pipe.step(dec.decode(b"\n".join(lines[i : i + n]) + b"\n", 0.0)).alerts:
            if a.category == "hazardous_cargo":
                got.append((a.track.name, a.status.value, round(a.time)))
        i += n
    start = 1768435200  # 2026-01-15T00:00Z, the demo's first event time
    assert got == [("OCEAN RANGER", "open", start + 1334), ("ISLAND VENTURE", "open", start + 2049)]
