"""What the zone library is made of: input files, states, gates, watch areas, build options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

from mdacentre.core.zones import ZoneKind

NM = 1852.0
ROI = (-100.0, 2.0, -50.0, 33.0)  # lon/lat box the maritime zones are computed in
ROI_MARGIN_DEG = 4.0
LCC = "+proj=lcc +lat_1=8 +lat_2=28 +lat_0=18 +lon_0=-75 +datum=WGS84 +units=m +no_defs"
ATLANTIC_SEED = (-75.0, 15.0)  # a point of the open Caribbean Sea
COAST_STEP_M = 2000.0
COAST_NEAR_WATER_M = 2000.0
TILE_DEG = 4.0
SIMPLIFY_M = 100.0
SLIVER_M2 = 50_000.0  # polygon parts smaller than this (0.05 km2) are Voronoi/overlay noise
PRECISION_DEG = 1e-5
DECIMALS = 5

NE_COUNTRIES = "ne_10m_admin_0_countries_deu_caribbean_unclipped.geojson"
NE_MARINE = "ne_10m_geography_marine_polys.geojson"
NE_AIRPORTS = "ne_10m_airports.geojson"
NOAA_LINES = "noaa_us_maritime_limits_PR_USVI_Atlantic_Gulf.geojson"
WPI_CSV = "nga_wpi_caribbean.csv"
AIRPORTS_CSV = "airportsdata_caribbean.csv"

SRC_NE = "derived from Natural Earth 10m admin-0 countries 5.1.1 (public domain)"
SRC_NOAA = "NOAA US Maritime Limits and Boundaries 2020-03 (public domain)"
SRC_MARINE = "Natural Earth 10m geography_marine_polys (public domain)"
SRC_WPI = "NGA World Port Index Pub 150 (public domain)"
SRC_AIRPORTS = "airportsdata (MIT)"

OUTPUT_FILES: dict[ZoneKind, str] = {
    ZoneKind.TERRITORIAL_SEA: "territorial_seas.geojson",
    ZoneKind.CONTIGUOUS_ZONE: "contiguous_zones.geojson",
    ZoneKind.EEZ: "eez.geojson",
    ZoneKind.WATCH_AREA: "watch_areas.geojson",
    ZoneKind.TRANSIT_GATE: "transit_gates.geojson",
    ZoneKind.PORT_APPROACH: "ports.geojson",
    ZoneKind.AIRPORT: "airports.geojson",
}

Box = tuple[float, float, float, float]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StateSpec:
    """A state or territory: which Natural Earth features make its land, and whether it gets zones."""

    code: str  # ISO 3166 alpha-2
    name: str
    sovereign: str  # alpha-2 of the sovereign state (GB for the Cayman Islands ...)
    admins: tuple[str, ...]  # Natural Earth ADMIN values
    bbox: Box | None = None  # keep only land in this lon/lat box (France, Netherlands)
    neighbour_only: bool = False  # shapes equidistance lines, gets no zones
    group: str = ""  # CARICOM, CARICOM-associate, ... (informative)


_FR_GP: Box = (-62.0, 15.7, -60.9, 16.6)
_FR_MQ: Box = (-61.4, 14.3, -60.7, 15.0)
_FR_GF: Box = (-55.0, 1.5, -51.0, 6.5)
_NL_BQ: Box = (-69.0, 11.9, -62.8, 17.8)

STATES: tuple[StateSpec, ...] = (
    StateSpec("AG", "Antigua and Barbuda", "AG", ("Antigua and Barbuda",), group="CARICOM"),
    StateSpec("AI", "Anguilla", "GB", ("Anguilla",), group="CARICOM associate"),
    StateSpec("AW", "Aruba", "NL", ("Aruba",)),
    StateSpec("BB", "Barbados", "BB", ("Barbados",), group="CARICOM"),
    StateSpec("BL", "Saint Barthelemy", "FR", ("Saint Barthelemy",)),
    StateSpec("BQ", "Caribbean Netherlands", "NL", ("Netherlands",), bbox=_NL_BQ),
    StateSpec("BS", "The Bahamas", "BS", ("The Bahamas",), group="CARICOM"),
    StateSpec("BZ", "Belize", "BZ", ("Belize",), group="CARICOM"),
    StateSpec("CO", "Colombia", "CO", ("Colombia",)),
    StateSpec("CR", "Costa Rica", "CR", ("Costa Rica",)),
    StateSpec("CU", "Cuba", "CU", ("Cuba", "US Naval Base Guantanamo Bay")),
    StateSpec("CW", "Curacao", "NL", ("Curaçao",)),
    StateSpec("DM", "Dominica", "DM", ("Dominica",), group="CARICOM"),
    StateSpec("DO", "Dominican Republic", "DO", ("Dominican Republic",)),
    StateSpec("GD", "Grenada", "GD", ("Grenada",), group="CARICOM"),
    StateSpec("GF", "French Guiana", "FR", ("France",), bbox=_FR_GF),
    StateSpec("GP", "Guadeloupe", "FR", ("France",), bbox=_FR_GP),
    StateSpec("GT", "Guatemala", "GT", ("Guatemala",)),
    StateSpec("GY", "Guyana", "GY", ("Guyana",), group="CARICOM"),
    StateSpec("HN", "Honduras", "HN", ("Honduras",)),
    StateSpec("HT", "Haiti", "HT", ("Haiti",), group="CARICOM"),
    StateSpec("JM", "Jamaica", "JM", ("Jamaica",), group="CARICOM"),
    StateSpec("KN", "Saint Kitts and Nevis", "KN", ("Saint Kitts and Nevis",), group="CARICOM"),
    StateSpec("KY", "Cayman Islands", "GB", ("Cayman Islands",), group="CARICOM associate"),
    StateSpec("LC", "Saint Lucia", "LC", ("Saint Lucia",), group="CARICOM"),
    StateSpec("MF", "Saint Martin", "FR", ("Saint Martin",)),
    StateSpec("MQ", "Martinique", "FR", ("France",), bbox=_FR_MQ),
    StateSpec("MS", "Montserrat", "GB", ("Montserrat",), group="CARICOM"),
    StateSpec("MX", "Mexico", "MX", ("Mexico",)),
    StateSpec("NI", "Nicaragua", "NI", ("Nicaragua",)),
    StateSpec("PA", "Panama", "PA", ("Panama",)),
    StateSpec("PR", "Puerto Rico", "US", ("Puerto Rico",)),
    StateSpec("SR", "Suriname", "SR", ("Suriname",), group="CARICOM"),
    StateSpec("SX", "Sint Maarten", "NL", ("Sint Maarten",)),
    StateSpec(
        "TC", "Turks and Caicos Islands", "GB", ("Turks and Caicos Islands",), group="CARICOM associate"
    ),
    StateSpec("TT", "Trinidad and Tobago", "TT", ("Trinidad and Tobago",), group="CARICOM"),
    StateSpec(
        "VC", "Saint Vincent and the Grenadines", "VC", ("Saint Vincent and the Grenadines",), group="CARICOM"
    ),
    StateSpec("VE", "Venezuela", "VE", ("Venezuela",)),
    StateSpec("VG", "British Virgin Islands", "GB", ("British Virgin Islands",), group="CARICOM associate"),
    StateSpec("VI", "United States Virgin Islands", "US", ("United States Virgin Islands",)),
    # neighbours: shape the equidistance lines, no zones of their own in this library
    StateSpec("US", "United States", "US", ("United States of America",), neighbour_only=True),
    StateSpec("BR", "Brazil", "BR", ("Brazil",), neighbour_only=True),
    StateSpec("SV", "El Salvador", "SV", ("El Salvador",), neighbour_only=True),
)
NOAA_STATES = ("PR", "VI")  # zones taken from the NOAA lines


@dataclass(frozen=True)
class GateSpec:
    """A transit gate: the axis runs from shore point ``a`` to shore point ``b`` (lon, lat)."""

    slug: str
    name: str
    a: tuple[float, float]
    b: tuple[float, float]
    a_state: str
    b_state: str


GATES: tuple[GateSpec, ...] = (
    GateSpec("windward", "Windward Passage", (-74.13, 20.22), (-73.40, 19.83), "CU", "HT"),
    GateSpec("mona", "Mona Passage", (-68.33, 18.60), (-67.27, 18.37), "DO", "PR"),
    GateSpec("anegada", "Anegada Passage", (-64.31, 18.73), (-63.43, 18.60), "VG", "AI"),
    GateSpec("yucatan", "Yucatan Channel", (-87.04, 21.60), (-84.95, 21.86), "MX", "CU"),
    GateSpec("florida", "Florida Straits (Key West - Havana)", (-81.78, 24.55), (-82.36, 23.14), "US", "CU"),
    GateSpec("dominica", "Dominica Passage", (-61.40, 15.62), (-61.28, 15.87), "DM", "GP"),
    GateSpec("stvincent", "St Vincent Passage", (-60.95, 13.72), (-61.16, 13.37), "LC", "VC"),
    GateSpec("grenada-trinidad", "Grenada - Trinidad", (-61.78, 12.01), (-61.60, 10.73), "GD", "TT"),
)
GATE_HALF_WIDTH_NM = 2.0
GATE_SHORE_TOLERANCE_M = 6000.0  # a gate end must be this close to its state's land
WATCH_AREAS: tuple[tuple[str, str, str], ...] = (
    ("caribbean_sea", "Caribbean Sea", "caribbean sea"),
    ("gulf_of_mexico", "Gulf of Mexico", "gulf of mexico"),
)


@dataclass
class BuildOptions:
    """Knobs of :func:`build_library`; defaults build the shipped library."""

    states: frozenset[str] | None = None  # None: every state in STATES (a subset is for tests)
    port_radius_nm: float = 3.0
    airport_radius_km: float = 3.0
    gate_half_width_nm: float = GATE_HALF_WIDTH_NM
    coast_step_m: float = COAST_STEP_M


@dataclass
class Feature:
    """One output zone before serialisation."""

    id: str
    name: str
    kind: ZoneKind
    state: str
    geometry: BaseGeometry
    source: str
    approximate: bool
    attrs: dict[str, Any] = field(default_factory=dict)
