"""Land mask for the "position on land" check: build it from Natural Earth, load it, test points.

The mask is Natural Earth 1:10m land in the box :data:`BOX` (the area of the zone library),
minus the places where ships legitimately sail although the 1:10m coastline calls them land:

* circles of :data:`PORT_RADIUS_M` (3 nm, like the port approach zones) around every NGA World
  Port Index port in the box: harbours at the end of narrow bays (Santiago de Cuba, Mariel) and
  river ports (Paramaribo, Caripito) lie inside Natural Earth land;
* the navigable inland waterways of :data:`WATERWAYS` (Panama Canal, the lower Magdalena, Orinoco,
  ...), each a line through the ports along it, drawn by the mdacentre authors and widened by
  its half-width;
* the mainland of the countries in :data:`NOT_CHECKED` (the United States: the 1:10m coastline
  knows neither the Mississippi nor the Intracoastal Waterway nor the bayous of Louisiana, where
  a third of the vessels of a MarineCadastre day would sit "on land"; that coast is outside the
  centre's area anyway).

Build (deterministic: the same inputs and GEOS version give the same bytes)::

    python -m mdacentre.core.land ../shared/data/geo geofences/land/land.geojson

Use: :func:`load_land` returns a :class:`LandMask` (prepared, cached per file) whose
:meth:`LandMask.inland` says which positions lie on land at least ``margin_m`` from any water.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from mdacentre.model.errors import ConfigError
from mdacentre.model.geodesy import M_PER_DEG_LAT
from mdacentre.runtime.settings import default_dir

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

BOX = (-100.0, 5.0, -55.0, 33.0)  # lon/lat box of the mask (zone library area, see zonebuild.ROI)
LAND_BOX = (-90.0, 5.0, -55.0, 30.0)  # extent of ne_10m_land_caribbean.geojson
LAND_FILE = "ne_10m_land_caribbean.geojson"
ISLANDS_FILE = "ne_10m_minor_islands_caribbean.geojson"
COUNTRIES_FILE = "ne_10m_admin_0_countries_deu_caribbean_unclipped.geojson"
WPI_FILE = "nga_wpi_UpdatedPub150.csv"
NOT_CHECKED = ("United States of America",)
PORT_RADIUS_M = 3 * 1852.0
SIMPLIFY_DEG = 0.0005  # about 50 m: far below the accuracy of the 1:10m coastline
DECIMALS = 5
DISK_VERTICES = 32


@dataclass(frozen=True)
class Waterway:
    name: str
    half_width_m: float
    line: tuple[tuple[float, float], ...]  # (lon, lat) from the sea inland


# Approximate centre lines (own work, through the World Port Index positions along each river).
WATERWAYS: tuple[Waterway, ...] = (
    Waterway(
        "Panama Canal and Gatun Lake",
        4000.0,
        (
            (-79.915, 9.40),
            (-79.918, 9.35),
            (-79.921, 9.30),
            (-79.918, 9.265),
            (-79.88, 9.225),
            (-79.84, 9.19),
            (-79.80, 9.16),
            (-79.75, 9.13),
            (-79.70, 9.115),
            (-79.67, 9.08),
            (-79.65, 9.05),
            (-79.62, 9.02),
            (-79.595, 8.995),
            (-79.575, 8.96),
            (-79.55, 8.92),
            (-79.52, 8.88),
        ),
    ),
    Waterway(
        "Rio Magdalena (Bocas de Ceniza - Barrancabermeja)",
        5000.0,
        (
            (-74.86, 11.11),
            (-74.78, 10.96),
            (-74.76, 10.86),
            (-74.76, 10.79),
            (-74.75, 10.64),
            (-74.85, 10.45),
            (-74.92, 10.25),
            (-74.85, 10.00),
            (-74.78, 9.79),
            (-74.75, 9.24),
            (-74.46, 8.91),
            (-74.20, 8.95),
            (-73.98, 9.00),
            (-73.85, 8.70),
            (-73.74, 8.33),
            (-73.82, 8.05),
            (-73.87, 7.70),
            (-73.89, 7.35),
            (-73.86, 7.07),
        ),
    ),
    Waterway(
        "Canal del Dique",
        4000.0,
        ((-74.92, 10.25), (-75.14, 10.39), (-75.30, 10.32), (-75.52, 10.28)),
    ),
    Waterway(
        "Rio Orinoco (Boca Grande - Ciudad Bolivar)",
        6000.0,
        (
            (-60.45, 8.60),
            (-60.80, 8.55),
            (-61.20, 8.50),
            (-61.60, 8.50),
            (-62.05, 8.55),
            (-62.20, 8.68),
            (-62.45, 8.52),
            (-62.68, 8.37),
            (-62.72, 8.33),
            (-63.00, 8.25),
            (-63.30, 8.17),
            (-63.55, 8.13),
        ),
    ),
    Waterway(
        "Demerara River (Georgetown - Linden)",
        4000.0,
        ((-58.17, 6.82), (-58.18, 6.60), (-58.22, 6.35), (-58.28, 6.15), (-58.30, 6.00)),
    ),
    Waterway(
        "Suriname River (Paramaribo - Paranam)",
        4000.0,
        ((-55.10, 5.97), (-55.15, 5.87), (-55.17, 5.83), (-55.15, 5.72), (-55.10, 5.62)),
    ),
    Waterway(
        "Rio Coatzacoalcos (Coatzacoalcos - Minatitlan)",
        4000.0,
        ((-94.42, 18.16), (-94.42, 18.07), (-94.47, 18.02), (-94.53, 17.97), (-94.58, 17.90)),
    ),
    Waterway("Rio Panuco (Tampico)", 4000.0, ((-97.775, 22.265), (-97.82, 22.24), (-97.87, 22.217))),
    Waterway("Rio Tuxpan", 4000.0, ((-97.31, 20.97), (-97.36, 20.96), (-97.40, 20.95))),
    Waterway(
        "Rio Dulce and Lago de Izabal",
        6000.0,
        (
            (-88.75, 15.83),
            (-88.85, 15.76),
            (-88.99, 15.66),
            (-89.10, 15.60),
            (-89.25, 15.55),
            (-89.35, 15.52),
        ),
    ),
    Waterway("Lago de Nicaragua", 15000.0, ((-85.93, 11.92), (-85.35, 11.52), (-84.78, 11.12))),
    Waterway(
        "Rio San Juan (Nicaragua)",
        4000.0,
        ((-84.78, 11.12), (-84.40, 11.02), (-84.05, 10.85), (-83.72, 10.92)),
    ),
)


# --- build ---------------------------------------------------------------------------------------


def _read_geojson(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    feats = doc.get("features", []) if isinstance(doc, dict) else []
    return [f for f in feats if isinstance(f, dict) and f.get("geometry")]


def _union(features: Sequence[dict[str, Any]]) -> BaseGeometry:
    return shapely.union_all([shape(f["geometry"]) for f in features])


def _local_buffer(geom: BaseGeometry, dist_m: float) -> BaseGeometry:
    """Buffer a small lon/lat geometry by metres (equirectangular around its centre latitude)."""
    lat0 = (geom.bounds[1] + geom.bounds[3]) / 2.0
    k = math.cos(math.radians(lat0))
    flat = shapely.transform(geom, lambda xy: xy * np.array([k, 1.0]))
    buf = shapely.buffer(flat, dist_m / M_PER_DEG_LAT, quad_segs=8)
    return shapely.transform(buf, lambda xy: xy / np.array([k, 1.0]))


def _wpi_ports(path: Path) -> list[tuple[str, float, float]]:
    out: list[tuple[str, float, float]] = []
    x0, y0, x1, y1 = BOX
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            try:
                lon, lat = float(r["Longitude"]), float(r["Latitude"])
            except (KeyError, ValueError):
                continue
            if x0 <= lon <= x1 and y0 <= lat <= y1:
                out.append((r.get("Main Port Name", ""), lon, lat))
    return sorted(out, key=lambda p: (p[1], p[2], p[0]))


def navigable_waters(geo_dir: Path) -> BaseGeometry:
    """Port circles and waterway corridors that are cut out of the land."""
    parts = [
        _local_buffer(shapely.Point(lon, lat), PORT_RADIUS_M)
        for _n, lon, lat in _wpi_ports(geo_dir / WPI_FILE)
    ]
    parts += [_local_buffer(shapely.LineString(w.line), w.half_width_m) for w in WATERWAYS]
    return shapely.union_all(parts)


def build_land(geo_dir: Path) -> BaseGeometry:
    """The land mask (MultiPolygon, lon/lat) from the Natural Earth and WPI files in ``geo_dir``."""
    box = shapely.box(*BOX)
    land = _union(_read_geojson(geo_dir / LAND_FILE)).intersection(shapely.box(*LAND_BOX))
    islands = _union(_read_geojson(geo_dir / ISLANDS_FILE))
    countries = _read_geojson(geo_dir / COUNTRIES_FILE)
    # Outside the extent of the land file: the countries layer (same coastline in Natural Earth 5.x),
    # overlapping the land file by 0.01 degree so that the seam leaves no gap.
    x0, y0, x1, y1 = LAND_BOX
    outside = box.difference(shapely.box(x0 + 0.01, y0, x1, y1 - 0.01))
    extra = _union(countries).intersection(outside)
    land = shapely.union_all([land, islands, extra]).intersection(box)
    skip = [f for f in countries if f.get("properties", {}).get("ADMIN") in NOT_CHECKED]
    if skip:
        land = land.difference(_union(skip).buffer(0.01))
    land = land.difference(navigable_waters(geo_dir))
    land = shapely.simplify(land, SIMPLIFY_DEG, preserve_topology=True)
    land = shapely.set_precision(land, 10.0**-DECIMALS)
    polys = [p for p in shapely.get_parts(land) if p.geom_type == "Polygon" and p.area > 0]
    polys.sort(key=lambda p: (round(p.bounds[0], DECIMALS), round(p.bounds[1], DECIMALS), -p.area))
    return shapely.orient_polygons(shapely.MultiPolygon(polys))


def _rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, DECIMALS)
    if isinstance(obj, (list, tuple)):
        return [_rounded(o) for o in obj]
    return obj


def write_land(geom: BaseGeometry, out: Path) -> int:
    """Write the mask as a one-feature GeoJSON collection; returns the size in bytes."""
    g = mapping(geom)
    feature = {
        "type": "Feature",
        "properties": {
            "name": "land (Natural Earth 1:10m, ports and inland waterways removed)",
            "source": "Natural Earth 1:10m land, minor islands, admin-0 countries 5.1.1; NGA World Port Index",
            "box": list(BOX),
            "not_checked": list(NOT_CHECKED),
            "port_radius_m": PORT_RADIUS_M,
            "waterways": [w.name for w in WATERWAYS],
            "simplify_deg": SIMPLIFY_DEG,
        },
        "geometry": {"type": g["type"], "coordinates": _rounded(g["coordinates"])},
    }
    doc = {"type": "FeatureCollection", "features": [feature]}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return len(text.encode())


# --- use -----------------------------------------------------------------------------------------


def default_land_path() -> Path:
    return default_dir("geofences") / "land" / "land.geojson"


class LandMask:
    """Prepared land polygons; :meth:`inland` tests many positions at once."""

    def __init__(self, geometry: BaseGeometry) -> None:
        self.geometry = geometry
        shapely.prepare(self.geometry)
        self._boundary: BaseGeometry | None = None

    def on_land(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray:
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        out = np.zeros(len(x), dtype=bool)
        if ok.any():
            out[ok] = shapely.contains_xy(self.geometry, x[ok], y[ok])
        return out

    def disks(self, lon: FloatArray, lat: FloatArray, radius_m: float) -> npt.NDArray[np.object_]:
        """Polygons circumscribing circles of ``radius_m`` around each point (lon/lat, vectorised)."""
        a = np.linspace(0.0, 2.0 * math.pi, DISK_VERTICES + 1)
        r = radius_m / math.cos(math.pi / DISK_VERTICES) / M_PER_DEG_LAT  # circumscribed polygon
        dy = r * np.sin(a)[None, :]
        dx = r * np.cos(a)[None, :] / np.maximum(np.cos(np.radians(lat)), 1e-6)[:, None]
        ring = np.stack([lon[:, None] + dx, lat[:, None] + dy], axis=-1)
        return np.asarray(shapely.polygons(ring))

    def inland(self, lon: npt.ArrayLike, lat: npt.ArrayLike, margin_m: float) -> tuple[BoolArray, BoolArray]:
        """(inland, on_land): on land with no water within ``margin_m``, and on land at all.

        ``contains_xy`` on the prepared polygons for every point; only points found on land get
        the distance test (is a disk of ``margin_m`` around them entirely on land?).
        """
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        on = self.on_land(x, y)
        deep = on.copy()
        idx = np.flatnonzero(on)
        if len(idx) and margin_m > 0:
            deep[idx] = shapely.contains(self.geometry, self.disks(x[idx], y[idx], margin_m))
        return deep, on

    def coast_distance_m(self, lon: float, lat: float) -> float:
        """Distance from a point to the nearest edge of the mask (metres, local flat-earth)."""
        if self._boundary is None:
            self._boundary = shapely.boundary(self.geometry)
            shapely.prepare(self._boundary)
        p = shapely.Point(lon, lat)
        d_deg = float(shapely.distance(self._boundary, p))
        k = max(math.cos(math.radians(lat)), 1e-6)
        r = d_deg / k + 1e-9  # the true nearest edge point lies in this box
        near = shapely.clip_by_rect(self._boundary, lon - r, lat - r, lon + r, lat + r)
        flat = shapely.transform(near, lambda xy: (xy - np.array([lon, lat])) * np.array([k, 1.0]))
        return float(shapely.distance(flat, shapely.Point(0.0, 0.0))) * M_PER_DEG_LAT


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> LandMask:
    feats = _read_geojson(Path(path))
    if not feats:
        raise ConfigError(f"{path} holds no land polygons; rebuild it with python -m mdacentre.core.land")
    geom = shapely.union_all([shape(f["geometry"]) for f in feats])
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return LandMask(geom)


def load_land(path: Path | None = None) -> LandMask:
    """The land mask of ``path`` (default: the shipped ``geofences/land/land.geojson``), cached."""
    p = (path or default_land_path()).resolve()
    try:
        mtime = p.stat().st_mtime_ns
    except OSError:
        raise ConfigError(
            f"land file {p} not found: rebuild it with `python -m mdacentre.core.land <shared/data/geo> {p}` "
            "or set land_check = false in [detectors.position_jump]"
        ) from None
    return _load(str(p), mtime)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the land mask of the position-on-land check.")
    ap.add_argument("geo_dir", help="folder with the Natural Earth and WPI files (shared/data/geo)")
    ap.add_argument("out", nargs="?", default=str(default_land_path()), help="output GeoJSON")
    a = ap.parse_args(argv)
    geom = build_land(Path(a.geo_dir))
    size = write_land(geom, Path(a.out))
    print(
        f"{a.out}: {len(shapely.get_parts(geom))} polygons, {shapely.get_num_coordinates(geom)} points, {size} bytes"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
