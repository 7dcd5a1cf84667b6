"""AIS decoding stage: bytes -> frames (:mod:`mdacentre.decode.nmea`) -> messages (pyais) -> column batches.

:class:`AisDecoder` is one stateful decoder per feed. It keeps the fragments of multi-sentence
messages between calls, the pending ``$PGHP`` header, and (optionally) a de-duplication window.

Event time ``t`` of a message: tag-block ``c:`` (s, or ms above 1e11), else the preceding
``$PGHP`` header, else a USCG/exactEarth trailing epoch field, else ``receive_time``. For a
multi-sentence message the time of its first sentence is used.

Rows produced (see :mod:`mdacentre.model.batch`):

* positions from types 1, 2, 3, 18, 19, 27 (vessel), 9 (SAR aircraft; altitude metres -> feet),
  4, 11 (base station) and 21 (aid to navigation);
* statics from types 5, 19, 21, 24A, 24B and the IMO 289 dangerous cargo indication
  (DAC 1, FI 25) carried in type 8 (broadcast) or type 6 (addressed).

Payloads: armour is checked (an invalid character is a ``decode_error``; pyais would silently
map it). Chunks go first through the NumPy fast path (:mod:`mdacentre.decode.fastais`), which takes the
common shapes of every row type above; the lines it leaves are framed here one by one, the
high-volume position types read straight from the payload bits with pyais' own scaling, every
other type decoded by pyais (``MSG_CLASS[type].from_vector``). Both paths give identical rows,
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
* any :class:`~mdacentre.runtime.metrics.Reject` value (also in ``Batch.rejects``).

Sentences that wait for their other fragments are in :attr:`AisDecoder.pending_lines` until they
complete or expire (``orphan_fragment``). So at any time
``sum(outcomes.values()) + pending_lines == lines seen``, where lines seen counts a line holding
two glued sentences twice (the extra ones are in :attr:`AisDecoder.repaired_lines`).
"""

from __future__ import annotations

import base64
import gzip
import math
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from pyais.bit_vector import bit_vector
from pyais.exceptions import AISBaseException
from pyais.messages import MSG_CLASS

from mdacentre.decode.fastais import (
    FT_PER_M,
    FastResult,
    IntArray,
    LineBuffer,
    decode_lines_fast,
    fragment_number,
    station_counts,
    trailer_times,
)
from mdacentre.decode.faststatic import StaticLayout, decode_statics, leading_bytes
from mdacentre.decode.nmea import Frame, LineKind, frame_lines, parse_trailer, split_lines
from mdacentre.model.batch import (
    POSITION_DTYPE,
    STATIC_DTYPE,
    Batch,
    TrackKind,
    concat_rows,
    empty_positions,
    empty_statics,
    make_key,
    take_rows,
)
from mdacentre.model.rejects import Reject

NAN = math.nan
IGNORED_TYPE = "ignored_type"  # non-error outcome; proposed as Reject.IGNORED_TYPE
MAX_PENDING = 10_000  # fragment groups kept at most; the oldest are expired beyond that
MAX_MESSAGE_BITS = 1008  # 5 slots; longer reassembled messages are refused as too_long
# armoured payload characters: '0'..'W' and '`'..'w'
DECODE_FAILURES = (
    AISBaseException,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
)
_ARMOR = bytes(range(48, 88)) + bytes(range(96, 120))
_ARMOR_TO_B64 = bytes.maketrans(_ARMOR, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

_POSITION_KIND = {
    1: TrackKind.VESSEL,
    2: TrackKind.VESSEL,
    3: TrackKind.VESSEL,
    18: TrackKind.VESSEL,
    19: TrackKind.VESSEL,
    27: TrackKind.VESSEL,
    9: TrackKind.SAR_AIRCRAFT,
    4: TrackKind.BASE_STATION,
    11: TrackKind.BASE_STATION,
    21: TrackKind.AID_TO_NAVIGATION,
}
# direct path (no pyais object; the tests compare with pyais): bit offsets of
# (status, speed, lon, lat, course, heading), -1 when the type has no such field, and the bits needed
_FAST_LAYOUT: dict[int, tuple[int, ...]] = {
    1: (38, 50, 61, 89, 116, 128, 137),
    2: (38, 50, 61, 89, 116, 128, 137),
    3: (38, 50, 61, 89, 116, 128, 137),
    18: (-1, 46, 57, 85, 112, 124, 133),
    4: (-1, -1, 79, 107, -1, -1, 134),
    11: (-1, -1, 79, 107, -1, -1, 134),
}
_ROW_TYPES = frozenset((1, 2, 3, 4, 5, 6, 8, 9, 11, 18, 19, 21, 24, 27))


class Outcome(StrEnum):
    """Non-reject outcomes of a line (rejects use :class:`~mdacentre.runtime.metrics.Reject`)."""

    MESSAGE = "message"
    FRAGMENT = "fragment"
    HEADER = "header"
    IGNORED_TYPE = IGNORED_TYPE


class _BadValue(Exception):
    """Internal: a decoded field is out of range (becomes Reject.BAD_VALUE)."""


@dataclass(slots=True)
class _Pending:
    """Fragments of one multi-sentence message waiting for the rest."""

    total: int
    created: float  # receive time of the first fragment seen
    t: float = NAN  # event time of sentence 1
    station: str = ""
    parts: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # frag_num -> (payload, fill)


@dataclass(slots=True)
class _Out:
    """Rows and counts of one decode call."""

    positions: list[tuple[Any, ...]] = field(default_factory=list)
    statics: list[tuple[Any, ...]] = field(default_factory=list)
    rejects: Counter[str] = field(default_factory=Counter)
    # static rows decoded later in one NumPy pass (faststatic), and the order of all static rows
    static_seq: list[int] = field(default_factory=list)
    deferred: dict[StaticLayout, tuple[list[bytes], list[float], list[int]]] = field(default_factory=dict)
    n_static: int = 0

    def add_static(self, row: tuple[Any, ...]) -> None:
        self.statics.append(row)
        self.static_seq.append(self.n_static)
        self.n_static += 1

    def defer_static(self, layout: StaticLayout, blob: bytes, t: float) -> None:
        blobs, times, seq = self.deferred.setdefault(layout, ([], [], []))
        blobs.append(blob)
        times.append(t)
        seq.append(self.n_static)
        self.n_static += 1


class AisDecoder:
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
        out = _Out()
        self._expire(receive_time - self.fragment_timeout_s, out)
        lines: list[bytes] | LineBuffer = []
        if self.fast and data:  # one buffer and line offsets: no per-line objects
            lines = LineBuffer.of_chunk(data)
        if not isinstance(lines, LineBuffer) or lines.has_glued_sentences():
            lines, repaired = split_lines(data)
            self.repaired_lines += repaired
            if self.fast:
                lines = LineBuffer.of_lines(lines)
        fast: FastResult | None = None
        rest_index: list[int] | range = range(len(lines))
        if isinstance(lines, LineBuffer) and len(lines):
            fast = self._decode_fast(lines, receive_time, out)
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
            rest_index = np.flatnonzero(~(counted | fast.handled)).tolist()
        if fast is not None and isinstance(lines, LineBuffer) and isinstance(rest_index, list):
            rest_index, frames = self._settle_pairs(lines, fast, rest_index, out)
        else:
            frames = frame_lines(lines if isinstance(lines, list) else [])
        slow_line: list[int] = []
        slow_static_line: list[int] = []
        for i, frame in zip(rest_index, frames, strict=True):
            before, before_static = len(out.positions), out.n_static
            self._one(frame, receive_time, out)
            slow_line.extend([i] * (len(out.positions) - before))
            slow_static_line.extend([i] * (out.n_static - before_static))
        batch = self._batch(out, len(lines))
        if fast is not None:
            batch.positions = _merge_by_line(fast.positions, fast.line, batch.positions, slow_line)
            batch.statics = _merge_by_line(fast.statics, fast.static_line, batch.statics, slow_static_line)
        return batch

    def _decode_fast(self, lines: LineBuffer, receive_time: float, out: _Out) -> FastResult:
        """The NumPy fast path over ``lines``, held to the general path's rules.

        Returns its result with the position rows cleaned as the general path would (bad values
        removed and counted, trailing-field times applied, two-sentence pairs counted).
        """
        fr = decode_lines_fast(
            lines,
            receive_time,
            self.feed,
            first_follows_gatehouse=not math.isnan(self._header_time),
        )
        trailer_station = self._apply_trailers(lines, fr)
        pos, line = fr.positions, fr.line
        # an impossible course or heading is unknown; a position outside the globe is a bad value
        for col in ("cog", "heading"):
            v = pos[col]
            v[~((v >= 0) & (v < 360))] = np.nan
        lat, lon = pos["lat"], pos["lon"]
        unknown = np.isnan(lat) | np.isnan(lon) | (lat == 91.0) | (lon == 181.0)
        lat[unknown] = np.nan
        lon[unknown] = np.nan
        bad = ~unknown & ((np.abs(lat) > 90.0) | (np.abs(lon) > 180.0))
        n_bad = int(bad.sum())
        # a type 19 / 21 message made a position and a static row: one message, one station count;
        # two-sentence pairs are counted once settled (_settle_pairs)
        not_single = np.concatenate([fr.dual_line, fr.pair_line])
        static_only = (
            fr.static_line[~np.isin(fr.static_line, not_single)] if len(not_single) else fr.static_line
        )
        # stations as the general path counts them: every complete message, bad values too
        self._count_stations(fr, lines, np.concatenate([line, static_only, fr.ignored_line]), trailer_station)
        if n_bad:
            bad_lines = line[bad]
            fr.positions, fr.line = take_rows(pos, ~bad), line[~bad]
            self._count(out, Reject.BAD_VALUE, n_bad)
            if len(fr.dual_line):  # a bad type 19 / 21 position refuses the whole message
                keep = ~np.isin(fr.static_line, bad_lines)
                fr.statics, fr.static_line = take_rows(fr.statics, keep), fr.static_line[keep]
                fr.dual_line = fr.dual_line[~np.isin(fr.dual_line, bad_lines)]
        for reason, n in fr.rejects.items():
            self._count(out, reason, n)
        self.fast_lines += int(fr.handled.sum())
        self.outcomes[Outcome.MESSAGE] += (
            len(fr.positions) + len(fr.statics) - len(fr.dual_line) - len(fr.pair_line)
        )
        if len(fr.ignored_line):
            self._count(out, Outcome.IGNORED_TYPE, len(fr.ignored_line))
        return fr

    def _settle_pairs(
        self, lines: LineBuffer, fr: FastResult, rest_index: list[int], out: _Out
    ) -> tuple[list[int], list[Frame]]:
        """Keep the two-sentence messages the fast path paired only where pairing them apart changes nothing.

        A pair is kept when no fragment left to the general path in this chunk, and no message it
        is still assembling from earlier chunks, has its key (the general path, reading line by
        line, would have orphaned or completed across them); otherwise both its lines go back to
        the general path, as do all pairs when its table of waiting messages could fill up. Kept pairs are counted here: one
        message, one fragment, the station of the first sentence, the tag checksums of both.
        Returns the general path's lines and their frames.
        """
        frames = frame_lines([lines[i] for i in rest_index])
        if len(fr.pair_line) == 0:
            return rest_index, frames
        rest_keys = [
            fragment_number(self._group_key(f, ""))
            for f in frames
            if f.kind == LineKind.AIS and f.frag_cnt == 2
        ]
        if len(self._pending) + len(rest_keys) >= MAX_PENDING - 1:
            drop = np.ones(len(fr.pair_line), dtype=bool)  # the general path may evict: leave it all
        else:
            taken = rest_keys + [fragment_number(k) for k in self._pending]
            drop = np.isin(fr.pair_key, np.asarray(taken, dtype=np.int64))
        if drop.any():
            gone = fr.pair_line[drop]
            keep = ~np.isin(fr.static_line, gone)
            fr.statics, fr.static_line = take_rows(fr.statics, keep), fr.static_line[keep]
            back = fr.pair_first[drop]
            fr.pair_line, fr.pair_first, fr.pair_key = (
                fr.pair_line[~drop],
                fr.pair_first[~drop],
                fr.pair_key[~drop],
            )
            self.fast_lines -= 2 * len(gone)
            rest_index = sorted(rest_index + back.tolist() + gone.tolist())
            frames = frame_lines([lines[i] for i in rest_index])
        kept = len(fr.pair_line)
        if kept:
            self.outcomes[Outcome.MESSAGE] += kept
            self._count(out, Outcome.FRAGMENT, kept)  # the first sentence of each
            self._count_stations(fr, lines, fr.pair_first, {}, checksum_only=fr.pair_line)
        return rest_index, frames

    @staticmethod
    def _apply_trailers(lines: LineBuffer, fr: FastResult) -> dict[int, str]:
        """Event times of untagged lines with trailing fields, as the general path reads them.

        A trailer that is one number (``,1327664821``) is read in NumPy; others (stations,
        several fields) by :func:`~mdacentre.decode.nmea.parse_trailer`. Returns the receiving station
        named in the trailers, by line.
        """
        tl = fr.trailer_line
        if len(tl) == 0:
            return {}
        times, simple = trailer_times(lines.buf, fr.trailer_at, lines.ends[tl])
        stations: dict[int, str] = {}
        for m in np.flatnonzero(~simple).tolist():
            i = int(tl[m])
            t, st = parse_trailer(lines.data[int(fr.trailer_at[m]) : int(lines.ends[i])])
            times[m] = t
            if st:
                stations[i] = st
        for rows, ln in ((fr.positions, fr.line), (fr.statics, fr.static_line)):
            k = np.minimum(np.searchsorted(tl, ln), len(tl) - 1)
            hit = (tl[k] == ln) & ~np.isnan(times[k])
            if hit.any():
                rows["t"][hit] = times[k[hit]]
        return stations

    def _count_stations(
        self,
        fr: FastResult,
        lines: LineBuffer,
        line: IntArray,
        trailer_station: dict[int, str],
        checksum_only: IntArray | None = None,
    ) -> None:
        """The receiving station of each message (tag block ``s:``, trailer, else the feed), and tag checksums.

        Same counts as the general path's :func:`~mdacentre.decode.nmea.parse_tag_block`, from the tag
        blocks the fast path read while framing (``checksum_only``: second sentences, whose tag
        checksums count but which are no message of their own).
        """
        if trailer_station:
            named = [trailer_station[i] for i in line.tolist() if i in trailer_station]
            for name, n in Counter(named).items():
                self.heard_by[name] += n
            line = line[~np.isin(line, np.fromiter(trailer_station, dtype=np.int64))]
        tagged = line[lines.buf[lines.starts[line]] == ord("\\")]
        if len(line) > len(tagged):
            self.heard_by[self._default_station] += len(line) - len(tagged)
        if fr.tags is None:  # no line of the chunk has a tag block
            return
        if checksum_only is not None and len(checksum_only):
            more = checksum_only[lines.buf[lines.starts[checksum_only]] == ord("\\")]
            ok = fr.tags.take(np.searchsorted(fr.tag_line, more)).checksum_ok
            self.tag_checksum_mismatch += int(np.count_nonzero(~ok))
        if len(tagged) == 0:
            return
        blocks = fr.tags.take(np.searchsorted(fr.tag_line, tagged))
        self.tag_checksum_mismatch += int(np.count_nonzero(~blocks.checksum_ok))
        for st, n in station_counts(lines.buf, blocks).items():
            self.heard_by[st.decode("ascii", "replace") or self._default_station] += n

    def flush(self, now: float) -> Batch:
        """Expire fragments older than ``fragment_timeout_s`` (counted as ``orphan_fragment``)."""
        out = _Out()
        self._expire(now - self.fragment_timeout_s, out)
        return self._batch(out, 0)

    # ------------------------------------------------------------------ framing level

    def _count(self, out: _Out, outcome: str, n: int = 1) -> None:
        self.outcomes[outcome] += n
        if outcome not in (Outcome.MESSAGE, Outcome.FRAGMENT, Outcome.HEADER):
            out.rejects[outcome] += n

    def _one(self, frame: Frame, receive_time: float, out: _Out) -> None:
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
        t = self._event_time(frame, header_time, receive_time)
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

    def _fragment(self, frame: Frame, t: float, station: str, receive_time: float, out: _Out) -> None:
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

    def _orphan(self, key: tuple[Any, ...], out: _Out) -> None:
        group = self._pending.pop(key)
        self._count(out, Reject.ORPHAN_FRAGMENT, len(group.parts))

    def _expire(self, older_than: float, out: _Out) -> None:
        if not self._pending:
            return
        for key in [k for k, g in self._pending.items() if g.created < older_than]:
            self._orphan(key, out)

    # ------------------------------------------------------------------ messages

    def _message(self, payload: bytes, fill: int, t: float, station: str, nlines: int, out: _Out) -> None:
        """A complete message of ``nlines`` sentences: the last one carries its outcome."""
        if nlines > 1:
            self._count(out, Outcome.FRAGMENT, nlines - 1)
        outcome = self._classify(payload, fill, t, station, out)
        self._count(out, outcome)

    def _classify(self, payload: bytes, fill: int, t: float, station: str, out: _Out) -> str:
        if payload.translate(None, _ARMOR):
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
        if msg_type not in _ROW_TYPES:
            return Outcome.IGNORED_TYPE
        try:
            layout = _FAST_LAYOUT.get(msg_type)
            if layout is not None and nbits >= layout[-1]:
                out.positions.append(self._fast_position(msg_type, layout, value, nbits, t))
                return Outcome.MESSAGE
            if self.fast and msg_type in (5, 24):
                lay = _static_layout(msg_type, value, nbits)
                if lay is not None:
                    out.defer_static(lay, leading_bytes(value, nbits, int(lay)), t)
                    return Outcome.MESSAGE
            return self._rows(msg_type, bit_vector(payload, fill), t, out)
        except _BadValue:
            return Reject.BAD_VALUE
        except DECODE_FAILURES:  # pyais raises its own and plain errors on malformed payloads
            return Reject.DECODE_ERROR

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

    def _rows(self, msg_type: int, bv: Any, t: float, out: _Out) -> str:
        if msg_type in (6, 8):
            return self._cargo(msg_type, bv, t, out)
        msg = MSG_CLASS[msg_type].from_vector(bv)
        if msg_type in _POSITION_KIND:
            out.positions.append(self._position(msg_type, msg, t))
        if msg_type in (5, 19, 21, 24):
            out.add_static(self._static(msg_type, msg, t))
        return Outcome.MESSAGE

    def _fast_position(
        self, msg_type: int, layout: tuple[int, ...], value: int, nbits: int, t: float
    ) -> tuple[Any, ...]:
        """Types 1-4, 11 and 18 straight from the payload bits, scaled as pyais scales them (tests compare)."""
        status_at, speed_at, lon_at, lat_at, course_at, heading_at, _ = layout

        def get(start: int, width: int) -> int:
            return (value >> (nbits - start - width)) & ((1 << width) - 1)

        lat, lon = _lat_lon(_scaled_lat_lon(get(lat_at, 27), 27), _scaled_lat_lon(get(lon_at, 28), 28))
        sog = cog = heading = NAN
        if speed_at >= 0:
            sog = _num(get(speed_at, 10) / 10.0, 102.3)
            cog = _angle(get(course_at, 12) / 10.0, 360.0, 360)
            heading = _angle(get(heading_at, 9), 511, 360)
        nav = get(status_at, 4) if status_at >= 0 else -1
        kind = int(_POSITION_KIND[msg_type])
        return (
            0,
            kind,
            get(8, 30),
            t,
            lat,
            lon,
            sog,
            cog,
            heading,
            nav,
            msg_type,
            NAN,
            NAN,
            -1,
            -1,
            self.feed,
        )

    def _position(self, msg_type: int, msg: Any, t: float) -> tuple[Any, ...]:
        lat, lon = _lat_lon(msg.lat, msg.lon)
        sog = cog = heading = alt = NAN
        nav = -1
        if msg_type == 27:
            sog = _num(msg.speed, 63)
            cog = _angle(msg.course, 511, 360)
            nav = _int(msg.status, -1)
        elif msg_type == 9:
            sog = _num(msg.speed, 1023)
            cog = _angle(msg.course, 360.0, 360)
            raw_alt = _num(msg.alt, 4095)
            alt = raw_alt * FT_PER_M
        elif msg_type in (1, 2, 3, 18, 19):
            sog = _num(msg.speed, 102.3)
            cog = _angle(msg.course, 360.0, 360)
            heading = _angle(msg.heading, 511, 360)
            if msg_type < 4:
                nav = _int(msg.status, -1)
        kind = int(_POSITION_KIND[msg_type])
        mmsi = int(msg.mmsi)
        return (0, kind, mmsi, t, lat, lon, sog, cog, heading, nav, msg_type, alt, NAN, -1, -1, self.feed)

    def _static(self, msg_type: int, msg: Any, t: float) -> tuple[Any, ...]:
        name = callsign = destination = eta = ""
        imo = 0
        ship_type = -1
        length = beam = draught = NAN
        kind = TrackKind.VESSEL
        if msg_type == 24:
            if msg.partno == 0:
                name = _text(msg.shipname)
            else:
                ship_type = _ship_type(msg.ship_type)
                callsign = _text(msg.callsign)
                if not 980_000_000 <= int(msg.mmsi) <= 989_999_999:  # auxiliary craft: mothership MMSI
                    length, beam = _dims(msg)
        elif msg_type == 21:
            kind = TrackKind.AID_TO_NAVIGATION
            name = _text(_text(msg.name) + _text(getattr(msg, "name_ext", "")))
            length, beam = _dims(msg)
        else:  # 5 and 19
            name = _text(msg.shipname)
            ship_type = _ship_type(msg.ship_type)
            length, beam = _dims(msg)
            if msg_type == 5:
                callsign = _text(msg.callsign)
                imo = _int(msg.imo, 0)
                draught = _num(msg.draught, 0.0)
                destination = _text(msg.destination)
                eta = _eta(msg.month, msg.day, msg.hour, msg.minute)
        mmsi = int(msg.mmsi)
        return (
            0, int(kind), mmsi, t, msg_type, name, callsign, imo, ship_type,
            length, beam, draught, destination, eta, NAN, -1, self.feed,
        )  # fmt: skip

    def _cargo(self, msg_type: int, bv: Any, t: float, out: _Out) -> str:
        """IMO 289 dangerous cargo indication (DAC 1, FI 25) in type 8 or the addressed type 6."""
        base = 56 if msg_type == 8 else 88  # first bit after the FI field
        if len(bv) < base or bv.get(base - 16, 10) != 1 or bv.get(base - 6, 6) != 25:
            return Outcome.IGNORED_TYPE
        imdg = imdg_class_from_cargo_bits(bv, base + 12, len(bv))
        if math.isnan(imdg):
            return Outcome.IGNORED_TYPE
        mmsi = bv.get(8, 30)
        out.add_static(
            (
                0,
                int(TrackKind.VESSEL),
                mmsi,
                t,
                msg_type,
                "",
                "",
                0,
                -1,
                NAN,
                NAN,
                NAN,
                "",
                "",
                imdg,
                -1,
                self.feed,
            )
        )
        return Outcome.MESSAGE

    # ------------------------------------------------------------------ output

    def _batch(self, out: _Out, nlines: int) -> Batch:
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
        return Batch(positions=positions, statics=statics, rejects=dict(out.rejects), lines=nlines)


# ---------------------------------------------------------------------- field helpers


def imdg_class_from_cargo_bits(bv: Any, start: int, end: int) -> float:
    """First IMDG class in the 17-bit cargo records (4-bit code, 13-bit subtype) from ``start``.

    Code 1 (IMDG, packed) and 3 (BC code) carry a 7-bit packed IMDG value: class in the upper
    4 bits, division in the lower 3 (``2.1`` -> class 2, division 1). Returns NaN when none.
    """
    pos = start
    while pos + 17 <= end:
        code = bv.get(pos, 4)
        sub = bv.get(pos + 4, 13)
        packed = sub >> 6 if code == 1 else (sub >> 3) & 0x7F if code == 3 else 0
        cls, div = packed >> 3, packed & 7
        if 1 <= cls <= 9:
            return cls + div / 10.0
        pos += 17
    return NAN


def _merge_by_line(
    fast: np.ndarray, fast_line: IntArray, slow: np.ndarray, slow_line: list[int]
) -> np.ndarray:
    """Rows of the fast and the general path in input-line order (stable within a line)."""
    if len(fast) == 0:
        return slow
    if len(slow) == 0:
        return fast
    order = np.argsort(np.concatenate([fast_line, np.asarray(slow_line, dtype=np.int64)]), kind="stable")
    return take_rows(concat_rows([fast, slow]), order)


def _static_layout(msg_type: int, value: int, nbits: int) -> StaticLayout | None:
    """The vectorised layout of a type 5 / 24 message, None when pyais must decode it (short, part 2/3)."""
    if msg_type == 5:
        return StaticLayout.TYPE5 if nbits >= StaticLayout.TYPE5 else None
    part = (value >> (nbits - 40)) & 3
    if part == 0 and nbits >= StaticLayout.PART_A:
        return StaticLayout.PART_A
    if part == 1 and nbits >= StaticLayout.PART_B:
        return StaticLayout.PART_B
    return None


def payload_bits(payload: bytes, fill: int) -> tuple[int, int]:
    """The armoured 6-bit payload as one integer and its bit count (fill bits removed).

    The armour is mapped onto the base64 alphabet so that ``b64decode`` does the 6-to-8 bit
    repacking in C; the payload must hold armour characters only (checked by the caller).
    """
    pad = -len(payload) % 4
    raw = base64.b64decode(payload.translate(_ARMOR_TO_B64) + b"A" * pad)
    return int.from_bytes(raw, "big") >> (6 * pad + fill), 6 * len(payload) - fill


def _scaled_lat_lon(raw: int, width: int) -> float:
    """Two's complement 1/10000 minutes to degrees, rounded to 1e-6 exactly as pyais does."""
    if raw >= 1 << (width - 1):
        raw -= 1 << width
    return ((10 * raw + 3) // 6) / 1e6


def _lat_lon(lat: float | None, lon: float | None) -> tuple[float, float]:
    if lat is None or lon is None or lat == 91.0 or lon == 181.0:
        return NAN, NAN
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise _BadValue()
    return float(lat), float(lon)


def _num(value: float | None, unavailable: float) -> float:
    if value is None or value == unavailable:
        return NAN
    return float(value)


def _angle(value: float | None, unavailable: float, limit: float) -> float:
    if value is None or value == unavailable or not 0 <= value < limit:
        return NAN
    return float(value)


def _int(value: Any, missing: int) -> int:
    return missing if value is None else int(value)


def _text(value: str | None) -> str:
    return (value or "").rstrip("@ ").strip()


def _ship_type(value: Any) -> int:
    if value is None:
        return -1
    v = int(value)
    return v if 1 <= v <= 99 else -1


def _dims(msg: Any) -> tuple[float, float]:
    bow, stern, port, star = msg.to_bow, msg.to_stern, msg.to_port, msg.to_starboard
    length = float(bow + stern) if bow is not None and stern is not None and bow + stern > 0 else NAN
    beam = float(port + star) if port is not None and star is not None and port + star > 0 else NAN
    return length, beam


def _eta(month: int | None, day: int | None, hour: int | None, minute: int | None) -> str:
    if month is None or day is None or hour is None or minute is None:
        return ""
    if month == 0 and day == 0 and hour == 24 and minute == 60:
        return ""
    return f"{month:02d}-{day:02d} {hour:02d}:{minute:02d}"


def decode_file(path: Path, *, chunk_lines: int = 20000, feed: int = 0) -> Iterator[Batch]:
    """Decode a plain or gzip-compressed AIS file in chunks of ``chunk_lines`` lines.

    Lines with no time of their own (no tag block ``c:``, ``$PGHP`` header or trailing epoch)
    get the file's modification time as event time. Fragments still waiting at the end of the
    file are expired and reported (``orphan_fragment``) in a last batch with ``lines == 0``.
    """
    path = Path(path)
    mtime = path.stat().st_mtime
    decoder = AisDecoder(feed)
    with _open(path) as fh:
        chunk: list[bytes] = []
        for line in fh:
            chunk.append(line)
            if len(chunk) >= chunk_lines:
                yield decoder.decode(b"".join(chunk), mtime)
                chunk = []
        if chunk:
            yield decoder.decode(b"".join(chunk), mtime)
    tail = decoder.flush(math.inf)
    if tail.rejects:
        yield tail


def _open(path: Path) -> Any:
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")
