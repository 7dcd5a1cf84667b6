"""Build the offline basemap for the live map: generalised land polygons as compact GeoJSON.

The watch floor is air-gapped, so the map cannot fetch tiles. Instead the page draws
Natural Earth land (public domain) on a dark sea. This module merges the 1:10m land and
minor-islands layers, simplifies them to roughly 500 m, snaps coordinates to a 1e-4 degree
grid and writes one small FeatureCollection.

Usage::

    python -m tools.basemap --geo-dir ../shared/data/geo --out web/data/land.geojson
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from mdacentre.model.errors import ConfigError

LAND_FILES = ("ne_10m_land_caribbean.geojson", "ne_10m_minor_islands_caribbean.geojson")
TOLERANCE_DEG = 0.0045  # about 500 m of latitude
GRID_DEG = 1e-4  # about 11 m
MAX_BYTES = 1_500_000
ATTRIBUTION = "Land: Natural Earth 1:10m land + minor islands 5.x (public domain), generalised ~500 m"


@dataclass(frozen=True)
class BasemapStats:
    """What a build produced, for logs and tests."""

    polygons: int
    vertices: int
    bytes: int
    kept_small: int  # islands too small for the tolerance, kept at grid precision instead


def read_features(path: Path, what: str = "basemap source") -> list[dict[str, Any]]:
    """The features of a GeoJSON FeatureCollection; ``what`` names the file in the error."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{what} {path} does not exist; pass --geo-dir pointing at shared/data/geo"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{what} {path} is not readable GeoJSON ({exc}); restore the original file"
        ) from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise ConfigError(f"{what} {path} is not a GeoJSON FeatureCollection; give a file with 'features'")
    return [f for f in features if isinstance(f, dict)]


def read_geometries(path: Path) -> list[BaseGeometry]:
    """Every non-empty geometry of a GeoJSON FeatureCollection."""
    features = read_features(path)
    out: list[BaseGeometry] = []
    for feat in features:
        geom = feat.get("geometry")
        if geom:
            g = shape(geom)
            if not g.is_empty:
                out.append(g if g.is_valid else shapely.make_valid(g))
    return out


def _polygons(geom: BaseGeometry) -> list[shapely.Polygon]:
    """The polygon parts of any geometry (drops points/lines that precision snapping can leave)."""
    parts = shapely.get_parts(geom)
    polys: list[shapely.Polygon] = []
    for part in parts:
        if isinstance(part, shapely.Polygon) and not part.is_empty:
            polys.append(part)
        elif isinstance(part, (shapely.MultiPolygon, shapely.GeometryCollection)):
            polys.extend(_polygons(part))
    return polys


def generalise(geom: BaseGeometry, tolerance: float, grid: float) -> tuple[list[shapely.Polygon], bool]:
    """Simplify one polygon and snap it to the grid; tiny islands fall back to grid precision only.

    Returns the polygons and whether the fallback was used (an island must not vanish from the
    watch officer's picture just because it is smaller than the tolerance).
    """
    simple = shapely.set_precision(shapely.simplify(geom, tolerance, preserve_topology=True), grid)
    polys = _polygons(simple)
    if polys:
        return polys, False
    return _polygons(shapely.set_precision(geom, grid)), True


def build_land(
    sources: Sequence[Path], tolerance: float = TOLERANCE_DEG, grid: float = GRID_DEG
) -> tuple[dict[str, Any], BasemapStats]:
    """Land FeatureCollection (one MultiPolygon feature) built from the given GeoJSON files."""
    if tolerance <= 0 or grid <= 0:
        raise ConfigError(
            f"tolerance ({tolerance}) and grid ({grid}) must be positive degrees, e.g. 0.0045 and 1e-4"
        )
    geoms: list[BaseGeometry] = []
    for src in sources:
        geoms.extend(read_geometries(src))
    if not geoms:
        raise ConfigError(f"basemap sources {[str(s) for s in sources]} hold no geometry; check the files")
    merged = shapely.union_all(geoms)
    polys: list[shapely.Polygon] = []
    kept_small = 0
    for part in _polygons(merged):
        got, fallback = generalise(part, tolerance, grid)
        polys.extend(got)
        kept_small += int(fallback)
    # Parts simplified one by one may now overlap their neighbours: merge once more so the shipped
    # MultiPolygon is valid (the on-land checks of other modules may read it too).
    polys = _polygons(shapely.set_precision(shapely.union_all(polys), grid))
    land = shapely.MultiPolygon(polys)
    vertices = int(shapely.get_num_coordinates(land))
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"kind": "land", "attribution": ATTRIBUTION},
                "geometry": _rounded(mapping(land), grid),
            }
        ],
    }
    size = len(dumps(doc))
    return doc, BasemapStats(polygons=len(polys), vertices=vertices, bytes=size, kept_small=kept_small)


def _rounded(geometry: dict[str, Any], grid: float) -> dict[str, Any]:
    """GeoJSON mapping with coordinates rounded to the grid's decimals (shortest JSON text)."""
    digits = max(0, round(-math.log10(grid)))

    def walk(node: Any) -> Any:
        if isinstance(node, (list, tuple)):
            if node and isinstance(node[0], float):
                return [round(float(v), digits) for v in node]
            return [walk(n) for n in node]
        return node

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


def write_basemap(
    geo_dir: Path, out: Path, tolerance: float = TOLERANCE_DEG, grid: float = GRID_DEG
) -> BasemapStats:
    """Build land from ``geo_dir`` and write it to ``out``; refuses to write a file over 1.5 MB."""
    doc, stats = build_land([geo_dir / name for name in LAND_FILES], tolerance, grid)
    if stats.bytes > MAX_BYTES:
        raise ConfigError(
            f"basemap would be {stats.bytes} bytes (> {MAX_BYTES}); raise the tolerance (now {tolerance} deg)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps(doc), encoding="utf-8")
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description="Build web/data/land.geojson from Natural Earth land.")
    parser.add_argument("--geo-dir", type=Path, default=here.parent / "shared" / "data" / "geo")
    parser.add_argument("--out", type=Path, default=here / "web" / "data" / "land.geojson")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE_DEG, help="simplification, degrees")
    parser.add_argument("--grid", type=float, default=GRID_DEG, help="coordinate grid, degrees")
    args = parser.parse_args(argv)
    try:
        stats = write_basemap(args.geo_dir, args.out, args.tolerance, args.grid)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {stats.polygons} polygons, {stats.vertices} vertices, {stats.bytes} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
