"""Territorial seas, contiguous zones and EEZs by equidistance on the work plane."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from shapely.geometry import Point, box
from shapely.geometry.base import BaseGeometry

from mdacentre.cli.zonebuild.geometry import (
    NoaaAreas,
    buffers_lcc,
    coast_points,
    noaa_areas,
    polygonal,
    voronoi_cells,
)
from mdacentre.cli.zonebuild.sources import project, state_land, transformer
from mdacentre.cli.zonebuild.spec import (
    ATLANTIC_SEED,
    COAST_NEAR_WATER_M,
    LCC,
    NM,
    NOAA_STATES,
    PRECISION_DEG,
    ROI,
    SIMPLIFY_M,
    SLIVER_M2,
    SRC_NE,
    SRC_NOAA,
    Feature,
    FloatArray,
    StateSpec,
)
from mdacentre.core.zones import ZoneKind
from mdacentre.model.errors import ZoneError

# ---------------------------------------------------------------- maritime zones


@dataclass
class Plane:
    """Everything the maritime step shares, in the LCC plane."""

    to_lcc: Transformer
    to_wgs: Transformer
    extent: BaseGeometry
    water: BaseGeometry  # Atlantic-side water inside ROI


def _plane(all_land_wgs: BaseGeometry) -> Plane:
    to_lcc = transformer("EPSG:4326", LCC)
    to_wgs = transformer(LCC, "EPSG:4326")
    roi_lcc = project(shapely.segmentize(box(*ROI), 0.25), to_lcc)
    land_lcc = project(shapely.clip_by_rect(all_land_wgs, *ROI), to_lcc)
    water_all = shapely.difference(roi_lcc, land_lcc)
    seed = project(Point(*ATLANTIC_SEED), to_lcc)
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
        xy = coast_points(lands_lcc[spec.code], step_m)
        if len(xy) == 0:
            continue
        near = shapely.dwithin(shapely.points(xy), plane.water, COAST_NEAR_WATER_M)
        xys.append(xy[near])
        labs.append(np.full(int(near.sum()), i, dtype=np.int64))
    if not xys or sum(len(x) for x in xys) < 2:
        return {s.code: plane.extent for s in specs[:1]}
    cells = voronoi_cells(np.concatenate(xys), np.concatenate(labs), plane.extent)
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


def maritime_zones(
    geo_dir: Path, specs: Sequence[StateSpec], countries: dict[str, BaseGeometry], step_m: float
) -> dict[str, StateZones]:
    lands_wgs = {s.code: state_land(s, countries) for s in specs}
    other_land = [g for name, g in countries.items() if name == "United States Minor Outlying Islands"]
    all_land = shapely.union_all([*lands_wgs.values(), *other_land])  # Navassa is land, but no state
    plane = _plane(all_land)
    lands_lcc = {c: project(g, plane.to_lcc) for c, g in lands_wgs.items()}

    noaa_codes = [s.code for s in specs if s.code in NOAA_STATES]
    main = [s for s in specs if s.code not in NOAA_STATES]
    cells = _equidistance(main, lands_lcc, plane, step_m)
    out: dict[str, StateZones] = {}
    noaa: NoaaAreas | None = None
    if noaa_codes:
        us_land = shapely.union_all([lands_lcc[c] for c in noaa_codes])
        noaa = noaa_areas(geo_dir, us_land, plane.to_lcc)
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
        w12, w24, w200 = buffers_lcc(lands_wgs[spec.code], (12 * NM, 24 * NM, 200 * NM))
        out[spec.code] = _zones_from_limits(cell, w12, w24, w200, plane.water, "ne_equidistance")
    return {code: _to_wgs(z, plane) for code, z in out.items()}


def _finish(geom_lcc: BaseGeometry, plane: Plane) -> BaseGeometry:
    """LCC result -> simplified, densified, lon/lat, 1e-5 grid, valid polygons."""
    g = polygonal(geom_lcc, SLIVER_M2)
    if g.is_empty:
        return g
    g = shapely.simplify(g, SIMPLIFY_M, preserve_topology=True)
    g = shapely.segmentize(g, 5_000.0)
    g = project(g, plane.to_wgs)
    return grid(g)


def grid(g: BaseGeometry) -> BaseGeometry:
    g = shapely.set_precision(g, PRECISION_DEG)
    if not g.is_valid:
        g = shapely.make_valid(g)
    return polygonal(g)


def _to_wgs(z: StateZones, plane: Plane) -> StateZones:
    return StateZones(
        ts=_finish(z.ts, plane), cz=_finish(z.cz, plane), eez=_finish(z.eez, plane), basis=z.basis
    )


def maritime_features(zones: dict[str, StateZones], specs: dict[str, StateSpec]) -> list[Feature]:
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
