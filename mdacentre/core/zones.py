"""The zone library: loading zone files into validated :class:`Zone` value objects.

A library is a directory (``geofences/`` by default) holding the generated GeoJSON files,
plus any ``*.geojson``, ``*.gpkg`` or ``*.shp`` an operator drops in it or in its
``custom/`` subfolder. GeoJSON written by :mod:`mdacentre.cli.zonebuild` is read with a fast
JSON path; everything else goes through :func:`validate_file` (geopandas), which also
converts other coordinate reference systems to EPSG:4326.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import orjson
import shapely
import shapely.errors
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from mdacentre.model.errors import ZoneError
from mdacentre.runtime.settings import default_dir


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
CUSTOM_SUBDIR = "custom"
ZONE_SUFFIXES = (".geojson", ".gpkg", ".shp")
POLYGON_TYPES = ("Polygon", "MultiPolygon")
MAX_REPORTED_PROBLEMS = 20
_WGS84_NAMES = ("EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "OGC:CRS84")
# Shapefile field names are cut to 10 characters
_ALIASES = {"approximat": "approximate"}


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


def _as_bool(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "y", "t")
    return bool(v)


def _check_props(props: dict[str, Any], where: str) -> tuple[str, ZoneKind, str]:
    """Validate the required properties; returns (id, kind, state)."""
    missing = [k for k in REQUIRED if props.get(k) in (None, "")]
    if missing:
        raise ZoneError(
            f"{where}: feature lacks required properties {missing}; every zone needs {list(REQUIRED)}"
        )
    zid = str(props["id"])
    try:
        kind = ZoneKind(str(props["kind"]))
    except ValueError:
        raise ZoneError(
            f"{where}: zone {zid!r} property 'kind' is {props['kind']!r}; use one of {[k.value for k in ZoneKind]}"
        ) from None
    state = str(props["state"]).upper()
    if len(state) != 2 or not state.isalpha():
        raise ZoneError(
            f"{where}: zone {zid!r} property 'state' is {state!r}; it must be ISO 3166 alpha-2 or XX"
        )
    return zid, kind, state


def _check_geometry(geom: BaseGeometry | None, zid: str, where: str) -> BaseGeometry:
    if geom is None or geom.is_empty:
        raise ZoneError(f"{where}: zone {zid!r} has no geometry; draw a polygon for it")
    if geom.geom_type not in POLYGON_TYPES:
        raise ZoneError(
            f"{where}: zone {zid!r} geometry is a {geom.geom_type}; zones must be Polygon or MultiPolygon "
            "(buffer points/lines into an area first)"
        )
    if not geom.is_valid:
        raise ZoneError(
            f"{where}: zone {zid!r} geometry is invalid ({shapely.is_valid_reason(geom)}); "
            "repair it (QGIS 'Fix geometries' or shapely.make_valid) and save again"
        )
    x0, y0, x1, y1 = geom.bounds
    if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
        raise ZoneError(
            f"{where}: zone {zid!r} coordinates {geom.bounds} are outside lon/lat range; "
            "the file is not in EPSG:4326 or declares the wrong CRS"
        )
    return geom


def _zone(props: dict[str, Any], geom: BaseGeometry | None, where: str) -> Zone:
    zid, kind, state = _check_props(props, where)
    geom = _check_geometry(geom, zid, where)
    extra = {k: v for k, v in props.items() if k not in (*REQUIRED, "source", "approximate")}
    return Zone(
        id=zid,
        name=str(props["name"]),
        kind=kind,
        state=state,
        geometry=geom,
        source=str(props.get("source") or ""),
        approximate=_as_bool(props.get("approximate", False)),
        attrs=extra,
    )


def zone_from_feature(feature: dict[str, Any], where: str) -> Zone:
    props = feature.get("properties") or {}
    zid = props.get("id")
    try:
        geom = shapely.geometry.shape(feature["geometry"]) if feature.get("geometry") else None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
        raise ZoneError(f"{where}: zone {zid!r} has unreadable geometry: {exc}") from None
    return _zone(props, geom, where)


def _declared_crs(doc: dict[str, Any]) -> str | None:
    crs = doc.get("crs")
    if not isinstance(crs, dict):
        return None
    name = (crs.get("properties") or {}).get("name")
    return str(name) if name else None


def load_geojson(path: Path) -> list[Zone]:
    """Zones of one GeoJSON file (fast path; files in another CRS go through :func:`validate_file`)."""
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ZoneError(f"{path}: cannot read GeoJSON ({exc})") from None
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list):
        raise ZoneError(f"{path}: expected a GeoJSON FeatureCollection")
    crs = _declared_crs(doc)
    if crs is not None and crs not in _WGS84_NAMES:
        return validate_file(path)
    return [zone_from_feature(f, f"{path}, feature {i}") for i, f in enumerate(feats)]


def _plain(v: Any) -> Any:
    """numpy/pandas scalars -> Python; NaN/NaT -> None."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is not None and not isinstance(v, (str, int, float, bool, list, dict)):
        text = str(v)
        return None if text in ("NaT", "nan", "None") else text
    return v


def validate_file(path: Path, notes: list[str] | None = None) -> list[Zone]:
    """Read and check an operator's zone file (GeoJSON, GeoPackage or Shapefile).

    Every feature must be a valid Polygon/MultiPolygon with properties ``id``, ``name``,
    ``kind`` (a :class:`ZoneKind` value) and ``state`` (ISO alpha-2 or XX); ids must be
    unique. A file in another CRS is converted to EPSG:4326 and a line saying so is
    appended to ``notes``. Raises :class:`ZoneError` listing every problem with file,
    feature index and property.
    """
    import geopandas as gpd  # heavy (pandas, GDAL): only operator files need it, not the service start
    import pyogrio.errors  # loaded with geopandas: only for its error types
    import pyproj.exceptions  # loaded with geopandas: only for its error types

    if not path.is_file():
        raise ZoneError(f"{path}: no such zone file")
    if path.suffix.lower() not in ZONE_SUFFIXES:
        raise ZoneError(f"{path}: unsupported zone file type; use one of {list(ZONE_SUFFIXES)}")
    try:
        gdf = gpd.read_file(path)
    except (OSError, ValueError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise ZoneError(f"{path}: cannot read ({exc})") from None
    if gdf.crs is None:
        if path.suffix.lower() != ".geojson":
            raise ZoneError(
                f"{path}: no coordinate reference system (missing .prj?); save it as EPSG:4326 (WGS 84)"
            )
    elif gdf.crs.to_epsg() != 4326:
        original = gdf.crs.to_string()
        try:
            gdf = gdf.to_crs(4326)
        except (ValueError, pyproj.exceptions.CRSError, pyproj.exceptions.ProjError) as exc:
            raise ZoneError(f"{path}: CRS {original} cannot be converted to EPSG:4326 ({exc})") from None
        if notes is not None:
            notes.append(f"{path}: converted from {original} to EPSG:4326")
    return _zones_from_frame(gdf, path, notes)


def _zones_from_frame(gdf: Any, path: Path, notes: list[str] | None) -> list[Zone]:
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    zones: list[Zone] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, (geom, row) in enumerate(zip(gdf.geometry, gdf[cols].itertuples(index=False), strict=True)):
        props = {_ALIASES.get(c, c): _plain(v) for c, v in zip(cols, row, strict=True)}
        where = f"{path}, feature {i}"
        try:
            z = _zone(props, geom, where)
        except ZoneError as exc:
            problems.append(str(exc))
            continue
        if z.id in seen:
            problems.append(
                f"{where}: property 'id' {z.id!r} repeats feature {seen[z.id]}; ids must be unique"
            )
            continue
        seen[z.id] = i
        zones.append(z)
    if problems:
        shown = problems[:MAX_REPORTED_PROBLEMS]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise ZoneError(f"{path}: {len(problems)} invalid feature(s):\n" + "\n".join(shown) + more)
    if not zones:
        raise ZoneError(f"{path}: contains no features")
    return zones


def _load_any(path: Path, notes: list[str] | None) -> list[Zone]:
    if path.suffix.lower() == ".geojson":
        return load_geojson(path)
    return validate_file(path, notes)


def library_files(directory: Path) -> list[Path]:
    """Zone files of a library: the directory itself, then its ``custom/`` subfolder, each sorted by name."""
    out: list[Path] = []
    for d in (directory, directory / CUSTOM_SUBDIR):
        if d.is_dir():
            out.extend(sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in ZONE_SUFFIXES))
    return out


def load_library(directory: Path, notes: list[str] | None = None) -> list[Zone]:
    """Every zone file in ``directory`` and ``directory/custom`` (see :func:`library_files`); ids must be unique."""
    if not directory.is_dir():
        raise ZoneError(f"zone library {directory} is not a directory; set zones_dir in the settings")
    zones: list[Zone] = []
    origin: dict[str, Path] = {}
    for p in library_files(directory):
        for z in _load_any(p, notes):
            if z.id in origin:
                raise ZoneError(
                    f"zone id {z.id!r} appears twice ({origin[z.id]} and {p}); zone ids must be unique in {directory}"
                )
            origin[z.id] = p
            zones.append(z)
    return zones


def zones_at(zones: Iterable[Zone], lon: float, lat: float) -> list[Zone]:
    """Zones that contain the point (single-call helper; batch lookups belong to :mod:`mdacentre.core.fences`)."""
    return [z for z in zones if shapely.intersects_xy(z.geometry, lon, lat)]


# ---------------------------------------------------------------- preview

KIND_COLOURS: dict[ZoneKind, str] = {
    ZoneKind.TERRITORIAL_SEA: "#d7301f",
    ZoneKind.CONTIGUOUS_ZONE: "#fc8d59",
    ZoneKind.EEZ: "#2b8cbe",
    ZoneKind.WATCH_AREA: "#636363",
    ZoneKind.TRANSIT_GATE: "#7a0177",
    ZoneKind.PORT_APPROACH: "#238443",
    ZoneKind.AIRPORT: "#fe9929",
    ZoneKind.RESTRICTED: "#e31a1c",
    ZoneKind.PROTECTED: "#33a02c",
    ZoneKind.CUSTOM: "#000000",
}
_LEAFLET_CANDIDATES = ("web/vendor/leaflet", "web/node_modules/leaflet/dist")


def _find_leaflet(leaflet_dir: Path | None) -> Path | None:
    dirs = [leaflet_dir] if leaflet_dir else [default_dir("web").parent / c for c in _LEAFLET_CANDIDATES]
    for d in dirs:
        if d is not None and (d / "leaflet.js").is_file() and (d / "leaflet.css").is_file():
            return d
    return None


def _feature_collection(zones: list[Zone], tolerance_deg: float) -> dict[str, Any]:
    feats = []
    for z in zones:
        g = (
            shapely.simplify(z.geometry, tolerance_deg, preserve_topology=True)
            if tolerance_deg > 0
            else z.geometry
        )
        g = shapely.set_precision(g, 1e-4)
        if g.is_empty:
            continue
        props = {"id": z.id, "name": z.name, "state": z.state, "approximate": z.approximate}
        feats.append({"type": "Feature", "properties": props, "geometry": mapping(g)})
    return {"type": "FeatureCollection", "features": feats}


def preview_html(
    zones: list[Zone], out_path: Path, *, leaflet_dir: Path | None = None, tolerance_deg: float = 0.002
) -> Path:
    """Write a folium map of ``zones`` (one toggleable layer per kind) to ``out_path``.

    Leaflet is inlined from ``leaflet_dir`` or the repository's vendored copy
    (``web/vendor/leaflet`` or ``web/node_modules/leaflet/dist``), so the file works offline;
    if no local copy exists the page falls back to folium's CDN links. No tile layer.
    """
    import folium  # heavy import, only needed for the preview

    if not zones:
        raise ZoneError("nothing to preview: the zone list is empty")
    x0, y0, x1, y1 = shapely.total_bounds([z.geometry for z in zones])
    fmap = folium.Map(tiles=None, control_scale=True)
    fmap.fit_bounds([[y0, x0], [y1, x1]])
    for kind in ZoneKind:
        mine = [z for z in zones if z.kind == kind]
        if not mine:
            continue
        colour = KIND_COLOURS[kind]
        layer = folium.FeatureGroup(name=f"{kind.value} ({len(mine)})", show=kind not in (ZoneKind.AIRPORT,))
        folium.GeoJson(
            _feature_collection(mine, tolerance_deg),
            style_function=lambda _f, c=colour: {"color": c, "weight": 1, "fillOpacity": 0.15},
            tooltip=folium.GeoJsonTooltip(fields=["id", "name", "state"]),
        ).add_to(layer)
        layer.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    leaflet = _find_leaflet(leaflet_dir)
    if leaflet is not None:
        fmap.default_js = []
        fmap.default_css = []
        root = cast(Any, fmap.get_root())  # a folium Figure: has .header
        css = (leaflet / "leaflet.css").read_text(encoding="utf-8")
        js = (leaflet / "leaflet.js").read_text(encoding="utf-8")
        root.header.add_child(folium.Element(f"<style>{css}</style>"), name="leaflet_css_inline")
        root.header.add_child(folium.Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    title = folium.Element(f"<title>{html.escape('mdacentre zone library preview')}</title>")
    cast(Any, fmap.get_root()).header.add_child(title, name="title")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fmap.save(str(out_path))
    return out_path
