"""Reproducible builder of the Caribbean zone library shipped in ``geofences/``.

Everything is derived from the public-domain files in ``shared/data/geo`` (Natural Earth
1:10m, NOAA US Maritime Limits and Boundaries, NGA World Port Index, airportsdata) by
:func:`build_library`. The same input always gives byte-identical output files.

Method for the maritime zones (all labelled ``approximate``):

1. Land of every state comes from Natural Earth 10m Admin-0 countries. France and the
   Netherlands are split into their Caribbean parts by bounding box; the Guantanamo lease
   counts as Cuban land; US mainland, Brazil and El Salvador are *neighbours only* (they
   shape the equidistance lines but get no zones).
2. Work plane: a Lambert conformal conic projection of the region (:data:`LCC`). Buffers are
   computed per 4-degree tile of land in a local azimuthal equidistant projection centred on
   the tile, so 12/24/200 nm are true distances (error well under 0.5 %), never degrees.
3. "Atlantic-side water" is the connected part of (region box - all land) that holds a seed
   point in the Caribbean Sea: Pacific coasts and lakes drop out on their own.
4. Coastline points every :data:`COAST_STEP_M` along the coast of every state (only points
   on the Atlantic side) are split by a Voronoi diagram; cells dissolved per state give the
   equidistance partition, used to split territorial seas, contiguous zones and EEZs.
5. Puerto Rico / US Virgin Islands use NOAA's lines: treaty and unilateral boundaries plus
   the 200 nm limit are polygonized into the US Caribbean EEZ, the 12 and 24 nm limit lines
   into the territorial sea and contiguous zone; that area is removed from every neighbour
   and split between PR and VI by equidistance.
6. Territorial sea = 0-12 nm, contiguous zone = 12-24 nm, EEZ = 12-200 nm (the legal
   definitions: the contiguous zone lies inside the EEZ, the territorial sea does not).

Output geometry is simplified to :data:`SIMPLIFY_M` and rounded to 1e-5 degrees.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import MultiPoint, Point, box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.ops import nearest_points, polygonize

from mdacentre.core.zones import ZoneKind
from mdacentre.model.errors import ZoneError

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


# ---------------------------------------------------------------- projections


def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _project(geom: BaseGeometry, tr: Transformer) -> BaseGeometry:
    def fn(xy: FloatArray) -> FloatArray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def _aeqd(lon: float, lat: float) -> str:
    return f"+proj=aeqd +lat_0={lat:.2f} +lon_0={lon:.2f} +datum=WGS84 +units=m +no_defs"


# ---------------------------------------------------------------- inputs


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ZoneError(f"zone build input {path} is missing; point geo_dir at shared/data/geo")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise ZoneError(f"{path} is not a GeoJSON FeatureCollection")
    return doc


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise ZoneError(f"zone build input {path} is missing; point geo_dir at shared/data/geo")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _country_geoms(geo_dir: Path) -> dict[str, BaseGeometry]:
    doc = _read_json(geo_dir / NE_COUNTRIES)
    out: dict[str, BaseGeometry] = {}
    for f in doc["features"]:
        out[str(f["properties"]["ADMIN"])] = shapely.make_valid(shape(f["geometry"]))
    return out


def _state_land(spec: StateSpec, countries: dict[str, BaseGeometry]) -> BaseGeometry:
    missing = [a for a in spec.admins if a not in countries]
    if missing:
        raise ZoneError(f"{NE_COUNTRIES} lacks {missing} needed for state {spec.code}")
    land = shapely.union_all([countries[a] for a in spec.admins])
    x0, y0, x1, y1 = spec.bbox or (
        ROI[0] - ROI_MARGIN_DEG,
        ROI[1] - ROI_MARGIN_DEG,
        ROI[2] + ROI_MARGIN_DEG,
        ROI[3] + ROI_MARGIN_DEG,
    )
    return shapely.clip_by_rect(land, x0, y0, x1, y1)


# ---------------------------------------------------------------- geometry helpers


def _polygonal(geom: BaseGeometry, min_area: float = 0.0) -> BaseGeometry:
    """Only the polygon parts of ``geom`` (at least ``min_area``), as one (Multi)Polygon."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    flat: list[BaseGeometry] = []
    for p in parts:
        flat.extend(shapely.get_parts(p))
    keep = [p for p in flat if p.area >= min_area and not p.is_empty]
    if not keep:
        return shapely.Polygon()
    return shapely.MultiPolygon(keep) if len(keep) > 1 else keep[0]


def _tiles(bounds: Box) -> list[Box]:
    x0, y0, x1, y1 = bounds
    ix = range(math.floor(x0 / TILE_DEG), math.floor(x1 / TILE_DEG) + 1)
    iy = range(math.floor(y0 / TILE_DEG), math.floor(y1 / TILE_DEG) + 1)
    return [(i * TILE_DEG, j * TILE_DEG, (i + 1) * TILE_DEG, (j + 1) * TILE_DEG) for i in ix for j in iy]


def _buffers_lcc(land: BaseGeometry, distances_m: Sequence[float]) -> list[BaseGeometry]:
    """Buffers of lon/lat ``land`` by true distances, returned in the LCC plane.

    Land is cut into 4-degree tiles; each piece is buffered in an azimuthal equidistant
    projection centred on it (buffer of a union = union of buffers, so this is exact).
    """
    pieces: list[list[BaseGeometry]] = [[] for _ in distances_m]
    for tb in _tiles(land.bounds):
        piece = shapely.clip_by_rect(land, *tb)
        if piece.is_empty or piece.area == 0:
            continue
        c = piece.centroid
        aeqd = _aeqd(c.x, c.y)
        local = _project(piece, _transformer("EPSG:4326", aeqd))
        back = _transformer(aeqd, LCC)
        for k, d in enumerate(distances_m):
            simple = shapely.simplify(local, min(1000.0, d / 200.0))
            buf = shapely.segmentize(shapely.buffer(simple, d, quad_segs=16), 10_000.0)
            pieces[k].append(_project(buf, back))
    return [shapely.union_all(p) if p else shapely.Polygon() for p in pieces]


def _coast_points(land_lcc: BaseGeometry, step_m: float) -> FloatArray:
    """Points every ``step_m`` along every ring of ``land_lcc`` (x, y columns)."""
    out: list[FloatArray] = []
    for poly in shapely.get_parts(land_lcc):
        for ring in (poly.exterior, *poly.interiors):
            length = ring.length
            n = max(4, math.ceil(length / step_m))
            pts = shapely.line_interpolate_point(ring, np.linspace(0.0, length, n, endpoint=False))
            out.append(shapely.get_coordinates(pts))
    return np.concatenate(out) if out else np.empty((0, 2))


def _voronoi_cells(
    xy: FloatArray, labels: npt.NDArray[np.int64], extent: BaseGeometry
) -> dict[int, BaseGeometry]:
    """Equidistance partition: Voronoi cells of labelled points, dissolved per label."""
    rounded = np.round(xy, 1)
    _, first = np.unique(rounded, axis=0, return_index=True)
    first = np.sort(first)
    xy, labels = rounded[first], labels[first]
    cells_gc = shapely.voronoi_polygons(MultiPoint(xy), extend_to=extent, ordered=True)
    cells = np.asarray(shapely.get_parts(cells_gc))
    if len(cells) != len(xy):
        raise ZoneError(f"Voronoi returned {len(cells)} cells for {len(xy)} coastline points")
    out: dict[int, BaseGeometry] = {}
    for lab in np.unique(labels):
        mine = cells[labels == lab]
        merged = shapely.coverage_union_all(mine)
        if not merged.is_valid:
            merged = shapely.union_all(mine)
        out[int(lab)] = merged
    return out


# ---------------------------------------------------------------- NOAA (PR / USVI)


@dataclass
class NoaaAreas:
    """US Caribbean (PR + USVI) areas from NOAA lines, in the LCC plane."""

    eez: BaseGeometry  # everything inside the treaty / unilateral boundaries and the 200 nm limit
    within24: BaseGeometry  # inside the 24 nm limit
    within12: BaseGeometry  # inside the 12 nm limit


def _noaa_areas(geo_dir: Path, us_land_lcc: BaseGeometry, to_lcc: Transformer) -> NoaaAreas:
    doc = _read_json(geo_dir / NOAA_LINES)
    feats = [f for f in doc["features"] if str(f["properties"].get("REGION", "")).startswith("Puerto Rico")]
    if not feats:
        raise ZoneError(f"{NOAA_LINES} has no 'Puerto Rico and U.S. Virgin Islands' lines")

    def lines(pred: str) -> list[BaseGeometry]:
        out = []
        for f in feats:
            p = f["properties"]
            is_boundary = p.get("FEAT_TYPE") == "Maritime Boundary"
            flag = bool(p.get(pred))
            if is_boundary or flag:
                out.append(_project(shape(f["geometry"]), to_lcc))
        return out

    def faces(pred: str) -> BaseGeometry:
        noded = shapely.union_all(lines(pred))
        snapped = shapely.set_precision(noded, 1.0)  # close sub-metre gaps between segments
        return shapely.union_all(list(polygonize(shapely.get_parts(snapped))))

    eez = faces("EEZ")
    if eez.is_empty:
        raise ZoneError(f"{NOAA_LINES}: the PR/USVI boundary lines do not close into a polygon")
    w24_all = faces("CZ")
    w12_all = faces("TS")
    within24 = _faces_touching(w24_all, us_land_lcc)
    within12 = _faces_touching(w12_all, us_land_lcc)
    return NoaaAreas(
        eez=eez, within24=shapely.intersection(within24, eez), within12=shapely.intersection(within12, eez)
    )


def _faces_touching(faces: BaseGeometry, land: BaseGeometry) -> BaseGeometry:
    keep = [p for p in shapely.get_parts(faces) if p.intersects(land)]
    return shapely.union_all(keep) if keep else shapely.Polygon()


# ---------------------------------------------------------------- maritime zones


@dataclass
class Plane:
    """Everything the maritime step shares, in the LCC plane."""

    to_lcc: Transformer
    to_wgs: Transformer
    extent: BaseGeometry
    water: BaseGeometry  # Atlantic-side water inside ROI


def _plane(all_land_wgs: BaseGeometry) -> Plane:
    to_lcc = _transformer("EPSG:4326", LCC)
    to_wgs = _transformer(LCC, "EPSG:4326")
    roi_lcc = _project(shapely.segmentize(box(*ROI), 0.25), to_lcc)
    land_lcc = _project(shapely.clip_by_rect(all_land_wgs, *ROI), to_lcc)
    water_all = shapely.difference(roi_lcc, land_lcc)
    seed = _project(Point(*ATLANTIC_SEED), to_lcc)
    parts = [p for p in shapely.get_parts(water_all) if p.contains(seed)]
    if not parts:
        raise ZoneError(f"seed point {ATLANTIC_SEED} is not in open water; check the land input")
    x0, y0, x1, y1 = roi_lcc.bounds
    extent = box(x0 - 500_000, y0 - 500_000, x1 + 500_000, y1 + 500_000)
    return Plane(to_lcc=to_lcc, to_wgs=to_wgs, extent=extent, water=parts[0])


def _equidistance(
    specs: Sequence[StateSpec], lands_lcc: dict[str, BaseGeometry], plane: Plane, step_m: float
) -> dict[str, BaseGeometry]:
    shapely.prepare(plane.water)
    xys: list[FloatArray] = []
    labs: list[npt.NDArray[np.int64]] = []
    for i, spec in enumerate(specs):
        xy = _coast_points(lands_lcc[spec.code], step_m)
        if len(xy) == 0:
            continue
        near = shapely.dwithin(shapely.points(xy), plane.water, COAST_NEAR_WATER_M)
        xys.append(xy[near])
        labs.append(np.full(int(near.sum()), i, dtype=np.int64))
    if not xys or sum(len(x) for x in xys) < 2:
        return {s.code: plane.extent for s in specs[:1]}
    cells = _voronoi_cells(np.concatenate(xys), np.concatenate(labs), plane.extent)
    return {specs[i].code: g for i, g in cells.items()}


def _clip_water(geom: BaseGeometry, water: BaseGeometry) -> BaseGeometry:
    if geom.is_empty:
        return geom
    local = shapely.clip_by_rect(water, *geom.bounds)
    return shapely.intersection(geom, local)


@dataclass
class StateZones:
    ts: BaseGeometry
    cz: BaseGeometry
    eez: BaseGeometry
    basis: str  # "ne_equidistance" or "noaa_lines"


def _zones_from_limits(
    cell: BaseGeometry,
    w12: BaseGeometry,
    w24: BaseGeometry,
    w200: BaseGeometry,
    water: BaseGeometry,
    basis: str,
) -> StateZones:
    within12 = shapely.intersection(cell, w12)
    return StateZones(
        ts=_clip_water(within12, water),
        cz=_clip_water(shapely.difference(shapely.intersection(cell, w24), w12), water),
        eez=_clip_water(shapely.difference(shapely.intersection(cell, w200), w12), water),
        basis=basis,
    )


def _maritime(
    geo_dir: Path, specs: Sequence[StateSpec], countries: dict[str, BaseGeometry], step_m: float
) -> dict[str, StateZones]:
    lands_wgs = {s.code: _state_land(s, countries) for s in specs}
    other_land = [g for name, g in countries.items() if name == "United States Minor Outlying Islands"]
    all_land = shapely.union_all([*lands_wgs.values(), *other_land])  # Navassa is land, but no state
    plane = _plane(all_land)
    lands_lcc = {c: _project(g, plane.to_lcc) for c, g in lands_wgs.items()}

    noaa_codes = [s.code for s in specs if s.code in NOAA_STATES]
    main = [s for s in specs if s.code not in NOAA_STATES]
    cells = _equidistance(main, lands_lcc, plane, step_m)
    out: dict[str, StateZones] = {}
    noaa: NoaaAreas | None = None
    if noaa_codes:
        us_land = shapely.union_all([lands_lcc[c] for c in noaa_codes])
        noaa = _noaa_areas(geo_dir, us_land, plane.to_lcc)
        us_specs = [s for s in specs if s.code in NOAA_STATES]
        us_cells = _equidistance(us_specs, lands_lcc, plane, step_m)
        for code in noaa_codes:
            out[code] = _zones_from_limits(
                us_cells.get(code, shapely.Polygon()),
                noaa.within12,
                noaa.within24,
                noaa.eez,
                plane.water,
                "noaa_lines",
            )
    for spec in main:
        if spec.neighbour_only or spec.code not in cells:
            continue
        cell = cells[spec.code]
        if noaa is not None:
            cell = shapely.difference(cell, noaa.eez)
        w12, w24, w200 = _buffers_lcc(lands_wgs[spec.code], (12 * NM, 24 * NM, 200 * NM))
        out[spec.code] = _zones_from_limits(cell, w12, w24, w200, plane.water, "ne_equidistance")
    return {code: _to_wgs(z, plane) for code, z in out.items()}


def _finish(geom_lcc: BaseGeometry, plane: Plane) -> BaseGeometry:
    """LCC result -> simplified, densified, lon/lat, 1e-5 grid, valid polygons."""
    g = _polygonal(geom_lcc, SLIVER_M2)
    if g.is_empty:
        return g
    g = shapely.simplify(g, SIMPLIFY_M, preserve_topology=True)
    g = shapely.segmentize(g, 5_000.0)
    g = _project(g, plane.to_wgs)
    return _grid(g)


def _grid(g: BaseGeometry) -> BaseGeometry:
    g = shapely.set_precision(g, PRECISION_DEG)
    if not g.is_valid:
        g = shapely.make_valid(g)
    return _polygonal(g)


def _to_wgs(z: StateZones, plane: Plane) -> StateZones:
    return StateZones(
        ts=_finish(z.ts, plane), cz=_finish(z.cz, plane), eez=_finish(z.eez, plane), basis=z.basis
    )


def _maritime_features(zones: dict[str, StateZones], specs: dict[str, StateSpec]) -> list[Feature]:
    feats: list[Feature] = []
    layers = (
        (ZoneKind.TERRITORIAL_SEA, "ts", "territorial sea", 0, 12),
        (ZoneKind.CONTIGUOUS_ZONE, "cz", "contiguous zone", 12, 24),
        (ZoneKind.EEZ, "eez", "exclusive economic zone", 12, 200),
    )
    for code in sorted(zones):
        z, spec = zones[code], specs[code]
        for kind, suffix, label, inner, outer in layers:
            geom = getattr(z, suffix)
            if geom.is_empty:
                continue
            if z.basis == "noaa_lines":
                source = f"{SRC_NOAA}: limit and boundary lines polygonized; PR/VI split by equidistance on NE 10m land"
            else:
                source = f"{SRC_NE}: {outer} nm buffer, split between neighbours by equidistance"
            feats.append(
                Feature(
                    id=f"{code}-{suffix}",
                    name=f"{spec.name} {label} (approximate)",
                    kind=kind,
                    state=code,
                    geometry=geom,
                    source=source,
                    approximate=True,
                    attrs={
                        "sovereign": spec.sovereign,
                        "inner_nm": inner,
                        "outer_nm": outer,
                        "basis": z.basis,
                    },
                )
            )
    return feats


# ---------------------------------------------------------------- watch areas, gates


def _watch_features(geo_dir: Path) -> list[Feature]:
    doc = _read_json(geo_dir / NE_MARINE)
    by_name = {" ".join(str(f["properties"].get("name", "")).lower().split()): f for f in doc["features"]}
    feats: list[Feature] = []
    for zid, name, key in WATCH_AREAS:
        if key not in by_name:
            raise ZoneError(f"{NE_MARINE} has no marine polygon named {name!r}")
        geom = _grid(shapely.make_valid(shape(by_name[key]["geometry"])))
        feats.append(Feature(zid, name, ZoneKind.WATCH_AREA, "XX", geom, SRC_MARINE, True, {}))
    return feats


def _gate_features(
    specs: dict[str, StateSpec], lands: dict[str, BaseGeometry], half_width_nm: float
) -> list[Feature]:
    geod = Geod(ellps="WGS84")
    feats: list[Feature] = []
    for g in GATES:
        line = shapely.LineString([g.a, g.b])
        aeqd = _aeqd(line.centroid.x, line.centroid.y)
        local = _project(line, _transformer("EPSG:4326", aeqd))
        for end, code in ((g.a, g.a_state), (g.b, g.b_state)):
            land = lands.get(code)
            if land is not None and _geodesic_gap_m(geod, end, land) > GATE_SHORE_TOLERANCE_M:
                raise ZoneError(f"gate {g.slug}: end {end} is not near the coast of {code}; fix GATES")
        corridor = shapely.buffer(local, half_width_nm * NM, cap_style="flat", quad_segs=4)
        geom = _grid(_project(corridor, _transformer(aeqd, "EPSG:4326")))
        fwd, _, length = geod.inv(g.a[0], g.a[1], g.b[0], g.b[1])
        feats.append(
            Feature(
                id=f"gate-{g.slug}",
                name=g.name,
                kind=ZoneKind.TRANSIT_GATE,
                state="XX",
                geometry=geom,
                source="mdacentre gate axis between two shore points (own work, CC0)",
                approximate=True,
                attrs={
                    "line": [list(g.a), list(g.b)],
                    "axis_bearing_deg": round(fwd % 360.0, 1),
                    "length_nm": round(length / NM, 1),
                    "half_width_nm": half_width_nm,
                    "shores": [g.a_state, g.b_state],
                },
            )
        )
    return feats


def _geodesic_gap_m(geod: Geod, lonlat: tuple[float, float], land: BaseGeometry) -> float:
    if land.is_empty:
        return math.inf
    p = Point(lonlat)
    if land.contains(p):
        return 0.0
    near = nearest_points(p, land)[1]
    return float(geod.inv(lonlat[0], lonlat[1], near.x, near.y)[2])


# ---------------------------------------------------------------- ports, airports


def _circles(lon: FloatArray, lat: FloatArray, radius_m: float, n: int) -> list[BaseGeometry]:
    geod = Geod(ellps="WGS84")
    az = np.linspace(0.0, 360.0, n, endpoint=False)
    lons = np.repeat(lon, n)
    lats = np.repeat(lat, n)
    x, y, _ = geod.fwd(lons, lats, np.tile(az, len(lon)), np.full(len(lons), radius_m))
    ring = np.stack([np.asarray(x).reshape(-1, n), np.asarray(y).reshape(-1, n)], axis=2)
    return [_grid(shapely.Polygon(r[::-1])) for r in ring]


def _nearest_state(points: list[Point], lands: dict[str, BaseGeometry], max_deg: float = 0.3) -> list[str]:
    codes = sorted(c for c, g in lands.items() if not g.is_empty)
    tree = shapely.STRtree([lands[c] for c in codes])
    idx = tree.query_nearest(points, max_distance=max_deg, all_matches=False)
    out = ["XX"] * len(points)
    for p_i, t_i in zip(idx[0].tolist(), idx[1].tolist(), strict=True):
        out[p_i] = codes[t_i]
    return out


def _float(s: str) -> float | None:
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _port_features(geo_dir: Path, lands: dict[str, BaseGeometry], radius_nm: float) -> list[Feature]:
    rows = _read_csv(geo_dir / WPI_CSV)
    good = []
    for r in rows:
        lat, lon = _float(r.get("Latitude", "")), _float(r.get("Longitude", ""))
        if lat is None or lon is None:
            raise ZoneError(f"{WPI_CSV}: port {r.get('Main Port Name')!r} has no usable Latitude/Longitude")
        good.append((int(r["World Port Index Number"]), r, lon, lat))
    good.sort(key=lambda t: t[0])
    locodes = [r["UN/LOCODE"].replace(" ", "").strip() for _, r, _, _ in good]
    dup = {c for c in locodes if c and locodes.count(c) > 1}
    lons = np.array([t[2] for t in good])
    lats = np.array([t[3] for t in good])
    circles = _circles(lons, lats, radius_nm * NM, 24)
    nearest = _nearest_state([Point(x, y) for x, y in zip(lons, lats, strict=True)], lands)
    feats: list[Feature] = []
    for (wpi, r, x, y), loc, geom, near in zip(good, locodes, circles, nearest, strict=True):
        pid = f"port-{loc}" if loc and loc not in dup else (f"port-{loc}-{wpi}" if loc else f"port-wpi{wpi}")
        state = loc[:2] if len(loc) == 5 and loc[:2].isalpha() else near
        feats.append(
            Feature(
                id=pid,
                name=f"{r['Main Port Name'].strip()} approach",
                kind=ZoneKind.PORT_APPROACH,
                state=state,
                geometry=geom,
                source=SRC_WPI,
                approximate=True,
                attrs={
                    "port": r["Main Port Name"].strip(),
                    "locode": loc,
                    "wpi": wpi,
                    "harbor_size": r.get("Harbor Size", "").strip() or "Unknown",
                    "harbor_type": r.get("Harbor Type", "").strip() or "Unknown",
                    "radius_nm": radius_nm,
                    "center": [round(x, DECIMALS), round(y, DECIMALS)],
                },
            )
        )
    return feats


_AIRPORT_SUBD = {"Puerto Rico": "PR", "Virgin Islands": "VI", "U.S. Virgin Islands": "VI"}


def _airport_features(geo_dir: Path, radius_km: float) -> list[Feature]:
    rows = _read_csv(geo_dir / AIRPORTS_CSV)
    ne = _read_json(geo_dir / NE_AIRPORTS)
    ne_type = {
        str(f["properties"].get("gps_code") or ""): str(f["properties"].get("type") or "")
        for f in ne["features"]
    }
    good = []
    for r in sorted(rows, key=lambda r: r["icao"]):
        lat, lon = _float(r.get("lat", "")), _float(r.get("lon", ""))
        if lat is None or lon is None or not r.get("icao"):
            raise ZoneError(f"{AIRPORTS_CSV}: airport {r.get('icao')!r} lacks icao/lat/lon")
        good.append((r, lon, lat))
    circles = _circles(np.array([g[1] for g in good]), np.array([g[2] for g in good]), radius_km * 1000.0, 16)
    feats: list[Feature] = []
    for (r, x, y), geom in zip(good, circles, strict=True):
        icao = r["icao"].strip()
        state = _AIRPORT_SUBD.get(r.get("subd", ""), r["country"]) if r["country"] == "US" else r["country"]
        nt = ne_type.get(icao, "")
        paved_basis = "ne_10m_airports" if nt else ("iata_code" if r.get("iata") else "no_iata_code")
        feats.append(
            Feature(
                id=f"apt-{icao}",
                name=r["name"].strip(),
                kind=ZoneKind.AIRPORT,
                state=state.upper() or "XX",
                geometry=geom,
                source=SRC_AIRPORTS + (" + Natural Earth 10m airports (public domain)" if nt else ""),
                approximate=True,
                attrs={
                    "icao": icao,
                    "iata": r.get("iata", "").strip(),
                    "paved": bool(nt) or bool(r.get("iata")),
                    "paved_basis": paved_basis,
                    "ne_type": nt,
                    "elevation_ft": _float(r.get("elevation", "")),
                    "radius_km": radius_km,
                    "center": [round(x, DECIMALS), round(y, DECIMALS)],
                },
            )
        )
    return feats


# ---------------------------------------------------------------- output


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        r = round(obj, DECIMALS)
        return 0.0 if r == 0 else r
    if isinstance(obj, (list, tuple)):
        return [_round(o) for o in obj]
    return obj


def _oriented(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type == "Polygon":
        return orient(geom, 1.0)
    return shapely.MultiPolygon([orient(p, 1.0) for p in shapely.get_parts(geom)])


def feature_json(f: Feature) -> str:
    """One GeoJSON feature as a compact, deterministic JSON line."""
    props: dict[str, Any] = {
        "id": f.id,
        "name": f.name,
        "kind": f.kind.value,
        "state": f.state,
        "source": f.source,
        "approximate": f.approximate,
    }
    props.update({k: f.attrs[k] for k in sorted(f.attrs)})
    geom = mapping(_oriented(f.geometry))
    doc = {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": geom["type"], "coordinates": _round(geom["coordinates"])},
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def write_collection(path: Path, features: Iterable[Feature]) -> int:
    """Write features sorted by id, one per line; returns the count."""
    feats = sorted(features, key=lambda f: f.id)
    lines = ",\n".join(feature_json(f) for f in feats)
    text = '{"type":"FeatureCollection","features":[\n' + lines + "\n]}\n"
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return len(feats)


# ---------------------------------------------------------------- entry point


def _select(states: frozenset[str] | None) -> list[StateSpec]:
    if states is None:
        return list(STATES)
    known = {s.code for s in STATES}
    unknown = sorted(set(states) - known)
    if unknown:
        raise ZoneError(f"unknown state codes {unknown}; choose from {sorted(known)}")
    return [s for s in STATES if s.code in states]


def build_library(geo_dir: Path, out_dir: Path, options: BuildOptions | None = None) -> dict[str, int]:
    """Build every zone file from ``geo_dir`` into ``out_dir``; returns features written per file name.

    Deterministic: the same inputs and options give byte-identical files.
    """
    opts = options or BuildOptions()
    if not geo_dir.is_dir():
        raise ZoneError(f"geo_dir {geo_dir} is not a directory; point it at shared/data/geo")
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = _select(opts.states)
    countries = _country_geoms(geo_dir)
    zones = _maritime(geo_dir, specs, countries, opts.coast_step_m)
    spec_by_code = {s.code: s for s in STATES}
    all_lands = {s.code: _state_land(s, countries) for s in STATES}
    by_kind: dict[ZoneKind, list[Feature]] = {k: [] for k in OUTPUT_FILES}
    for f in _maritime_features(zones, spec_by_code):
        by_kind[f.kind].append(f)
    by_kind[ZoneKind.WATCH_AREA] = _watch_features(geo_dir)
    by_kind[ZoneKind.TRANSIT_GATE] = _gate_features(spec_by_code, all_lands, opts.gate_half_width_nm)
    by_kind[ZoneKind.PORT_APPROACH] = _port_features(geo_dir, all_lands, opts.port_radius_nm)
    by_kind[ZoneKind.AIRPORT] = _airport_features(geo_dir, opts.airport_radius_km)
    return {name: write_collection(out_dir / name, by_kind[kind]) for kind, name in OUTPUT_FILES.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mdacentre.cli.zonebuild GEO_DIR OUT_DIR``: rebuild the library (until the CLI has it)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m mdacentre.cli.zonebuild GEO_DIR OUT_DIR", file=sys.stderr)
        return 2
    counts = build_library(Path(args[0]), Path(args[1]))
    for name, n in counts.items():
        print(f"{name}: {n} zones")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
