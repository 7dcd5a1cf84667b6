"""Reading the inputs (GeoJSON, CSV, Natural Earth countries) and the map projections."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from mdacentre.cli.zonebuild.spec import NE_COUNTRIES, ROI, ROI_MARGIN_DEG, FloatArray, StateSpec
from mdacentre.model.errors import ZoneError

# ---------------------------------------------------------------- projections


def transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def project(geom: BaseGeometry, tr: Transformer) -> BaseGeometry:
    def fn(xy: FloatArray) -> FloatArray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def aeqd_crs(lon: float, lat: float) -> str:
    return f"+proj=aeqd +lat_0={lat:.2f} +lon_0={lon:.2f} +datum=WGS84 +units=m +no_defs"


# ---------------------------------------------------------------- inputs


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ZoneError(f"zone build input {path} is missing; point geo_dir at shared/data/geo")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise ZoneError(f"{path} is not a GeoJSON FeatureCollection")
    return doc


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise ZoneError(f"zone build input {path} is missing; point geo_dir at shared/data/geo")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def country_geoms(geo_dir: Path) -> dict[str, BaseGeometry]:
    doc = read_json(geo_dir / NE_COUNTRIES)
    out: dict[str, BaseGeometry] = {}
    for f in doc["features"]:
        out[str(f["properties"]["ADMIN"])] = shapely.make_valid(shape(f["geometry"]))
    return out


def state_land(spec: StateSpec, countries: dict[str, BaseGeometry]) -> BaseGeometry:
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
