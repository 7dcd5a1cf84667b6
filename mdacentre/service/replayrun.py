"""Recordings through the service core in event-time steps: the one loop behind ``replay`` and ``evaluate``.

Files of one format form one feed, read in the order given (``replay a.nmea b.nmea`` is the same
replay as one file holding ``a`` then ``b``). Feeds of different formats (an AIS and an SBS
recording of the same day) are read side by side, the one whose event time is behind first, and
merged by event time in the core's timeline (:mod:`mdacentre.service.timeline`). Feeds of decoded
batches (:class:`BatchFeed`: an archive read beforehand, planted tracks) go through the same
timeline. The alerts do not depend on how the recordings are cut: see docs/time.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mdacentre.decode.archives import archive_batches
from mdacentre.decode.recordings import file_batches, first_event_time
from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.ingest.recordings import ARCHIVE_FORMATS, read_chunks, sniff_format
from mdacentre.model.batch import Batch
from mdacentre.model.errors import MdaError
from mdacentre.service.core import Core
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


@dataclass
class BatchFeed:
    """A feed of batches decoded beforehand (in time order), e.g. an archive already read or planted tracks."""

    name: str
    batches: Iterable[Batch]
    spec: FeedSpec = field(init=False)

    def __post_init__(self) -> None:
        self.spec = FeedSpec(name=self.name, kind=FeedKind.AIS, transport=Transport.FILE, path="-")


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


def feed_chunks(
    core: Core, i: int, feed: ReplayFeed | BatchFeed, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[int, list[StepResult]]]:
    """(bytes read, step results) per chunk of one feed; the feed is finished at the end."""
    if isinstance(feed, BatchFeed):
        for b in feed.batches:
            yield b.lines, add_batch(core, i, b)
    elif feed.fmt in WHOLE_FILE_FORMATS:
        batches = (
            archive_batches(feed.paths[0], i)
            if feed.fmt in ARCHIVE_FORMATS
            else file_batches(feed.paths[0], feed.fmt, i)
        )
        for b in batches:
            yield b.lines, add_batch(core, i, b)
    else:
        start = first_event_time(feed.paths[0], feed.spec)
        clock0 = start if start is not None else feed.paths[0].stat().st_mtime
        for p in feed.paths:
            # One receive time for the whole feed: a line without a time of its own gets the
            # recording's start (and is then placed by the lateness rule), whatever the cut.
            for ch in read_chunks(p, i, clock0, size=chunk_bytes):
                yield len(ch.data), core.ingest([ch])
    yield 0, core.finish_feed(i)


def add_batch(core: Core, i: int, b: Batch) -> list[StepResult]:
    """A decoded batch of feed ``i`` into the core's timeline; the steps it completes."""
    if b.rejects:
        core.metrics.add_rejects(b.rejects, core.feeds[i].name)
    if len(b):
        core.metrics.inc("mda_records_total", len(b), {"feed": core.feeds[i].name})
    core.lines_in += b.lines
    core._count_time(i, core.timeline.add(i, b, math.nan))
    return core.run_slices(core.timeline.release())


def replay_steps(
    core: Core, feeds: Sequence[ReplayFeed | BatchFeed], chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[int, list[StepResult]]]:
    """Every feed through ``core`` (built on the feeds' specs, in this order): (bytes read, step results).

    The feed furthest behind in event time reads next; the last item holds the steps of the flush.
    """
    readers = {i: feed_chunks(core, i, f, chunk_bytes) for i, f in enumerate(feeds)}
    while readers:
        i = min(readers, key=lambda k: (core.timeline.clock(k), k))
        try:
            yield next(readers[i])
        except StopIteration:
            del readers[i]
    yield 0, core.flush()
