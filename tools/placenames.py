"""Build the map's place names from Natural Earth (public domain): countries, seas and ports as labels.

The watch floor is air-gapped, so the names are one small GeoJSON of points the page draws itself
(``web/js/places.js``). Natural Earth's populated places are not among the project's reference data,
so the names are: Admin-0 countries and territories at their label point (``LABEL_X``/``LABEL_Y``),
marine areas (seas, gulfs, channels) at a point inside their polygon, and the ports of the 1:10m
ports layer (coastal towns). Each label carries the zoom from which the page shows it.

Usage::

    python -m tools.placenames --geo-dir ../shared/data/geo --out web/data/places.geojson
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from tools.basemap import read_features

COUNTRIES = "ne_10m_admin_0_countries_deu_caribbean.geojson"
MARINE = "ne_10m_geography_marine_polys_caribbean.geojson"
PORTS = "ne_10m_ports_caribbean.geojson"
BOX = (-90.0, 5.0, -55.0, 30.0)  # W, S, E, N: the map's Caribbean extent
ATTRIBUTION = "Place names: Natural Earth 1:10m countries, marine areas and ports 5.x (public domain)"


def _features(path: Path) -> list[dict[str, Any]]:
    return read_features(path, "place-name source")


def _inside(lon: float, lat: float) -> bool:
    w, s, e, n = BOX
    return w <= lon <= e and s <= lat <= n


def _clean(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip()
    return name.title() if name.isupper() else name


def _label(name: str, lon: float, lat: float, kind: str, min_zoom: int) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"name": name, "kind": kind, "min_zoom": min_zoom},
        "geometry": {"type": "Point", "coordinates": [round(lon, 3), round(lat, 3)]},
    }


def build(geo_dir: Path) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for f in _features(geo_dir / COUNTRIES):
        p = f.get("properties") or {}
        name, lon, lat = p.get("NAME"), p.get("LABEL_X"), p.get("LABEL_Y")
        if isinstance(name, str) and isinstance(lon, (int, float)) and isinstance(lat, (int, float)):
            if _inside(lon, lat):
                big = (p.get("POP_EST") or 0) >= 1_000_000
                out.append(_label(_clean(name), lon, lat, "country", 5 if big else 6))
    for f in _features(geo_dir / MARINE):
        p = f.get("properties") or {}
        name = p.get("name")
        if not isinstance(name, str) or not f.get("geometry"):
            continue
        pt = shape(f["geometry"]).representative_point()
        if _inside(pt.x, pt.y):
            zoom = int(p.get("min_label") or 4)
            out.append(_label(_clean(name), pt.x, pt.y, "marine", max(3, min(zoom, 9))))
    for f in _features(geo_dir / PORTS):
        p = f.get("properties") or {}
        name, g = p.get("name"), f.get("geometry") or {}
        c = g.get("coordinates") if g.get("type") == "Point" else None
        if isinstance(name, str) and isinstance(c, list) and len(c) == 2 and _inside(c[0], c[1]):
            out.append(_label(_clean(name), c[0], c[1], "port", 8))
    out.sort(
        key=lambda ft: (ft["properties"]["min_zoom"], ft["properties"]["kind"], ft["properties"]["name"])
    )
    return {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": out}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--geo-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    doc = build(args.geo_dir)
    args.out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(doc['features'])} place names -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
