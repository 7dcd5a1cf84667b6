"""``mdacentre replay --serve``: a replay shown on the live map, with pause, speed and seek.

The replay runs in a thread exactly as ``mdacentre replay`` does (:func:`mdacentre.cli.replay.run_replay`),
paced by a :class:`~mdacentre.service.replayclock.ReplayClock` that the page controls through
``/api/replay/clock`` (:mod:`mdacentre.api.replayctl`). Each step's tracks and alerts go to the map
state, which the map's WebSocket serves as in the live service.

A seek backward starts the recording again with a fresh core and runs it unpaced to the target (the
detectors' state cannot be unwound; rebuilding from the start gives exactly the state an unbroken
replay has at that time). The map is then sent one fresh snapshot. Alerts written with ``--out`` are
written once per step across passes, so the file is the same as an unpaced ``mdacentre replay``.

Like ``mdacentre replay``, it records into the history archive (``<data dir>/history``) unless
``--no-archive`` is given. A pass cut short by a seek backward closes its recorder (what it got is
written); the next pass records the same steps again, which the archive's merge keeps once
(docs/history.md, "Replays are idempotent").
"""

from __future__ import annotations

import gzip
import logging
import math
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import numpy as np
import uvicorn

from mdacentre.alerting.alerts import Alert
from mdacentre.alerting.routing import load_rules
from mdacentre.api.replayctl import replay_router
from mdacentre.api.vocabulary import vocabulary
from mdacentre.api.web import RESYNC_TYPE, MemoryMapState, create_app
from mdacentre.cli.replay import WHOLE_FILE_FORMATS, group_feeds, run_replay
from mdacentre.decode.recordings import first_event_time
from mdacentre.ingest.playback import line_time
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import Core, JsonlSink
from mdacentre.service.http_server import server_config
from mdacentre.service.pipeline import StepResult
from mdacentre.service.replayclock import ReplayClock, Rewind, Stopped
from mdacentre.service.wiring import web_security, zones_collection

log = logging.getLogger(__name__)

MAP_INTERVAL_S = 0.25  # tracks go to the map at most this often while playing
TAIL_BYTES = 1 << 16
SERVE_CHUNK_BYTES = 1 << 12  # the track table runs at most one such chunk ahead of the picture
REPLAY_FEATURES = ("replay_clock",)


class ReplayMapState(MemoryMapState):
    """The map state of a served replay: it can be emptied, and loaded in bulk with one snapshot."""

    def reset(self) -> None:
        with self._lock:
            self._tracks.clear()
            self._alerts.clear()
        self.publish({"type": RESYNC_TYPE})

    def load(self, tracks: list[dict[str, Any]], alerts: list[dict[str, Any]], removed: list[str]) -> None:
        """Apply many changes without a message each; clients get one fresh snapshot."""
        with self._lock:
            for k in removed:
                self._tracks.pop(k, None)
            for t in tracks:
                self._tracks[t["key"]] = t
            for a in alerts:
                self._alerts.pop(a["id"], None)
                self._alerts[a["id"]] = a
            while len(self._alerts) > self._max_alerts:
                self._alerts.pop(next(iter(self._alerts)))
        self.publish({"type": RESYNC_TYPE})


class OncePerStep:
    """A sink that writes each step's alerts once, however many times the recording is started."""

    def __init__(self, inner: JsonlSink | None) -> None:
        self.inner = inner
        self.written = 0  # steps written so far (by the furthest pass)
        self.step = 0  # step of the current pass

    def new_pass(self) -> None:
        self.step = 0

    def write(self, alerts: list[Alert]) -> None:
        if self.step >= self.written:
            if self.inner is not None:
                self.inner.write(alerts)
            self.written += 1
        self.step += 1


class MapFeed:
    """Collects what the steps changed and sends it to the map state (thread of the replay)."""

    def __init__(self, state: ReplayMapState, clock: ReplayClock) -> None:
        self.state, self.clock = state, clock
        self.core: Core | None = None
        self.dirty: set[int] = set()
        self.removed: list[str] = []
        self.alerts: dict[str, dict[str, Any]] = {}
        self.bulk = False  # collected while seeking: send as one snapshot
        self.sent = 0.0
        self.zones_sent = False

    def on_step(self, core: Core, res: StepResult) -> None:
        self.core = core
        if not self.zones_sent:
            self.zones_sent = True
            self.state.set_zones(zones_collection(core.zones))
        if len(res.rows):
            self.dirty.update(core.pipeline.table.cols["key"][res.rows].tolist())
        self.dirty.update(a.track_key for a in res.alerts)
        for a in res.alerts:
            self.alerts[a.id] = a.to_json()
        if len(res.evicted):
            gone = {int(k) for k in res.evicted}
            self.dirty -= gone
            self.removed += [core.track_label(k) for k in gone]
        if self.clock.seeking:
            self.bulk = True
        elif time.monotonic() - self.sent >= MAP_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        core = self.core
        self.sent = time.monotonic()
        if core is None:
            return
        tracks: list[dict[str, Any]] = []
        if self.dirty:
            rows = core.pipeline.table.lookup(np.asarray(sorted(self.dirty), dtype=np.int64))
            rows = np.unique(rows[rows >= 0])
            tracks = core.tracks_json(rows) if len(rows) else []
        alerts = list(self.alerts.values())
        removed = self.removed
        self.dirty, self.alerts, self.removed = set(), {}, []
        if self.bulk:
            self.bulk = False
            self.state.load(tracks, alerts, removed)
            return
        if removed:
            self.state.remove_tracks(removed)
        if tracks:
            self.state.upsert_tracks(tracks)
        for a in alerts:
            self.state.add_alert(a)

    def new_pass(self) -> None:
        self.core = None
        self.dirty, self.alerts, self.removed = set(), {}, []
        self.bulk = True
        self.state.reset()


def recording_span(paths: list[Path], fmt: str = "auto") -> tuple[float, float]:
    """First and last event time of line recordings (NaN where a format does not tell cheaply)."""
    starts: list[float] = []
    ends: list[float] = []
    for feed in group_feeds(paths, fmt):
        if feed.fmt in WHOLE_FILE_FORMATS:
            continue
        t0 = first_event_time(feed.paths[0], feed.spec)
        if t0 is not None:
            starts.append(t0)
        t1 = last_line_time(feed.paths[-1])
        if t1 is not None:
            ends.append(t1)
    return (min(starts) if starts else math.nan, max(ends) if ends else math.nan)


def last_line_time(path: Path) -> float | None:
    """The time of the last timed line among the last 64 KiB of an uncompressed line recording."""
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as gz:
            tail = b""
            for block in iter(lambda: gz.read(1 << 20), b""):
                tail = (tail + block)[-TAIL_BYTES:]
    else:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - TAIL_BYTES))
            tail = fh.read()
    for line in reversed(tail.splitlines()):
        t = line_time(line.strip())
        if t is not None:
            return t
    return None


class ServedReplay:
    """The replay thread: passes of the recording, paced by the clock, feeding the map state."""

    def __init__(
        self,
        settings: Settings,
        paths: list[Path],
        clock: ReplayClock,
        state: ReplayMapState,
        sink: OncePerStep,
        fmt: str = "auto",
        archive: bool = False,
    ) -> None:
        self.settings, self.paths, self.clock, self.state, self.sink, self.fmt = (
            settings,
            paths,
            clock,
            state,
            sink,
            fmt,
        )
        self.archive = archive  # record the history archive (settings.archive), as `mdacentre replay`
        self.feed = MapFeed(state, clock)
        clock.idle = self.feed.flush
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="replay", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.clock.stop()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        passes = 0
        try:
            while self.clock.begin_pass():
                passes += 1
                self.clock.passes = passes
                self.sink.new_pass()
                if passes > 1:
                    self.feed.new_pass()
                try:
                    core, _m, _c, _w = run_replay(
                        self.settings,
                        self.paths,
                        self.sink,  # type: ignore[arg-type]  # duck-typed sink: write(alerts)
                        fmt=self.fmt,
                        pacer=self.clock,
                        on_step=self.feed.on_step,
                        chunk_bytes=SERVE_CHUNK_BYTES,
                        archive=self.archive,
                    )
                except Rewind:
                    continue
                self.feed.flush()
                self.clock.finished(core.pipeline.watermark)
        except Stopped:
            return
        except BaseException as exc:  # the replay failed: keep the map up and say why in the log
            self.error = exc
            log.exception("the served replay stopped")


def serve_replay(args: Any, settings: Settings) -> int:
    """``mdacentre replay FILE... --serve``: the replay on the map at ``--speed`` (default 60)."""
    paths = [Path(p) for p in args.files]
    start, end = recording_span(paths, args.format)
    speed = args.speed if args.speed and args.speed > 0 else 60.0
    clock = ReplayClock(speed, start=start, end=end)
    state = ReplayMapState()
    out_fh: IO[bytes] | None = open(args.out, "wb") if args.out else None
    sink = OncePerStep(JsonlSink(out_fh) if out_fh is not None else None)
    rules = settings.alerting_dir / "routing.toml"
    router = load_rules(rules) if rules.is_file() else None
    security = web_security(settings, router)
    archive = not getattr(args, "no_archive", False)
    replay = ServedReplay(settings, paths, clock, state, sink, args.format, archive=archive)
    state.set_feeds(
        [
            {"name": f.name, "kind": f.fmt, "transport": "file", "connected": True, "state": "up"}
            for f in group_feeds(paths, args.format)
        ]
    )
    app = create_app(
        state,
        settings.web_dir,
        vocabulary=vocabulary(router.categories if router else (), features=REPLAY_FEATURES),
        security=security,
    )
    app.include_router(replay_router(clock, security))
    server = uvicorn.Server(server_config(settings, app))
    print(
        f"mdacentre replay: map on http://{settings.http.host}:{settings.http.port} ; "
        f"replaying {len(paths)} file(s) at {speed:g}x; pause, speed and seek on the map; "
        + (
            f"recording into {settings.data_dir / settings.archive.dir}"
            if archive and settings.archive.enabled
            else "not recording"
        ),
        file=sys.stderr,
    )
    replay.start()
    try:
        server.run()
    finally:
        replay.stop()
        if out_fh is not None:
            out_fh.close()
    return 1 if replay.error is not None else 0
