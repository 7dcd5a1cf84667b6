"""Bundled demo feed: realistic Caribbean sea and air traffic with scripted incidents.

``generate()`` writes, for one fixed seed, byte-identical files:

* ``caribbean_ais.nmea`` - real NMEA 0183 AIS sentences (pyais encoder), each with an NMEA 4.0
  tag block carrying ``s:`` (receiving station) and ``c:`` (event time, Unix seconds), sorted by
  event time. About 150 vessels sail real sea lanes (searoute's marnet network) between World
  Port Index ports; class A send types 1/3 and type 5 every ~6 min, class B types 18 and 24A/B.
* ``caribbean_sbs.txt`` - SBS-1 BaseStation lines (MSG,1/2/3/4/6) for airliners on great-circle
  routes between real airports (airportsdata) plus three scripted aircraft.
* ``scenarios.json`` - every scripted incident with its track identity, event times and the
  alert category the service is expected to raise.
* ``SOURCES.md`` - where the inputs come from and under which licence.

The scripted incidents happen in the first ~45 min of data (the demo replays at 60x, so a watch
officer sees them in the first minute) and some repeat later. Background traffic is built so
that it does not raise these alerts by itself (no hazardous ship types, no gaps, no drifting at
sea), which keeps the demo picture readable.

Shorter ``hours`` give a time prefix of a longer run with the same seed: every track draws from
its own random streams and planning uses a fixed horizon, so only the cut-off moves.

Run: ``python -m tools.demo_feed --out feeds/demo --hours 8``.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyais.encode import encode_dict
from shapely.geometry import LineString, Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from mdacentre.model.errors import ConfigError

FloatArray = npt.NDArray[np.float64]

# ----------------------------------------------------------------------------- constants

DEFAULT_START = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
PLAN_HOURS = 10.0  # planning horizon, independent of ``hours`` so short runs are prefixes
MAX_HOURS = 10.0
EARTH_NM = 3440.065  # mean Earth radius in nautical miles
M_PER_NM = 1852.0
BOX = (-90.0, 5.0, -55.0, 30.0)  # coverage of the station network: lon_min, lat_min, lon_max, lat_max
STATION_RANGE_NM = 60.0
SATELLITE_STATION = "S-AIS"  # satellite receiver, for positions out of range of every shore station
STATIC_PERIOD_S = 360  # class A type 5 and class B type 24 (ITU-R M.1371: every 6 min)

AIS_FILE = "caribbean_ais.nmea"
SBS_FILE = "caribbean_sbs.txt"
SCENARIO_FILE = "scenarios.json"
SOURCES_FILE = "SOURCES.md"

WPI_CARIBBEAN = "nga_wpi_caribbean.csv"
WPI_FULL = "nga_wpi_UpdatedPub150.csv"
AIRPORTS_CARIBBEAN = "airportsdata_caribbean.csv"
AIRPORTS_FULL = "airportsdata_airports.csv"
LAND = "ne_10m_land_caribbean.geojson"
WATCH_AREAS = "watch_areas.geojson"
CARIBBEAN_SEA_ID = "caribbean_sea"

# Plausible shore stations: name, lat, lon.
STATIONS: tuple[tuple[str, float, float], ...] = (
    ("JM-KIN", 17.93, -76.78),
    ("JM-MBJ", 18.47, -77.92),
    ("JM-PTA", 17.87, -77.55),
    ("BS-NAS", 25.08, -77.35),
    ("BS-FPO", 26.53, -78.70),
    ("BS-GGT", 23.51, -75.78),
    ("BS-INA", 20.95, -73.67),
    ("TC-GDT", 21.46, -71.14),
    ("KY-GCM", 19.29, -81.37),
    ("HT-PAP", 18.55, -72.35),
    ("HT-JAK", 18.23, -72.53),
    ("DO-SDQ", 18.47, -69.88),
    ("DO-PUJ", 18.57, -68.37),
    ("DO-BRX", 18.21, -71.10),
    ("PR-SJU", 18.46, -66.10),
    ("PR-PSE", 17.98, -66.62),
    ("VI-STT", 18.34, -64.93),
    ("AG-ANU", 17.12, -61.85),
    ("GP-PTP", 16.23, -61.53),
    ("MQ-FDF", 14.60, -61.07),
    ("BB-BGI", 13.10, -59.62),
    ("GD-GND", 12.05, -61.75),
    ("TT-POS", 10.65, -61.52),
    ("TT-TOB", 11.18, -60.74),
    ("CW-WIL", 12.12, -68.93),
    ("AW-ORJ", 12.52, -70.03),
    ("VE-LGU", 10.60, -66.93),
    ("CO-SMR", 11.24, -74.21),
    ("CO-CTG", 10.42, -75.53),
    ("CO-ADZ", 12.58, -81.70),
    ("PA-COL", 9.36, -79.90),
    ("CR-LIO", 10.00, -83.03),
    ("NI-PCB", 14.03, -83.38),
    ("HN-PCR", 15.97, -85.95),
    ("HN-RTB", 16.32, -86.54),
    ("BZ-BZE", 17.50, -88.19),
    ("MX-CUN", 21.16, -86.85),
    ("CU-SCU", 20.02, -75.83),
    ("CU-HAV", 23.14, -82.36),
    ("CU-CFG", 22.15, -80.45),
    ("US-MIA", 25.77, -80.17),
    ("US-KEY", 24.55, -81.80),
    ("US-TPA", 27.92, -82.45),
    ("US-JAX", 29.50, -81.20),
)


class AisClass(StrEnum):
    A = "A"
    B = "B"


class NavStatus(IntEnum):
    UNDER_WAY = 0
    AT_ANCHOR = 1
    MOORED = 5
    FISHING = 7
    UNDEFINED = 15


class Role(StrEnum):
    """What a background vessel does; decides type, size, speed and ports."""

    CARGO = "cargo"
    TANKER = "tanker"
    CRUISE = "cruise"
    FERRY = "ferry"
    TUG = "tug"
    FISHING_A = "fishing_a"
    FISHING_B = "fishing_b"
    PLEASURE = "pleasure"
    PATROL = "patrol"
    ANCHORED = "anchored"
    TRANSIT = "transit"


class AlertCategory(StrEnum):
    """Alert the service is expected to raise for a scenario."""

    HAZARDOUS_CARGO = "hazardous_cargo"
    GO_FAST = "go_fast"
    ENCOUNTER = "encounter"
    AIS_GAP = "ais_gap"
    POSITION_JUMP = "position_jump"
    LOITERING = "loitering"
    AIRCRAFT_OFFAIRPORT_LANDING = "aircraft_offairport_landing"
    SQUAWK_EMERGENCY = "squawk_emergency"
    AIRCRAFT_CIRCLING = "aircraft_circling"


@dataclass(frozen=True)
class RoleSpec:
    count: int
    ais_class: AisClass
    ship_types: tuple[int, ...]
    length_m: tuple[float, float]
    beam_ratio: float
    draught_m: tuple[float, float]
    speed_kn: tuple[float, float]
    route_km: tuple[float, float]
    local: bool  # small ports, short hops


ROLES: dict[Role, RoleSpec] = {
    Role.CARGO: RoleSpec(
        34, AisClass.A, (70, 70, 70, 79), (110, 230), 6.4, (7.0, 11.5), (11.5, 16.0), (300, 2600), False
    ),
    Role.TANKER: RoleSpec(
        14, AisClass.A, (80, 80, 89), (150, 250), 5.6, (8.5, 14.0), (11.0, 14.0), (300, 2600), False
    ),
    Role.CRUISE: RoleSpec(
        8, AisClass.A, (60, 69), (240, 330), 7.8, (7.5, 8.8), (16.0, 20.0), (250, 1400), False
    ),
    Role.FERRY: RoleSpec(4, AisClass.A, (60,), (90, 150), 5.5, (4.0, 6.0), (14.0, 18.0), (40, 300), True),
    Role.TUG: RoleSpec(6, AisClass.A, (52,), (28, 40), 3.0, (4.0, 5.5), (7.0, 10.0), (20, 160), True),
    Role.FISHING_A: RoleSpec(8, AisClass.A, (30,), (28, 60), 4.0, (3.5, 5.5), (7.0, 10.0), (40, 400), True),
    Role.FISHING_B: RoleSpec(8, AisClass.B, (30,), (12, 22), 3.5, (1.5, 2.5), (6.0, 9.0), (20, 200), True),
    Role.PLEASURE: RoleSpec(
        26, AisClass.B, (37, 37, 36), (10, 28), 3.5, (1.2, 2.8), (5.0, 9.0), (20, 200), True
    ),
    Role.PATROL: RoleSpec(3, AisClass.A, (55,), (40, 65), 6.0, (2.5, 3.5), (11.0, 16.0), (60, 400), True),
    Role.ANCHORED: RoleSpec(
        12, AisClass.A, (70, 79, 80), (120, 220), 6.0, (8.0, 12.0), (0.0, 0.0), (50, 2000), False
    ),
    Role.TRANSIT: RoleSpec(
        12, AisClass.A, (70, 70, 80, 79), (160, 300), 6.5, (9.0, 13.0), (12.0, 16.5), (0, 1e9), False
    ),
}

# Flags with MIDs and call-sign prefixes (ITU); weights reflect the region's open registries.
FLAGS: tuple[tuple[str, tuple[int, ...], tuple[str, ...], float], ...] = (
    ("Panama", (351, 352, 353, 354, 355, 356, 357, 370, 371, 372, 373), ("3E", "H3", "H9", "HO", "HP"), 0.22),
    ("Liberia", (636,), ("D5", "A8", "EL"), 0.14),
    ("Marshall Islands", (538,), ("V7",), 0.12),
    ("Bahamas", (308, 309, 311), ("C6",), 0.08),
    ("Malta", (215, 229, 248, 249, 256), ("9H",), 0.05),
    ("Antigua and Barbuda", (304, 305), ("V2",), 0.05),
    ("Jamaica", (339,), ("6Y",), 0.06),
    ("Barbados", (314,), ("8P",), 0.03),
    ("Trinidad and Tobago", (362,), ("9Y",), 0.04),
    ("Dominican Republic", (327,), ("HI",), 0.03),
    ("Belize", (312,), ("V3",), 0.03),
    ("Curacao", (306,), ("PJ",), 0.03),
    ("Colombia", (730,), ("HK", "5K"), 0.03),
    ("Saint Vincent and the Grenadines", (375, 376, 377), ("J8",), 0.03),
    ("United States", (366, 367, 368, 369), ("W", "K"), 0.06),
)
LOCAL_FLAGS = (
    "Jamaica",
    "Bahamas",
    "Trinidad and Tobago",
    "Dominican Republic",
    "Barbados",
    "Belize",
    "Curacao",
    "Colombia",
    "United States",
    "Saint Vincent and the Grenadines",
)

NAME_A = (
    "CARIB",
    "ATLANTIC",
    "OCEAN",
    "SEA",
    "GOLDEN",
    "BLUE",
    "NORDIC",
    "ISLAND",
    "CORAL",
    "TROPIC",
    "SILVER",
    "PRIDE OF",
    "STAR",
    "CAPE",
    "SOUTHERN",
    "WINDWARD",
    "LEEWARD",
    "ANTILLES",
    "MARLIN",
    "ORION",
)
NAME_B = (
    "PEARL",
    "SPIRIT",
    "TRADER",
    "EXPRESS",
    "VOYAGER",
    "BREEZE",
    "HORIZON",
    "DAWN",
    "GRACE",
    "FORTUNE",
    "NAVIGATOR",
    "WIND",
    "RANGER",
    "QUEEN",
    "HARMONY",
    "PIONEER",
    "EAGLE",
    "MERIDIAN",
    "LIBERTY",
    "VENTURE",
)
SMALL_NAMES = (
    "LADY MARIA",
    "SANTA ROSA",
    "SEA BIRD",
    "OSPREY",
    "SUNSET",
    "BLUE MARLIN",
    "MISS JUDY",
    "GRACE II",
    "NEPTUNE",
    "DORADO",
    "CALYPSO",
    "REEF RUNNER",
    "PELICAN",
    "SEA HAWK",
    "ISLAND GIRL",
    "WAHOO",
)

TRANSIT_ORIGINS = (
    "NL RTM",
    "BE ANR",
    "ES ALG",
    "MA CAS",
    "PT SIE",
    "US NYC",
    "US SAV",
    "US ORF",
    "US MSY",
    "US HOU",
    "BR SSZ",
    "NG LOS",
    "US JAX",
)

# Airliners: origin ICAO, destination ICAO, operator designator, 24-bit address block base, minutes
# airborne at the start of the data (negative = departs later; for origins outside the coverage box:
# minutes inside coverage at the start, negative = enters later).
FLIGHTS: tuple[tuple[str, str, str, int, float], ...] = (
    ("MKJP", "KMIA", "AAL", 0xA00000, 35.0),
    ("KFLL", "MKJS", "JBU", 0xA00000, 60.0),
    ("MPTO", "MKJP", "CMP", 0x0C2000, 50.0),
    ("TTPP", "MKJP", "BWA", 0x0C6000, 70.0),
    ("MYNN", "KFLL", "BHS", 0x0A8000, 15.0),
    ("TJSJ", "TNCM", "AAL", 0xA00000, 10.0),
    ("SKBQ", "MPTO", "AVA", 0x0AC000, 20.0),
    ("MDSD", "TJSJ", "JBU", 0xA00000, -25.0),
    ("MUHA", "MMUN", "CUB", 0x0B0000, -40.0),
    ("MWCR", "KMIA", "CAY", 0x400000, -70.0),
    ("EHAM", "TNCC", "KLM", 0x484000, -15.0),
    ("EGKK", "MKJS", "BAW", 0x400000, -130.0),
    ("TFFR", "TFFF", "FWI", 0x380000, -95.0),
    ("MDPC", "CYYZ", "WJA", 0xC00000, -150.0),
    ("TBPB", "MKJP", "BWA", 0x0C6000, -210.0),
)


# ----------------------------------------------------------------------------- geodesy


def haversine_nm(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in nautical miles (scalars or arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_NM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def bearing_deg(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Initial true bearing from point 1 to point 2, degrees 0..360."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


def destination(lat: float, lon: float, brg: float, dist_nm: float) -> tuple[float, float]:
    """Point reached from (lat, lon) after ``dist_nm`` on initial bearing ``brg``."""
    d = dist_nm / EARTH_NM
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(brg)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def great_circle(lat1: float, lon1: float, lat2: float, lon2: float, n: int) -> tuple[FloatArray, FloatArray]:
    """``n`` points evenly spaced on the great circle from point 1 to point 2."""

    def vec(lat: float, lon: float) -> FloatArray:
        p, lam = math.radians(lat), math.radians(lon)
        return np.array([math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p)])

    a, b = vec(lat1, lon1), vec(lat2, lon2)
    omega = math.acos(max(-1.0, min(1.0, float(a @ b))))
    f = np.linspace(0.0, 1.0, n)
    if omega < 1e-12:
        pts = np.outer(np.ones(n), a)
    else:
        pts = (np.sin((1 - f) * omega)[:, None] * a + np.sin(f * omega)[:, None] * b) / math.sin(omega)
    lat = np.degrees(np.arcsin(np.clip(pts[:, 2], -1, 1)))
    lon = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    return lat, lon


def in_box(lat: Any, lon: Any) -> Any:
    return (lon >= BOX[0]) & (lon <= BOX[2]) & (lat >= BOX[1]) & (lat <= BOX[3])


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Port:
    name: str
    locode: str
    lat: float
    lon: float
    size: str


@dataclass(frozen=True)
class Airport:
    icao: str
    name: str
    lat: float
    lon: float
    elevation_ft: float


@dataclass
class Inputs:
    """Everything read from disk, loaded once per ``generate`` call."""

    ports: list[Port]
    outside_ports: dict[str, Port]
    airports: dict[str, Airport]
    airport_points: FloatArray  # (n, 2) lat, lon of every known airport in the region
    land: BaseGeometry  # prepared (shapely.prepare) for fast point tests
    caribbean_sea: BaseGeometry


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    """The shared real-data directory: ``<repo>/../shared/data/geo``."""
    return repo_root().parent / "shared" / "data" / "geo"


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(
            f"demo generator input {path} is missing: check out the shared data next to the repository "
            f"(../shared/data/geo) or pass data_dir= / --data-dir pointing at a directory holding {path.name}"
        )
    return path


def _read_ports(path: Path) -> list[Port]:
    out: list[Port] = []
    with _need(path).open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                lat, lon = float(row["Latitude"]), float(row["Longitude"])
            except (KeyError, ValueError):
                continue
            out.append(
                Port(
                    row["Main Port Name"].strip(),
                    row["UN/LOCODE"].strip(),
                    lat,
                    lon,
                    row.get("Harbor Size", "").strip(),
                )
            )
    return out


def _read_airports(path: Path) -> list[Airport]:
    out: list[Airport] = []
    with _need(path).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                elev = float(row["elevation"] or 0.0)
                out.append(Airport(row["icao"], row["name"], float(row["lat"]), float(row["lon"]), elev))
            except (KeyError, ValueError):
                continue
    return out


def _read_geojson(path: Path) -> list[dict[str, Any]]:
    data = json.loads(_need(path).read_text(encoding="utf-8"))
    feats: list[dict[str, Any]] = data.get("features", [])
    return feats


def load_inputs(data_dir: Path, watch_areas: Path) -> Inputs:
    ports = [p for p in _read_ports(data_dir / WPI_CARIBBEAN) if in_box(p.lat, p.lon)]
    outside = {p.locode: p for p in _read_ports(data_dir / WPI_FULL) if p.locode in TRANSIT_ORIGINS}
    region = _read_airports(data_dir / AIRPORTS_CARIBBEAN)
    wanted = {f[0] for f in FLIGHTS} | {f[1] for f in FLIGHTS}
    airports = {a.icao: a for a in region}
    for a in _read_airports(data_dir / AIRPORTS_FULL):
        if a.icao in wanted and a.icao not in airports:
            airports[a.icao] = a
    missing = sorted(wanted - airports.keys())
    if missing:
        raise ConfigError(
            f"airports {missing} not found in {data_dir}: use an airportsdata CSV that lists them"
        )
    land = unary_union([shape(f["geometry"]) for f in _read_geojson(data_dir / LAND)])
    seas = [f for f in _read_geojson(watch_areas) if f.get("properties", {}).get("id") == CARIBBEAN_SEA_ID]
    if not seas:
        raise ConfigError(
            f"{watch_areas} has no feature with id {CARIBBEAN_SEA_ID!r}: restore geofences/watch_areas.geojson"
        )
    pts = np.array([[a.lat, a.lon] for a in region], dtype=np.float64)
    shapely.prepare(land)
    return Inputs(ports, outside, airports, pts, land, shape(seas[0]["geometry"]))


# ----------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    """A polyline with cumulative distance (nm) from its first vertex."""

    lat: FloatArray
    lon: FloatArray
    cum: FloatArray

    @property
    def length(self) -> float:
        return float(self.cum[-1])

    @staticmethod
    def of(lat: Sequence[float] | FloatArray, lon: Sequence[float] | FloatArray) -> Route:
        la, lo = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        keep = np.ones(len(la), dtype=bool)
        keep[1:] = (np.diff(la) != 0) | (np.diff(lo) != 0)
        la, lo = la[keep], lo[keep]
        seg = haversine_nm(la[:-1], lo[:-1], la[1:], lo[1:]) if len(la) > 1 else np.zeros(0)
        return Route(la, lo, np.concatenate([[0.0], np.cumsum(seg)]))

    def at(self, d: Any) -> tuple[Any, Any]:
        return np.interp(d, self.cum, self.lat), np.interp(d, self.cum, self.lon)

    def trimmed(self, d0: float, d1: float) -> Route:
        la, lo, _ = self.sub(d0, d1)
        return Route.of(la, lo)

    def sub(self, d0: float, d1: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Vertices between distances d0 < d1, both ends included (lat, lon, distance)."""
        inner = (self.cum > d0) & (self.cum < d1)
        d = np.concatenate([[d0], self.cum[inner], [d1]])
        la, lo = self.at(d)
        return np.asarray(la), np.asarray(lo), d


@lru_cache(maxsize=1024)
def _searoute(o_lon: float, o_lat: float, d_lon: float, d_lat: float) -> tuple[tuple[float, float], ...]:
    import searoute  # imported late: loading the marnet graph takes a moment

    feat = searoute.searoute([o_lon, o_lat], [d_lon, d_lat], append_orig_dest=True)
    return tuple((float(c[0]), float(c[1])) for c in feat["geometry"]["coordinates"])


def sea_route(a: Port, b: Port, land: BaseGeometry | None = None) -> Route:
    """Sea lane from port ``a`` to port ``b``; with ``land``, both ends are cut back to open water.

    World Port Index positions are often a little inland at 1:10m scale, and the lane's first leg
    to the network may cut a headland: a vessel moors / starts where the lane first reaches the sea.
    """
    coords = _searoute(a.lon, a.lat, b.lon, b.lat)
    route = Route.of([c[1] for c in coords], [c[0] for c in coords])
    if land is None or route.length < 1.0:
        return route
    d = np.arange(0.0, min(15.0, route.length / 2), 0.1)
    wet_a = _first_wet(route, d, land)
    wet_b = _first_wet(route, route.length - d, land)
    if wet_a is None or wet_b is None or wet_b - wet_a < 1.0:
        return route
    return route.trimmed(wet_a, wet_b)


def _first_wet(route: Route, d: FloatArray, land: BaseGeometry) -> float | None:
    lat, lon = route.at(d)
    wet = ~shapely.contains_xy(land, lon, lat)
    return float(d[int(np.argmax(wet))]) if wet.any() else None


# ----------------------------------------------------------------------------- tracks


@dataclass
class Track:
    """Piecewise-linear motion: positions at knot times, a nav status per segment."""

    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    status: npt.NDArray[np.int8]
    speed: FloatArray = field(init=False)
    course: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        dt = np.diff(self.t)
        dist = haversine_nm(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:])
        spd = np.where(dt > 0, dist / np.maximum(dt, 1e-9) * 3600.0, 0.0)
        crs = np.asarray(
            bearing_deg(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:]), dtype=np.float64
        )
        moving = dist > 1e-4
        if moving.any():  # hold segments keep the course of the last moving segment
            last = np.maximum.accumulate(np.where(moving, np.arange(len(crs)), -1))
            crs = crs[np.where(last < 0, int(np.argmax(moving)), last)]
        self.speed = np.append(spd, 0.0)
        self.course = np.append(crs, crs[-1] if len(crs) else 0.0)
        self._t_list: list[float] = self.t.tolist()
        self._seg: list[tuple[float, int]] = list(zip(self.speed.tolist(), self.status.tolist(), strict=True))

    def segment_at(self, t: float) -> tuple[float, int]:
        """Speed (kn) and nav status at one time (fast scalar path)."""
        i = min(max(bisect.bisect_right(self._t_list, t) - 1, 0), len(self._seg) - 1)
        return self._seg[i]

    def state(self, t: Any) -> tuple[Any, Any, Any, Any, Any]:
        """lat, lon, speed (kn), course, nav status at times ``t`` (array)."""
        i = np.clip(np.searchsorted(self.t, t, side="right") - 1, 0, len(self.t) - 1)
        return (
            np.interp(t, self.t, self.lat),
            np.interp(t, self.t, self.lon),
            self.speed[i],
            self.course[i],
            self.status[i],
        )


class TrackBuilder:
    """Builds a :class:`Track` leg by leg, starting from one timed position."""

    def __init__(self, t: float, lat: float, lon: float) -> None:
        self.t, self.lat, self.lon = [t], [lat], [lon]
        self.st: list[int] = []

    @property
    def now(self) -> float:
        return self.t[-1]

    def _add(self, t: float, lat: float, lon: float, status: int) -> None:
        if t <= self.t[-1] + 1e-6:
            return
        self.t.append(t)
        self.lat.append(lat)
        self.lon.append(lon)
        self.st.append(status)

    def hold(self, until: float, status: NavStatus) -> TrackBuilder:
        self._add(until, self.lat[-1], self.lon[-1], status)
        return self

    def along(
        self,
        route: Route,
        d_from: float,
        speed_kn: float,
        until: float,
        d_to: float | None = None,
        status: NavStatus = NavStatus.UNDER_WAY,
    ) -> TrackBuilder:
        """Sail ``route`` from distance ``d_from`` at ``speed_kn`` until ``until`` or ``d_to``."""
        end = route.length if d_to is None else min(d_to, route.length)
        if speed_kn <= 0 or end <= d_from:
            return self
        d_stop = min(end, d_from + speed_kn * (until - self.now) / 3600.0)
        la, lo, d = route.sub(d_from, d_stop)
        t0 = self.now
        for k in range(1, len(d)):
            self._add(t0 + (d[k] - d_from) / speed_kn * 3600.0, float(la[k]), float(lo[k]), status)
        return self

    def goto(
        self, lat: float, lon: float, speed_kn: float, status: NavStatus = NavStatus.UNDER_WAY
    ) -> TrackBuilder:
        dist = float(haversine_nm(self.lat[-1], self.lon[-1], lat, lon))
        self._add(self.now + dist / speed_kn * 3600.0, lat, lon, status)
        return self

    def wander(
        self,
        rng: np.random.Generator,
        lat0: float,
        lon0: float,
        radius_m: float,
        speed_kn: tuple[float, float],
        until: float,
        step_s: float,
        status: NavStatus,
    ) -> TrackBuilder:
        """Random walk around (lat0, lon0) staying within ``radius_m`` (drifting, loitering)."""
        heading = float(rng.uniform(0, 360))
        while self.now < until - 1:
            dt = min(step_s, until - self.now)
            step_nm = float(rng.uniform(*speed_kn)) * dt / 3600.0
            off_nm = float(haversine_nm(lat0, lon0, self.lat[-1], self.lon[-1]))
            if off_nm * M_PER_NM > 0.6 * radius_m:
                home = float(bearing_deg(self.lat[-1], self.lon[-1], lat0, lon0))
                heading = home + float(rng.normal(0, 25))
            else:
                heading += float(rng.normal(0, 50))
            lat, lon = destination(self.lat[-1], self.lon[-1], heading % 360.0, step_nm)
            self._add(self.now + dt, lat, lon, status)
        return self

    def follow(
        self, t: FloatArray, lat: FloatArray, lon: FloatArray, dlat: float, dlon: float, status: NavStatus
    ) -> TrackBuilder:
        """Copy timed knots (e.g. a drift shared by two vessels lying together), shifted by (dlat, dlon)."""
        for k in range(len(t)):
            self._add(float(t[k]), float(lat[k]) + dlat, float(lon[k]) + dlon, status)
        return self

    def build(self) -> Track:
        st = self.st + [self.st[-1] if self.st else int(NavStatus.UNDER_WAY)]
        if len(self.t) == 1:  # a single point: make it a hold of zero length
            self.t.append(self.t[0] + 1.0)
            self.lat.append(self.lat[0])
            self.lon.append(self.lon[0])
            st.append(st[0])
        return Track(np.array(self.t), np.array(self.lat), np.array(self.lon), np.array(st, dtype=np.int8))


# ----------------------------------------------------------------------------- vessels


@dataclass
class Vessel:
    idx: int
    mmsi: int
    ais_class: AisClass
    name: str
    callsign: str
    imo: int
    ship_type: int
    length: int
    beam: int
    draught: float
    destination: str
    eta: datetime | None
    track: Track
    pos_type: int = 1  # 1 or 3 for class A, 18 for class B
    send_static: bool = True
    silences: list[tuple[float, float]] = field(default_factory=list)
    jumps: list[tuple[float, float, float]] = field(default_factory=list)  # t, lat, lon of spoofed reports
    always_report: bool = False  # scenario vessels report even outside the coverage box
    fast_interval_s: float | None = None


@dataclass
class ScenarioRecord:
    id: str
    kind: str
    category: AlertCategory
    start: float
    end: float
    detectable_from: float
    mmsi: int | None = None
    other_mmsi: int | None = None
    icao: str | None = None
    name: str = ""
    lat: float = math.nan
    lon: float = math.nan
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


class Registry:
    """Unique MMSIs, names, call signs and IMO numbers."""

    def __init__(self, seed: int) -> None:
        self.rng = _rng(seed, 9001)
        self.mmsis: set[int] = set()
        self.names: set[str] = set()

    def flag(self, local: bool) -> tuple[str, tuple[int, ...], tuple[str, ...]]:
        flags = [f for f in FLAGS if not local or f[0] in LOCAL_FLAGS]
        w = np.array([f[3] for f in flags])
        f = flags[int(self.rng.choice(len(flags), p=w / w.sum()))]
        return f[0], f[1], f[2]

    def mmsi(self, mids: tuple[int, ...]) -> int:
        while True:
            m = int(mids[int(self.rng.integers(len(mids)))]) * 1_000_000 + int(
                self.rng.integers(100_000, 999_999)
            )
            if m not in self.mmsis:
                self.mmsis.add(m)
                return m

    def callsign(self, prefixes: tuple[str, ...]) -> str:
        p = prefixes[int(self.rng.integers(len(prefixes)))]
        chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        n = 6 if len(p) == 1 else 4
        return p + "".join(chars[int(i)] for i in self.rng.integers(0, len(chars), n))

    def imo(self) -> int:
        d = [9] + [int(x) for x in self.rng.integers(0, 10, 5)]
        check = sum(di * (7 - i) for i, di in enumerate(d)) % 10
        return int("".join(map(str, d)) + str(check))

    def name(self, small: bool) -> str:
        for _ in range(200):
            if small:
                n = SMALL_NAMES[int(self.rng.integers(len(SMALL_NAMES)))]
                n = n if n not in self.names else f"{n} {int(self.rng.integers(2, 9))}"
            else:
                n = f"{NAME_A[int(self.rng.integers(len(NAME_A)))]} {NAME_B[int(self.rng.integers(len(NAME_B)))]}"
            if n not in self.names and len(n) <= 20:
                self.names.add(n)
                return n
        raise ConfigError("ran out of vessel names: lower the number of vessels")


def _dest_text(p: Port) -> str:
    return p.name.upper()[:20]


def _identity(
    reg: Registry,
    spec: RoleSpec,
    rng: np.random.Generator,
    local: bool,
    ship_type: int | None = None,
    mids: tuple[int, ...] | None = None,
) -> dict[str, Any]:
    _, flag_mids, prefixes = reg.flag(local)
    length = float(rng.uniform(*spec.length_m))
    small = spec.ais_class == AisClass.B or length < 45
    return {
        "mmsi": reg.mmsi(mids or flag_mids),
        "ais_class": spec.ais_class,
        "name": reg.name(small),
        "callsign": reg.callsign(prefixes),
        "imo": 0 if small else reg.imo(),
        "ship_type": ship_type
        if ship_type is not None
        else int(spec.ship_types[int(rng.integers(len(spec.ship_types)))]),
        "length": int(round(length)),
        "beam": max(3, int(round(length / spec.beam_ratio))),
        "draught": round(float(rng.uniform(*spec.draught_m)), 1),
    }


class Planner:
    """Builds background and scenario vessels and aircraft on a fixed planning horizon."""

    def __init__(self, seed: int, start: float, inputs: Inputs) -> None:
        self.seed, self.t0, self.inp = seed, start, inputs
        self.t_plan = start + PLAN_HOURS * 3600.0
        self.reg = Registry(seed)
        self.big = [p for p in inputs.ports if p.size in ("Large", "Medium")]
        self.mid = [p for p in inputs.ports if p.size in ("Large", "Medium", "Small")]
        self.small = [p for p in inputs.ports if p.size in ("Small", "Very Small")]

    # -- background -------------------------------------------------------------------

    def _pick_pair(self, rng: np.random.Generator, spec: RoleSpec, role: Role) -> tuple[Port, Port, Route]:
        pool = self.small if spec.local else self.mid
        lo_km, hi_km = spec.route_km
        for _ in range(60):
            if role == Role.TRANSIT:
                codes = [c for c in TRANSIT_ORIGINS if c in self.inp.outside_ports]
                a = self.inp.outside_ports[codes[int(rng.integers(len(codes)))]]
                b = self.big[int(rng.integers(len(self.big)))]
                if rng.uniform() < 0.35:
                    a, b = b, a
                gc_km = float(haversine_nm(a.lat, a.lon, b.lat, b.lon)) * 1.852
            else:
                a = pool[int(rng.integers(len(pool)))]
                to = self.big if not spec.local and rng.uniform() < 0.6 else pool
                far = (
                    haversine_nm(a.lat, a.lon, np.array([p.lat for p in to]), np.array([p.lon for p in to]))
                    * 1.852
                )
                ok = np.flatnonzero((far >= lo_km) & (far <= hi_km))
                if len(ok) == 0:
                    continue
                k = int(ok[int(rng.integers(len(ok)))])
                b, gc_km = to[k], float(far[k])
            route = sea_route(a, b, self.inp.land)
            if route.length * 1.852 > 3.0 * gc_km + 30.0:  # the network detours: try another pair
                continue
            if self.land_share(route) > 0.01:  # the coarse network cuts across an island: try another pair
                continue
            return a, b, route
        raise ConfigError(f"no usable port pair for role {role}: check the World Port Index input")

    def background(self, idx: int, role: Role) -> Vessel:
        spec = ROLES[role]
        rng = _rng(self.seed, 100, idx)
        ident = _identity(self.reg, spec, rng, spec.local)
        a, b, route = self._pick_pair(rng, spec, role)
        if role == Role.ANCHORED:
            return self._anchored(idx, ident, rng, a, route)
        speed = float(rng.uniform(*spec.speed_kn))
        horizon_nm = speed * PLAN_HOURS
        inside = np.flatnonzero(in_box(route.lat, route.lon))
        d_in = float(route.cum[inside[0]]) if len(inside) else 0.0
        d_out = float(route.cum[inside[-1]]) if len(inside) else route.length
        d0 = float(rng.uniform(d_in - 0.3 * horizon_nm, max(d_in, d_out - 0.15 * horizon_nm)))
        if role == Role.TRANSIT:
            d0 = float(rng.uniform(max(0.0, d_in - 0.5 * horizon_nm), max(d_in, d_out - 0.3 * horizon_nm)))
        if d_out < route.length - 1.0:  # the route leaves coverage: stay inside for the whole horizon,
            d0 = min(d0, d_out - horizon_nm)  # or the watch would see a vessel vanish at sea (an AIS gap)
        b0 = TrackBuilder(self.t0, *map(float, route.at(max(d0, 0.0))))
        if d0 < 0:  # still alongside: departs later
            b0.hold(self.t0 + (-d0) / speed * 3600.0, NavStatus.MOORED)
            d0 = 0.0
        b0.along(route, d0, speed, self.t_plan)
        b0.hold(self.t_plan, NavStatus.MOORED)
        arrive = self.t0 + (route.length - d0) / speed * 3600.0
        status = (
            NavStatus.FISHING if role in (Role.FISHING_A, Role.FISHING_B) and rng.uniform() < 0.3 else None
        )
        track = b0.build()
        if status is not None:  # fishing vessels heading out report 'engaged in fishing' some of the time
            track.status[track.status == NavStatus.UNDER_WAY] = int(status)
        v = Vessel(idx=idx, destination=_dest_text(b), eta=_dt(arrive), track=track, **ident)
        v.pos_type = 18 if spec.ais_class == AisClass.B else (3 if rng.uniform() < 0.15 else 1)
        return v

    def land_share(self, route: Route) -> float:
        """Share of the route (sampled every 0.5 nm inside the coverage box) that lies on land."""
        d = np.arange(0.0, route.length, 0.5)
        lat, lon = route.at(d)
        inside = in_box(lat, lon)
        if not inside.any():
            return 0.0
        return float(shapely.contains_xy(self.inp.land, lon[inside], lat[inside]).mean())

    def _anchored(
        self, idx: int, ident: dict[str, Any], rng: np.random.Generator, port: Port, route: Route
    ) -> Vessel:
        d = min(route.length * 0.5, float(rng.uniform(1.0, 3.0)))
        lat, lon = map(float, route.at(d))
        for _ in range(20):  # an anchorage near the lane, in open water
            la, lo = destination(lat, lon, float(rng.uniform(0, 360)), float(rng.uniform(0.2, 0.8)))
            if not shapely.contains_xy(self.inp.land, lo, la):
                lat, lon = la, lo
                break
        track = (
            TrackBuilder(self.t0, lat, lon)
            .wander(rng, lat, lon, 60.0, (0.0, 0.15), self.t_plan, 1800.0, NavStatus.AT_ANCHOR)
            .build()
        )
        return Vessel(idx=idx, destination=_dest_text(port), eta=None, track=track, **ident)

    # -- scenarios --------------------------------------------------------------------

    def _port(self, locode: str) -> Port:
        for p in self.inp.ports:
            if p.locode == locode:
                return p
        if locode in self.inp.outside_ports:
            return self.inp.outside_ports[locode]
        raise ConfigError(f"port {locode} not in the World Port Index input")

    def _entry_distance(self, route: Route) -> float:
        """Distance along ``route`` where it first enters the Caribbean Sea watch area."""
        inside = shapely.contains_xy(self.inp.caribbean_sea, route.lon, route.lat)
        k = int(np.argmax(inside))
        if not inside.any() or k == 0:
            raise ConfigError("hazardous-cargo scenario route does not enter the Caribbean Sea from outside")
        ls = LineString([(route.lon[k - 1], route.lat[k - 1]), (route.lon[k], route.lat[k])])
        cross = ls.intersection(self.inp.caribbean_sea.boundary)
        pt = (
            cross
            if isinstance(cross, Point)
            else list(getattr(cross, "geoms", [Point(route.lon[k], route.lat[k])]))[0]
        )
        return float(route.cum[k - 1] + haversine_nm(route.lat[k - 1], route.lon[k - 1], pt.y, pt.x))

    def hazardous(
        self,
        idx: int,
        key: str,
        origin: str,
        dest: str,
        ship_type: int,
        speed: float,
        cross_after_s: float,
        mids: tuple[int, ...],
        note: str,
    ) -> tuple[Vessel, ScenarioRecord]:
        rng = _rng(self.seed, 200, idx)
        spec = ROLES[Role.TANKER if ship_type >= 80 else Role.CARGO]
        ident = _identity(self.reg, spec, rng, False, ship_type=ship_type, mids=mids)
        a, b = self._port(origin), self._port(dest)
        route = sea_route(a, b, self.inp.land)
        d_cross = self._entry_distance(route)
        d0 = d_cross - speed * cross_after_s / 3600.0
        track = (
            TrackBuilder(self.t0, *map(float, route.at(d0)))
            .along(route, d0, speed, self.t_plan)
            .hold(self.t_plan, NavStatus.MOORED)
            .build()
        )
        arrive = self.t0 + (route.length - d0) / speed * 3600.0
        v = Vessel(
            idx=idx, destination=_dest_text(b), eta=_dt(arrive), track=track, always_report=True, **ident
        )
        t_cross = self.t0 + cross_after_s
        lat, lon = map(float, route.at(d_cross))
        rec = ScenarioRecord(
            key,
            "hazardous_vessel_entering_caribbean_sea",
            AlertCategory.HAZARDOUS_CARGO,
            start=t_cross,
            end=t_cross,
            detectable_from=t_cross,
            mmsi=v.mmsi,
            name=v.name,
            lat=lat,
            lon=lon,
            note=note,
            extra={"ship_type": ship_type, "watch_area": CARIBBEAN_SEA_ID, "from": a.name, "to": b.name},
        )
        return v, rec

    def go_fast(
        self,
        idx: int,
        key: str,
        lat0: float,
        lon0: float,
        lat1: float,
        lon1: float,
        speed: float,
        depart_s: float,
        with_static: bool,
        coast: str,
    ) -> tuple[Vessel, ScenarioRecord]:
        rng = _rng(self.seed, 300, idx)
        spec = RoleSpec(1, AisClass.B, (37,), (10, 13), 3.6, (0.8, 1.0), (speed, speed), (0, 0), True)
        ident = _identity(self.reg, spec, rng, True, ship_type=37 if with_static else 0, mids=(339,))
        if not with_static:
            ident["name"], ident["callsign"] = "", ""
        t_dep = self.t0 + depart_s
        b = TrackBuilder(t_dep, lat0, lon0).goto(lat1, lon1, speed)
        t_arr = b.now
        track = b.hold(t_arr + 240.0, NavStatus.UNDEFINED).build()
        v = Vessel(
            idx=idx,
            destination="",
            eta=None,
            track=track,
            pos_type=18,
            send_static=with_static,
            always_report=True,
            fast_interval_s=15.0,
            **ident,
        )
        rec = ScenarioRecord(
            key,
            "go_fast_run_at_night",
            AlertCategory.GO_FAST,
            start=t_dep,
            end=t_arr,
            detectable_from=t_dep + 60.0,
            mmsi=v.mmsi,
            name=v.name,
            lat=lat1,
            lon=lon1,
            note=f"small craft at {speed:.0f} kn toward the south coast of {coast} at night; "
            + ("class B with type 24 (ship type 37)" if with_static else "class B, no static data"),
            extra={"speed_kn": speed, "heading_to": coast},
        )
        return v, rec

    def rendezvous(
        self,
        idx: int,
        key: str,
        lat: float,
        lon: float,
        meet_s: float,
        hours: float,
        types: tuple[int, int],
        note: str,
    ) -> tuple[list[Vessel], ScenarioRecord]:
        """Two vessels converge, lie ~120 m apart drifting together (< 1 kn) for ``hours``, then part."""
        t_meet, t_part = self.t0 + meet_s, self.t0 + meet_s + hours * 3600.0
        drift = TrackBuilder(t_meet, lat, lon).wander(
            _rng(self.seed, 410, idx), lat, lon, 700.0, (0.15, 0.6), t_part, 600.0, NavStatus.UNDER_WAY
        )
        d_t, d_lat, d_lon = np.array(drift.t), np.array(drift.lat), np.array(drift.lon)
        vessels: list[Vessel] = []
        for j, (stype, spd, brg_in, brg_out) in enumerate(
            ((types[0], 11.0, 250.0, 70.0), (types[1], 8.5, 15.0, 195.0))
        ):
            rng = _rng(self.seed, 400, idx + j)
            spec = ROLES[Role.FISHING_A if stype == 30 else (Role.TANKER if stype >= 80 else Role.CARGO)]
            ident = _identity(self.reg, spec, rng, False, ship_type=stype)
            olat, olon = destination(
                lat, lon, 90.0 + 180.0 * j, 0.0324
            )  # 60 m east / west of the pair's centre
            dlat, dlon = olat - lat, olon - lon
            approach_nm = spd * (t_meet - self.t0) / 3600.0 + 25.0
            slat, slon = destination(olat, olon, (brg_in + 180.0) % 360.0, approach_nm)
            b = TrackBuilder(t_meet - approach_nm / spd * 3600.0, slat, slon).goto(olat, olon, spd)
            b.follow(d_t, d_lat, d_lon, dlat, dlon, NavStatus.UNDER_WAY)
            elat, elon = destination(b.lat[-1], b.lon[-1], brg_out, spd * PLAN_HOURS)
            b.goto(elat, elon, spd)
            vessels.append(
                Vessel(idx=idx + j, destination="", eta=None, track=b.build(), always_report=True, **ident)
            )
        rec = ScenarioRecord(
            key,
            "rendezvous_at_sea",
            AlertCategory.ENCOUNTER,
            start=t_meet,
            end=t_part,
            detectable_from=t_meet + 2 * 3600.0,
            mmsi=vessels[0].mmsi,
            other_mmsi=vessels[1].mmsi,
            name=f"{vessels[0].name} / {vessels[1].name}",
            lat=lat,
            lon=lon,
            note=note,
            extra={"separation_m": 120, "drift_kn_max": 1.0},
        )
        return vessels, rec

    def going_dark(
        self,
        idx: int,
        key: str,
        origin: str,
        dest: str,
        speed: float,
        dark_after_s: float,
        reappear_after_s: float | None,
        reappear_nm: float,
    ) -> tuple[Vessel, ScenarioRecord]:
        rng = _rng(self.seed, 500, idx)
        ident = _identity(self.reg, ROLES[Role.CARGO], rng, False, ship_type=70)
        a, b = self._port(origin), self._port(dest)
        route = sea_route(a, b, self.inp.land)
        d0 = float(rng.uniform(0.15, 0.25)) * route.length
        t_dark = self.t0 + dark_after_s
        tb = TrackBuilder(self.t0, *map(float, route.at(d0))).along(route, d0, speed, t_dark)
        d_dark = d0 + speed * dark_after_s / 3600.0
        if reappear_after_s is not None:
            slow = reappear_nm / (reappear_after_s / 3600.0)
            tb.along(route, d_dark, slow, t_dark + reappear_after_s)
            tb.along(route, d_dark + reappear_nm, speed, self.t_plan)
        else:
            tb.along(route, d_dark, speed, self.t_plan)
        tb.hold(self.t_plan, NavStatus.MOORED)
        t_back = t_dark + (reappear_after_s if reappear_after_s is not None else 1e9)
        v = Vessel(
            idx=idx,
            destination=_dest_text(b),
            eta=_dt(self.t0 + (route.length - d0) / speed * 3600.0),
            track=tb.build(),
            silences=[(t_dark, t_back)],
            always_report=True,
            **ident,
        )
        lat, lon = map(float, route.at(d_dark))
        if reappear_after_s is None:
            rec = ScenarioRecord(
                key,
                "vessel_goes_dark",
                AlertCategory.AIS_GAP,
                start=t_dark,
                end=math.inf,
                detectable_from=t_dark + 6 * 3600.0,
                mmsi=v.mmsi,
                name=v.name,
                lat=lat,
                lon=lon,
                note="reports for the first hour, then silence to the end of the data (open gap)",
            )
        else:
            rec = ScenarioRecord(
                key,
                "vessel_goes_dark_and_reappears",
                AlertCategory.AIS_GAP,
                start=t_dark,
                end=t_back,
                detectable_from=t_dark + 6 * 3600.0,
                mmsi=v.mmsi,
                name=v.name,
                lat=lat,
                lon=lon,
                note=f"silent for {reappear_after_s / 3600:.1f} h, reappears {reappear_nm:.0f} nm "
                "further along its route",
                extra={"reappear_nm": reappear_nm},
            )
        return v, rec

    def spoofer(
        self, idx: int, key: str, origin: str, dest: str, jump_after_s: float
    ) -> tuple[Vessel, ScenarioRecord]:
        rng = _rng(self.seed, 600, idx)
        ident = _identity(self.reg, ROLES[Role.CARGO], rng, False, ship_type=70)
        a, b = self._port(origin), self._port(dest)
        route = sea_route(a, b, self.inp.land)
        speed = float(rng.uniform(12.0, 14.0))
        d0 = float(rng.uniform(0.2, 0.4)) * route.length
        track = (
            TrackBuilder(self.t0, *map(float, route.at(d0)))
            .along(route, d0, speed, self.t_plan)
            .hold(self.t_plan, NavStatus.MOORED)
            .build()
        )
        t_jump = self.t0 + jump_after_s
        lat, lon, *_ = track.state(np.array([t_jump]))
        jlat, jlon = self._sea_point_at(float(lat[0]), float(lon[0]), 200.0)
        v = Vessel(
            idx=idx,
            destination=_dest_text(b),
            eta=_dt(self.t0 + (route.length - d0) / speed * 3600.0),
            track=track,
            jumps=[(t_jump, jlat, jlon)],
            always_report=True,
            **ident,
        )
        rec = ScenarioRecord(
            key,
            "mmsi_position_jump",
            AlertCategory.POSITION_JUMP,
            start=t_jump,
            end=t_jump,
            detectable_from=t_jump,
            mmsi=v.mmsi,
            name=v.name,
            lat=jlat,
            lon=jlon,
            note="one report 200 nm away from the true track, 2 min after the previous report; "
            "the track continues normally afterwards",
            extra={"true_lat": round(float(lat[0]), 5), "true_lon": round(float(lon[0]), 5), "jump_nm": 200},
        )
        return v, rec

    def _sea_point_at(self, lat: float, lon: float, dist_nm: float) -> tuple[float, float]:
        for brg in (60.0, 100.0, 20.0, 140.0, 300.0, 220.0, 180.0, 0.0, 260.0, 340.0):
            p = destination(lat, lon, brg, dist_nm)
            if in_box(p[0], p[1]) and self.inp.land.distance(Point(p[1], p[0])) > 0.25:
                return p
        raise ConfigError("no sea point 200 nm from the spoofing vessel: move the scenario")

    def loiterer(self, idx: int, key: str, lat: float, lon: float) -> tuple[Vessel, ScenarioRecord]:
        rng = _rng(self.seed, 700, idx)
        ident = _identity(self.reg, ROLES[Role.FISHING_A], rng, True, ship_type=30)
        track = (
            TrackBuilder(self.t0, lat, lon)
            .wander(rng, lat, lon, 6000.0, (0.4, 2.2), self.t_plan, 420.0, NavStatus.FISHING)
            .build()
        )
        v = Vessel(idx=idx, destination="FISHING GROUNDS", eta=None, track=track, always_report=True, **ident)
        rec = ScenarioRecord(
            key,
            "loitering_far_from_port",
            AlertCategory.LOITERING,
            start=self.t0,
            end=math.inf,
            detectable_from=self.t0 + 4 * 3600.0,
            mmsi=v.mmsi,
            name=v.name,
            lat=lat,
            lon=lon,
            note="fishing vessel moving slowly (mean < 2 kn) inside a ~6 km area, far from port",
        )
        return v, rec


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


# ----------------------------------------------------------------------------- AIS encoding


def report_interval(ais_class: AisClass, speed: float, status: int, scenario: bool) -> float:
    """Seconds between received position reports.

    The ITU rates (class A 2-10 s under way, 3 min at anchor; class B 30 s) thinned the way a
    shore network that forwards about one report per vessel and minute or two does; the scripted
    vessels keep a denser feed so that their incidents are sharp.
    """
    if status in (NavStatus.AT_ANCHOR, NavStatus.MOORED) or speed < 0.5:
        return 180.0
    if speed > 23.0:
        return 10.0
    if scenario:
        return 60.0 if ais_class == AisClass.A else 90.0
    if ais_class == AisClass.B:
        return 180.0 if speed < 2.0 else 150.0
    if speed < 3.0:
        return 150.0
    return 90.0 if speed > 14.0 else 120.0


def report_times(v: Vessel, rng: np.random.Generator, t_end: float) -> npt.NDArray[np.int64]:
    tr = v.track
    t = float(tr.t[0]) + float(rng.uniform(0, 20.0))
    out: list[int] = []
    last_end = min(float(tr.t[-1]), t_end)
    while t < last_end:
        out.append(int(t))
        spd, st = tr.segment_at(t)
        base = (
            v.fast_interval_s
            if v.fast_interval_s is not None and spd > 2.0
            else report_interval(v.ais_class, spd, st, v.always_report)
        )
        t += max(2.0, base * float(rng.uniform(0.8, 1.2)))
    times = np.unique(np.array(out, dtype=np.int64))
    for a, b in v.silences:
        times = times[(times < a) | (times >= b)]
    return times


def nearest_station(lat: FloatArray, lon: FloatArray) -> list[str]:
    st_lat = np.array([s[1] for s in STATIONS])
    st_lon = np.array([s[2] for s in STATIONS])
    d = haversine_nm(lat[:, None], lon[:, None], st_lat[None, :], st_lon[None, :])
    k = np.argmin(d, axis=1)
    near = d[np.arange(len(lat)), k] <= STATION_RANGE_NM
    return [STATIONS[int(i)][0] if ok else SATELLITE_STATION for i, ok in zip(k, near, strict=True)]


@dataclass(order=True)
class AisEvent:
    t: int
    vessel: int
    k: int
    station: str = field(compare=False)
    data: dict[str, Any] = field(compare=False)


def position_events(
    v: Vessel, seed: int, t_start: float, t_end: float, t_horizon: float
) -> tuple[list[AisEvent], npt.NDArray[np.int64]]:
    """Position reports before ``t_end`` and the times of every report up to ``t_horizon``.

    Everything random is drawn for the whole planning horizon, so a shorter run is an exact prefix.
    """
    r_t, r_n = _rng(seed, 800, v.idx), _rng(seed, 801, v.idx)
    times = report_times(v, r_t, t_horizon)
    times = times[times >= t_start]
    if len(times) == 0:
        return [], times
    lat, lon, spd, crs, st = v.track.state(times.astype(np.float64))
    n = len(times)
    pos_noise = r_n.normal(0.0, 4.0 / 111_000.0, size=(n, 2))
    lat = lat + pos_noise[:, 0]
    lon = lon + pos_noise[:, 1] / np.cos(np.radians(lat))
    sog = np.clip(spd + r_n.normal(0.0, 0.12 if v.ais_class == AisClass.A else 0.25, size=n), 0.0, 102.2)
    sog = np.where(spd < 0.05, np.abs(r_n.normal(0.0, 0.05, size=n)), sog)
    cog_noise = np.where(spd < 0.5, r_n.uniform(-60, 60, size=n), r_n.normal(0.0, 1.2, size=n))
    cog = (crs + cog_noise) % 360.0
    hdg = (crs + r_n.normal(0.0, 2.5, size=n)) % 360.0
    keep = np.ones(n, dtype=bool) if v.always_report else in_box(lat, lon)
    times, lat, lon, sog, cog, hdg, st = (
        times[keep],
        lat[keep],
        lon[keep],
        sog[keep],
        cog[keep],
        hdg[keep],
        st[keep],
    )
    for t_j, jlat, jlon in v.jumps:  # spoofed report 2 min after the last genuine one
        prev = times[times <= t_j]
        tj = int(prev[-1] + 120) if len(prev) else int(t_j)
        keep = (times <= t_j) | (times > tj)  # nothing genuine between the two
        times, lat, lon, sog, cog, hdg, st = (
            times[keep],
            lat[keep],
            lon[keep],
            sog[keep],
            cog[keep],
            hdg[keep],
            st[keep],
        )
        j = int(np.searchsorted(times, tj))
        times = np.insert(times, j, tj)
        lat, lon = np.insert(lat, j, jlat), np.insert(lon, j, jlon)
        sog, cog = np.insert(sog, j, sog[max(j - 1, 0)]), np.insert(cog, j, cog[max(j - 1, 0)])
        hdg, st = np.insert(hdg, j, hdg[max(j - 1, 0)]), np.insert(st, j, st[max(j - 1, 0)])
    n_out = int(np.searchsorted(times, t_end))
    stations = nearest_station(lat[:n_out], lon[:n_out])
    events: list[AisEvent] = []
    for k in range(n_out):
        events.append(
            AisEvent(
                int(times[k]),
                v.idx,
                k,
                stations[k],
                _position_dict(
                    v,
                    int(times[k]),
                    float(lat[k]),
                    float(lon[k]),
                    float(sog[k]),
                    float(cog[k]),
                    float(hdg[k]),
                    int(st[k]),
                ),
            )
        )
    return events, times


def _position_dict(
    v: Vessel, t: int, lat: float, lon: float, sog: float, cog: float, hdg: float, status: int
) -> dict[str, Any]:
    common = {
        "mmsi": v.mmsi,
        "speed": round(sog, 1),
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "course": round(cog, 1),
        "second": t % 60,
        "accuracy": 1,
    }
    if v.pos_type == 18:
        return {
            "type": 18,
            **common,
            "heading": 511,
            "cs": 1,
            "display": 0,
            "dsc": 1,
            "band": 1,
            "msg22": 1,
            "radio": 393222,
        }
    # pyais picks the class from "type" but takes the bits from "msg_type" (else type 3 encodes as 1)
    return {
        "type": v.pos_type,
        "msg_type": v.pos_type,
        **common,
        "status": status,
        "heading": int(hdg) % 360,
        "radio": 2250 + (t % 97),
    }


def static_events(v: Vessel, seed: int, t_end: float, visible: npt.NDArray[np.int64]) -> list[AisEvent]:
    """Type 5 (class A) or 24A/24B (class B) every ~6 min while the vessel is being received."""
    if not v.send_static or len(visible) == 0:
        return []
    rng = _rng(seed, 802, v.idx)
    t = float(visible[0]) + float(rng.uniform(0, STATIC_PERIOD_S))
    out: list[AisEvent] = []
    k = 100_000
    lat, lon, *_ = v.track.state(visible.astype(np.float64))
    while t < min(float(visible[-1]), t_end):
        i = int(np.searchsorted(visible, t))
        i = min(i, len(visible) - 1)
        heard = 0 < i and t - float(visible[i - 1]) < 300.0 and float(visible[i]) - t < 300.0
        if heard:  # only while the vessel is heard (no statics inside a gap)
            station = nearest_station(np.array([lat[i]]), np.array([lon[i]]))[0]
            for j, d in enumerate(_static_dicts(v)):
                ti = int(t) + 2 * j
                if ti < t_end:
                    out.append(AisEvent(ti, v.idx, k + j, station, d))
        k += 10
        t += STATIC_PERIOD_S * float(rng.uniform(0.95, 1.05))
    return out


def _static_dicts(v: Vessel) -> list[dict[str, Any]]:
    bow = int(round(v.length * 0.8))
    port = v.beam // 2
    if v.ais_class == AisClass.B:
        return [
            {"type": 24, "mmsi": v.mmsi, "partno": 0, "shipname": v.name},
            {
                "type": 24,
                "mmsi": v.mmsi,
                "partno": 1,
                "ship_type": v.ship_type,
                "vendorid": "SRT",
                "callsign": v.callsign,
                "to_bow": bow,
                "to_stern": v.length - bow,
                "to_port": port,
                "to_starboard": v.beam - port,
            },
        ]
    eta = v.eta
    return [
        {
            "type": 5,
            "mmsi": v.mmsi,
            "ais_version": 0,
            "imo": v.imo,
            "callsign": v.callsign,
            "shipname": v.name,
            "ship_type": v.ship_type,
            "to_bow": bow,
            "to_stern": v.length - bow,
            "to_port": port,
            "to_starboard": v.beam - port,
            "epfd": 1,
            "month": eta.month if eta else 0,
            "day": eta.day if eta else 0,
            "hour": eta.hour if eta else 24,
            "minute": eta.minute if eta else 60,
            "draught": v.draught,
            "destination": v.destination,
            "dte": 0,
        }
    ]


def tag_block(station: str, t: int, group: str | None = None) -> str:
    body = f"s:{station},c:{t}" + (f",g:{group}" if group else "")
    cs = 0
    for ch in body:
        cs ^= ord(ch)
    return f"\\{body}*{cs:02X}\\"


def encode_events(events: list[AisEvent]) -> Iterator[str]:
    """NMEA lines in event order; multi-sentence messages get a sequence id and a g: group."""
    seq, group = 0, 0
    for ev in events:
        if ev.data["type"] == 5:
            seq = seq % 9 + 1
            group = group % 9999 + 1
            sentences = encode_dict(
                ev.data, talker_id="AI", sentence_type="VDM", radio_channel="AB"[ev.k % 2], seq_id=seq
            )
            for n, s in enumerate(sentences, start=1):
                yield tag_block(ev.station, ev.t, f"{n}-{len(sentences)}-{group}") + s
        else:
            for s in encode_dict(ev.data, talker_id="AI", sentence_type="VDM", radio_channel="AB"[ev.k % 2]):
                yield tag_block(ev.station, ev.t) + s


# ----------------------------------------------------------------------------- aircraft


@dataclass
class Flight:
    """An aircraft path sampled every ``STEP`` seconds."""

    hexid: int
    callsign: str
    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    alt: FloatArray
    gs: FloatArray
    trk: FloatArray
    vr: FloatArray
    ground: npt.NDArray[np.bool_]
    squawks: list[tuple[float, int]]  # (from time, code), sorted

    def squawk_at(self, t: float) -> int:
        code = self.squawks[0][1]
        for t_from, c in self.squawks:
            if t >= t_from:
                code = c
        return code


AC_STEP = 5.0


def _kinematics(
    t: FloatArray, lat: FloatArray, lon: FloatArray, alt: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    dist = haversine_nm(lat[:-1], lon[:-1], lat[1:], lon[1:])
    dt = np.diff(t)
    gs = np.append(dist / dt * 3600.0, dist[-1] / dt[-1] * 3600.0 if len(dt) else 0.0)
    trk = np.asarray(bearing_deg(lat[:-1], lon[:-1], lat[1:], lon[1:]), dtype=np.float64)
    trk = np.append(trk, trk[-1] if len(trk) else 0.0)
    vr = np.append(np.diff(alt) / dt * 60.0, 0.0)
    return gs, trk, vr


def airliner(
    hexid: int, callsign: str, a: Airport, b: Airport, t_dep: float, rng: np.random.Generator
) -> Flight:
    total = float(haversine_nm(a.lat, a.lon, b.lat, b.lon))
    cruise = 24000.0 if total < 250 else float(rng.choice([34000.0, 36000.0, 38000.0]))
    d, t = 0.0, t_dep
    ts, ds, alts = [], [], []
    while d < total:
        alt = min(cruise, a.elevation_ft + 1500.0 + d * 320.0, b.elevation_ft + (total - d) * 310.0)
        frac = max(0.0, min(1.0, (alt - 10000.0) / max(cruise - 10000.0, 1.0)))
        gs = 250.0 + 210.0 * frac if d > 6.0 else 160.0 + 15.0 * d
        ts.append(t)
        ds.append(d)
        alts.append(alt)
        d += gs * AC_STEP / 3600.0
        t += AC_STEP
    n = max(2, int(total) + 2)
    glat, glon = great_circle(a.lat, a.lon, b.lat, b.lon, n)
    cum = np.linspace(0.0, total, n)
    dd = np.array(ds)
    lat, lon = np.interp(dd, cum, glat), np.interp(dd, cum, glon)
    tt, alt_a = np.array(ts), np.round(np.array(alts) / 25.0) * 25.0
    gs_a, trk, vr = _kinematics(tt, lat, lon, alt_a)
    sq = int("".join(str(x) for x in rng.integers(0, 8, 4)))
    if sq in (7500, 7600, 7700, 1200) or sq < 1000:
        sq = 2000 + sq % 1000
    return Flight(
        hexid, callsign, tt, lat, lon, alt_a, gs_a, trk, vr, np.zeros(len(tt), dtype=bool), [(t_dep, sq)]
    )


def _path_flight(
    hexid: int, callsign: str, pts: list[tuple[float, float, float, float]], squawk: int
) -> Flight:
    """Flight through timed points (t, lat, lon, alt) sampled every AC_STEP (straight between points)."""
    pt = np.array([p[0] for p in pts])
    tt = np.arange(pt[0], pt[-1] + 0.001, AC_STEP)
    lat = np.interp(tt, pt, [p[1] for p in pts])
    lon = np.interp(tt, pt, [p[2] for p in pts])
    alt = np.interp(tt, pt, [p[3] for p in pts])
    gs, trk, vr = _kinematics(tt, lat, lon, alt)
    return Flight(
        hexid,
        callsign,
        tt,
        lat,
        lon,
        np.round(alt / 25.0) * 25.0,
        gs,
        trk,
        vr,
        np.zeros(len(tt), dtype=bool),
        [(float(pt[0]), squawk)],
    )


def landing_flight(t0: float, spot: tuple[float, float]) -> tuple[Flight, float]:
    """Light aircraft low over the sea from the south, landing on a strip away from any airport."""
    slat, slon = spot
    start = destination(slat, slon, 200.0, 85.0)
    fin = destination(slat, slon, 200.0, 4.0)
    t_start = t0 + 6 * 60.0
    t_fin = t_start + float(haversine_nm(start[0], start[1], fin[0], fin[1])) / 140.0 * 3600.0
    t_td = t_fin + 4.0 / 110.0 * 3600.0
    stop = destination(slat, slon, 20.0, 0.25)
    pts = [
        (t_start, start[0], start[1], 800.0),
        (t_fin, fin[0], fin[1], 700.0),
        (t_td, slat, slon, 0.0),
        (t_td + 30.0, stop[0], stop[1], 0.0),
    ]
    f = _path_flight(0xA4F3C2, "N318DM", pts, 1200)
    f.ground = f.t >= t_td
    park = f.t[-1] + np.arange(AC_STEP, 300.0 + AC_STEP, AC_STEP)
    f.t = np.concatenate([f.t, park])
    for name in ("lat", "lon"):
        arr = getattr(f, name)
        setattr(f, name, np.concatenate([arr, np.full(len(park), arr[-1])]))
    for name in ("alt", "gs", "vr"):
        setattr(f, name, np.concatenate([getattr(f, name), np.zeros(len(park))]))
    f.trk = np.concatenate([f.trk, np.full(len(park), f.trk[-1])])
    f.ground = np.concatenate([f.ground, np.ones(len(park), dtype=bool)])
    f.gs[f.ground & (f.t > t_td + 30.0)] = 0.0
    return f, t_td


def circling_flight(t0: float, lat: float, lon: float) -> tuple[Flight, float, float, float]:
    """Aircraft from Kingston that circles over the rendezvous, then returns."""
    ap = (17.9357, -76.7875)
    r_nm, spd, alt = 1.4, 130.0, 1500.0
    t_arr = t0 + 22 * 60.0
    brg_in = float(bearing_deg(ap[0], ap[1], lat, lon))
    entry = destination(lat, lon, (brg_in + 180.0) % 360.0, r_nm)
    leg = float(haversine_nm(ap[0], ap[1], entry[0], entry[1]))
    t_dep = t_arr - leg / 180.0 * 3600.0
    pts = [
        (t_dep, ap[0], ap[1], 1500.0),
        (t_dep + 300.0, *destination(ap[0], ap[1], brg_in, 15.0), 5500.0),
        (t_arr - 300.0, *destination(entry[0], entry[1], (brg_in + 180) % 360, 12.0), 3000.0),
        (t_arr, entry[0], entry[1], alt),
    ]
    period = 2 * math.pi * r_nm / spd * 3600.0
    n_orbits = 18
    phase0 = math.radians((brg_in + 180.0) % 360.0)
    for k in range(1, n_orbits * 24 + 1):
        ang = phase0 - 2 * math.pi * k / 24
        p = destination(lat, lon, math.degrees(ang) % 360.0, r_nm)
        pts.append((t_arr + period * k / 24, p[0], p[1], alt + 50.0 * math.sin(k / 7)))
    t_leave = pts[-1][0]
    pts.append((t_leave + 300.0, *destination(lat, lon, (brg_in + 180) % 360, 12.0), 4500.0))
    pts.append((t_leave + 300.0 + leg / 180.0 * 3600.0, ap[0], ap[1], 500.0))
    f = _path_flight(0x0BE1A7, "JDF212", pts, 4312)
    return f, t_arr, t_leave, period


# ----------------------------------------------------------------------------- SBS encoding


def _sbs_time(t: float) -> tuple[str, str]:
    dt = _dt(t)
    return dt.strftime("%Y/%m/%d"), dt.strftime("%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def _flag(b: bool) -> str:
    return "-1" if b else "0"


def sbs_line(msg: int, hexid: int, t: float, fields: dict[str, str]) -> str:
    date, time_ = _sbs_time(t)
    cols = ["MSG", str(msg), "1", "1", f"{hexid:06X}", "1", date, time_, date, time_]
    names = (
        "callsign",
        "alt",
        "gs",
        "track",
        "lat",
        "lon",
        "vrate",
        "squawk",
        "alert",
        "emergency",
        "spi",
        "onground",
    )
    cols += [fields.get(n, "") for n in names]
    return ",".join(cols)


def sbs_events(f: Flight, seed: int, t_start: float, t_end: float) -> list[tuple[float, int, int, str]]:
    """(time, hex, order, line) for one aircraft, thinned to what a receiver logs."""
    rng = _rng(seed, 900, f.hexid)
    out: list[tuple[float, int, int, str]] = []
    keep = (f.t >= t_start) & (f.t < t_end) & in_box(f.lat, f.lon)
    idx = np.flatnonzero(keep)
    last_sq, last_id, last_sq_t, k = -1, -1e18, -1e18, 0
    for n, i in enumerate(idx):
        t = float(f.t[i]) + float(rng.uniform(0.0, 0.999))
        sq = f.squawk_at(t)
        emerg = sq in (7500, 7600, 7700)
        gnd = bool(f.ground[i])
        if t - last_id >= 300.0:
            out.append((t, f.hexid, k, sbs_line(1, f.hexid, t, {"callsign": f.callsign})))
            last_id, k = t, k + 1
        if sq != last_sq or t - last_sq_t >= (30.0 if emerg else 240.0):
            out.append(
                (
                    t + 0.001,
                    f.hexid,
                    k,
                    sbs_line(
                        6,
                        f.hexid,
                        t + 0.001,
                        {
                            "squawk": f"{sq:04d}",
                            "alert": _flag(sq != last_sq and last_sq != -1),
                            "emergency": _flag(emerg),
                            "spi": "0",
                            "onground": _flag(gnd),
                        },
                    ),
                )
            )
            last_sq, last_sq_t, k = sq, t, k + 1
        pos_every = 3 if not gnd else 2  # every 15 s airborne, 10 s on the ground
        if n % pos_every == 0:
            if gnd:
                out.append(
                    (
                        t + 0.002,
                        f.hexid,
                        k,
                        sbs_line(
                            2,
                            f.hexid,
                            t + 0.002,
                            {
                                "gs": f"{f.gs[i]:.0f}",
                                "track": f"{f.trk[i]:.0f}",
                                "lat": f"{f.lat[i]:.5f}",
                                "lon": f"{f.lon[i]:.5f}",
                                "alert": "0",
                                "emergency": "0",
                                "spi": "0",
                                "onground": "-1",
                            },
                        ),
                    )
                )
            else:
                out.append(
                    (
                        t + 0.002,
                        f.hexid,
                        k,
                        sbs_line(
                            3,
                            f.hexid,
                            t + 0.002,
                            {
                                "alt": f"{f.alt[i]:.0f}",
                                "lat": f"{f.lat[i]:.5f}",
                                "lon": f"{f.lon[i]:.5f}",
                                "alert": "0",
                                "emergency": _flag(emerg),
                                "spi": "0",
                                "onground": "0",
                            },
                        ),
                    )
                )
            k += 1
        if n % 6 == 4 and not gnd:  # velocity every 30 s
            out.append(
                (
                    t + 0.003,
                    f.hexid,
                    k,
                    sbs_line(
                        4,
                        f.hexid,
                        t + 0.003,
                        {"gs": f"{f.gs[i]:.0f}", "track": f"{f.trk[i]:.0f}", "vrate": f"{f.vr[i]:.0f}"},
                    ),
                )
            )
            k += 1
    return out


# ----------------------------------------------------------------------------- assembly


BACKGROUND_ORDER: tuple[Role, ...] = tuple(r for r in Role)


def _scenario_vessels(p: Planner) -> tuple[list[Vessel], list[ScenarioRecord]]:
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


def _aircraft(
    seed: int, t0: float, inp: Inputs, rendezvous: ScenarioRecord
) -> tuple[list[Flight], list[ScenarioRecord]]:
    flights: list[Flight] = []
    for i, (o, d, op, block, airborne_min) in enumerate(FLIGHTS):
        rng = _rng(seed, 950, i)
        hexid = block + int(rng.integers(0x100, 0xFFF))
        callsign = f"{op}{int(rng.integers(100, 2999))}"
        a, b = inp.airports[o], inp.airports[d]
        t_dep = t0 - airborne_min * 60.0
        if not in_box(
            a.lat, a.lon
        ):  # long-haul arrival: airborne_min is then minutes before it enters coverage
            probe = airliner(hexid, callsign, a, b, 0.0, _rng(seed, 950, i))
            t_dep = t0 - airborne_min * 60.0 - float(probe.t[np.argmax(in_box(probe.lat, probe.lon))])
        flights.append(airliner(hexid, callsign, a, b, t_dep, rng))
    recs: list[ScenarioRecord] = []
    # squawk 7500 briefly: a charter from Port of Spain to Miami (fictional operator designator)
    rng = _rng(seed, 960)
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
        float(np.min(haversine_nm(inp.airport_points[:, 0], inp.airport_points[:, 1], spot[0], spot[1])))
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


def _reports_by_mmsi(events: list[AisEvent]) -> Reports:
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
            step = haversine_nm(lat[:-1], lon[:-1], lat[1:], lon[1:])
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
                r.extra["reappear_nm"] = round(float(haversine_nm(lat[k], lon[k], lat[k + 1], lon[k + 1])), 1)
        elif r.category == AlertCategory.GO_FAST:
            r.start, r.detectable_from = float(t[0]), float(t[min(1, len(t) - 1)])


def _iso(t: float) -> str | None:
    if not math.isfinite(t):
        return None
    return _dt(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scenario_json(
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


SOURCES_TEXT = """# SOURCES - feeds/demo

Everything in this directory is generated by `tools/demo_feed.py` (part of mdacentre, Apache-2.0):

    python -m tools.demo_feed --out feeds/demo --seed {seed} --hours {hours:g}

No recorded traffic is copied here: vessel and aircraft tracks, identities and the scripted incidents
are synthetic. The generator reads these inputs (from `../shared/data/geo`) and derives positions from them:

- NGA World Port Index (Pub. 150), `nga_wpi_caribbean.csv` / `nga_wpi_UpdatedPub150.csv`: port names and
  positions used as voyage end points and AIS destinations. US Government work, public domain.
- airportsdata (github.com/mborsetti/airportsdata), `airportsdata_caribbean.csv` / `airportsdata_airports.csv`:
  airport positions and elevations for the airliner routes and for the distance check of the off-airport
  landing. MIT licence.
- searoute (PyPI package `searoute` 1.6, licence Apache-2.0 per its bundled LICENCE.txt and package
  metadata): sea lanes computed on its bundled maritime network (marnet). The package credits Eurostat's
  SeaRoute (github.com/eurostat/searoute, EUPL-1.2), whose network is based on the Oak Ridge National
  Laboratory CTA Global Shipping Lane Network (2000). The network itself is not copied here; the vessel
  positions are computed along its lanes (with noise).
- Natural Earth 1:10m land (`ne_10m_land_caribbean.geojson`), public domain: keeps the spoofed position at sea.
- `geofences/watch_areas.geojson` (this repository; Natural Earth marine areas, public domain): the
  Caribbean Sea polygon used to time the hazardous-cargo entries.

Files: `{ais}` (NMEA 0183 AIS with NMEA 4.0 tag blocks, encoded with pyais), `{sbs}` (SBS-1 BaseStation),
`{scen}` (scripted incidents and the alerts they should raise).
"""


def generate(
    out_dir: Path,
    *,
    seed: int = 7,
    hours: float = 6.0,
    start: datetime = DEFAULT_START,
    data_dir: Path | None = None,
) -> dict[str, int]:
    """Write the demo feed files into ``out_dir`` and return counts of what was written.

    Raises :class:`~mdacentre.model.errors.ConfigError` for a bad argument or a missing input file.
    """
    if not (0.0 < hours <= MAX_HOURS):
        raise ConfigError(
            f"hours={hours} is out of range: use a value in (0, {MAX_HOURS:g}] (the demo uses 8)"
        )
    if start.tzinfo is None:
        raise ConfigError("start must be timezone-aware: pass e.g. datetime(2026, 1, 15, tzinfo=UTC)")
    inp = load_inputs(data_dir or default_data_dir(), repo_root() / "geofences" / WATCH_AREAS)
    t0 = start.timestamp()
    t_end = t0 + hours * 3600.0
    planner = Planner(seed, t0, inp)
    vessels, recs = _scenario_vessels(planner)
    idx = 0
    for role in BACKGROUND_ORDER:
        for _ in range(ROLES[role].count):
            vessels.append(planner.background(idx, role))
            idx += 1
    events: list[AisEvent] = []
    positions = 0
    for v in vessels:
        pe, heard = position_events(v, seed, t0, t_end, planner.t_plan)
        positions += len(pe)
        events += pe + static_events(v, seed, t_end, heard)
    events.sort()
    refine_scenarios(recs, _reports_by_mmsi(events), inp.caribbean_sea)
    rendezvous = next(r for r in recs if r.category == AlertCategory.ENCOUNTER)
    flights, air_recs = _aircraft(seed, t0, inp, rendezvous)
    sbs: list[tuple[float, int, int, str]] = []
    for f in flights:
        sbs += sbs_events(f, seed, t0, t_end)
    sbs.sort()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        ais_lines = list(encode_events(events))
        (out_dir / AIS_FILE).write_text("\n".join(ais_lines) + "\n", encoding="ascii", newline="\n")
        (out_dir / SBS_FILE).write_text("\n".join(s[3] for s in sbs) + "\n", encoding="ascii", newline="\n")
        counts = {
            "vessels": len({v.mmsi for v in vessels}),
            "aircraft": len(flights),
            "ais_lines": len(ais_lines),
            "ais_positions": positions,
            "ais_statics": len(events) - positions,
            "sbs_lines": len(sbs),
            "ais_bytes": (out_dir / AIS_FILE).stat().st_size,
            "sbs_bytes": (out_dir / SBS_FILE).stat().st_size,
        }
        all_recs = recs + air_recs
        counts["scenarios"] = sum(1 for r in all_recs if r.start < t_end)
        (out_dir / SCENARIO_FILE).write_text(
            _scenario_json(all_recs, seed, hours, t0, t_end, counts), encoding="utf-8", newline="\n"
        )
        (out_dir / SOURCES_FILE).write_text(
            SOURCES_TEXT.format(seed=seed, hours=hours, ais=AIS_FILE, sbs=SBS_FILE, scen=SCENARIO_FILE),
            encoding="utf-8",
            newline="\n",
        )
    except OSError as exc:
        raise ConfigError(
            f"cannot write the demo feed to {out_dir}: {exc}; pick a writable --out directory"
        ) from exc
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.demo_feed", description="Generate the bundled demo feed."
    )
    ap.add_argument("--out", type=Path, default=repo_root() / "feeds" / "demo")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument(
        "--start",
        default=DEFAULT_START.strftime("%Y-%m-%dT%H:%M:%SZ"),
        help="ISO time of the first event, UTC (default %(default)s)",
    )
    ap.add_argument(
        "--data-dir", type=Path, default=None, help="directory holding the WPI/airport/land files"
    )
    args = ap.parse_args(argv)
    start = datetime.fromisoformat(args.start.replace("Z", "+00:00"))
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    counts = generate(args.out, seed=args.seed, hours=args.hours, start=start, data_dir=args.data_dir)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
