"""Event-time steps: the pipeline advances in fixed slices of event time, never in input chunks.

Every report gets an *arrival time* ``a``: its own event time ``t``, or, when it comes more than
the allowed lateness ``L`` after the newest position its feed had already sent (the feed's
*clock*), ``clock - L``. Reports are held in a buffer and handed to the pipeline one
*slice* of arrival time at a time (slice ``k`` holds ``k * step_s <= a < (k + 1) * step_s``),
ordered by ``(a, feed, sequence number within the feed)``.

A slice is released once every feed that still delivers has a clock past its end plus ``L``
(the minimum of the feed clocks is the *release watermark*). Whether a report is late is
decided from the reports of its own feed that came before it, one by one, so it does not
depend on how the feed was cut into chunks; and a report that is not late can never arrive
after its slice was released. Together: the same reports, cut any way or interleaved with other
feeds in any order, give the same slices, hence the same pipeline steps and the same alerts.

Statics (identity reports) travel in the same slices; their lateness is judged against the
feed's clock at the start of their chunk, and a static without its own time keeps NaN and is
placed at that clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mdacentre.model.batch import Batch, concat_rows, empty_positions, empty_statics, take_rows

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass
class _Part:
    rows: npt.NDArray[np.void]
    arrival: FloatArray
    feed: IntArray
    seq: IntArray
    lowest: float


@dataclass
class _Held:
    """Reports of one kind (positions or statics) waiting for their slice, in parts as they came."""

    parts: list[_Part] = field(default_factory=list)
    count: int = 0

    def add(self, rows: npt.NDArray[np.void], arrival: FloatArray, feed: int, seq0: int) -> None:
        if len(rows) == 0:
            return
        self.parts.append(
            _Part(
                rows,
                arrival,
                np.full(len(rows), feed, dtype=np.int64),
                np.arange(seq0, seq0 + len(rows), dtype=np.int64),
                float(arrival.min()),
            )
        )
        self.count += len(rows)

    def take_before(self, cut: float) -> tuple[npt.NDArray[np.void], FloatArray] | None:
        """Remove and return the held reports with arrival < ``cut``, sorted (arrival, feed, seq)."""
        taken: list[_Part] = []
        kept: list[_Part] = []
        for part in self.parts:
            if part.lowest >= cut:
                kept.append(part)
                continue
            sel = part.arrival < cut
            if sel.all():
                taken.append(part)
                continue
            keep = ~sel
            taken.append(
                _Part(take_rows(part.rows, sel), part.arrival[sel], part.feed[sel], part.seq[sel], 0.0)
            )
            ka = part.arrival[keep]
            kept.append(
                _Part(take_rows(part.rows, keep), ka, part.feed[keep], part.seq[keep], float(ka.min()))
            )
        if not taken:
            return None
        self.parts = kept
        self.count = sum(len(p.arrival) for p in kept)
        rows = concat_rows([p.rows for p in taken])
        a = np.concatenate([p.arrival for p in taken])
        feed = np.concatenate([p.feed for p in taken])
        seq = np.concatenate([p.seq for p in taken])
        if _in_order(a, feed, seq):  # one feed in time order: already sorted, no copy
            return rows, a
        order = np.lexsort((seq, feed, a))
        return take_rows(rows, order), a[order]


@dataclass
class FeedClock:
    """One feed's position in event time."""

    clock: float = -math.inf  # newest position event time accepted from the feed
    seq: int = 0  # reports received (their order within the feed)
    finished: bool = False  # no more data will come (end of a recording)
    late: int = 0  # positions that came later than the allowed lateness


@dataclass
class Slice:
    """One pipeline step's input: the reports of one slice of arrival time."""

    index: int
    now: float  # the newest arrival time in the slice: the step's event time "now"
    batch: Batch


class EventSequencer:
    """Buffers decoded reports of several feeds and releases them in event-time slices."""

    def __init__(self, n_feeds: int, step_s: float = 10.0, lateness_s: float = 60.0) -> None:
        if step_s <= 0 or lateness_s < 0:
            raise ValueError("step_s must be > 0 and lateness_s >= 0")
        self.step_s = float(step_s)
        self.lateness_s = float(lateness_s)
        self.feeds = [FeedClock() for _ in range(n_feeds)]
        self._pos = _Held()
        self._sta = _Held()
        self.released_until = -math.inf  # arrival times below this were handed to the pipeline

    # -- input -------------------------------------------------------------------------------
    def add(self, feed: int, batch: Batch) -> None:
        """Take the reports of one decoded chunk of ``feed`` (positions and statics in line order)."""
        fc = self.feeds[feed]
        lat = self.lateness_s
        pos = batch.positions
        clock0 = fc.clock
        if len(pos):
            t = pos["t"].astype(np.float64, copy=False)
            run = np.fmax.accumulate(np.concatenate(([clock0], t)))
            before = run[:-1]  # the feed's clock when each position came
            floor = before - lat
            late = t < floor
            a = np.where(late | np.isnan(t), floor, t)
            a = np.maximum(a, self.released_until)
            fc.late += int(late.sum())
            fc.clock = float(run[-1])
            self._pos.add(pos, a, feed, fc.seq)
            fc.seq += len(pos)
        st = batch.statics
        if len(st):
            ts = st["t"].astype(np.float64, copy=False)
            ref = clock0 - lat
            untimed = np.isnan(ts)
            a_s = np.where(untimed, clock0, np.fmax(ts, ref))
            a_s = np.maximum(a_s, self.released_until)
            self._sta.add(st, a_s, feed, fc.seq)
            fc.seq += len(st)

    def finish(self, feed: int) -> None:
        """The feed will send nothing more (a recording ended): it no longer holds slices back."""
        self.feeds[feed].finished = True

    # -- output ------------------------------------------------------------------------------
    def watermark(self, active: set[int] | None = None) -> float:
        """Release watermark: the lowest clock of the feeds that still deliver, minus the lateness.

        ``active`` limits the feeds that count (live service: feeds heard from recently); by
        default every unfinished feed counts, including ones that have sent nothing yet.
        """
        clocks = [
            f.clock for i, f in enumerate(self.feeds) if not f.finished and (active is None or i in active)
        ]
        if not clocks:
            return math.inf if active is None else -math.inf
        return min(clocks) - self.lateness_s

    def release(self, active: set[int] | None = None) -> list[Slice]:
        """Slices that no feed can still add to, oldest first."""
        wm = self.watermark(active)
        if wm == math.inf:
            return self.flush()
        if not math.isfinite(wm):
            return []
        cut = math.floor(wm / self.step_s) * self.step_s
        return self._take(cut)

    def release_until(self, cut: float) -> list[Slice]:
        """Every held report with arrival time before ``cut`` (the live service: no wait for lateness)."""
        return self._take(cut)

    def flush(self) -> list[Slice]:
        """Every held report, in slices (end of a replay, or a live service gone quiet)."""
        return self._take(math.inf)

    @property
    def held(self) -> int:
        return self._pos.count + self._sta.count

    def _take(self, cut: float) -> list[Slice]:
        if cut <= self.released_until:
            return []
        p = self._pos.take_before(cut)
        s = self._sta.take_before(cut)
        if math.isfinite(cut):
            self.released_until = cut
        else:
            top = max(
                [float(x[1][-1]) for x in (p, s) if x is not None and np.isfinite(x[1][-1])],
                default=self.released_until,
            )
            self.released_until = max(self.released_until, (math.floor(top / self.step_s) + 1) * self.step_s)
        if p is None and s is None:
            return []
        pk = _slice_index(p[1], self.step_s) if p is not None else np.empty(0, np.int64)
        sk = _slice_index(s[1], self.step_s) if s is not None else np.empty(0, np.int64)
        keys = np.union1d(pk, sk)
        out: list[Slice] = []
        p_lo = np.searchsorted(pk, keys, "left")
        p_hi = np.searchsorted(pk, keys, "right")
        s_lo = np.searchsorted(sk, keys, "left")
        s_hi = np.searchsorted(sk, keys, "right")
        for n, k in enumerate(keys.tolist()):
            positions = p[0][p_lo[n] : p_hi[n]] if p is not None else empty_positions()
            statics = s[0][s_lo[n] : s_hi[n]] if s is not None else empty_statics()
            now = -math.inf
            if p is not None and p_hi[n] > p_lo[n]:
                now = float(p[1][p_hi[n] - 1])
            if s is not None and s_hi[n] > s_lo[n]:
                now = max(now, float(s[1][s_hi[n] - 1]))
            out.append(Slice(int(k), now, Batch(positions=positions, statics=statics)))
        return out


def _in_order(a: FloatArray, feed: IntArray, seq: IntArray) -> bool:
    """Are the reports sorted by (arrival, feed, seq) already? (then the sort would not move them)"""
    if len(a) < 2:
        return True
    a0, a1 = a[:-1], a[1:]
    same_a = a1 == a0
    later = (feed[1:] > feed[:-1]) | ((feed[1:] == feed[:-1]) & (seq[1:] > seq[:-1]))
    return bool(np.all((a1 > a0) | (same_a & later)))


def _slice_index(a: FloatArray, step_s: float) -> IntArray:
    """Slice of each arrival time (``-inf``: slice of the smallest int64, before all others)."""
    k = np.floor(a / step_s)
    k[~np.isfinite(k)] = np.iinfo(np.int64).min
    return k.astype(np.int64)
