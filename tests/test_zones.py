"""Zone library: shipped files, builder determinism, operator files, preview."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon, shape
from shapely.ops import nearest_points

from mdacentre.cli import zonebuild
from mdacentre.core.zones import Zone, ZoneKind, load_library, preview_html, validate_file, zones_at
from mdacentre.model.errors import ZoneError

REPO = Path(__file__).resolve().parent.parent
LIBRARY = REPO / "geofences"
GEO = REPO.parent / "shared" / "data" / "geo"
needs_geo = pytest.mark.skipif(not GEO.is_dir(), reason=f"shared geo data not found at {GEO}")
GEOD = Geod(ellps="WGS84")

LOAD_BUDGET_S = 10.0
LOAD_BUDGET_MB = 300.0
CARICOM_AND_NEIGHBOURS = (
    *("AG", "BS", "BB", "BZ", "DM", "GD", "GY", "HT", "JM", "MS", "KN", "LC", "VC", "SR", "TT"),  # CARICOM
    *("AI", "VG", "KY", "TC", "DO", "CU", "PR", "VI", "GP", "MQ", "MF", "BL", "AW", "CW", "SX", "BQ"),
    *("MX", "GT", "HN", "NI", "CR", "PA", "CO", "VE"),
)


@pytest.fixture(scope="module")
def library() -> list[Zone]:
    return load_library(LIBRARY)


@pytest.fixture(scope="module")
def by_id(library: list[Zone]) -> dict[str, Zone]:
    return {z.id: z for z in library}


def _ne_country(admin: str) -> shapely.geometry.base.BaseGeometry:
    doc = json.loads((GEO / zonebuild.NE_COUNTRIES).read_text(encoding="utf-8"))
    return next(shape(f["geometry"]) for f in doc["features"] if f["properties"]["ADMIN"] == admin)


def _geodesic_km(a: Point, b: Point) -> float:
    return float(GEOD.inv(a.x, a.y, b.x, b.y)[2]) / 1000.0


def _maritime_ids(zones: list[Zone], lon: float, lat: float) -> set[str]:
    kinds = (ZoneKind.TERRITORIAL_SEA, ZoneKind.CONTIGUOUS_ZONE, ZoneKind.EEZ)
    return {z.id for z in zones_at(zones, lon, lat) if z.kind in kinds}


# ---------------------------------------------------------------- shipped library


def test_every_state_has_three_maritime_zones(by_id: dict[str, Zone]) -> None:
    for cc in CARICOM_AND_NEIGHBOURS:
        for suffix, kind in (
            ("ts", ZoneKind.TERRITORIAL_SEA),
            ("cz", ZoneKind.CONTIGUOUS_ZONE),
            ("eez", ZoneKind.EEZ),
        ):
            z = by_id[f"{cc}-{suffix}"]
            assert z.kind == kind and z.state == cc and z.approximate
            assert z.geometry.is_valid and not z.geometry.is_empty
    assert by_id["caribbean_sea"].kind == ZoneKind.WATCH_AREA
    assert by_id["gulf_of_mexico"].state == "XX"
    assert by_id["PR-ts"].attrs["basis"] == "noaa_lines"
    assert by_id["JM-ts"].attrs["basis"] == "ne_equidistance"


@needs_geo
def test_kingston_harbour_is_water_in_jamaica_territorial_sea(library: list[Zone]) -> None:
    lon, lat = -76.80, 17.95
    assert not _ne_country("Jamaica").contains(Point(lon, lat)), "test point must be water, not land"
    assert _maritime_ids(library, lon, lat) == {"JM-ts"}


@needs_geo
def test_point_between_jamaica_and_haiti_goes_to_the_nearer_state(library: list[Zone]) -> None:
    jm, ht = _ne_country("Jamaica"), _ne_country("Haiti")
    a, b = nearest_points(jm, ht)  # closest coasts: Morant Point - Cap Tiburon area
    for frac, expect in ((0.42, "JM"), (0.58, "HT")):
        p = Point(a.x + frac * (b.x - a.x), a.y + frac * (b.y - a.y))
        d_jm = _geodesic_km(p, nearest_points(p, jm)[1])
        d_ht = _geodesic_km(p, nearest_points(p, ht)[1])
        nearer = "JM" if d_jm < d_ht else "HT"
        assert nearer == expect, (p, d_jm, d_ht)
        assert min(d_jm, d_ht) > 24 * 1.852  # beyond the contiguous zone: EEZ only
        assert _maritime_ids(library, p.x, p.y) == {f"{expect}-eez"}


def test_middle_of_caribbean_sea_is_no_territorial_sea(library: list[Zone]) -> None:
    hits = zones_at(library, -75.0, 15.0)
    assert "caribbean_sea" in {z.id for z in hits}
    assert not [z for z in hits if z.kind in (ZoneKind.TERRITORIAL_SEA, ZoneKind.CONTIGUOUS_ZONE)]


def test_pacific_waters_are_not_in_the_library(library: list[Zone]) -> None:
    assert _maritime_ids(library, -80.0, 7.0) == set()  # Gulf of Panama, Pacific side
    assert _maritime_ids(library, -79.9, 9.5) == {"PA-ts"}  # off Colon, Caribbean side


def test_mona_passage_gate_contains_mid_passage(by_id: dict[str, Zone]) -> None:
    gate = by_id["gate-mona"]
    assert gate.kind == ZoneKind.TRANSIT_GATE and gate.state == "XX"
    (x0, y0), (x1, y1) = gate.attrs["line"]
    mid = ((x0 + x1) / 2, (y0 + y1) / 2)
    assert shapely.intersects_xy(gate.geometry, *mid)
    assert not shapely.intersects_xy(gate.geometry, mid[0], mid[1] + 0.3)  # 18 nm north: outside
    # a track crossing the passage north-south crosses the gate axis
    track = shapely.LineString([(mid[0], mid[1] + 0.2), (mid[0], mid[1] - 0.2)])
    assert track.crosses(shapely.LineString(gate.attrs["line"]))


def test_library_loads_within_budget() -> None:
    # a fresh interpreter, so RSS growth is the library's own (imports are done before timing)
    script = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from mdacentre.core.zones import load_library\n"
        "def rss():\n"
        "    for line in Path('/proc/self/status').read_text().splitlines():\n"
        "        if line.startswith('VmRSS:'):\n"
        "            return int(line.split()[1]) / 1024.0\n"
        "before = rss(); t0 = time.perf_counter()\n"
        "zones = load_library(Path(sys.argv[1]))\n"
        "print(json.dumps({'n': len(zones), 's': time.perf_counter() - t0, 'mb': rss() - before}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(LIBRARY)], capture_output=True, text=True, check=True
    )
    m = json.loads(out.stdout)
    print(f"library: {m['n']} zones loaded in {m['s']:.2f} s, RSS +{m['mb']:.0f} MB")
    assert m["n"] > 1500
    assert m["s"] < LOAD_BUDGET_S
    assert m["mb"] < LOAD_BUDGET_MB


# ---------------------------------------------------------------- builder


@needs_geo
def test_build_is_deterministic(tmp_path: Path) -> None:
    opts = zonebuild.BuildOptions(states=frozenset({"JM", "HT", "KY", "PR", "VI"}))
    one, two = tmp_path / "one", tmp_path / "two"
    counts = zonebuild.build_library(GEO, one, opts)
    zonebuild.build_library(GEO, two, opts)
    assert counts["eez.geojson"] == 5 and counts["transit_gates.geojson"] == 8
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(zonebuild.OUTPUT_FILES.values())
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    zones = load_library(one)
    assert {z.id for z in zones} >= {"JM-ts", "PR-eez", "VI-cz", "apt-MKJP", "gate-windward"}
    coords = re.findall(r"-?\d+\.\d+", (one / "territorial_seas.geojson").read_text()[:20000])
    assert coords and all(len(c.split(".")[1]) <= zonebuild.DECIMALS for c in coords)


@needs_geo
def test_build_rejects_unknown_state(tmp_path: Path) -> None:
    with pytest.raises(ZoneError, match="unknown state codes"):
        zonebuild.build_library(GEO, tmp_path, zonebuild.BuildOptions(states=frozenset({"JM", "QQ"})))


# ---------------------------------------------------------------- operator files


def _square(lon: float, lat: float, d: float = 0.1) -> Polygon:
    return Polygon([(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)])


def test_validate_converts_a_projected_geopackage(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"id": ["op-1"], "name": ["Exercise box"], "kind": ["restricted"], "state": ["jm"], "level": [2]},
        geometry=[_square(-76.9, 17.8)],
        crs=4326,
    ).to_crs(3857)
    path = tmp_path / "ops.gpkg"
    gdf.to_file(path, driver="GPKG")
    notes: list[str] = []
    (zone,) = validate_file(path, notes)
    assert zone.kind == ZoneKind.RESTRICTED and zone.state == "JM" and zone.attrs["level"] == 2
    assert abs(zone.geometry.bounds[0] - -76.9) < 1e-6
    assert notes and "EPSG:4326" in notes[0]


def test_validate_reports_every_problem_with_location(tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "a", "name": "A", "kind": "custom", "state": "JM"},
                "geometry": shapely.geometry.mapping(_square(-76, 18)),
            },
            {
                "type": "Feature",
                "properties": {"id": "b", "name": "B", "state": "JM"},
                "geometry": shapely.geometry.mapping(_square(-75, 18)),
            },
            {
                "type": "Feature",
                "properties": {"id": "c", "name": "C", "kind": "custom", "state": "JM"},
                "geometry": {"type": "LineString", "coordinates": [[-76, 18], [-75, 18]]},
            },
            {
                "type": "Feature",
                "properties": {"id": "d", "name": "D", "kind": "custom", "state": "JM"},
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            },
        ],
    }
    path = tmp_path / "mine.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(ZoneError) as err:
        validate_file(path)
    msg = str(err.value)
    assert "4 invalid" not in msg and "3 invalid feature(s)" in msg
    assert "feature 1" in msg and "'kind'" in msg
    assert "feature 2" in msg and "LineString" in msg
    assert "feature 3" in msg and "invalid" in msg


@pytest.mark.filterwarnings("ignore:Column names longer than 10", "ignore:Normalized/laundered field name")
def test_library_picks_up_custom_shapefile(tmp_path: Path) -> None:
    lib = tmp_path / "geofences"
    (lib / "custom").mkdir(parents=True)
    for name in ("watch_areas.geojson", "transit_gates.geojson"):
        (lib / name).write_bytes((LIBRARY / name).read_bytes())
    gpd.GeoDataFrame(
        {
            "id": ["mpa-1"],
            "name": ["Pedro Bank"],
            "kind": ["protected"],
            "state": ["JM"],
            "approximate": [True],
        },
        geometry=[_square(-77.8, 16.9, 0.4)],
        crs=4326,
    ).to_file(lib / "custom" / "mpa.shp")
    zones = load_library(lib)
    mpa = next(z for z in zones if z.id == "mpa-1")
    assert mpa.kind == ZoneKind.PROTECTED and mpa.approximate  # 'approximat' shapefile field understood
    assert [z.id for z in zones_at(zones, -77.6, 17.1) if z.kind == ZoneKind.PROTECTED] == ["mpa-1"]
    (lib / "custom" / "dup.geojson").write_text((LIBRARY / "watch_areas.geojson").read_text())
    with pytest.raises(ZoneError, match="appears twice"):
        load_library(lib)


def test_preview_html_writes_a_map(tmp_path: Path, by_id: dict[str, Zone]) -> None:
    zones = [z for z in by_id.values() if z.kind in (ZoneKind.TRANSIT_GATE, ZoneKind.WATCH_AREA)]
    out = preview_html(zones, tmp_path / "preview.html")
    text = out.read_text(encoding="utf-8")
    assert "gate-mona" in text and "caribbean_sea" in text and "L.map" in text
    vendored = [REPO / "web" / "vendor" / "leaflet", REPO / "web" / "node_modules" / "leaflet" / "dist"]
    if any((d / "leaflet.js").is_file() for d in vendored):
        assert "cdn.jsdelivr.net" not in text  # Leaflet inlined: works offline


@needs_geo
def test_us_bvi_treaty_line_from_noaa_bounds_the_zones(library: list[Zone]) -> None:
    doc = json.loads((GEO / zonebuild.NOAA_LINES).read_text(encoding="utf-8"))
    line = next(shape(f["geometry"]) for f in doc["features"] if f["properties"]["BOUND_ID"] == "B0063")
    assert "British Virgin Islands" in next(
        f["properties"]["LEGAL_AUTH"] for f in doc["features"] if f["properties"]["BOUND_ID"] == "B0063"
    )
    mid = line.interpolate(0.5, normalized=True)
    west = _maritime_ids(library, mid.x - 0.02, mid.y)  # ~2 km west of the treaty line: US side
    east = _maritime_ids(library, mid.x + 0.02, mid.y)  # ~2 km east: British Virgin Islands
    assert west in ({"PR-eez"}, {"VI-eez"})
    assert east == {"VG-eez"}
