"""Measure the detectors on real recordings: alerts per category per hour of data, share of tracks flagged.

    python -m tools.detect_measure [--shared ../shared/data] [--zones geofences] [--json out.json]

Each recording is replayed through its own :class:`~mdacentre.service.pipeline.Pipeline` (the recordings
come from different years and places; one pipeline would see them as multi-year gaps), in steps
of ``step_s`` seconds of event time, with the zone library plus, for flights outside the
Caribbean, airport zones (3 km circles) built from ``geo/airportsdata_airports.csv`` for the
area of the recording. AIS lines without any timestamp take the time of the latest
``$GPRMC``/``$AIVSI`` sentence before them when the recording has such sentences (AMSA dump).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from mdacentre.core.zones import Zone, ZoneKind, load_library
from mdacentre.detect.registry import load_detectors
from mdacentre.model.batch import Batch, TrackKind, empty_positions, empty_statics, make_key
from mdacentre.model.geodesy import M_PER_DEG_LAT
from mdacentre.service.pipeline import Pipeline

AIS_SUFFIXES = (".txt", ".nmea", ".aivdm", ".log", ".raw", ".ais")
_TIME_SENTENCE = re.compile(
    rb"^\$(?:GPRMC|GNRMC),(\d{6}(?:\.\d+)?),[AV],[^,]*,[NS]?,[^,]*,[EW]?,[^,]*,[^,]*,(\d{6})"
)
_VSI = re.compile(rb"^\$..VSI,[^,]*,(\d{6}(?:\.\d+)?),")


@dataclass
class Measure:
    name: str
    hours: float = 0.0
    positions: int = 0
    tracks: int = 0
    tracks_by_kind: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    flagged_tracks: dict[str, int] = field(default_factory=dict)

    def share(self, category: str) -> float:
        return self.flagged_tracks.get(category, 0) / self.tracks if self.tracks else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hours": round(self.hours, 3),
            "positions": self.positions,
            "tracks": self.tracks,
            "tracks_by_kind": self.tracks_by_kind,
            "alerts": self.alerts,
            "alerts_per_hour": {k: round(v / self.hours, 2) for k, v in self.alerts.items()}
            if self.hours > 0
            else {},
            "share_of_tracks": {k: round(self.share(k), 4) for k in self.flagged_tracks},
        }


# --- readers -------------------------------------------------------------------------------------


def _hms(b: bytes) -> float:
    s = float(b)
    return (int(s) // 10000) * 3600 + (int(s) // 100 % 100) * 60 + s % 100


def ais_batch(path: Path) -> Batch:
    """Decode a recording with the project's AIS decoder; untimed lines take the latest $GPRMC/$AIVSI time."""
    from mdacentre.decode.ais import AisDecoder

    dec = AisDecoder(0)
    data = path.read_bytes()
    lines = data.split(b"\n")
    day: float | None = None
    for ln in lines:
        m = _TIME_SENTENCE.match(ln)
        if m:
            d = m.group(2).decode()
            day = datetime(2000 + int(d[4:]), int(d[2:4]), int(d[:2]), tzinfo=UTC).timestamp()
            break
    fallback = path.stat().st_mtime
    batches: list[Batch] = []
    chunk: list[bytes] = []
    now = fallback
    for ln in lines:
        m = _TIME_SENTENCE.match(ln) or (_VSI.match(ln) if day is not None else None)
        if m and day is not None:
            if chunk:
                batches.append(dec.decode(b"\n".join(chunk) + b"\n", now))
                chunk = []
            now = day + _hms(m.group(1))
        chunk.append(ln)
    if chunk:
        batches.append(dec.decode(b"\n".join(chunk) + b"\n", now))
    out = Batch.concat(batches)
    # Lines with no time at all carry the file's mtime: drop them when the file has real times.
    # (multi-part messages completed later may carry a time near it too: anything within a day of it).
    untimed = np.abs(out.positions["t"] - fallback) < 86400
    if not untimed.all():
        out.positions = out.positions[~untimed]
        out.statics = out.statics[np.abs(out.statics["t"] - fallback) >= 86400]
    return out


def marinecadastre_batch(path: Path) -> Batch:
    """MarineCadastre decoded CSV rows as positions and statics."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    n = len(rows)
    pos = empty_positions(n)
    st = empty_statics(n)

    def num(v: str) -> float:
        try:
            return float(v)
        except ValueError:
            return math.nan

    for i, r in enumerate(rows):
        mmsi = int(r["MMSI"])
        t = datetime.fromisoformat(r["BaseDateTime"]).replace(tzinfo=UTC).timestamp()
        pos[i]["ident"], pos[i]["t"], pos[i]["lat"], pos[i]["lon"] = mmsi, t, num(r["LAT"]), num(r["LON"])
        sog, cog = num(r["SOG"]), num(r["COG"])
        pos[i]["sog"] = sog if sog < 102.25 else math.nan  # 102.3 = not available
        pos[i]["cog"] = cog if cog < 360.0 else math.nan
        pos[i]["msg_type"] = 18 if r.get("TransceiverClass") == "B" else 1
        st[i]["ident"], st[i]["t"], st[i]["name"] = mmsi, t, r["VesselName"][:20]
        vt = num(r["VesselType"])
        st[i]["ship_type"] = int(vt) if np.isfinite(vt) and 0 <= vt <= 99 else -1
        st[i]["length_m"] = num(r["Length"])
    for a in (pos, st):
        a["kind"] = TrackKind.VESSEL
        a["key"] = make_key(TrackKind.VESSEL, a["ident"])
    return Batch(positions=pos, statics=st)


def flight_batch(path: Path) -> Batch:
    from mdacentre.decode.flightfiles import read_opensky_json, read_readsb_trace

    head = path.read_bytes()[:4096] if path.suffix != ".gz" else b""
    return read_readsb_trace(path) if b'"trace"' in head else read_opensky_json(path)


def airport_zones(path: Path, bbox: tuple[float, float, float, float], radius_km: float = 3.0) -> list[Zone]:
    """3 km airport circles from airportsdata inside ``bbox`` (measurement only, never shipped)."""
    out: list[Zone] = []
    x0, y0, x1, y1 = bbox
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            lat, lon = float(r["lat"]), float(r["lon"])
            if x0 <= lon <= x1 and y0 <= lat <= y1:
                g = shapely.Point(lon, lat).buffer(
                    radius_km * 1000.0 / M_PER_DEG_LAT / max(math.cos(math.radians(lat)), 0.2), quad_segs=8
                )
                out.append(
                    Zone(id=f"m-{r['icao']}", name=r["name"], kind=ZoneKind.AIRPORT, state="XX", geometry=g)
                )
    return out


# --- replay --------------------------------------------------------------------------------------


def replay(name: str, batch: Batch, zones: list[Zone], profiles: Path, step_s: float = 60.0) -> Measure:
    pos = batch.positions[np.isfinite(batch.positions["t"]) & np.isfinite(batch.positions["lat"])]
    pos = pos[np.argsort(pos["t"], kind="stable")]
    st = batch.statics[np.argsort(batch.statics["t"], kind="stable")]
    m = Measure(name)
    if len(pos) == 0:
        return m
    pipe = Pipeline(zones, profiles=[], detectors=load_detectors(profiles, zones))
    t0, t1 = float(pos["t"][0]), float(pos["t"][-1])
    m.positions = len(pos)
    edges = _edges(pos["t"], t0, t1, step_s)
    pi = np.searchsorted(pos["t"], edges, side="right")
    si = np.searchsorted(st["t"], edges, side="right")
    si[-1] = len(st)  # statics after the last position go with the last step
    flagged: dict[str, set[int]] = {}
    alerts: Counter[str] = Counter()
    prev_p, prev_s = 0, 0
    busy = 0
    for a, b in zip(pi, si, strict=True):
        if a == prev_p and b == prev_s:
            continue  # no data in this step: nothing to do (the watermark does not move either)
        busy += int(a > prev_p)
        res = pipe.step(Batch(positions=pos[prev_p:a], statics=st[prev_s:b]))
        prev_p, prev_s = int(a), int(b)
        for al in res.alerts:
            if al.version == 1:
                alerts[al.category] += 1
                flagged.setdefault(al.category, set()).add(al.track_key)
    m.hours = max(busy * step_s / 3600.0, 1 / 60)  # time covered by data, not the span between outliers
    keys = np.unique(pos["key"])
    m.tracks = int(len(keys))
    m.tracks_by_kind = dict(Counter(TrackKind(int(k) >> 32).label for k in keys.tolist()))
    m.alerts = dict(alerts)
    m.flagged_tracks = {k: len(v) for k, v in flagged.items()}
    return m


def _edges(t: np.ndarray, t0: float, t1: float, step_s: float) -> np.ndarray:
    """Step boundaries every ``step_s`` seconds, but only in minutes that hold data."""
    cells = np.unique(np.floor((t - t0) / step_s))
    return np.asarray(t0 + (cells + 1) * step_s)


def measure_all(shared: Path, zones_dir: Path, profiles: Path) -> list[Measure]:
    zones = load_library(zones_dir)
    out: list[Measure] = []
    for p in sorted((shared / "ais").iterdir()):
        if p.suffix in AIS_SUFFIXES and not p.name.startswith("derived_"):
            out.append(replay(p.name, ais_batch(p), zones, profiles))
    mc = shared / "ais" / "aisdb_marinecadastre_noaa_20230101.csv"
    if mc.is_file():
        out.append(replay(mc.name, marinecadastre_batch(mc), zones, profiles))
    apts = shared / "geo" / "airportsdata_airports.csv"
    for name in (
        "traffic_opensky_calibration_kingston.json.gz",
        "traffic_readsb_trace_full_ac671b.json",
        "traffic_opensky_collection_switzerland.json.gz",
    ):
        p = shared / "adsb" / name
        if not p.is_file():
            continue
        b = flight_batch(p)
        pz = b.positions
        bbox = (
            float(np.nanmin(pz["lon"])) - 1,
            float(np.nanmin(pz["lat"])) - 1,
            float(np.nanmax(pz["lon"])) + 1,
            float(np.nanmax(pz["lat"])) + 1,
        )
        extra = airport_zones(apts, bbox) if apts.is_file() and bbox[0] > -55 else []
        out.append(replay(p.name, b, zones + extra, profiles, step_s=10.0))
    return out


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--shared", default=str(root.parent / "shared" / "data"))
    ap.add_argument("--zones", default=str(root / "geofences"))
    ap.add_argument("--profiles", default=str(root / "geofences" / "profiles.toml"))
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    res = [m.as_dict() for m in measure_all(Path(a.shared), Path(a.zones), Path(a.profiles))]
    text = json.dumps(res, indent=1)
    if a.json:
        Path(a.json).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
