"""Real inputs read from disk: World Port Index ports, airports, land and the Caribbean Sea polygon."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from mdacentre.model.errors import ConfigError
from mdacentre.model.geodesy import FloatArray
from tools.demo.catalogue import (
    AIRPORTS_CARIBBEAN,
    AIRPORTS_FULL,
    CARIBBEAN_SEA_ID,
    FLIGHTS,
    LAND,
    TRANSIT_ORIGINS,
    WPI_CARIBBEAN,
    WPI_FULL,
    in_box,
)


@dataclass(frozen=True)
class Port:
    name: str
    locode: str
    lat: float
    lon: float
    size: str


@dataclass(frozen=True)
class Airport:
    icao: str
    name: str
    lat: float
    lon: float
    elevation_ft: float


@dataclass
class Inputs:
    """Everything read from disk, loaded once per ``generate`` call."""

    ports: list[Port]
    outside_ports: dict[str, Port]
    airports: dict[str, Airport]
    airport_points: FloatArray  # (n, 2) lat, lon of every known airport in the region
    land: BaseGeometry  # prepared (shapely.prepare) for fast point tests
    caribbean_sea: BaseGeometry


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_data_dir() -> Path:
    """The shared real-data directory: ``<repo>/../shared/data/geo``."""
    return repo_root().parent / "shared" / "data" / "geo"


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(
            f"demo generator input {path} is missing: check out the shared data next to the repository "
            f"(../shared/data/geo) or pass data_dir= / --data-dir pointing at a directory holding {path.name}"
        )
    return path


def read_ports(path: Path) -> list[Port]:
    out: list[Port] = []
    with _need(path).open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                lat, lon = float(row["Latitude"]), float(row["Longitude"])
            except (KeyError, ValueError):
                continue
            out.append(
                Port(
                    row["Main Port Name"].strip(),
                    row["UN/LOCODE"].strip(),
                    lat,
                    lon,
                    row.get("Harbor Size", "").strip(),
                )
            )
    return out


def read_airports(path: Path) -> list[Airport]:
    out: list[Airport] = []
    with _need(path).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                elev = float(row["elevation"] or 0.0)
                out.append(Airport(row["icao"], row["name"], float(row["lat"]), float(row["lon"]), elev))
            except (KeyError, ValueError):
                continue
    return out


def _read_geojson(path: Path) -> list[dict[str, Any]]:
    data = json.loads(_need(path).read_text(encoding="utf-8"))
    feats: list[dict[str, Any]] = data.get("features", [])
    return feats


def load_inputs(data_dir: Path, watch_areas: Path) -> Inputs:
    ports = [p for p in read_ports(data_dir / WPI_CARIBBEAN) if in_box(p.lat, p.lon)]
    outside = {p.locode: p for p in read_ports(data_dir / WPI_FULL) if p.locode in TRANSIT_ORIGINS}
    region = read_airports(data_dir / AIRPORTS_CARIBBEAN)
    wanted = {f[0] for f in FLIGHTS} | {f[1] for f in FLIGHTS}
    airports = {a.icao: a for a in region}
    for a in read_airports(data_dir / AIRPORTS_FULL):
        if a.icao in wanted and a.icao not in airports:
            airports[a.icao] = a
    missing = sorted(wanted - airports.keys())
    if missing:
        raise ConfigError(
            f"airports {missing} not found in {data_dir}: use an airportsdata CSV that lists them"
        )
    land = unary_union([shape(f["geometry"]) for f in _read_geojson(data_dir / LAND)])
    seas = [f for f in _read_geojson(watch_areas) if f.get("properties", {}).get("id") == CARIBBEAN_SEA_ID]
    if not seas:
        raise ConfigError(
            f"{watch_areas} has no feature with id {CARIBBEAN_SEA_ID!r}: restore geofences/watch_areas.geojson"
        )
    pts = np.array([[a.lat, a.lon] for a in region], dtype=np.float64)
    shapely.prepare(land)
    return Inputs(ports, outside, airports, pts, land, shape(seas[0]["geometry"]))
