"""Helpers for the event-time tests: real recordings as NMEA lines, and replays cut in any way."""

from __future__ import annotations

import copy
import csv
import dataclasses
import functools
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from conftest import encode, tag_block

from mdacentre.detect.gap import AisGapDetector
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.sources import Chunk
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import load_settings
from mdacentre.service.core import Core


def _num(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return math.nan


def marinecadastre_nmea(path: Path, hours: float) -> list[bytes]:
    """The first ``hours`` of a MarineCadastre CSV as NMEA 4.0 lines (type 1, type 5 once per vessel).

    Every message is one group of lines (a type 5 is two sentences), each with its tag-block time.
    """
    out: list[bytes] = []
    named: set[int] = set()
    t_end = None
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            t = datetime.fromisoformat(r["BaseDateTime"]).replace(tzinfo=UTC).timestamp()
            if t_end is None:
                t_end = t + hours * 3600.0
            if t >= t_end:
                break
            mmsi = int(r["MMSI"])
            lat, lon, sog, cog = (_num(r[k]) for k in ("LAT", "LON", "SOG", "COG"))
            hdg = _num(r["Heading"])
            fields: dict[str, object] = {
                "msg_type": 1,
                "mmsi": mmsi,
                "lat": lat,
                "lon": lon,
                "speed": sog if math.isfinite(sog) and sog < 102.2 else 102.3,
                "course": cog if math.isfinite(cog) and cog < 360 else 360.0,
                "heading": int(hdg) if math.isfinite(hdg) and 0 <= hdg < 360 else 511,
            }
            out.append("".join(s + "\n" for s in encode(fields, t)).encode())
            if mmsi not in named and r["VesselName"]:
                named.add(mmsi)
                vt = _num(r["VesselType"])
                st = {
                    "msg_type": 5,
                    "mmsi": mmsi,
                    "shipname": r["VesselName"][:20],
                    "ship_type": int(vt) if math.isfinite(vt) and 0 <= vt <= 99 else 0,
                    "callsign": r["CallSign"][:7],
                }
                sentences = encode(st, None)
                out.append("".join(tag_block(t) + s + "\n" for s in sentences).encode())
    return out


@functools.cache
def _template(n_feeds: int) -> Core:
    settings = load_settings(None, env={})
    specs = [FeedSpec(f"feed{i}", FeedKind.AIS, Transport.FILE, path="-") for i in range(n_feeds)]
    core = Core(settings, specs, Metrics())
    core.metrics = None  # type: ignore[assignment]  # a lock cannot be copied
    return core


def fresh_core(n_feeds: int = 1) -> Core:
    """A new core on the repository's zones and profiles (copied from a template: building takes seconds)."""
    core = copy.deepcopy(_template(n_feeds))
    core.metrics = Metrics()
    return core


def without_online_reception(core: Core) -> Core:
    """Synthetic seas hold a vessel or two: no reception for the gap detector to learn from the feed."""
    for d in core.pipeline.detectors:
        if isinstance(d, AisGapDetector):
            d.cfg = dataclasses.replace(d.cfg, online_coverage=False)
    return core


def replay_cut(
    feeds: Sequence[Sequence[bytes]],
    cuts: Sequence[Sequence[int]],
    order: Sequence[int] = (),
    receive_time: float = 1.5e9,
) -> bytes:
    """Alert output of a replay of ``feeds`` (each a list of message groups).

    ``cuts[f]`` are the group indices where feed ``f`` is cut into chunks; ``order`` is the
    feed of each successive chunk (interleaving); missing entries continue round-robin.
    """
    import orjson

    core = fresh_core(len(feeds))
    chunks: list[list[bytes]] = []
    for groups, cut in zip(feeds, cuts, strict=True):
        bounds = [0, *sorted(set(c for c in cut if 0 < c < len(groups))), len(groups)]
        chunks.append([b"".join(groups[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)])
    out: list[bytes] = []

    def emit(results: list) -> None:  # type: ignore[type-arg]
        for res in results:
            out.extend(orjson.dumps(a.to_json()) + b"\n" for a in res.alerts)

    nxt = [0] * len(feeds)
    seq = list(order)
    while any(nxt[f] < len(chunks[f]) for f in range(len(feeds))):
        f = (
            seq.pop(0)
            if seq
            else min(range(len(feeds)), key=lambda k: (nxt[k] - len(chunks[k]) >= 0, nxt[k]))
        )
        if nxt[f] >= len(chunks[f]):
            continue
        emit(core.ingest([Chunk(f, chunks[f][nxt[f]], receive_time)]))
        nxt[f] += 1
    for f in range(len(feeds)):
        emit(core.finish_feed(f))
    emit(core.flush())
    return b"".join(out)
