"""Watch areas, transit gates, port approaches and airports as output features."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from mdacentre.cli.zonebuild.maritime import grid
from mdacentre.cli.zonebuild.sources import aeqd_crs, project, read_csv, read_json, transformer
from mdacentre.cli.zonebuild.spec import (
    AIRPORTS_CSV,
    DECIMALS,
    GATE_SHORE_TOLERANCE_M,
    GATES,
    NE_AIRPORTS,
    NE_MARINE,
    NM,
    SRC_AIRPORTS,
    SRC_MARINE,
    SRC_WPI,
    WATCH_AREAS,
    WPI_CSV,
    Feature,
    FloatArray,
    StateSpec,
)
from mdacentre.core.zones import ZoneKind
from mdacentre.model.errors import ZoneError

# ---------------------------------------------------------------- watch areas, gates


def watch_features(geo_dir: Path) -> list[Feature]:
    doc = read_json(geo_dir / NE_MARINE)
    by_name = {" ".join(str(f["properties"].get("name", "")).lower().split()): f for f in doc["features"]}
    feats: list[Feature] = []
    for zid, name, key in WATCH_AREAS:
        if key not in by_name:
            raise ZoneError(f"{NE_MARINE} has no marine polygon named {name!r}")
        geom = grid(shapely.make_valid(shape(by_name[key]["geometry"])))
        feats.append(Feature(zid, name, ZoneKind.WATCH_AREA, "XX", geom, SRC_MARINE, True, {}))
    return feats


def gate_features(
    specs: dict[str, StateSpec], lands: dict[str, BaseGeometry], half_width_nm: float
) -> list[Feature]:
    geod = Geod(ellps="WGS84")
    feats: list[Feature] = []
    for g in GATES:
        line = shapely.LineString([g.a, g.b])
        aeqd = aeqd_crs(line.centroid.x, line.centroid.y)
        local = project(line, transformer("EPSG:4326", aeqd))
        for end, code in ((g.a, g.a_state), (g.b, g.b_state)):
            land = lands.get(code)
            if land is not None and _geodesic_gap_m(geod, end, land) > GATE_SHORE_TOLERANCE_M:
                raise ZoneError(f"gate {g.slug}: end {end} is not near the coast of {code}; fix GATES")
        corridor = shapely.buffer(local, half_width_nm * NM, cap_style="flat", quad_segs=4)
        geom = grid(project(corridor, transformer(aeqd, "EPSG:4326")))
        fwd, _, length = geod.inv(g.a[0], g.a[1], g.b[0], g.b[1])
        feats.append(
            Feature(
                id=f"gate-{g.slug}",
                name=g.name,
                kind=ZoneKind.TRANSIT_GATE,
                state="XX",
                geometry=geom,
                source="mdacentre gate axis between two shore points (own work, CC0)",
                approximate=True,
                attrs={
                    "line": [list(g.a), list(g.b)],
                    "axis_bearing_deg": round(fwd % 360.0, 1),
                    "length_nm": round(length / NM, 1),
                    "half_width_nm": half_width_nm,
                    "shores": [g.a_state, g.b_state],
                },
            )
        )
    return feats


def _geodesic_gap_m(geod: Geod, lonlat: tuple[float, float], land: BaseGeometry) -> float:
    if land.is_empty:
        return math.inf
    p = Point(lonlat)
    if land.contains(p):
        return 0.0
    near = nearest_points(p, land)[1]
    return float(geod.inv(lonlat[0], lonlat[1], near.x, near.y)[2])


# ---------------------------------------------------------------- ports, airports


def _circles(lon: FloatArray, lat: FloatArray, radius_m: float, n: int) -> list[BaseGeometry]:
    geod = Geod(ellps="WGS84")
    az = np.linspace(0.0, 360.0, n, endpoint=False)
    lons = np.repeat(lon, n)
    lats = np.repeat(lat, n)
    x, y, _ = geod.fwd(lons, lats, np.tile(az, len(lon)), np.full(len(lons), radius_m))
    ring = np.stack([np.asarray(x).reshape(-1, n), np.asarray(y).reshape(-1, n)], axis=2)
    return [grid(shapely.Polygon(r[::-1])) for r in ring]


def _nearest_state(points: list[Point], lands: dict[str, BaseGeometry], max_deg: float = 0.3) -> list[str]:
    codes = sorted(c for c, g in lands.items() if not g.is_empty)
    tree = shapely.STRtree([lands[c] for c in codes])
    idx = tree.query_nearest(points, max_distance=max_deg, all_matches=False)
    out = ["XX"] * len(points)
    for p_i, t_i in zip(idx[0].tolist(), idx[1].tolist(), strict=True):
        out[p_i] = codes[t_i]
    return out


def _float(s: str) -> float | None:
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def port_features(geo_dir: Path, lands: dict[str, BaseGeometry], radius_nm: float) -> list[Feature]:
    rows = read_csv(geo_dir / WPI_CSV)
    good = []
    for r in rows:
        lat, lon = _float(r.get("Latitude", "")), _float(r.get("Longitude", ""))
        if lat is None or lon is None:
            raise ZoneError(f"{WPI_CSV}: port {r.get('Main Port Name')!r} has no usable Latitude/Longitude")
        good.append((int(r["World Port Index Number"]), r, lon, lat))
    good.sort(key=lambda t: t[0])
    locodes = [r["UN/LOCODE"].replace(" ", "").strip() for _, r, _, _ in good]
    dup = {c for c in locodes if c and locodes.count(c) > 1}
    lons = np.array([t[2] for t in good])
    lats = np.array([t[3] for t in good])
    circles = _circles(lons, lats, radius_nm * NM, 24)
    nearest = _nearest_state([Point(x, y) for x, y in zip(lons, lats, strict=True)], lands)
    feats: list[Feature] = []
    for (wpi, r, x, y), loc, geom, near in zip(good, locodes, circles, nearest, strict=True):
        pid = f"port-{loc}" if loc and loc not in dup else (f"port-{loc}-{wpi}" if loc else f"port-wpi{wpi}")
        state = loc[:2] if len(loc) == 5 and loc[:2].isalpha() else near
        feats.append(
            Feature(
                id=pid,
                name=f"{r['Main Port Name'].strip()} approach",
                kind=ZoneKind.PORT_APPROACH,
                state=state,
                geometry=geom,
                source=SRC_WPI,
                approximate=True,
                attrs={
                    "port": r["Main Port Name"].strip(),
                    "locode": loc,
                    "wpi": wpi,
                    "harbor_size": r.get("Harbor Size", "").strip() or "Unknown",
                    "harbor_type": r.get("Harbor Type", "").strip() or "Unknown",
                    "radius_nm": radius_nm,
                    "center": [round(x, DECIMALS), round(y, DECIMALS)],
                },
            )
        )
    return feats


_AIRPORT_SUBD = {"Puerto Rico": "PR", "Virgin Islands": "VI", "U.S. Virgin Islands": "VI"}


def airport_features(geo_dir: Path, radius_km: float) -> list[Feature]:
    rows = read_csv(geo_dir / AIRPORTS_CSV)
    ne = read_json(geo_dir / NE_AIRPORTS)
    ne_type = {
        str(f["properties"].get("gps_code") or ""): str(f["properties"].get("type") or "")
        for f in ne["features"]
    }
    good = []
    for r in sorted(rows, key=lambda r: r["icao"]):
        lat, lon = _float(r.get("lat", "")), _float(r.get("lon", ""))
        if lat is None or lon is None or not r.get("icao"):
            raise ZoneError(f"{AIRPORTS_CSV}: airport {r.get('icao')!r} lacks icao/lat/lon")
        good.append((r, lon, lat))
    circles = _circles(np.array([g[1] for g in good]), np.array([g[2] for g in good]), radius_km * 1000.0, 16)
    feats: list[Feature] = []
    for (r, x, y), geom in zip(good, circles, strict=True):
        icao = r["icao"].strip()
        state = _AIRPORT_SUBD.get(r.get("subd", ""), r["country"]) if r["country"] == "US" else r["country"]
        nt = ne_type.get(icao, "")
        paved_basis = "ne_10m_airports" if nt else ("iata_code" if r.get("iata") else "no_iata_code")
        feats.append(
            Feature(
                id=f"apt-{icao}",
                name=r["name"].strip(),
                kind=ZoneKind.AIRPORT,
                state=state.upper() or "XX",
                geometry=geom,
                source=SRC_AIRPORTS + (" + Natural Earth 10m airports (public domain)" if nt else ""),
                approximate=True,
                attrs={
                    "icao": icao,
                    "iata": r.get("iata", "").strip(),
                    "paved": bool(nt) or bool(r.get("iata")),
                    "paved_basis": paved_basis,
                    "ne_type": nt,
                    "elevation_ft": _float(r.get("elevation", "")),
                    "radius_km": radius_km,
                    "center": [round(x, DECIMALS), round(y, DECIMALS)],
                },
            )
        )
    return feats
