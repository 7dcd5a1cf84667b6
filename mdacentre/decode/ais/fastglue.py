"""The fast path held to the general path's rules: the glue between :class:`AisDecoder` and :mod:`.fast`.

The vectorised pass (:func:`mdacentre.decode.ais.fast.decode_lines_fast`) decodes the common
shapes of a chunk; these steps make its result count exactly as the general path would count
the same lines: bad values removed and counted, trailing-field times applied, receiving stations
and tag-block checksums counted, and two-sentence pairs kept only where pairing them apart
changes nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from mdacentre.decode.ais.fast import FastResult
from mdacentre.decode.ais.messages import Outcome, Rows
from mdacentre.decode.ais.nmea import Frame, LineKind, frame_lines, parse_trailer
from mdacentre.decode.ais.scan import IntArray
from mdacentre.decode.ais.sentences import fragment_number
from mdacentre.decode.ais.tagblocks import station_counts, trailer_times
from mdacentre.ingest.framing import LineBuffer
from mdacentre.model.batch import take_rows
from mdacentre.model.rejects import Reject

MAX_PENDING = 10_000  # fragment groups kept at most; the oldest are expired beyond that


class FastPathSteps:
    """The fast-path steps of :class:`~mdacentre.decode.ais.decoder.AisDecoder` (a mixin: it uses its counters)."""

    feed: int
    fast_lines: int
    outcomes: Counter[str]
    heard_by: Counter[str]
    tag_checksum_mismatch: int
    _pending: dict[tuple[Any, ...], Any]
    _header_time: float
    _default_station: str

    def _count(self, out: Rows, outcome: str, n: int = 1) -> None:
        raise NotImplementedError

    def _group_key(self, frame: Frame, station: str) -> tuple[Any, ...]:
        raise NotImplementedError

    def _apply_fast(self, lines: LineBuffer, fr: FastResult, out: Rows) -> FastResult:
        """The fast path's result over ``lines``, held to the general path's rules.

        Returns it with the position rows cleaned as the general path would (bad values
        removed and counted, trailing-field times applied, two-sentence pairs counted).
        """
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
        self, lines: LineBuffer, fr: FastResult, rest_index: list[int], out: Rows
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
        several fields) by :func:`~mdacentre.decode.ais.nmea.parse_trailer`. Returns the receiving station
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

        Same counts as the general path's :func:`~mdacentre.decode.ais.nmea.parse_tag_block`, from the tag
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
