"""The synchronous core shared by ``serve``, ``demo``, ``replay`` and the analyses: decoders, the
pipeline's event-time steps, the track table's gravity and the alert messages (:class:`Core`), and the
JSON-lines sink of ``replay --out``. :mod:`mdacentre.service.wiring` adds the asynchronous parts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from mdacentre.alerting.alerts import Alert
from mdacentre.core.zones import Zone, load_library
from mdacentre.decode.registry import Decoder, make_decoder
from mdacentre.detect.context import Detector
from mdacentre.detect.registry import load_detectors as assemble_detectors
from mdacentre.ingest.feeds import FeedSpec
from mdacentre.ingest.sources import Chunk
from mdacentre.model.batch import Batch, TrackKind, split_key
from mdacentre.model.errors import ConfigError, MdaError
from mdacentre.model.findings import Level, iso
from mdacentre.model.trackid import format_track_key, key_text, track_id
from mdacentre.risk.profiles import load_profiles
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import Settings
from mdacentre.service.eventtime import Slice
from mdacentre.service.flags import track_flags
from mdacentre.service.pipeline import Pipeline, PipelineConfig, StepResult
from mdacentre.service.timeline import Timeline
from mdacentre.service.trackrows import tracks_json as rows_json
from mdacentre.sinks.archive.recorder import open_recorder
from mdacentre.sinks.mqtt import alert_topic

log = logging.getLogger(__name__)


def load_detectors(path: Path, zones: list[Zone]) -> list[Detector]:
    """Behaviour detectors configured in the profiles file (``[detectors.*]`` tables).

    Fails loudly: a detector that cannot be assembled stops the start with an error naming the
    file, never a service that runs without it.
    """
    try:
        detectors = assemble_detectors(path, zones)
    except MdaError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"{path}: the detectors could not be assembled ({type(exc).__name__}: {exc}); "
            "fix the [detectors.*] tables or the detector code, the service does not start without them"
        ) from exc
    log.info("detectors from %s: %s", path, ", ".join(type(d).__name__ for d in detectors) or "none")
    return list(detectors)


@dataclass
class Gravity:
    score: float = 0.0
    level: Level = Level.INFO
    reasons: list[str] = field(default_factory=list)


class Core:
    """Decoders for every feed plus the pipeline; turns chunks of bytes into step results."""

    def __init__(
        self,
        settings: Settings,
        feeds: list[FeedSpec],
        metrics: Metrics,
        *,
        archive: bool = False,
        live: bool = False,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.zones: list[Zone] = load_library(settings.zones_dir)
        profiles = load_profiles(settings.profiles, self.zones)
        c = settings.core
        self.pipeline = Pipeline(
            self.zones,
            profiles,
            PipelineConfig(
                track_ttl_s=c.track_ttl_s, dwell_s=c.dwell_s, hysteresis_m=c.hysteresis_m, grid_deg=c.grid_deg
            ),
            detectors=load_detectors(settings.profiles, self.zones),
        )
        self.feeds = feeds
        self.decoders: list[Decoder] = [make_decoder(f, i) for i, f in enumerate(feeds)]
        self.gravity: dict[int, Gravity] = {}
        self.lines_in = 0
        # serve and replay record the history archive (settings.archive); analyses (evaluate) do not
        self.archive = open_recorder(settings.data_dir, settings, self.zones) if archive else None
        self._zone_names: dict[str, str] | None = None  # zone id -> name (last port of call)
        self.timeline = Timeline(len(feeds), settings.time, live=live)

    def ingest(self, chunks: Iterable[Chunk], wall: float | None = None) -> list[StepResult]:
        """Decode chunks, guard their times, and run every event-time step they complete."""
        for ch in chunks:
            b = self.decode([ch])
            self.lines_in += b.lines
            self._count_time(ch.feed, self.timeline.add(ch.feed, b, ch.receive_time))
        return self.run_slices(self.timeline.release(wall))

    def _count_time(self, feed: int, rejects: dict[str, int]) -> None:
        """Clock rejects (by reason), late reports and reports used, per feed (metrics, feed health)."""
        name = self.feeds[feed].name
        if rejects:
            self.metrics.add_rejects(rejects, name)
        for metric, total in (
            ("mda_records_used_total", self.timeline.used[feed]),
            ("mda_late_reports_total", self.timeline.late(feed)),
        ):
            delta = total - self.metrics.total(metric, feed=name)
            if delta:
                self.metrics.inc(metric, delta, {"feed": name})

    def finish_feed(self, feed: int) -> list[StepResult]:
        """A recording ended: its held reports go on, and it no longer holds steps back."""
        self._count_time(feed, self.timeline.finish(feed))
        return self.run_slices(self.timeline.release())

    def flush(self) -> list[StepResult]:
        """Every held report through the pipeline (end of a replay; a live service gone quiet)."""
        return self.run_slices(self.timeline.flush())

    def run_slices(self, slices: list[Slice]) -> list[StepResult]:
        return [self.step(s.batch, now=s.now) for s in slices]

    def decode(self, chunks: Iterable[Chunk]) -> Batch:
        batches: list[Batch] = []
        for ch in chunks:
            b = self.decoders[ch.feed].decode(ch.data, ch.receive_time)
            name = self.feeds[ch.feed].name
            if b.rejects:
                self.metrics.add_rejects(b.rejects, name)
            if b.internal_errors:
                self.metrics.add_internal_errors(b.internal_errors, "decode", name)
            n = len(b.positions) + len(b.statics)
            self.metrics.inc("mda_records_total", n, {"feed": name})
            self.metrics.inc("mda_lines_total", b.lines, {"feed": name})
            batches.append(b)
        return Batch.concat(batches)

    def step(self, batch: Batch, now: float | None = None) -> StepResult:
        res = self.pipeline.step(batch, now)
        self.lines_in += batch.lines
        self.metrics.inc("mda_alert_versions_total", len(res.alerts))
        self.metrics.set("mda_tracks", len(self.pipeline.table))
        self.metrics.inc("mda_late_positions_total", res.late)
        if np.isfinite(res.watermark):
            self.metrics.set("mda_event_time_watermark_seconds", res.watermark)
        self._update_gravity(res.alerts)
        for k in res.evicted.tolist():
            self.gravity.pop(int(k), None)
        if self.archive is not None:
            self.archive.record_step(
                batch.positions, batch.statics, res.fence_events, res.alerts, res.evicted
            )
        return res

    def close(self) -> None:
        """Write what the archive still buffers (end of a replay, service shutdown)."""
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    def _update_gravity(self, alerts: list[Alert]) -> None:
        touched = {a.track_key for a in alerts}
        by_track: dict[int, list[Alert]] = {}
        for (_cat, key, _zone), a in self.pipeline.alerts.open.items():
            by_track.setdefault(key, []).append(a)
        for key in touched:
            open_alerts = by_track.get(key, [])
            if not open_alerts:
                self.gravity.pop(key, None)
                continue
            # Noisy-OR of independent findings: two medium findings make a high one.
            p_clear = 1.0
            for a in open_alerts:
                p_clear *= 1.0 - min(100.0, a.score) / 100.0
            score = round(100.0 * (1.0 - p_clear), 1)
            level = max(Level.from_score(score), max(a.level for a in open_alerts))
            # each reason with the category and score it contributes, gravest first
            reasons = [
                f"{a.category} {a.score:g}: {r}"
                for a in sorted(open_alerts, key=lambda x: -x.score)
                for r in a.reasons
            ]
            self.gravity[key] = Gravity(score, level, reasons)

    def tracks_json(self, rows: np.ndarray) -> list[dict[str, Any]]:
        return rows_json(
            self.pipeline.table.cols, rows, self.gravity, Gravity(), track_flags, self._last_port
        )

    def _last_port(self, key: int, kind: TrackKind) -> dict[str, Any]:
        """The vessel's last port of call (the timeline's latest port arrival), when it has one."""
        if kind != TrackKind.VESSEL or self.archive is None:
            return {}
        call = self.archive.timeline.last_port_of_call.get(key)
        if call is None:
            return {}
        if self._zone_names is None:
            self._zone_names = {z.id: z.name for z in self.zones}
        zone, t = call
        return {"last_port": self._zone_names.get(zone, zone), "last_port_t": iso(t)}

    def status_messages(self, prefix: str, keys: set[int], qos: int) -> list[tuple[str, bytes, int, bool]]:
        """Retained per-track status (current level and reasons); an empty retained message clears it."""
        out: list[tuple[str, bytes, int, bool]] = []
        open_by_track: dict[int, list[str]] = {}
        for a in self.pipeline.alerts.open.values():
            open_by_track.setdefault(a.track_key, []).append(a.id)
        for key in sorted(keys):
            kind, ident = split_key(key)
            label = format_track_key(kind, ident)
            topic = f"{prefix}/tracks/{kind.label}/{track_id(kind, ident)}/status"
            g = self.gravity.get(key)
            if g is None:
                out.append((topic, b"", qos, True))
                continue
            row = int(self.pipeline.table.lookup([key])[0])
            t = float(self.pipeline.table.cols["t"][row]) if row >= 0 else float("nan")
            payload = {
                "track": self.tracks_json(np.array([row]))[0] if row >= 0 else {"key": label},
                "score": g.score,
                "level": g.level.label,
                "reasons": g.reasons,
                "time": iso(t) if np.isfinite(t) else None,
                "alerts": open_by_track.get(key, []),
            }
            out.append((topic, orjson.dumps(payload), qos, True))
        return out

    def track_label(self, key: int) -> str:
        return key_text(key)


def alert_messages(prefix: str, alerts: list[Alert], qos: int) -> list[tuple[str, bytes, int, bool]]:
    """Outbox rows for alert versions: the alert itself, and the track's retained status."""
    out: list[tuple[str, bytes, int, bool]] = []
    for a in alerts:
        out.append(
            (alert_topic(prefix, a.state, a.category, a.level.label), orjson.dumps(a.to_json()), qos, False)
        )
    return out


class JsonlSink:
    """Every alert version as one JSON line (replay --out)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.count = 0

    def write(self, alerts: list[Alert]) -> None:
        for a in alerts:
            self.fh.write(orjson.dumps(a.to_json()) + b"\n")
            self.count += 1
        self.fh.flush()
