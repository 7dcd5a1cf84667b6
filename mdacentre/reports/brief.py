"""Incident briefing: one self-contained HTML file about one alert, for an interdiction unit.

A folium (Leaflet) map with the track's trail, the alert position and the tracks nearby, the
reasons, the alert's versions and its acknowledgement history. Nothing is loaded from a network:
folium's CDN links are removed, the local Leaflet (``web/node_modules/leaflet``) is inlined, and
the basemap is the shipped land layer (``web/data/land.geojson``) clipped around the incident, with
no tile layer.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import folium
import shapely
from shapely.geometry import mapping, shape

from mdacentre.reports.figures import ReportError, iso
from mdacentre.sinks.archive.query import History

ALERT_ID = re.compile(r"^[0-9a-f]{8,40}$")
TRAIL_BEFORE_S = 6 * 3600.0  # trail from this long before the alert started ...
TRAIL_AFTER_S = 3600.0  # ... to this long after its last version
NEARBY_DEG = 0.5  # tracks within this many degrees of the alert position ...
NEARBY_S = 1800.0  # ... reporting within this many seconds of the alert's start
MAP_MARGIN_DEG = 2.0
MIN_HALF_SPAN_DEG = 1.5
LEVEL_COLOURS = {
    "critical": "#b10026",
    "high": "#e31a1c",
    "medium": "#fd8d3c",
    "low": "#d9a400",
    "info": "#4575b4",
}

STYLE = """
body { font-family: "DejaVu Sans", sans-serif; margin: 0; color: #1d2733; }
.brief { display: flex; height: 100vh; }
.brief-map { flex: 1 1 62%; position: relative; }
.brief-text { flex: 0 0 38%; overflow: auto; padding: 10px 16px; font-size: 13px; box-sizing: border-box; }
.brief-text h1 { font-size: 18px; margin: 4px 0; } .brief-text h2 { font-size: 14px; border-bottom: 1px solid #9bb; }
.brief-text table { border-collapse: collapse; } .brief-text td, .brief-text th { border: 1px solid #ccd; padding: 2px 5px; }
.level { font-weight: bold; text-transform: uppercase; }
.folium-map.leaflet-container { background: #eef4f8; }
"""


def _check_id(alert_id: str) -> str:
    a = alert_id.strip().lower()
    if not ALERT_ID.match(a):
        raise ReportError(f"{alert_id!r} is not an alert id (8-40 hex digits)")
    return a


def _leaflet(web_dir: Path) -> tuple[str, str]:
    dist = web_dir / "node_modules" / "leaflet" / "dist"
    try:
        return (dist / "leaflet.js").read_text(encoding="utf-8"), (dist / "leaflet.css").read_text(
            encoding="utf-8"
        )
    except OSError:
        raise ReportError(f"Leaflet is not installed under {dist}: run `npm ci --prefix web`") from None


def _basemap(path: Path, bbox: tuple[float, float, float, float]) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    feats = []
    for f in doc.get("features", []):
        if not f.get("geometry"):
            continue
        g = shapely.clip_by_rect(shape(f["geometry"]), *bbox)
        if not g.is_empty:
            feats.append({"type": "Feature", "properties": {}, "geometry": mapping(g)})
    return {"type": "FeatureCollection", "features": feats}


def brief_data(h: History, alert_id: str) -> dict[str, Any]:
    """The alert's versions, acknowledgements, trail and the tracks nearby, from the archive."""
    aid = _check_id(alert_id)
    versions = h.sql(
        "SELECT id, version, status, category, level, score, epoch(t) AS t, epoch(started) AS started, state, "
        "zone, kind, track_id, key, name, reasons, lat, lon FROM alerts WHERE id = ? ORDER BY version",
        [aid],
    ).to_pylist()
    if not versions:
        raise ReportError(f"no alert {aid} in the archive")
    first, last = versions[0], versions[-1]
    acks = h.sql(
        "SELECT version, status, ack_by, ack_note, ack_at FROM acks WHERE id = ? ORDER BY ack_at, version",
        [aid],
    ).to_pylist()
    t0, t1 = float(first["started"]) - TRAIL_BEFORE_S, float(last["t"]) + TRAIL_AFTER_S
    trail = h.track(int(first["key"]), t0, t1).select(["t", "lat", "lon", "sog"]).to_pylist()
    lat, lon = first["lat"], first["lon"]
    nearby: list[dict[str, Any]] = []
    if lat is not None and lon is not None:
        near = h.sql(
            "SELECT track_id, kind, arg_max(lat, t) AS lat, arg_max(lon, t) AS lon, epoch(max(t)) AS t "
            "FROM positions WHERE key <> ? AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? "
            "AND t BETWEEN to_timestamp(?) AND to_timestamp(?) GROUP BY track_id, kind ORDER BY track_id",
            [
                int(first["key"]),
                lat - NEARBY_DEG,
                lat + NEARBY_DEG,
                lon - NEARBY_DEG,
                lon + NEARBY_DEG,
                float(first["started"]) - NEARBY_S,
                float(first["started"]) + NEARBY_S,
            ],
        ).to_pylist()
        names = _names(h, [n["track_id"] for n in near])
        nearby = [{**n, "name": names.get(n["track_id"], "")} for n in near]
    return {"versions": versions, "acks": acks, "trail": trail, "nearby": nearby}


def _names(h: History, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = h.sql(
        "SELECT track_id, arg_max(name, t) AS name FROM statics WHERE name <> '' AND track_id IN "
        "(SELECT unnest(?::VARCHAR[])) GROUP BY track_id",
        [ids],
    ).to_pylist()
    return {r["track_id"]: r["name"] for r in rows}


def _map(d: dict[str, Any], basemap: Path) -> folium.Map:
    first = d["versions"][0]
    pts = [(p["lat"], p["lon"]) for p in d["trail"]]
    if first["lat"] is not None:
        pts.append((first["lat"], first["lon"]))
    pts += [(n["lat"], n["lon"]) for n in d["nearby"]]
    if not pts:
        raise ReportError(f"alert {first['id']} has no position and its track none in the archive")
    s, n = min(p[0] for p in pts), max(p[0] for p in pts)
    w, e = min(p[1] for p in pts), max(p[1] for p in pts)
    # at least MIN_HALF_SPAN_DEG around the centre, so that the nearest coast gives context
    cy, cx = (s + n) / 2, (w + e) / 2
    hy, hx = max((n - s) / 2, MIN_HALF_SPAN_DEG), max((e - w) / 2, MIN_HALF_SPAN_DEG)
    s, n, w, e = cy - hy, cy + hy, cx - hx, cx + hx
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], tiles=None, zoom_start=8, control_scale=True)
    m.default_js, m.default_css = [], []  # the local Leaflet is inlined instead of folium's CDN links
    bbox = (w - MAP_MARGIN_DEG, s - MAP_MARGIN_DEG, e + MAP_MARGIN_DEG, n + MAP_MARGIN_DEG)
    folium.GeoJson(
        _basemap(basemap, bbox),
        name="land",
        style_function=lambda _: {
            "fillColor": "#d9d4c7",
            "color": "#a59f90",
            "weight": 0.6,
            "fillOpacity": 1,
        },
    ).add_to(m)
    if len(d["trail"]) >= 2:
        folium.PolyLine(  # type: ignore[no-untyped-call]  # folium's PolyLine has no annotations
            [(p["lat"], p["lon"]) for p in d["trail"]], color="#1f4e9a", weight=2.5, tooltip="trail"
        ).add_to(m)
    for nb in d["nearby"]:
        folium.CircleMarker(
            (nb["lat"], nb["lon"]),
            radius=4,
            color="#555",
            fill=True,
            fill_opacity=0.8,
            tooltip=html.escape(f"{nb['kind']} {nb['track_id']} {nb['name']}".strip()),
        ).add_to(m)
    if first["lat"] is not None:
        colour = LEVEL_COLOURS.get(d["versions"][-1]["level"], "#e31a1c")
        folium.CircleMarker(
            (first["lat"], first["lon"]),
            radius=9,
            color="black",
            weight=2,
            fill=True,
            fill_color=colour,
            fill_opacity=0.9,
            tooltip=html.escape(f"alert {first['id']}: {first['category']}"),
        ).add_to(m)
    m.fit_bounds([[s, w], [n, e]], max_zoom=10)
    return m


def _text(d: dict[str, Any]) -> str:
    e = html.escape
    v0, vl = d["versions"][0], d["versions"][-1]
    grave = max(d["versions"], key=lambda v: float(v["score"] or 0))
    reasons = "".join(f"<li>{e(r)}</li>" for r in (grave["reasons"] or []))
    vers = "".join(
        f"<tr><td>{v['version']}</td><td>{e(str(v['status']))}</td><td>{e(str(v['level']))}</td>"
        f"<td>{e(str(iso(v['t'])))}</td></tr>"
        for v in d["versions"]
    )
    acks = (
        "".join(
            f"<tr><td>{e(str(a['ack_at']))}</td><td>{e(str(a['status']))}</td><td>{e(str(a['ack_by']))}</td>"
            f"<td>{e(str(a['ack_note']))}</td></tr>"
            for a in d["acks"]
        )
        or '<tr><td colspan="4">never acknowledged</td></tr>'
    )
    near = (
        "".join(
            f"<li>{e(str(n['kind']))} {e(str(n['track_id']))} {e(n['name'])} at {n['lat']:.4f}, {n['lon']:.4f}</li>"
            for n in d["nearby"]
        )
        or "<li>none</li>"
    )
    return f"""<div class="brief-text">
<h1>Incident briefing: {e(str(v0["category"]))}</h1>
<p><span class="level" style="color:{LEVEL_COLOURS.get(grave["level"], "#000")}">{e(str(grave["level"]))}</span>
score {float(grave["score"] or 0):.0f} · state {e(str(v0["state"]))} · zone {e(str(v0["zone"] or "-"))}</p>
<p>Alert <code id="alert-id">{e(v0["id"])}</code><br>Track {e(str(v0["kind"]))} <b>{e(str(v0["track_id"]))}</b>
{e(vl["name"] or v0["name"] or "")}<br>Started {e(str(iso(v0["started"])))} at
{"-" if v0["lat"] is None else f"{v0['lat']:.4f}, {v0['lon']:.4f}"}</p>
<h2>Reasons</h2><ul id="reasons">{reasons}</ul>
<h2>Versions</h2><table><tr><th>v</th><th>status</th><th>level</th><th>event time</th></tr>{vers}</table>
<h2>Acknowledgements</h2><table id="acks"><tr><th>at</th><th>status</th><th>by</th><th>note</th></tr>{acks}</table>
<h2>Tracks nearby</h2><p>within {NEARBY_DEG}° and {NEARBY_S / 60:.0f} min of the start</p><ul id="nearby">{near}</ul>
<p>Trail: {len(d["trail"])} positions from the archive.</p>
</div>"""


def brief_html(root: Path, web_dir: Path, alert_id: str) -> str:
    """The briefing of one alert as one HTML document (no external resource)."""
    with History(root) as h:
        d = brief_data(h, alert_id)
    js, css = _leaflet(web_dir)
    m = _map(d, web_dir / "data" / "land.geojson")
    map_html = m.get_root().render()
    head_inline = f"<style>{css}</style>\n<style>{STYLE}</style>\n<script>{js}</script>\n"
    map_html = map_html.replace("<head>", "<head>\n" + head_inline, 1)
    title = html.escape(f"mdacentre briefing {d['versions'][0]['id']}")
    map_html = map_html.replace("<head>", f"<head>\n<title>{title}</title>", 1)
    body_open = map_html.index("<body>") + len("<body>")
    body_close = map_html.rindex("</body>")
    inner = map_html[body_open:body_close]
    return (
        map_html[:body_open]
        + f'\n<div class="brief"><div class="brief-map">{inner}</div>{_text(d)}</div>\n'
        + map_html[body_close:]
    )


def write_brief(settings: Any, alert_id: str, out: Path) -> Path:
    doc = brief_html(settings.data_dir / settings.archive.dir, settings.web_dir, alert_id)
    out.write_text(doc, encoding="utf-8")
    return out
