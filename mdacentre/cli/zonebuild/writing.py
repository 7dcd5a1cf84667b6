"""Deterministic GeoJSON output: oriented rings, rounded coordinates, one feature per line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from mdacentre.cli.zonebuild.spec import DECIMALS, Feature

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
