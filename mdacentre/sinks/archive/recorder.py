"""The archive sink: what the service hands it after each pipeline step, turned into archive rows.

:class:`ArchiveRecorder` is fed by the service wiring (one call per step, one per
acknowledgement). The pipeline's thread only copies the step's column batches; the writer's
background thread derives the timeline events (in step order), converts to Arrow (vectorised),
compresses and writes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa

from mdacentre.alerting.alerts import Alert
from mdacentre.core.timeline import TimelineConfig, TimelineTracker
from mdacentre.core.zones import Zone
from mdacentre.model.batch import TrackKind
from mdacentre.sinks.archive.schema import (
    SCHEMAS,
    Table,
    kinds,
    positions_table,
    statics_table,
    times,
    wkb_points,
)
from mdacentre.sinks.archive.writer import ArchiveWriter

log = logging.getLogger(__name__)


def events_table(ev: dict[str, np.ndarray]) -> pa.Table:
    keys = ev["key"].astype(np.int64)
    lon = ev["lon"].astype(np.float64)
    lat = ev["lat"].astype(np.float64)
    cols: dict[str, Any] = {
        "t": times(ev["t"]),
        "key": pa.array(keys),
        "kind": kinds(keys >> 32),
        "ident": pa.array((keys & 0xFFFFFFFF).astype(np.uint32)),
        "event": pa.array(ev["event"], type=pa.string()),
        "zone": pa.array(ev["zone"], type=pa.string()),
        "field": pa.array(ev["field"], type=pa.string()),
        "old": pa.array(ev["old"], type=pa.string()),
        "new": pa.array(ev["new"], type=pa.string()),
        "duration_s": pa.array(ev["duration_s"].astype(np.float64)),
        "initial": pa.array(ev["initial"].astype(bool)),
        "lat": pa.array(lat, mask=~np.isfinite(lat)),
        "lon": pa.array(lon, mask=~np.isfinite(lon)),
        "geometry": wkb_points(lon, lat),
    }
    return pa.Table.from_pydict(cols, schema=SCHEMAS[Table.EVENTS])


def alerts_table(alerts: list[Alert]) -> pa.Table:
    """One row per alert version (alerts are few: built from the value objects)."""
    keys = np.asarray([a.track_key for a in alerts], dtype=np.int64)
    lat = np.asarray([np.nan if a.track.lat is None else a.track.lat for a in alerts], dtype=np.float64)
    lon = np.asarray([np.nan if a.track.lon is None else a.track.lon for a in alerts], dtype=np.float64)
    cols: dict[str, Any] = {
        "t": times(np.asarray([a.time for a in alerts], dtype=np.float64)),
        "key": pa.array(keys),
        "kind": kinds(keys >> 32),
        "ident": pa.array((keys & 0xFFFFFFFF).astype(np.uint32)),
        "id": [a.id for a in alerts],
        "version": pa.array([a.version for a in alerts], type=pa.int32()),
        "status": [a.status.value for a in alerts],
        "category": [a.category for a in alerts],
        "level": [a.level.label for a in alerts],
        "score": pa.array([float(a.score) for a in alerts], type=pa.float32()),
        "started": times(np.asarray([a.started for a in alerts], dtype=np.float64)),
        "state": [a.state for a in alerts],
        "zone": [a.zone.id if a.zone else None for a in alerts],
        "name": [a.track.name for a in alerts],
        "reasons": [list(a.reasons) for a in alerts],
        "payload": [orjson.dumps(a.to_json()).decode() for a in alerts],
        "lat": pa.array(lat, mask=~np.isfinite(lat)),
        "lon": pa.array(lon, mask=~np.isfinite(lon)),
        "geometry": wkb_points(lon, lat),
    }
    return pa.Table.from_pydict(cols, schema=SCHEMAS[Table.ALERTS])


def _key_of(track: dict[str, Any]) -> int:
    try:
        kind = TrackKind[str(track.get("kind", "")).upper()]
        ident = int(str(track.get("id", "")), 16 if kind == TrackKind.AIRCRAFT else 10)
    except (KeyError, ValueError):
        return 0
    return (int(kind) << 32) | ident


def acks_table(acks: Iterable[dict[str, Any]]) -> pa.Table:
    """Acknowledgements and retractions (the alert payload the store returned, with its ``ack``)."""
    from datetime import datetime

    rows = list(acks)
    keys = np.asarray([_key_of(d.get("track") or {}) for d in rows], dtype=np.int64)

    def event_t(d: dict[str, Any]) -> float:
        try:
            return datetime.fromisoformat(str(d.get("time", "")).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return float("nan")

    ack = [d.get("ack") or {} for d in rows]
    cols: dict[str, Any] = {
        "t": times(np.asarray([event_t(d) for d in rows], dtype=np.float64)),
        "key": pa.array(keys),
        "kind": kinds(keys >> 32),
        "ident": pa.array((keys & 0xFFFFFFFF).astype(np.uint32)),
        "id": [str(d.get("id", "")) for d in rows],
        "version": pa.array([int(d.get("version", 0)) for d in rows], type=pa.int32()),
        "status": [str(d.get("status", "")) for d in rows],
        "ack_by": [str(a.get("by", "")) for a in ack],
        "ack_note": [str(a.get("note", "")) for a in ack],
        "ack_at": [str(a.get("at", "")) for a in ack],
    }
    return pa.Table.from_pydict(cols, schema=SCHEMAS[Table.ACKS])


class ArchiveRecorder:
    """Records every accepted position, static report, event, alert version and acknowledgement."""

    def __init__(
        self,
        root: Path,
        zones: list[Zone],
        *,
        flush_s: float = 5.0,
        retention_days: int = 0,
        compact_parts: int = 120,
        timeline: TimelineConfig | None = None,
    ) -> None:
        self.writer = ArchiveWriter(
            root, flush_s=flush_s, retention_days=retention_days, compact_parts=compact_parts
        ).start()
        self.timeline = TimelineTracker(zones, timeline)
        self.root = Path(root)
        times(np.zeros(1))  # pyarrow loads its time-zone support on first use: at start, not mid-stream

    def record_step(
        self,
        positions: npt.NDArray[np.void],
        statics: npt.NDArray[np.void],
        fence_events: npt.NDArray[np.void],
        alerts: list[Alert],
        evicted: npt.NDArray[np.int64],
    ) -> None:
        """One pipeline step: the writer's thread converts and writes it later (the step only copies)."""
        pos, st = positions.copy(), statics.copy()  # the writer's thread owns what it converts later
        if len(pos):
            self.writer.put(Table.POSITIONS, pos, positions_table)
        if len(st):
            self.writer.put(Table.STATICS, st, statics_table)
        if len(pos) or len(st) or len(fence_events) or len(evicted):
            # the timeline runs in the writer's thread too, step after step, in order (see _events)
            self.writer.put(Table.EVENTS, (pos, st, fence_events.copy(), evicted.copy()), self._events)
        if alerts:
            self.writer.put(Table.ALERTS, list(alerts), alerts_table)

    def _events(self, payload: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> pa.Table:
        positions, statics, fence_events, evicted = payload
        ev = self.timeline.step(positions, statics, fence_events)
        if len(evicted):
            self.timeline.forget({int(k) for k in evicted})
        return events_table(ev)

    def record_ack(self, payload: dict[str, Any]) -> None:
        self.writer.put(Table.ACKS, [dict(payload)], acks_table)

    def close(self) -> None:
        self.writer.close()


def open_recorder(data_dir: Path, settings: Any, zones: list[Zone]) -> ArchiveRecorder | None:
    """The recorder for ``settings.archive`` (an ``ArchiveSettings``), or None when it is off."""
    a = getattr(settings, "archive", None)
    if a is None or not a.enabled:
        return None
    return ArchiveRecorder(
        Path(data_dir) / a.dir,
        zones,
        flush_s=a.flush_s,
        retention_days=a.retention_days,
        compact_parts=a.compact_parts,
    )
