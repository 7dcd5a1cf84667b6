"""Charts and maps of a report as PNG images, drawn offline with matplotlib (Agg) on the shipped
basemap (the land polygons of the live map, ``web/data/land.geojson``). No tile server is used.

PNGs are written without a creation time or software tag, so the same figures give the same bytes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon as MplPolygon  # noqa: E402

EXTENT = (-90.0, -57.0, 7.0, 28.0)  # W, E, S, N of the region's maps
LEVEL_COLOURS = {
    "critical": "#b10026",
    "high": "#e31a1c",
    "medium": "#fd8d3c",
    "low": "#fecc5c",
    "info": "#91bfdb",
}
LAND = "#d9d4c7"
SEA = "#eef4f8"


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def bars(counts: dict[str, int], title: str, colours: dict[str, str] | None = None) -> bytes:
    """Horizontal bars of a count table (largest at the top)."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    fig, ax = plt.subplots(figsize=(6.4, 0.3 * max(3, len(items)) + 0.8))
    labels = [k for k, _ in items][::-1]
    values = [v for _, v in items][::-1]
    cols = [(colours or {}).get(k, "#3b6ea5") for k in labels]
    ax.barh(labels, values, color=cols)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v}", va="center", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    if not items:
        ax.text(0.5, 0.5, "none in this period", transform=ax.transAxes, ha="center")
    return png(fig)


def _rings(geom: dict[str, Any]) -> Iterable[list[list[float]]]:
    if geom["type"] == "Polygon":
        yield geom["coordinates"][0]
    elif geom["type"] == "MultiPolygon":
        for poly in geom["coordinates"]:
            yield poly[0]


def load_basemap(path: Path) -> list[list[list[float]]]:
    """Outer rings of the land polygons (holes are lakes: not drawn at report scale)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    feats = doc["features"] if doc.get("type") == "FeatureCollection" else [doc]
    return [ring for f in feats if f.get("geometry") for ring in _rings(f["geometry"])]


def _map_axes(land: Sequence[list[list[float]]], title: str) -> tuple[Figure, Any]:
    fig, ax = plt.subplots(figsize=(7.6, 5.0))
    ax.set_facecolor(SEA)
    patches = [MplPolygon(ring, closed=True) for ring in land if len(ring) >= 3]
    ax.add_collection(PatchCollection(patches, facecolor=LAND, edgecolor="#a59f90", linewidth=0.3))
    w, e, s, n = EXTENT
    ax.set_xlim(w, e)
    ax.set_ylim(s, n)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    ax.set_xlabel("longitude", fontsize=7)
    ax.set_ylabel("latitude", fontsize=7)
    return fig, ax


def zone_outlines(ax: Any, geoms: Iterable[Any], colour: str, label: str) -> None:
    first = True
    for g in geoms:
        for part in getattr(g, "geoms", [g]):
            ring = getattr(part, "exterior", part)
            xs, ys = ring.xy
            ax.plot(xs, ys, color=colour, linewidth=1.2, label=label if first else None)
            first = False


def transit_map(
    land: Sequence[list[list[float]]], gates: Iterable[Any], ships: Sequence[dict[str, Any]]
) -> bytes:
    """Transit gates and the positions where flagged ships crossed a passage or entered an EEZ."""
    fig, ax = _map_axes(land, "Transits of hazardous-cargo and watch-listed ships")
    zone_outlines(ax, gates, "#6a3d9a", "transit gate")
    for kind, marker, colour in (("passage", "D", "#e31a1c"), ("eez", "o", "#ff7f00")):
        pts = [s for s in ships if s["where"] == kind and s["lon"] is not None]
        if pts:
            ax.scatter(
                [p["lon"] for p in pts],
                [p["lat"] for p in pts],
                marker=marker,
                s=28,
                color=colour,
                edgecolor="black",
                linewidth=0.4,
                zorder=3,
                label="passage crossing" if kind == "passage" else "EEZ entry",
            )
    for p in ships:
        if p["lon"] is not None and p["where"] == "passage":
            ax.annotate(
                p["name"] or str(p["mmsi"]),
                (p["lon"], p["lat"]),
                fontsize=6,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.legend(fontsize=7, loc="lower left")
    return png(fig)


def density_map(
    land: Sequence[list[list[float]]], dark: Sequence[dict[str, Any]], meets: Sequence[dict[str, Any]]
) -> bytes:
    """Counts per 1-degree cell of going-dark alerts and encounters, with each event as a marker."""
    import numpy as np

    fig, ax = _map_axes(land, "Going dark and encounters (events per 1° cell)")
    pts = [(p["lon"], p["lat"]) for p in [*dark, *meets] if p["lon"] is not None]
    w, e, s, n = EXTENT
    if pts:
        xy = np.asarray(pts, dtype=np.float64)
        hist, xe, ye = np.histogram2d(xy[:, 0], xy[:, 1], bins=[np.arange(w, e + 1), np.arange(s, n + 1)])
        masked = np.ma.masked_equal(hist.T, 0)
        mesh = ax.pcolormesh(xe, ye, masked, cmap="YlOrRd", alpha=0.75, vmin=0, zorder=2)
        fig.colorbar(mesh, ax=ax, shrink=0.7, label="events per cell")
    for group, marker, label in ((dark, "v", "going dark"), (meets, "*", "encounter")):
        g = [p for p in group if p["lon"] is not None]
        if g:
            ax.scatter(
                [p["lon"] for p in g],
                [p["lat"] for p in g],
                marker=marker,
                s=30,
                color="black",
                zorder=3,
                label=label,
            )
    if pts:
        ax.legend(fontsize=7, loc="lower left")
    return png(fig)
