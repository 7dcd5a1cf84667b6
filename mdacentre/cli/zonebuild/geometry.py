"""Geometry helpers of the builder: tiled true-distance buffers, coast points, Voronoi cells, NOAA areas."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPoint, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import polygonize

from mdacentre.cli.zonebuild.sources import aeqd_crs, project, read_json, transformer
from mdacentre.cli.zonebuild.spec import LCC, NOAA_LINES, TILE_DEG, Box, FloatArray
from mdacentre.model.errors import ZoneError

# ---------------------------------------------------------------- geometry helpers


def polygonal(geom: BaseGeometry, min_area: float = 0.0) -> BaseGeometry:
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


def buffers_lcc(land: BaseGeometry, distances_m: Sequence[float]) -> list[BaseGeometry]:
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
        aeqd = aeqd_crs(c.x, c.y)
        local = project(piece, transformer("EPSG:4326", aeqd))
        back = transformer(aeqd, LCC)
        for k, d in enumerate(distances_m):
            simple = shapely.simplify(local, min(1000.0, d / 200.0))
            buf = shapely.segmentize(shapely.buffer(simple, d, quad_segs=16), 10_000.0)
            pieces[k].append(project(buf, back))
    return [shapely.union_all(p) if p else shapely.Polygon() for p in pieces]


def coast_points(land_lcc: BaseGeometry, step_m: float) -> FloatArray:
    """Points every ``step_m`` along every ring of ``land_lcc`` (x, y columns)."""
    out: list[FloatArray] = []
    for poly in shapely.get_parts(land_lcc):
        for ring in (poly.exterior, *poly.interiors):
            length = ring.length
            n = max(4, math.ceil(length / step_m))
            pts = shapely.line_interpolate_point(ring, np.linspace(0.0, length, n, endpoint=False))
            out.append(shapely.get_coordinates(pts))
    return np.concatenate(out) if out else np.empty((0, 2))


def voronoi_cells(
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


def noaa_areas(geo_dir: Path, us_land_lcc: BaseGeometry, to_lcc: Transformer) -> NoaaAreas:
    doc = read_json(geo_dir / NOAA_LINES)
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
                out.append(project(shape(f["geometry"]), to_lcc))
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
