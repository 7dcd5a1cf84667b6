"""What the demo world is made of: coverage, shore stations, vessel roles, flags, names, flights."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

# ----------------------------------------------------------------------------- constants

DEFAULT_START = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
PLAN_HOURS = 10.0  # planning horizon, independent of ``hours`` so short runs are prefixes
MAX_HOURS = 10.0
# The sphere the bundled feed is generated on (nautical miles); mdacentre.model.geodesy does the
# geometry, this radius is kept so that a regeneration gives the same bytes.
EARTH_RADIUS_NM = 3440.065
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


def in_box(lat: Any, lon: Any) -> Any:
    return (lon >= BOX[0]) & (lon <= BOX[2]) & (lat >= BOX[1]) & (lat <= BOX[3])
