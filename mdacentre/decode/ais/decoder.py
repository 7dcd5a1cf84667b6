"""AIS decoding stage: bytes -> frames (:mod:`.nmea`) -> messages (pyais) -> column batches.

:class:`AisDecoder` is one stateful decoder per feed. It keeps the fragments of multi-sentence
messages between calls, the pending ``$PGHP`` header, and (optionally) a de-duplication window.

Event time ``t`` of a message: tag-block ``c:`` (s, or ms above 1e11), else the preceding
``$PGHP`` header, else a USCG/exactEarth trailing epoch field, else the line's receive time:
the Unix time in front of the line when a logger wrote one (``1452468552.938 !AIVDM,...``,
:func:`~mdacentre.decode.ais.sentences.unix_time_prefixes`), else ``receive_time``. For a
multi-sentence message the time of its first sentence is used.

Rows produced (see :mod:`mdacentre.model.batch`):

* positions from types 1, 2, 3, 18, 19, 27 (vessel), 9 (SAR aircraft; altitude metres -> feet),
  4, 11 (base station) and 21 (aid to navigation);
* statics from types 5, 19, 21, 24A, 24B and the IMO 289 dangerous cargo indication
  (DAC 1, FI 25) carried in type 8 (broadcast) or type 6 (addressed).

Payloads: armour is checked (an invalid character is a ``decode_error``; pyais would silently
map it). Chunks go first through the NumPy fast path (:mod:`.fast`, held to the general path's
rules by :mod:`.fastglue`), which takes the
common shapes of every row type above; the lines it leaves are framed here one by one, the
position reports read straight from the payload bits at the offsets of the one bit layout
(:mod:`.layout`), every other type decoded by pyais (:mod:`.messages`). Both paths give identical rows,
counts and stations (tests compare them, and each with plain pyais, on every real recording).

Value conventions: "not available" values become NaN / -1 (lat 91, lon 181, sog 102.3, cog 360,
heading 511, type 27 speed 63 / course 511, type 9 altitude 4095 / speed 1023, ship type 0,
draught 0, dimensions 0). A report whose position is "not available" still yields a row with NaN
lat/lon (later stages ignore NaN positions). A latitude or longitude outside the valid range that
is not the "not available" code rejects the message as ``bad_value``. Course >= 360 and heading
> 359 that are not valid become NaN. Text fields lose their ``@`` padding and trailing blanks.

Accounting: every input line ends up in exactly one category of :attr:`AisDecoder.outcomes`
(cumulative over the decoder's life):

* ``message`` - the last (or only) sentence of a message that produced rows;
* ``fragment`` - an earlier sentence of a multi-sentence message that was reassembled
  (a duplicate's earlier sentences also count here);
* ``header`` - a ``$PGHP`` header line;
* ``ignored_type`` - a message of a known type that this stage does not turn into rows
  (6, 7, 8 other than FI 25, 10, 12-17, 20, 22, 23, 25, 26); also reported in ``Batch.rejects``
  under ``"ignored_type"`` so that the per-batch rejects account for it;
* any :class:`~mdacentre.model.rejects.Reject` value (also in ``Batch.rejects``);
* ``internal_error`` - a line on which this decoder itself failed (a bug, not bad input): logged
  with its traceback and counted in ``Batch.internal_errors``, never as a reject.

Sentences that wait for their other fragments are in :attr:`AisDecoder.pending_lines` until they
complete or expire (``orphan_fragment``). So at any time
``sum(outcomes.values()) + pending_lines == lines seen``, where lines seen counts a line holding
two glued sentences twice (the extra ones are in :attr:`AisDecoder.repaired_lines`).
"""

from __future__ import annotations

import gzip
import logging
import math
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mdacentre.decode.ais.fast import FastResult, decode_lines_fast
from mdacentre.decode.ais.fastglue import MAX_PENDING, FastPathSteps
from mdacentre.decode.ais.messages import (
    ARMOR,
    ROW_TYPES,
    Outcome,
    Rows,
    merge_by_line,
    message_rows,
    payload_bits,
)
from mdacentre.decode.ais.nmea import Frame, LineKind, frame_lines, split_lines
from mdacentre.decode.ais.scan import Marks, glued_sentences
from mdacentre.decode.ais.sentences import unix_time_prefixes
from mdacentre.decode.ais.statics import decode_statics
from mdacentre.ingest.framing import LineBuffer, read_lines
from mdacentre.model.batch import (
    POSITION_DTYPE,
    STATIC_DTYPE,
    Batch,
    concat_rows,
    empty_positions,
    empty_statics,
    make_key,
    take_rows,
)
from mdacentre.model.rejects import Reject

NAN = math.nan
MAX_MESSAGE_BITS = 1008  # 5 slots; longer reassembled messages are refused as too_long
_LOGGED_TRACEBACKS = 5  # internal errors logged with their traceback; then one line per 1000

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    """Fragments of one multi-sentence message waiting for the rest."""

    total: int
    created: float  # receive time of the first fragment seen
    t: float = NAN  # event time of sentence 1
    station: str = ""
    parts: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # frag_num -> (payload, fill)


class AisDecoder(FastPathSteps):
    """Stateful AIS decoder for one feed (see the module docstring for the rules).

    Attributes exposed for monitoring and tests: ``outcomes`` (line accounting), ``heard_by``
    (complete messages per receiving station, tag ``s:`` or trailing station, ``feed<N>`` when
    neither), ``duplicates_by`` (duplicates per station), ``tag_checksum_mismatch``,
    ``repaired_lines`` and ``pending_lines``.
    """

    def __init__(
        self,
        feed: int = 0,
        *,
        dedup_window_s: float = 0.0,
        fragment_timeout_s: float = 60.0,
        fast: bool = True,
    ) -> None:
        self.feed = feed
        # The NumPy fast path takes the common single-sentence position reports; with dedup on,
        # every sentence must pass the dedup window, so the fast path is off.
        self.fast = fast and dedup_window_s <= 0
        self.fast_lines = 0
        self.dedup_window_s = float(dedup_window_s)
        self.fragment_timeout_s = float(fragment_timeout_s)
        self.outcomes: Counter[str] = Counter()
        self.heard_by: Counter[str] = Counter()
        self.duplicates_by: Counter[str] = Counter()
        self.tag_checksum_mismatch = 0
        self.repaired_lines = 0
        self.internal_errors = 0
        self._pending: dict[tuple[Any, ...], _Pending] = {}
        self._seen: dict[bytes, float] = {}
        self._seen_order: deque[tuple[float, bytes]] = deque()
        self._header_time = NAN
        self._default_station = f"feed{feed}"

    # ------------------------------------------------------------------ public API

    @property
    def pending_lines(self) -> int:
        """Sentences held while waiting for the other fragments of their message."""
        return sum(len(p.parts) for p in self._pending.values())

    def decode(self, data: bytes, receive_time: float) -> Batch:
        """Decode whole lines (``\\n`` or ``\\r\\n`` separated; a last line without newline counts)."""
        out = Rows()
        self._expire(receive_time - self.fragment_timeout_s, out)
        lines = LineBuffer.of_chunk(data)  # one buffer and line offsets: no per-line objects
        marks = Marks(lines.buf)
        if len(lines) and glued_sentences(lines.buf, marks):
            parts, repaired = split_lines(data)
            self.repaired_lines += repaired
            lines = LineBuffer.of_lines(parts)
            marks = Marks(lines.buf)
        starts, line_time = unix_time_prefixes(lines.buf, lines.starts, lines.ends, receive_time)
        if starts is not lines.starts:
            lines = lines.with_starts(starts)
        fast = self._fast_pass(lines, line_time, out, marks) if self.fast and len(lines) else None
        rest_index: list[int]
        if fast is not None:
            # other NMEA sentences ($GPGGA, $AIALR ...) need no decoder, only counting; one right
            # after a possible $PGHP header ('$' and not other) stays: it ends that header's scope
            other = fast.other_nmea
            after_header = np.zeros(len(lines), dtype=bool)
            after_header[0] = not math.isnan(self._header_time)
            after_header[1:] = fast.dollar[:-1] & ~other[:-1]
            counted = other & ~after_header
            n_other = int(counted.sum())
            if n_other:
                self._count(out, Reject.OTHER_NMEA, n_other)
            rest_index, frames = self._settle_pairs(
                lines, fast, np.flatnonzero(~(counted | fast.handled)).tolist(), out
            )
        else:
            rest_index, frames = list(range(len(lines))), frame_lines(lines.lines())
        times = line_time.tolist() if isinstance(line_time, np.ndarray) else None
        slow_line: list[int] = []
        slow_static_line: list[int] = []
        for i, frame in zip(rest_index, frames, strict=True):
            before, before_static = len(out.positions), out.n_static
            try:
                self._one(frame, receive_time if times is None else times[i], receive_time, out)
            except Exception:  # a bug of this decoder, not bad input: logged, counted apart
                self.outcomes[Outcome.INTERNAL_ERROR] += 1  # the line's outcome
                self._internal_error(out, "line %d of the chunk: %r", i, lines[i][:120])
            slow_line.extend([i] * (len(out.positions) - before))
            slow_static_line.extend([i] * (out.n_static - before_static))
        batch = self._batch(out, len(lines))
        if fast is not None:
            batch.positions = merge_by_line(fast.positions, fast.line, batch.positions, slow_line)
            batch.statics = merge_by_line(fast.statics, fast.static_line, batch.statics, slow_static_line)
        return batch

    def _fast_pass(
        self, lines: LineBuffer, line_time: float | npt.NDArray[np.float64], out: Rows, marks: Marks
    ) -> FastResult | None:
        """The vectorised pass over the chunk; None (and the chunk goes the general way) if it fails."""
        try:
            fr = decode_lines_fast(
                lines,
                line_time,
                self.feed,
                first_follows_gatehouse=not math.isnan(self._header_time),
                marks=marks,
            )
        except Exception:  # a bug of the fast path: the general path still decodes every line
            self._internal_error(out, "fast path on a chunk of %d lines", len(lines))
            return None
        return self._apply_fast(lines, fr, out)

    def _internal_error(self, out: Rows, what: str, *args: object) -> None:
        """Count one failure of this decoder (not of its input), with its traceback in the log."""
        self.internal_errors += 1
        out.internal_errors += 1
        if self.internal_errors <= _LOGGED_TRACEBACKS or self.internal_errors % 1000 == 0:
            log.exception(
                "AIS decoder (feed %d) internal error #%d, " + what, self.feed, self.internal_errors, *args
            )

    def flush(self, now: float) -> Batch:
        """Expire fragments older than ``fragment_timeout_s`` (counted as ``orphan_fragment``)."""
        out = Rows()
        self._expire(now - self.fragment_timeout_s, out)
        return self._batch(out, 0)

    # ------------------------------------------------------------------ framing level

    def _count(self, out: Rows, outcome: str, n: int = 1) -> None:
        self.outcomes[outcome] += n
        if outcome not in (Outcome.MESSAGE, Outcome.FRAGMENT, Outcome.HEADER, Outcome.INTERNAL_ERROR):
            out.rejects[outcome] += n

    def _one(self, frame: Frame, line_time: float, receive_time: float, out: Rows) -> None:
        """One framed line; ``line_time`` is its receive time, ``receive_time`` the chunk's."""
        if frame.kind == LineKind.GATEHOUSE:
            self._header_time = frame.header_time
            self._count(out, Outcome.HEADER)
            return
        header_time = self._header_time
        self._header_time = NAN
        if frame.kind == LineKind.REJECT:
            assert frame.reject is not None
            self._count(out, frame.reject)
            return
        t = self._event_time(frame, header_time, line_time)
        tag = frame.tag
        if tag is not None and not tag.checksum_ok:
            self.tag_checksum_mismatch += 1
        station = (tag.source if tag is not None else "") or frame.trailer_station or self._default_station
        if frame.frag_cnt == 1:
            self._message(frame.payload, frame.fill, t, station, 1, out)
        else:
            self._fragment(frame, t, station, receive_time, out)

    @staticmethod
    def _event_time(frame: Frame, header_time: float, receive_time: float) -> float:
        tag = frame.tag
        if tag is not None and not math.isnan(tag.time):
            return tag.time
        if not math.isnan(header_time):  # its checksum field is the XOR over all sentences, or 00: not used
            return header_time
        if not math.isnan(frame.trailer_time):
            return frame.trailer_time
        return receive_time

    # ------------------------------------------------------------------ reassembly

    def _group_key(self, frame: Frame, station: str) -> tuple[Any, ...]:
        tag = frame.tag
        if tag is not None and tag.group_total == frame.frag_cnt and tag.group_id >= 0:
            # exactEarth style: later sentences carry only g:, so the group id is the key
            return ("g", tag.group_id, tag.group_total, frame.seq_id)
        source = (tag.source if tag is not None else "") or frame.trailer_station
        # without a named source the talker tells receivers apart; with one, aggregators may mix talkers
        talker = b"" if source else frame.talker
        return (source, talker, frame.channel, frame.seq_id, frame.frag_cnt)

    def _fragment(self, frame: Frame, t: float, station: str, receive_time: float, out: Rows) -> None:
        key = self._group_key(frame, station)
        group = self._pending.get(key)
        if group is not None and (frame.frag_num in group.parts or group.total != frame.frag_cnt):
            self._orphan(key, out)
            group = None
        if group is None:
            if len(self._pending) >= MAX_PENDING:
                self._orphan(next(iter(self._pending)), out)
            group = _Pending(total=frame.frag_cnt, created=receive_time, t=t, station=station)
            self._pending[key] = group
        if frame.frag_num == 1:
            group.t, group.station = t, station
        group.parts[frame.frag_num] = (frame.payload, frame.fill)
        if len(group.parts) < group.total:
            return
        del self._pending[key]
        payload = b"".join(group.parts[i][0] for i in range(1, group.total + 1))
        self._message(payload, group.parts[group.total][1], group.t, group.station, group.total, out)

    def _orphan(self, key: tuple[Any, ...], out: Rows) -> None:
        group = self._pending.pop(key)
        self._count(out, Reject.ORPHAN_FRAGMENT, len(group.parts))

    def _expire(self, older_than: float, out: Rows) -> None:
        if not self._pending:
            return
        for key in [k for k, g in self._pending.items() if g.created < older_than]:
            self._orphan(key, out)

    # ------------------------------------------------------------------ messages

    def _message(self, payload: bytes, fill: int, t: float, station: str, nlines: int, out: Rows) -> None:
        """A complete message of ``nlines`` sentences: the last one carries its outcome."""
        if nlines > 1:
            self._count(out, Outcome.FRAGMENT, nlines - 1)
        outcome = self._classify(payload, fill, t, station, out)
        self._count(out, outcome)

    def _classify(self, payload: bytes, fill: int, t: float, station: str, out: Rows) -> str:
        if payload.translate(None, ARMOR):
            return Reject.DECODE_ERROR
        if len(payload) * 6 - fill > MAX_MESSAGE_BITS:
            return Reject.TOO_LONG
        if self.dedup_window_s > 0 and self._duplicate(payload, fill, t, station):
            return Reject.DUPLICATE
        self.heard_by[station] += 1
        value, nbits = payload_bits(payload, fill)
        if nbits < 38:
            return Reject.DECODE_ERROR
        msg_type = value >> (nbits - 6)
        if msg_type == 0 or msg_type > 27:
            return Reject.UNKNOWN_TYPE
        if msg_type not in ROW_TYPES:
            return Outcome.IGNORED_TYPE
        return message_rows(msg_type, value, nbits, payload, fill, t, self.feed, out, defer_statics=self.fast)

    def _duplicate(self, payload: bytes, fill: int, t: float, station: str) -> bool:
        window = self.dedup_window_s
        order, seen = self._seen_order, self._seen
        while order and order[0][0] < t - window:
            old_t, old_key = order.popleft()
            if seen.get(old_key) == old_t:
                del seen[old_key]
        key = payload + bytes((48 + fill,))
        first = seen.get(key)
        if first is not None and abs(t - first) <= window:
            self.heard_by[station] += 1
            self.duplicates_by[station] += 1
            return True
        seen[key] = t
        order.append((t, key))
        return False

    # ------------------------------------------------------------------ output

    def _batch(self, out: Rows, nlines: int) -> Batch:
        positions = np.array(out.positions, dtype=POSITION_DTYPE) if out.positions else empty_positions()
        statics = np.array(out.statics, dtype=STATIC_DTYPE) if out.statics else empty_statics()
        if out.deferred:
            parts, seqs = [statics], [np.asarray(out.static_seq, dtype=np.int64)]
            for lay, (blobs, times, seq) in out.deferred.items():
                parts.append(decode_statics(lay, blobs, times, self.feed))
                seqs.append(np.asarray(seq, dtype=np.int64))
            statics = take_rows(concat_rows(parts), np.argsort(np.concatenate(seqs), kind="stable"))
        if len(positions):
            positions["key"] = make_key(positions["kind"], positions["ident"])
        if len(statics):
            statics["key"] = make_key(statics["kind"], statics["ident"])
        return Batch(
            positions=positions,
            statics=statics,
            rejects=dict(out.rejects),
            lines=nlines,
            internal_errors=out.internal_errors,
        )


def decode_file(path: Path, *, chunk_bytes: int = 1 << 20, feed: int = 0) -> Iterator[Batch]:
    """Decode a plain or gzip-compressed AIS file in chunks of whole lines of about ``chunk_bytes``.

    Lines with no time of their own (no tag block ``c:``, ``$PGHP`` header, trailing epoch or
    Unix-time prefix) get the file's modification time as event time. Fragments still waiting
    at the end of the file are expired and reported (``orphan_fragment``) in a last batch with
    ``lines == 0``.
    """
    path = Path(path)
    mtime = path.stat().st_mtime
    decoder = AisDecoder(feed)
    with _open(path) as fh:
        for data in read_lines(fh, chunk_bytes, name=path.name):
            yield decoder.decode(data, mtime)
    tail = decoder.flush(math.inf)
    if tail.rejects:
        yield tail


def _open(path: Path) -> Any:
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")
