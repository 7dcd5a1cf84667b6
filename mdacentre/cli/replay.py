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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mdacentre.decode.archives import archive_batches
from mdacentre.decode.recordings import file_batches, first_event_time
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.recordings import ARCHIVE_FORMATS, read_chunks, sniff_format
from mdacentre.model.batch import Batch
from mdacentre.model.errors import MdaError
from mdacentre.model.findings import iso
from mdacentre.runtime.metrics import Metrics
from mdacentre.runtime.settings import Settings
from mdacentre.service.core import Core, JsonlSink
from mdacentre.service.pipeline import StepResult

CHUNK_BYTES = 1 << 18
# formats read as decoded batches (not lines): one feed per file
WHOLE_FILE_FORMATS = ("opensky", "readsb_trace", *ARCHIVE_FORMATS)


@dataclass
class ReplayFeed:
    """One feed of a replay: files of one format, read one after the other."""

    name: str
    fmt: str
    paths: list[Path]
    spec: FeedSpec = field(init=False)

    def __post_init__(self) -> None:
        kind = FeedKind(self.fmt) if self.fmt in FeedKind._value2member_map_ else FeedKind.AIS
        self.spec = FeedSpec(name=self.name, kind=kind, transport=Transport.FILE, path=str(self.paths[0]))


def group_feeds(paths: list[Path], fmt: str = "auto") -> list[ReplayFeed]:
    """Files of one stream format form one feed (in the order given); whole-file formats one feed each."""
    feeds: list[ReplayFeed] = []
    by_fmt: dict[str, ReplayFeed] = {}
    for p in paths:
        if not p.is_file():
            raise MdaError(f"replay: {p} is not a file")
        f = sniff_format(p) if fmt == "auto" else fmt
        if f in WHOLE_FILE_FORMATS or f not in by_fmt:
            feed = ReplayFeed(p.name, f, [p])
            feeds.append(feed)
            if f not in WHOLE_FILE_FORMATS:
                by_fmt[f] = feed
        else:
            by_fmt[f].paths.append(p)
    return feeds


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


def _feed_chunks(
    core: Core, i: int, feed: ReplayFeed, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[int, list[StepResult]]]:
    """(bytes read, step results) per chunk of one feed; the feed is finished at the end."""
    if feed.fmt in WHOLE_FILE_FORMATS:
        batches = (
            archive_batches(feed.paths[0], i)
            if feed.fmt in ARCHIVE_FORMATS
            else file_batches(feed.paths[0], feed.fmt, i)
        )
        for b in batches:
            yield b.lines, _add_batch(core, i, b)
    else:
        start = first_event_time(feed.paths[0], feed.spec)
        clock0 = start if start is not None else feed.paths[0].stat().st_mtime
        for p in feed.paths:
            # One receive time for the whole feed: a line without a time of its own gets the
            # recording's start (and is then placed by the lateness rule), whatever the cut.
            for ch in read_chunks(p, i, clock0, size=chunk_bytes):
                yield len(ch.data), core.ingest([ch])
    yield 0, core.finish_feed(i)


def _add_batch(core: Core, i: int, b: Batch) -> list[StepResult]:
    if b.rejects:
        core.metrics.add_rejects(b.rejects, core.feeds[i].name)
    if len(b):
        core.metrics.inc("mda_records_total", len(b), {"feed": core.feeds[i].name})
    core.lines_in += b.lines
    core._count_time(i, core.timeline.add(i, b, math.nan))
    return core.run_slices(core.timeline.release())


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
    readers = {i: _feed_chunks(core, i, f, chunk_bytes) for i, f in enumerate(feeds)}

    def emit(results: list[StepResult]) -> None:
        for res in results:
            pacer.wait_for(res.watermark)
            sink.write(res.alerts)
            if on_step is not None:
                on_step(core, res)
            by_cat.update(a.category for a in res.alerts if a.version == 1)

    while readers:
        # the feed furthest behind in event time reads next: feeds merge by event time
        i = min(readers, key=lambda k: (core.timeline.clock(k), k))
        try:
            nbytes, results = next(readers[i])
        except StopIteration:
            del readers[i]
            continue
        emit(results)
        if progress is not None:
            progress.update(nbytes, core.lines_in, core.pipeline.watermark, time.monotonic() - wall0)
    emit(core.flush())
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
