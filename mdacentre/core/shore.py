"""Distance to shore from the coastline: a precomputed grid, looked up for whole columns at once.

The grid covers :data:`BOX` (the zone library's area) in cells of :data:`CELL_DEG` degrees
(about 2 km). Each cell holds the distance from its centre to the nearest land of Natural Earth
1:10m (countries, the whole United States included, plus the minor islands), in quarters of a
nautical mile, saturated at :data:`CAP_NM`; land cells hold 0. Distances are computed in a local
equirectangular plane per band of :data:`BAND_DEG` degrees of latitude (error under 1 %), against
the land cut into small tiles held in an STRtree, so every cell costs one nearest-neighbour query.

Build (deterministic for the same inputs and GEOS version; about a minute on one core)::

    python -m mdacentre.core.shore ../shared/data/geo geofences/context/shore.npz

Use: :func:`load_shore` returns a :class:`ShoreDistance` (cached per file) whose
:meth:`ShoreDistance.nm` gives the distance in nautical miles, interpolated bilinearly between cell
centres, for arrays of positions (NaN outside the grid).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from mdacentre.model.errors import ConfigError
from mdacentre.model.geodesy import M_PER_DEG_LAT, M_PER_NM

FloatArray = npt.NDArray[np.float64]

BOX = (-100.0, 5.0, -55.0, 33.0)  # lon/lat, the area of the zone library
CELL_DEG = 0.02
BAND_DEG = 1.0
UNIT_NM = 0.25  # one step of the stored distance
CAP_NM = 63.75  # 255 steps: farther is "far from shore" for every rule
TILE_DEG = 0.25
LAND_FILES = (
    "ne_10m_admin_0_countries_deu_caribbean_unclipped.geojson",
    "ne_10m_minor_islands_caribbean.geojson",
)


def default_shore_path() -> Path:
    return Path(__file__).resolve().parents[2] / "geofences" / "context" / "shore.npz"


# --- build ---------------------------------------------------------------------------------------


def _land(geo_dir: Path, box: tuple[float, float, float, float]) -> BaseGeometry:
    x0, y0, x1, y1 = box
    parts = []
    for name in LAND_FILES:
        p = geo_dir / name
        if not p.is_file():
            raise ConfigError(f"{p} not found: the shore grid needs the Natural Earth land files")
        for f in json.loads(p.read_text(encoding="utf-8"))["features"]:
            g = shape(f["geometry"])
            parts.append(g if g.is_valid else shapely.make_valid(g))
    land = shapely.union_all(parts)
    return shapely.clip_by_rect(land, x0 - 2, y0 - 2, x1 + 2, y1 + 2)


def _tiles(land: BaseGeometry) -> list[BaseGeometry]:
    """The land cut on a grid of TILE_DEG so each nearest-neighbour candidate is small."""
    x0, y0, x1, y1 = land.bounds
    out: list[BaseGeometry] = []
    for x in np.arange(math.floor(x0), x1, TILE_DEG):
        for y in np.arange(math.floor(y0), y1, TILE_DEG):
            g = shapely.clip_by_rect(land, float(x), float(y), float(x + TILE_DEG), float(y + TILE_DEG))
            if not g.is_empty:
                out.extend(p for p in shapely.get_parts(g) if not p.is_empty)
    return out


def build_grid(geo_dir: Path, box: tuple[float, float, float, float] = BOX) -> np.ndarray:
    """The distance grid (rows south to north, columns west to east) as uint8 quarters of a nm."""
    land = _land(geo_dir, box)
    tiles = _tiles(land)
    x0, y0, x1, y1 = box
    nx = round((x1 - x0) / CELL_DEG)
    ny = round((y1 - y0) / CELL_DEG)
    lon = x0 + (np.arange(nx) + 0.5) * CELL_DEG
    grid = np.empty((ny, nx), dtype=np.uint8)
    rows_per_band = round(BAND_DEG / CELL_DEG)
    for r0 in range(0, ny, rows_per_band):
        lat = y0 + (np.arange(r0, min(ny, r0 + rows_per_band)) + 0.5) * CELL_DEG
        k = math.cos(math.radians(float(lat.mean())))
        flat = [shapely.transform(t, lambda xy, k=k: xy * np.array([k, 1.0])) for t in tiles]
        tree = shapely.STRtree(flat)
        xx, yy = np.meshgrid(lon * k, lat)
        pts = shapely.points(xx.ravel(), yy.ravel())
        idx, dist = tree.query_nearest(
            pts, max_distance=CAP_NM * M_PER_NM / M_PER_DEG_LAT, return_distance=True, all_matches=False
        )
        d_nm = np.full(len(pts), CAP_NM)
        d_nm[idx[0]] = dist * M_PER_DEG_LAT / M_PER_NM
        steps = np.minimum(np.round(d_nm / UNIT_NM), 255).astype(np.uint8)
        grid[r0 : r0 + len(lat)] = steps.reshape(len(lat), nx)
    return grid


def write_grid(grid: np.ndarray, out: Path, box: tuple[float, float, float, float] = BOX) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        np.savez_compressed(
            fh, grid=grid, box=np.asarray(box), cell_deg=np.asarray(CELL_DEG), unit_nm=np.asarray(UNIT_NM)
        )
    return out.stat().st_size


# --- use -----------------------------------------------------------------------------------------


class ShoreDistance:
    """Distance to the nearest land in nautical miles for arrays of positions (NaN outside the grid)."""

    def __init__(self, grid: np.ndarray, box: Sequence[float], cell_deg: float, unit_nm: float) -> None:
        self.grid = grid
        self.x0, self.y0, self.x1, self.y1 = (float(v) for v in box)
        self.cell = float(cell_deg)
        self.unit = float(unit_nm)
        self.cap_nm = 255 * self.unit

    def nm(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
        """Bilinear interpolation between the cell centres (the grid's values are at the centres)."""
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        ny, nx = self.grid.shape
        fx = (x - self.x0) / self.cell - 0.5
        fy = (y - self.y0) / self.cell - 0.5
        ok = (
            np.isfinite(fx)
            & np.isfinite(fy)
            & (fx >= -0.5)
            & (fy >= -0.5)
            & (fx < nx - 0.5)
            & (fy < ny - 0.5)
        )
        out = np.full(len(x), np.nan)
        if not ok.any():
            return out
        gx = np.clip(fx[ok], 0.0, nx - 1.0)
        gy = np.clip(fy[ok], 0.0, ny - 1.0)
        ix = np.minimum(np.floor(gx).astype(np.int64), nx - 2)
        iy = np.minimum(np.floor(gy).astype(np.int64), ny - 2)
        wx, wy = gx - ix, gy - iy
        g = self.grid
        v = (
            g[iy, ix] * (1 - wx) * (1 - wy)
            + g[iy, ix + 1] * wx * (1 - wy)
            + g[iy + 1, ix] * (1 - wx) * wy
            + g[iy + 1, ix + 1] * wx * wy
        )
        out[ok] = v * self.unit
        return out


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> ShoreDistance:
    try:
        with np.load(path) as z:
            return ShoreDistance(z["grid"], z["box"].tolist(), float(z["cell_deg"]), float(z["unit_nm"]))
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(
            f"{path}: not a shore-distance grid ({exc}); rebuild it with python -m mdacentre.core.shore"
        ) from None


def load_shore(path: Path | None = None) -> ShoreDistance:
    """The shore-distance grid of ``path`` (default: the shipped ``geofences/context/shore.npz``), cached."""
    p = (path or default_shore_path()).resolve()
    try:
        mtime = p.stat().st_mtime_ns
    except OSError:
        raise ConfigError(
            f"shore grid {p} not found: build it with `python -m mdacentre.core.shore <shared/data/geo> {p}`"
        ) from None
    return _load(str(p), mtime)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the distance-to-shore grid.")
    ap.add_argument("geo_dir", help="folder with the Natural Earth files (shared/data/geo)")
    ap.add_argument("out", nargs="?", default=str(default_shore_path()), help="output .npz")
    a = ap.parse_args(argv)
    grid = build_grid(Path(a.geo_dir))
    size = write_grid(grid, Path(a.out))
    print(f"{a.out}: {grid.shape[1]} x {grid.shape[0]} cells of {CELL_DEG} deg, {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
