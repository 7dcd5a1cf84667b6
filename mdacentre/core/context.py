"""Context learned from AIS archives: stopping places and receiver coverage, kept with the zone library.

Two layers, each a sparse grid of cells in degrees (cell code = ``ix << 32 | iy`` with
``ix = floor((lon + 180) / d)``, ``iy = floor((lat + 90) / d)``):

* **stopping places** (cells of :data:`STOP_CELL_DEG`, about 550 m, the size of GFW's S2 level-14
  anchorage cells): for every cell, how many distinct vessels stayed in it under 0.5 kn for at
  least the learner's minimum dwell. A cell is an anchorage/stopping place when that number
  reaches a threshold (a setting of the detectors, so the learned file keeps the raw counts);
* **waiting areas** (cells of :data:`WAIT_CELL_DEG`, about 5.5 km): the same count on a coarser grid,
  for places where ships wait spread out, each at its own spot (offshore anchorages, lightering
  areas, the fields around platforms);
* **receiver coverage** (cells of :data:`COVERAGE_CELL_DEG`, about 11 km): for every cell, the
  hours of the day (UTC) in which reports were heard there, the distinct vessels heard and how
  many consecutive reports of one vessel came within a normal reporting interval ("good") or
  after a longer silence ("poor"). A place is *in good coverage* when the cell and most of its
  eight neighbours were heard and its reception was steady.

Files: one JSON per learned area in ``geofences/context/`` (``mdacentre zones learn`` writes
them, see :mod:`mdacentre.core.learn`). :func:`load_context` merges every file of a folder into
one :class:`LearnedContext`; lookups take whole NumPy columns. A place outside every learned
area has *unknown* context: callers fall back to their rules without context.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mdacentre.core.shore import ShoreDistance, default_shore_path, load_shore
from mdacentre.model.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

STOP_CELL_DEG = 0.005
WAIT_CELL_DEG = 0.05
COVERAGE_CELL_DEG = 0.1
ROUTE_CELL_DEG = 0.02
FORMAT = "mdacentre-context/1"


def cell_codes(lon: npt.ArrayLike, lat: npt.ArrayLike, cell_deg: float) -> IntArray:
    """Grid cell code of each point (-1 where the position is not finite)."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    ix = np.floor((np.where(ok, x, 0.0) + 180.0) / cell_deg).astype(np.int64)
    iy = np.floor((np.where(ok, y, 0.0) + 90.0) / cell_deg).astype(np.int64)
    return np.where(ok, (ix << 32) | iy, -1)


def route_codes(lon: npt.ArrayLike, lat: npt.ArrayLike, mmsi: npt.ArrayLike, ring: int = 0) -> IntArray:
    """(n, (2 ring + 1)^2) codes of (route cell, vessel) pairs: ``ix << 44 | iy << 30 | mmsi`` (-1: none)."""
    c = neighbour_codes(cell_codes(lon, lat, ROUTE_CELL_DEG), ring)
    m = np.asarray(mmsi, dtype=np.int64)[:, None]
    ok = (c >= 0) & (m > 0) & (m < 1 << 30)
    return np.where(ok, ((c >> 32) << 44) | ((c & 0xFFFFFFFF) << 30) | np.where(ok, m, 0), -1)


def neighbour_codes(codes: IntArray, ring: int = 1) -> IntArray:
    """(n, (2 ring + 1)^2) codes of each cell and its neighbours (-1 stays -1)."""
    ix, iy = codes >> 32, codes & 0xFFFFFFFF
    off = np.arange(-ring, ring + 1)
    dx, dy = np.meshgrid(off, off)
    out = ((ix[:, None] + dx.ravel()[None, :]) << 32) | (iy[:, None] + dy.ravel()[None, :])
    return np.where(codes[:, None] >= 0, out, -1)


def _lookup(sorted_codes: IntArray, values: np.ndarray, codes: IntArray, fill: Any) -> np.ndarray:
    """values[k] where sorted_codes[k] == code, else fill (vectorised)."""
    out = np.full(codes.shape, fill, dtype=values.dtype)
    if len(sorted_codes) == 0:
        return out
    i = np.searchsorted(sorted_codes, codes)
    i = np.minimum(i, len(sorted_codes) - 1)
    hit = (sorted_codes[i] == codes) & (codes >= 0)
    out[hit] = values[i[hit]]
    return out


@dataclass
class ContextArea:
    """One learned area: its box, its stopping places and its coverage cells (codes sorted)."""

    name: str
    bbox: tuple[float, float, float, float]
    sources: list[str] = field(default_factory=list)
    stop_codes: IntArray = field(default_factory=lambda: np.empty(0, np.int64))
    stop_vessels: IntArray = field(default_factory=lambda: np.empty(0, np.int64))
    wait_codes: IntArray = field(default_factory=lambda: np.empty(0, np.int64))
    wait_vessels: IntArray = field(default_factory=lambda: np.empty(0, np.int64))
    cov_codes: IntArray = field(default_factory=lambda: np.empty(0, np.int64))
    cov_hours: IntArray = field(default_factory=lambda: np.empty(0, np.int64))  # bit h: heard in hour h
    cov_vessels: IntArray = field(default_factory=lambda: np.empty(0, np.int64))
    cov_good: IntArray = field(default_factory=lambda: np.empty(0, np.int64))
    cov_poor: IntArray = field(default_factory=lambda: np.empty(0, np.int64))
    route_codes: IntArray = field(default_factory=lambda: np.empty(0, np.int64))  # route_codes(), sorted
    route_passes: IntArray = field(default_factory=lambda: np.empty(0, np.int64))

    def contains(self, lon: FloatArray, lat: FloatArray) -> BoolArray:
        x0, y0, x1, y1 = self.bbox
        return np.asarray((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))

    def to_json(self) -> dict[str, Any]:
        def cells(codes: IntArray) -> list[list[int]]:
            return [[int(c >> 32), int(c & 0xFFFFFFFF)] for c in codes.tolist()]

        return {
            "format": FORMAT,
            "name": self.name,
            "bbox": [round(v, 5) for v in self.bbox],
            "sources": self.sources,
            "stops": {
                "cell_deg": STOP_CELL_DEG,
                "cells": cells(self.stop_codes),
                "vessels": self.stop_vessels.tolist(),
            },
            "waits": {
                "cell_deg": WAIT_CELL_DEG,
                "cells": cells(self.wait_codes),
                "vessels": self.wait_vessels.tolist(),
            },
            "coverage": {
                "cell_deg": COVERAGE_CELL_DEG,
                "cells": cells(self.cov_codes),
                "hours": self.cov_hours.tolist(),
                "vessels": self.cov_vessels.tolist(),
                "good": self.cov_good.tolist(),
                "poor": self.cov_poor.tolist(),
            },
            "routes": {
                "cell_deg": ROUTE_CELL_DEG,
                "cells": [[int(c >> 44), int((c >> 30) & 0x3FFF)] for c in self.route_codes.tolist()],
                "mmsi": [int(c & 0x3FFFFFFF) for c in self.route_codes.tolist()],
                "passes": self.route_passes.tolist(),
            },
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: str) -> ContextArea:
        if doc.get("format") != FORMAT:
            raise ConfigError(f"{where}: not a learned-context file (format must be {FORMAT!r})")
        try:
            st, wt, cv = doc["stops"], doc["waits"], doc["coverage"]
            sizes = (float(st["cell_deg"]), float(wt["cell_deg"]), float(cv["cell_deg"]))
            if sizes != (STOP_CELL_DEG, WAIT_CELL_DEG, COVERAGE_CELL_DEG):
                raise ConfigError(f"{where}: cell sizes differ from this version; relearn with zones learn")

            def codes(cells: list[list[int]]) -> IntArray:
                a = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
                return (a[:, 0] << 32) | a[:, 1]

            bbox = [float(v) for v in doc["bbox"]]
            if len(bbox) != 4 or not (bbox[0] <= bbox[2] and bbox[1] <= bbox[3]):
                raise ConfigError(f"{where}: bbox must be [west, south, east, north]")
            area = cls(
                name=str(doc["name"]),
                bbox=(bbox[0], bbox[1], bbox[2], bbox[3]),
                sources=[str(s) for s in doc.get("sources", [])],
                stop_codes=codes(st["cells"]),
                stop_vessels=np.asarray(st["vessels"], dtype=np.int64),
                wait_codes=codes(wt["cells"]),
                wait_vessels=np.asarray(wt["vessels"], dtype=np.int64),
                cov_codes=codes(cv["cells"]),
                cov_hours=np.asarray(cv["hours"], dtype=np.int64),
                cov_vessels=np.asarray(cv["vessels"], dtype=np.int64),
                cov_good=np.asarray(cv["good"], dtype=np.int64),
                cov_poor=np.asarray(cv["poor"], dtype=np.int64),
            )
            rt = doc.get("routes")  # older files have none
            if rt is not None:
                if float(rt["cell_deg"]) != ROUTE_CELL_DEG:
                    raise ConfigError(f"{where}: route cell size differs from this version; relearn")
                rc = np.asarray(rt["cells"], dtype=np.int64).reshape(-1, 2)
                mm = np.asarray(rt["mmsi"], dtype=np.int64)
                if len(mm) != len(rc) or ((mm <= 0) | (mm >= 1 << 30)).any():
                    raise ConfigError(f"{where}: route cells and vessels differ in length or are invalid")
                area.route_codes = (rc[:, 0] << 44) | (rc[:, 1] << 30) | mm
                area.route_passes = np.asarray(rt["passes"], dtype=np.int64)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: malformed learned-context file ({exc!r})") from None
        lengths = (
            (area.stop_codes, area.stop_vessels),
            (area.wait_codes, area.wait_vessels),
            (area.cov_codes, area.cov_hours),
            (area.cov_codes, area.cov_vessels),
            (area.cov_codes, area.cov_good),
            (area.cov_codes, area.cov_poor),
            (area.route_codes, area.route_passes),
        )
        if any(len(a) != len(b) for a, b in lengths):
            raise ConfigError(f"{where}: cell and value lists differ in length")
        for name in ("stop", "wait", "cov", "route"):
            c = getattr(area, f"{name}_codes")
            if len(c) > 1 and not (np.diff(c) > 0).all():
                raise ConfigError(f"{where}: {name} cells must be sorted and unique")
        return area


@dataclass(frozen=True)
class Coverage:
    """Reception at a set of positions: known (inside a learned area), good, and at the edge."""

    known: BoolArray
    good: BoolArray  # heard steadily there and all around (a silence there means something)
    edge: BoolArray  # known, but the cell or its neighbourhood is rarely or never heard


class LearnedContext:
    """Every learned area of a folder, plus the shore-distance grid (either may be empty)."""

    def __init__(self, areas: Sequence[ContextArea] = (), shore: ShoreDistance | None = None) -> None:
        self.areas = list(areas)
        self.shore = shore

    @property
    def empty(self) -> bool:
        return not self.areas and self.shore is None

    def shore_nm(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
        """Distance to the nearest land (nm); NaN where no grid covers the position."""
        x = np.asarray(lon, dtype=np.float64)
        if self.shore is None:
            return np.full(len(x), np.nan)
        return self.shore.nm(x, np.asarray(lat, dtype=np.float64))

    def known(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray:
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        out = np.zeros(len(x), dtype=bool)
        for a in self.areas:
            out |= a.contains(x, y)
        return out

    def stop_vessels(self, lon: npt.ArrayLike, lat: npt.ArrayLike, ring: int = 1) -> IntArray:
        """The most distinct vessels that stopped in the cell of each point or a neighbour (ring cells)."""
        return self._count(lon, lat, ring, STOP_CELL_DEG, "stop")

    def wait_vessels(self, lon: npt.ArrayLike, lat: npt.ArrayLike, ring: int = 1) -> IntArray:
        """As :meth:`stop_vessels` on the coarser grid of waiting areas."""
        return self._count(lon, lat, ring, WAIT_CELL_DEG, "wait")

    def _count(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, ring: int, cell_deg: float, layer: str
    ) -> IntArray:
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        out = np.zeros(len(x), dtype=np.int64)
        if len(x) == 0:
            return out
        for a in self.areas:
            inside = np.flatnonzero(a.contains(x, y))
            if len(inside):
                # neighbour cells only of the points inside the area (most points of a wide feed are not)
                nb = neighbour_codes(cell_codes(x[inside], y[inside], cell_deg), ring)
                codes, values = getattr(a, f"{layer}_codes"), getattr(a, f"{layer}_vessels")
                v = _lookup(codes, values, nb, 0).max(axis=1)
                out[inside] = np.maximum(out[inside], v)
        return out

    def on_route(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, mmsi: npt.ArrayLike, min_passes: int = 3
    ) -> BoolArray:
        """Is each vessel in (or next to) a cell of its own regular route (``min_passes`` passes learned)?"""
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        out = np.zeros(len(x), dtype=bool)
        if len(x) == 0:
            return out
        m = np.asarray(mmsi)
        for a in self.areas:
            if not len(a.route_codes):
                continue
            inside = np.flatnonzero(a.contains(x, y))
            if len(inside):
                # route codes only of the points inside the area (most points of a wide feed are not)
                codes = route_codes(x[inside], y[inside], m[inside], ring=1)
                passes = _lookup(a.route_codes, a.route_passes, codes, 0)
                out[inside] |= (passes >= min_passes).any(axis=1)
        return out

    def coverage(
        self,
        lon: npt.ArrayLike,
        lat: npt.ArrayLike,
        t: npt.ArrayLike,
        min_quality: float = 0.8,
        min_neighbours: int = 6,
        min_vessels: int = 2,
    ) -> Coverage:
        """Is each position in good coverage at the hour of day of ``t``?

        Good: the cell was heard at that hour (or the hour before or after), at least
        ``min_vessels`` distinct vessels were heard in it, at least ``min_quality`` of its
        consecutive reports came at a normal interval, and at least ``min_neighbours`` of its
        eight neighbours were heard at all. Edge: known but not good.
        """
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        tt = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
        known = np.zeros(len(x), dtype=bool)
        good = np.zeros(len(x), dtype=bool)
        if len(x) == 0:
            return Coverage(known, good, known.copy())
        codes = cell_codes(x, y, COVERAGE_CELL_DEG)
        hour = (np.floor(np.nan_to_num(tt) / 3600.0).astype(np.int64)) % 24
        want = (1 << hour) | (1 << ((hour + 1) % 24)) | (1 << ((hour + 23) % 24))
        for a in self.areas:
            inside = a.contains(x, y)
            if not inside.any():
                continue
            known |= inside
            c = codes[inside]
            hours = _lookup(a.cov_codes, a.cov_hours, c, 0)
            ves = _lookup(a.cov_codes, a.cov_vessels, c, 0)
            g = _lookup(a.cov_codes, a.cov_good, c, 0)
            p = _lookup(a.cov_codes, a.cov_poor, c, 0)
            nb = neighbour_codes(c, 1)
            heard_nb = (_lookup(a.cov_codes, a.cov_vessels, nb, 0) > 0).sum(axis=1) - (ves > 0)
            quality = g / np.maximum(g + p, 1)
            ok = (hours & want[inside]) > 0
            ok &= (ves >= min_vessels) & (quality >= min_quality) & (heard_nb >= min_neighbours)
            good[inside] |= ok
        return Coverage(known, good, known & ~good)


def default_context_dir() -> Path:
    return default_shore_path().parent


def load_context(folder: Path | None = None, shore: bool = True) -> LearnedContext:
    """Every ``*.json`` learned area of ``folder`` (default ``geofences/context``) and its ``shore.npz``.

    A missing folder gives an empty context (every place unknown). A malformed file raises
    :class:`~mdacentre.model.errors.ConfigError` naming it.
    """
    d = folder or default_context_dir()
    areas: list[ContextArea] = []
    if d.is_dir():
        for p in sorted(d.glob("*.json")):
            try:
                doc = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{p}: cannot read learned context ({exc})") from None
            if not isinstance(doc, dict):
                raise ConfigError(f"{p}: a learned-context file must hold a JSON object")
            areas.append(ContextArea.from_json(doc, str(p)))
    grid = d / "shore.npz"
    return LearnedContext(areas, load_shore(grid) if shore and grid.is_file() else None)


def save_area(area: ContextArea, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(area.to_json(), separators=(",", ":"))
    out.write_text(text + "\n", encoding="utf-8")
    return len(text) + 1
