"""`mdacentre replay`: recordings through the live pipeline in event-time steps, paced and with progress.

Files of one format form one feed, read in the order given (``replay a.nmea b.nmea`` is the same
replay as one file holding ``a`` then ``b``). Feeds of different formats (an AIS and an SBS
recording of the same day) are read side by side, the one whose event time is behind first, and
merged by event time. The alerts do not depend on how the recordings are cut: see docs/time.md.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from mdacentre.model.findings import iso
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import Core, JsonlSink
from mdacentre.service.pipeline import StepResult
from mdacentre.service.replayrun import (
    CHUNK_BYTES,
    WHOLE_FILE_FORMATS,
    BatchFeed,
    ReplayFeed,
    group_feeds,
    replay_steps,
)

__all__ = ["CHUNK_BYTES", "WHOLE_FILE_FORMATS", "BatchFeed", "Pacer", "Progress", "ReplayFeed", "group_feeds"]


class Progress:
    """A progress line on stderr (tqdm) when stderr is a terminal: bytes, lines, event time, rate, ETA."""

    def __init__(self, total_bytes: int, stream: IO[str] | None = None, enabled: bool | None = None) -> None:
        from tqdm import tqdm

        stream = stream if stream is not None else sys.stderr
        on = stream.isatty() if enabled is None else enabled
        self.bar = tqdm(
            total=total_bytes,
            unit="B",
            unit_scale=True,
            file=stream,
            disable=not on,
            desc="replay",
            dynamic_ncols=True,
            mininterval=0.5,
        )

    def update(self, nbytes: int, lines: int, event_time: float, wall_s: float) -> None:
        if self.bar.disable:
            return
        rate = lines / wall_s if wall_s > 0 else 0.0
        when = iso(event_time) if math.isfinite(event_time) else "-"
        self.bar.set_postfix_str(f"{lines:,} lines ({rate:,.0f}/s), event time {when}", refresh=False)
        self.bar.update(nbytes)

    def close(self) -> None:
        self.bar.close()


class Pacer:
    """Sleeps so that event time ``t`` is reached ``(t - t0) / speed`` seconds after the start."""

    def __init__(self, speed: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.speed = speed
        self.sleep = sleep
        self.t0: float | None = None
        self.wall0 = time.monotonic()

    def wait_for(self, t: float) -> None:
        if self.speed <= 0 or not math.isfinite(t):
            return
        if self.t0 is None:
            self.t0, self.wall0 = t, time.monotonic()
            return
        delay = self.wall0 + (t - self.t0) / self.speed - time.monotonic()
        if delay > 0:
            self.sleep(delay)


def run_replay(
    settings: Settings,
    paths: list[Path],
    sink: JsonlSink,
    *,
    fmt: str = "auto",
    speed: float = 0.0,
    progress: Progress | None = None,
    archive: bool = False,
    pacer: Any = None,
    on_step: Callable[[Core, StepResult], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> tuple[Core, Metrics, Counter[str], float]:
    """Replay ``paths``; every alert version goes to ``sink``.

    ``pacer`` (default :class:`Pacer` at ``speed``) has ``wait_for(event_time)``, called before each
    step's results leave; ``on_step(core, result)`` is called after the sink got them (a served
    replay feeds its map from it, reading small ``chunk_bytes`` so that the track table is never
    far ahead of the step shown; the alerts do not depend on the cut). Returns the core, the
    metrics, the new alerts by category and the wall time of the replay."""
    feeds = group_feeds(paths, fmt)
    metrics = Metrics()
    core = Core(settings, [f.spec for f in feeds], metrics, archive=archive)
    by_cat: Counter[str] = Counter()
    pacer = Pacer(speed) if pacer is None else pacer
    wall0 = time.monotonic()
    try:
        for nbytes, results in replay_steps(core, feeds, chunk_bytes):
            for res in results:
                pacer.wait_for(res.watermark)
                sink.write(res.alerts)
                if on_step is not None:
                    on_step(core, res)
                by_cat.update(a.category for a in res.alerts if a.version == 1)
            if progress is not None:
                progress.update(nbytes, core.lines_in, core.pipeline.watermark, time.monotonic() - wall0)
    finally:  # also when a served replay's clock rewinds or stops it: the archive keeps what it got
        core.close()
    return core, metrics, by_cat, time.monotonic() - wall0


def total_bytes(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def replay_args(args: Any, settings: Settings) -> tuple[Core, Metrics, Counter[str], float]:
    """The replay command behind ``mdacentre replay`` (arguments as parsed by the CLI)."""
    paths = [Path(p) for p in args.files]
    out_fh = open(args.out, "wb") if args.out else sys.stdout.buffer
    sink = JsonlSink(out_fh)
    # on a terminal always; with --progress also when stderr is a file or a pipe
    progress = Progress(total_bytes(paths), enabled=True if getattr(args, "progress", False) else None)
    try:
        core, metrics, by_cat, wall_s = run_replay(
            settings, paths, sink, fmt=args.format, speed=args.speed, progress=progress, archive=True
        )
    finally:
        progress.close()
        if args.out:
            out_fh.close()
    return core, metrics, by_cat, wall_s
