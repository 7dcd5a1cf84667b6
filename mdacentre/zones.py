"""The zone library: loading zone files into validated :class:`Zone` value objects."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from .errors import ZoneError


class ZoneKind(StrEnum):
    TERRITORIAL_SEA = "territorial_sea"
    CONTIGUOUS_ZONE = "contiguous_zone"
    EEZ = "eez"
    WATCH_AREA = "watch_area"
    TRANSIT_GATE = "transit_gate"
    PORT_APPROACH = "port_approach"
    AIRPORT = "airport"
    RESTRICTED = "restricted"
    PROTECTED = "protected"
    CUSTOM = "custom"


REQUIRED = ("id", "name", "kind", "state")


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    kind: ZoneKind
    state: str  # ISO 3166 alpha-2 owner, "XX" for high seas / regional
    geometry: BaseGeometry
    source: str = ""
    approximate: bool = False
    attrs: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def zone_from_feature(feature: dict[str, Any], where: str) -> Zone:
    props = feature.get("properties") or {}
    missing = [k for k in REQUIRED if not props.get(k)]
    if missing:
        raise ZoneError(f"{where}: feature lacks required properties {missing}; every zone needs {list(REQUIRED)}")
    try:
        kind = ZoneKind(str(props["kind"]))
    except ValueError:
        raise ZoneError(
            f"{where}: zone {props['id']!r} has kind {props['kind']!r}; use one of {[k.value for k in ZoneKind]}"
        ) from None
    state = str(props["state"]).upper()
    if len(state) != 2 or not state.isalpha():
        raise ZoneError(f"{where}: zone {props['id']!r} state {state!r} must be ISO 3166 alpha-2 or XX")
    try:
        geom = shapely.geometry.shape(feature["geometry"])
    except Exception as exc:  # shapely raises several types for bad GeoJSON
        raise ZoneError(f"{where}: zone {props['id']!r} has unreadable geometry: {exc}") from None
    if geom.is_empty or not geom.is_valid:
        raise ZoneError(f"{where}: zone {props['id']!r} geometry is empty or invalid ({shapely.is_valid_reason(geom)})")
    extra = {k: v for k, v in props.items() if k not in (*REQUIRED, "source", "approximate")}
    return Zone(
        id=str(props["id"]),
        name=str(props["name"]),
        kind=kind,
        state=state,
        geometry=geom,
        source=str(props.get("source", "")),
        approximate=bool(props.get("approximate", False)),
        attrs=extra,
    )


def load_geojson(path: Path) -> list[Zone]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ZoneError(f"{path}: cannot read GeoJSON ({exc})") from None
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list):
        raise ZoneError(f"{path}: expected a GeoJSON FeatureCollection")
    return [zone_from_feature(f, f"{path}#{i}") for i, f in enumerate(feats)]


def load_library(directory: Path) -> list[Zone]:
    """Every ``*.geojson`` zone file in ``directory`` (sorted by name); ids must be unique."""
    if not directory.is_dir():
        raise ZoneError(f"zone library {directory} is not a directory; set zones_dir in the settings")
    zones: list[Zone] = []
    for p in sorted(directory.glob("*.geojson")):
        zones.extend(load_geojson(p))
    seen: set[str] = set()
    for z in zones:
        if z.id in seen:
            raise ZoneError(f"zone id {z.id!r} appears twice in {directory}; zone ids must be unique")
        seen.add(z.id)
    return zones
