"""Replay whole MarineCadastre days through the pipeline and report the false-alarm budget per category.

    python -m tools.day_measure FILE.csv[.gz] ... [--context geofences/context] [--json out.json]

Each file is replayed through its own pipeline in one-minute event-time steps, with the zone
library and the detector defaults of ``geofences/profiles.toml``. For every category it prints the
alerts opened (version 1), the share of the day's vessels flagged, the alerts that reached
``medium`` or above, and the most frequent AIS ship types and reasons of the flagged vessels.
Zone transits (``zone_entry``) are events and are counted apart, outside the budget.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mdacentre.core.context import LearnedContext, load_context
from mdacentre.core.zones import load_library
from mdacentre.detect.registry import load_detectors
from mdacentre.model.batch import Batch, TrackKind, empty_positions, empty_statics, make_key
from mdacentre.model.errors import ConfigError
from mdacentre.model.findings import Level
from mdacentre.service.pipeline import Pipeline

EVENT_CATEGORIES = ("zone_entry", "ais_silence")
BUDGET_SHARE = 0.01  # per behaviour category, of the day's vessels
BUDGET_MEDIUM_PER_100 = 5.0  # medium-or-above alerts per 100 vessels per day
REQUIRED = ("MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG")


def _text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def _floats(values: tuple[str, ...] | list[str], fill: str = "nan") -> np.ndarray:
    return np.asarray([v if v else fill for v in values], dtype=np.float64)


def read_marinecadastre(path: Path) -> Batch:
    """A MarineCadastre CSV as one position batch and one static batch (one static per vessel-hour)."""
    try:
        with _text(path) as fh:
            rd = csv.reader(fh)
            head = next(rd)
            cols = list(zip(*rd, strict=False))
    except (OSError, StopIteration, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise ConfigError(f"{path}: cannot read as a MarineCadastre CSV ({exc!r})") from None
    missing = [c for c in REQUIRED if c not in head]
    if missing:
        raise ConfigError(f"{path}: not a MarineCadastre CSV, columns {missing} missing (header {head[:12]})")
    col = {n: cols[i] if cols else () for i, n in enumerate(head)}
    n = len(col["MMSI"])
    try:
        mmsi = np.asarray(col["MMSI"], dtype=np.int64)
        t = np.asarray(col["BaseDateTime"], dtype="datetime64[s]").astype(np.int64).astype(np.float64)
        lat, lon = _floats(col["LAT"]), _floats(col["LON"])
        sog, cog = _floats(col["SOG"]), _floats(col["COG"])
    except ValueError as exc:
        raise ConfigError(f"{path}: malformed value ({exc})") from None
    pos = empty_positions(n)
    pos["ident"], pos["t"] = mmsi, t
    good = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    pos["lat"] = np.where(good, lat, np.nan)
    pos["lon"] = np.where(good, lon, np.nan)
    pos["sog"] = np.where((sog >= 0) & (sog < 102.25), sog, np.nan)  # 102.3: not available
    pos["cog"] = np.where((cog >= 0) & (cog < 360.0), cog, np.nan)
    cls_b = np.asarray(col.get("TransceiverClass", ("",) * n)) == "B"
    pos["msg_type"] = np.where(cls_b, 18, 1)
    hour = (t // 3600).astype(np.int64)
    _u, first = np.unique(np.stack([mmsi, hour]), axis=1, return_index=True)
    st = empty_statics(len(first))
    st["ident"], st["t"] = mmsi[first], t[first]
    if "VesselName" in col:
        st["name"] = np.asarray(col["VesselName"])[first]
    if "VesselType" in col:
        vt = _floats(np.asarray(col["VesselType"])[first].tolist(), "-1")
        st["ship_type"] = np.where((vt >= 0) & (vt <= 99), vt, -1).astype(np.int64)
    if "Length" in col:
        st["length_m"] = _floats(np.asarray(col["Length"])[first].tolist())
    for a in (pos, st):
        a["kind"] = TrackKind.VESSEL
        a["key"] = make_key(TrackKind.VESSEL, a["ident"])
    return Batch(positions=pos, statics=st)


@dataclass
class DayFigures:
    name: str
    vessels: int = 0
    ship_types: dict[int, int] = field(default_factory=dict)  # key -> ship type
    alerts: Counter[str] = field(default_factory=Counter)
    medium: Counter[str] = field(default_factory=Counter)
    flagged: dict[str, set[int]] = field(default_factory=dict)
    reasons: dict[str, Counter[str]] = field(default_factory=dict)
    types: dict[str, Counter[int]] = field(default_factory=dict)

    def table(self) -> list[dict[str, Any]]:
        out = []
        for cat in sorted(set(self.alerts) | set(self.flagged)):
            share = len(self.flagged.get(cat, ())) / max(self.vessels, 1)
            out.append(
                {
                    "category": cat,
                    "alerts": self.alerts[cat],
                    "medium_or_above": self.medium[cat],
                    "vessels_flagged": len(self.flagged.get(cat, ())),
                    "share": round(share, 4),
                    "event": cat in EVENT_CATEGORIES,
                    "top_types": self.types.get(cat, Counter()).most_common(5),
                    "top_reasons": self.reasons.get(cat, Counter()).most_common(4),
                }
            )
        return out

    def medium_per_100(self) -> float:
        m = sum(v for k, v in self.medium.items() if k not in EVENT_CATEGORIES)
        return 100.0 * m / max(self.vessels, 1)


_NUM = re.compile(r"\d+(\.\d+)?")


def _reason_shape(text: str) -> str:
    """A reason with its numbers and names blanked, so equal causes count together."""
    text = re.sub(r"MMSI \d+( \([^)]*\))?", "MMSI …", text)
    return _NUM.sub("#", text)[:140]


def _steps(pos: np.ndarray, st: np.ndarray, step_s: float) -> Iterator[Batch]:
    t0 = float(pos["t"][0])
    cells = np.unique(np.floor((pos["t"] - t0) / step_s))
    edges = t0 + (cells + 1) * step_s
    pi = np.searchsorted(pos["t"], edges, side="left")
    si = np.searchsorted(st["t"], edges, side="left")
    pi[-1], si[-1] = len(pos), len(st)
    a0 = b0 = 0
    for a, b in zip(pi.tolist(), si.tolist(), strict=True):
        if a > a0 or b > b0:
            yield Batch(positions=pos[a0:a], statics=st[b0:b])
        a0, b0 = a, b


def replay_day(
    path: Path,
    zones_dir: Path,
    profiles: Path,
    step_s: float = 60.0,
    context: LearnedContext | None = None,
    window: tuple[float, float] | None = None,
) -> DayFigures:
    batch = read_marinecadastre(path)
    pos = batch.positions[np.isfinite(batch.positions["lat"])]
    if window is not None:
        pos = pos[(pos["t"] >= window[0]) & (pos["t"] < window[1])]
        batch.statics = batch.statics[(batch.statics["t"] >= window[0]) & (batch.statics["t"] < window[1])]
    pos = pos[np.argsort(pos["t"], kind="stable")]
    st = batch.statics[np.argsort(batch.statics["t"], kind="stable")]
    zones = load_library(zones_dir)
    pipe = Pipeline(zones, profiles=[], detectors=load_detectors(profiles, zones, context))
    fig = DayFigures(path.name)
    keys, idx = np.unique(st["key"], return_index=True)
    fig.ship_types = dict(zip(keys.tolist(), st["ship_type"][idx].tolist(), strict=True))
    fig.vessels = int(len(np.unique(pos["key"])))
    best: dict[str, int] = {}
    for b in _steps(pos, st, step_s):
        for al in pipe.step(b).alerts:
            if al.version == 1:
                fig.alerts[al.category] += 1
                fig.flagged.setdefault(al.category, set()).add(al.track_key)
                fig.types.setdefault(al.category, Counter())[fig.ship_types.get(al.track_key, -1)] += 1
                for r in al.reasons[:1]:
                    fig.reasons.setdefault(al.category, Counter())[_reason_shape(r)] += 1
            if al.level >= Level.MEDIUM and best.get(al.id, -1) < Level.MEDIUM:
                fig.medium[al.category] += 1
            best[al.id] = max(best.get(al.id, -1), int(al.level))
    return fig


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--zones", default=str(root / "geofences"))
    ap.add_argument("--profiles", default=str(root / "geofences" / "profiles.toml"))
    ap.add_argument("--context", help="learned-context folder (default: the one next to the profiles file)")
    ap.add_argument("--start", help="replay only reports at or after this ISO time (UTC)")
    ap.add_argument("--end", help="replay only reports before this ISO time (UTC)")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    window = None
    if a.start or a.end:
        lo = datetime.fromisoformat(a.start).replace(tzinfo=UTC).timestamp() if a.start else -np.inf
        hi = datetime.fromisoformat(a.end).replace(tzinfo=UTC).timestamp() if a.end else np.inf
        window = (lo, hi)
    ctx = load_context(Path(a.context)) if a.context else None
    res = []
    for f in a.files:
        fig = replay_day(Path(f), Path(a.zones), Path(a.profiles), context=ctx, window=window)
        print(
            f"\n{fig.name}: {fig.vessels} vessels; medium+ behaviour alerts per 100 vessels: "
            f"{fig.medium_per_100():.2f} (budget {BUDGET_MEDIUM_PER_100})"
        )
        print(f"{'category':20} {'alerts':>7} {'medium+':>8} {'vessels':>8} {'share':>7}")
        rows = fig.table()
        for r in rows:
            mark = " (event)" if r["event"] else (" OVER" if r["share"] > BUDGET_SHARE else "")
            print(
                f"{r['category']:20} {r['alerts']:7d} {r['medium_or_above']:8d} {r['vessels_flagged']:8d} "
                f"{100 * r['share']:6.2f}%{mark}  types {r['top_types']}"
            )
            for reason, n in r["top_reasons"]:
                print(f"{'':22}{n:5d} x {reason}")
        res.append(
            {
                "name": fig.name,
                "vessels": fig.vessels,
                "medium_per_100": fig.medium_per_100(),
                "categories": rows,
            }
        )
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
