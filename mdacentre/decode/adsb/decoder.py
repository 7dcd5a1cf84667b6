"""The stateful Mode S decoder: frames in, aircraft column batches out (and its AVR and Beast front ends).

Fields come from whole columns (:mod:`.fields`); only what is sequential by nature - CPR
even/odd pairing (:mod:`.cpr`) and "latest known" values per aircraft (:mod:`.state`) - runs
in a loop over the already-decoded columns, with one small slotted object per aircraft.

Output rows follow :mod:`mdacentre.model.batch`: aircraft positions carry the velocity,
barometric altitude and squawk last known for that aircraft; callsign and squawk changes
become static rows. ``msg_type`` is ``100 + typecode`` for DF17/18 and ``100 + DF`` for
other downlink formats; aggregator formats use :class:`FlightMsgType`.

CPR positions: an even/odd pair no more than :data:`CPR_PAIR_WINDOW_S` apart is decoded
globally; later single frames are decoded locally against the aircraft's last position
(no older than :data:`LOCAL_REF_MAX_AGE_S`). Surface positions always need a reference:
the aircraft's last position or the receiver location given as ``reference``.
A position that implies an impossible speed from the last accepted one is refused
(:attr:`Reject.BAD_VALUE`) unless the last position is older than :data:`JUMP_ACCEPT_AFTER_S`.

Event times: the 12 MHz MLAT counter in Beast/AVR frames is a free-running receiver clock,
not wall time, so frames get the ``receive_time`` of the chunk they arrived in.

A failure of this code itself (a bug, not bad input) while decoding a chunk is logged with its
traceback and counts the chunk's frames in ``Batch.internal_errors``, never as rejects.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from mdacentre.decode.adsb.cpr import cpr_global, cpr_local
from mdacentre.decode.adsb.fields import (
    AP_FORMATS,
    REJECT_CODES,
    Effect,
    F64Array,
    FrameFields,
    I64Array,
    U8Array,
    extract_fields,
)
from mdacentre.decode.adsb.framing import BeastFramer, classify_avr_line, hex_to_frames
from mdacentre.decode.adsb.state import STATE_TTL_S, AircraftMemory, AircraftState, RowSink
from mdacentre.ingest.framing import LineBuffer
from mdacentre.model.batch import Batch
from mdacentre.model.geodesy import M_PER_NM, point_distance_m
from mdacentre.model.rejects import Reject

CPR_PAIR_WINDOW_S = 10.0
LOCAL_REF_MAX_AGE_S = 180.0
SURFACE_REF_MAX_NM = 45.0
JUMP_ACCEPT_AFTER_S = 120.0
MAX_AIRBORNE_KT = 1000.0
MAX_SURFACE_KT = 150.0
POSITION_SLACK_NM = 3.0

_LOGGED_TRACEBACKS = 5  # failures logged with their traceback; then one line per 1000

log = logging.getLogger(__name__)


class ModeSDecoder:
    """Stateful Mode S decoder: frames in, aircraft column batches out.

    ``reference`` is the receiver location (lat, lon); it is needed for surface positions
    of aircraft with no airborne history and as a sanity anchor. Never raises on bad input.
    """

    def __init__(self, feed: int = 0, *, reference: tuple[float, float] | None = None) -> None:
        self.feed = feed
        self.reference = reference
        self.memory = AircraftMemory()
        self.df_counts = np.zeros(25, dtype=np.int64)  # frames seen per downlink format (24 = Comm-D)
        self.internal_errors = 0  # frames lost to failures of this code (not of the input)
        self._failures = 0

    # public entry points -----------------------------------------------------------------

    def decode_messages(self, hexmsgs: Sequence[str], times: npt.ArrayLike) -> Batch:
        """Decode hex frames (14 or 28 hex digits) with their event times (epoch seconds)."""
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        sink = RowSink(self.feed)
        if len(t) != len(hexmsgs):
            sink.reject(Reject.BAD_FRAME, len(hexmsgs))
            return sink.batch(len(hexmsgs))
        frames, nbytes, ok = hex_to_frames(hexmsgs)
        sink.reject(Reject.BAD_FRAME, int((~ok).sum()))
        self._decode(frames[ok], nbytes[ok], t[ok], sink)
        return sink.batch(len(hexmsgs))

    def decode_frames(self, frames: U8Array, nbytes: npt.ArrayLike, times: npt.ArrayLike) -> Batch:
        """Decode binary frames: ``frames`` (n, 14) uint8 left-aligned, ``nbytes`` 7 or 14."""
        sink = RowSink(self.feed)
        self._decode(frames, np.asarray(nbytes, dtype=np.int64), np.asarray(times, dtype=np.float64), sink)
        return sink.batch(len(frames))

    # internals -----------------------------------------------------------------------------

    def _decode(self, frames: U8Array, nbytes: I64Array, t: F64Array, sink: RowSink) -> None:
        finite = np.isfinite(t)
        if not finite.all():  # a frame without a usable time cannot take part in CPR pairing
            sink.reject(Reject.BAD_VALUE, int((~finite).sum()))
            frames, nbytes, t = frames[finite], nbytes[finite], t[finite]
        if len(frames) == 0:
            return
        try:
            fields = extract_fields(frames, nbytes)
        except Exception:  # a bug of this decoder, not bad input: logged, counted apart
            self._internal_error(sink, len(frames), "fields of %d frames", len(frames))
            return
        self.df_counts += np.bincount(fields.df, minlength=25)[:25]
        for code, reason in enumerate(REJECT_CODES):
            if reason is not None:
                sink.reject(reason, int((fields.reject == code).sum()))
        idx = np.flatnonzero(fields.valid)
        if len(idx) == 0:
            return
        self._apply(fields, idx, t, sink)
        self.memory.sweep(float(np.max(t[idx])))

    def _internal_error(self, sink: RowSink, n: int, what: str, *args: object) -> None:
        """Count ``n`` frames lost to a failure of this code, with its traceback in the log."""
        self.internal_errors += n
        sink.internal_errors += n
        self._failures += 1
        if self._failures <= _LOGGED_TRACEBACKS or self._failures % 1000 == 0:
            log.exception(
                "Mode S decoder (feed %d) internal error #%d, " + what, self.feed, self._failures, *args
            )

    def _apply(self, f: FrameFields, idx: I64Array, t: F64Array, sink: RowSink) -> None:
        cols = (
            f.df[idx].tolist(),
            f.icao[idx].tolist(),
            t[idx].tolist(),
            f.effect[idx].tolist(),
            f.msg_type[idx].tolist(),
            f.alt[idx].tolist(),
            f.squawk[idx].tolist(),
            f.on_ground[idx].tolist(),
            f.gs[idx].tolist(),
            f.track[idx].tolist(),
            f.heading[idx].tolist(),
            f.vrate[idx].tolist(),
            f.cpr_odd[idx].tolist(),
            f.cpr_lat[idx].tolist(),
            f.cpr_lon[idx].tolist(),
            f.callsign[idx].tolist(),
        )
        mem = self.memory
        for df, icao, ti, eff, mt, alt, sq, og, gs, trk, hdg, vr, odd, clat, clon, cs in zip(
            *cols, strict=True
        ):
            try:
                if df in AP_FORMATS:
                    if icao not in mem.trusted:
                        sink.reject(
                            Reject.BAD_CRC
                        )  # address parity not confirmed by a DF11/17/18 of that address
                        continue
                else:
                    mem.trusted.add(icao)
                st = mem.get(icao, ti)
                if og >= 0 and eff != Effect.SURFACE_POSITION and eff != Effect.AIRBORNE_POSITION:
                    st.on_ground = og
                if eff == Effect.VELOCITY:
                    _update_velocity(st, gs, trk, hdg, vr)
                    continue
                if not math.isnan(alt) and eff != Effect.SURFACE_POSITION:
                    st.alt = alt
                if sq >= 0 and sq != st.squawk:
                    st.squawk = sq
                    sink.static(icao, ti, mt, st)
                if eff == Effect.IDENT and cs and cs != st.callsign:
                    st.callsign = cs
                    sink.static(icao, ti, mt, st)
                elif eff == Effect.AIRBORNE_POSITION or eff == Effect.SURFACE_POSITION:
                    self._position(
                        sink, st, icao, ti, mt, bool(odd), clat, clon, eff == Effect.SURFACE_POSITION, gs, trk
                    )
            except Exception:  # a bug of this decoder, not bad input: logged, counted apart
                self._internal_error(sink, 1, "frame of %06X", icao)

    def _position(
        self,
        sink: RowSink,
        st: AircraftState,
        icao: int,
        t: float,
        mt: int,
        odd: bool,
        clat: int,
        clon: int,
        surface: bool,
        gs: float,
        trk: float,
    ) -> None:
        frame = (t, clat, clon, surface)
        other = st.even if odd else st.odd
        if odd:
            st.odd = frame
        else:
            st.even = frame
        pos = self._resolve(st, t, odd, (clat, clon), surface, other)
        if pos is None:
            return
        if not (-90.0 <= pos[0] <= 90.0) or not _plausible(st, t, pos, surface):
            sink.reject(Reject.BAD_VALUE)
            return
        st.pos, st.pos_t = pos, t
        st.on_ground = 1 if surface else 0
        if surface:
            _update_velocity(st, gs, trk, math.nan, 0.0)
            sink.position(icao, t, pos[0], pos[1], st, mt, 1, math.nan)
        else:
            sink.position(icao, t, pos[0], pos[1], st, mt, 0, st.alt)

    def _surface_ref(self, st: AircraftState, t: float) -> tuple[float, float] | None:
        if st.pos is not None and t - st.pos_t <= STATE_TTL_S:
            return st.pos
        return self.reference

    def _resolve(
        self,
        st: AircraftState,
        t: float,
        odd: bool,
        cpr: tuple[int, int],
        surface: bool,
        other: tuple[float, int, int, bool] | None,
    ) -> tuple[float, float] | None:
        ref = self._surface_ref(st, t) if surface else None
        if other is not None and other[3] == surface and abs(t - other[0]) <= CPR_PAIR_WINDOW_S:
            even_raw, odd_raw = ((other[1], other[2]), cpr) if odd else (cpr, (other[1], other[2]))
            pos = cpr_global(even_raw, odd_raw, odd, surface, ref)
            if pos is not None:
                return pos
        if surface:
            if ref is None:
                return None
            pos = cpr_local(cpr, odd, ref, surface=True)
            return pos if point_distance_m(pos, ref) <= SURFACE_REF_MAX_NM * M_PER_NM else None
        if st.pos is not None and 0.0 <= t - st.pos_t <= LOCAL_REF_MAX_AGE_S:
            return cpr_local(cpr, odd, st.pos)
        return None


def _update_velocity(st: AircraftState, gs: float, trk: float, hdg: float, vr: float) -> None:
    if not math.isnan(gs):
        st.gs = gs
    if not math.isnan(trk):
        st.track = trk
    if not math.isnan(hdg):
        st.heading = hdg
    if not math.isnan(vr):
        st.vrate = vr


def _plausible(st: AircraftState, t: float, pos: tuple[float, float], surface: bool) -> bool:
    """Speed check against the last accepted position (a jump is accepted after a quiet spell)."""
    if st.pos is None or t - st.pos_t > JUMP_ACCEPT_AFTER_S:
        return True
    limit = MAX_SURFACE_KT if surface else MAX_AIRBORNE_KT
    allowed = POSITION_SLACK_NM + limit * abs(t - st.pos_t) / 3600.0
    return point_distance_m(st.pos, pos) <= allowed * M_PER_NM


class AvrDecoder:
    """AVR text (``*hex;`` / ``@ticks hex;`` / ``<ticks rssi hex;``) lines to batches."""

    def __init__(self, feed: int = 0, *, reference: tuple[float, float] | None = None) -> None:
        self.modes = ModeSDecoder(feed, reference=reference)

    def decode(self, data: bytes, receive_time: float) -> Batch:
        """Decode whole lines; every line is either decoded or counted under a reject reason."""
        lines = LineBuffer.of_chunk(data).lines()
        hexes: list[str] = []
        rejects: dict[str, int] = {}
        for line in lines:
            text, reason = classify_avr_line(line)
            if text is None:
                rejects[reason] = rejects.get(reason, 0) + 1
            else:
                hexes.append(text)
        out = self.modes.decode_messages(hexes, np.full(len(hexes), receive_time))
        for k, v in rejects.items():
            out.rejects[k] = out.rejects.get(k, 0) + v
        out.lines = len(lines)
        return out


class BeastDecoder:
    """Beast binary stream to batches; partial frames are kept until the next call."""

    def __init__(self, feed: int = 0, *, reference: tuple[float, float] | None = None) -> None:
        self.framer = BeastFramer()
        self.modes = ModeSDecoder(feed, reference=reference)

    def decode(self, data: bytes, receive_time: float) -> Batch:
        chunk = self.framer.feed(data)
        out = self.modes.decode_frames(chunk.frames, chunk.nbytes, np.full(len(chunk.frames), receive_time))
        for k, v in chunk.rejects.items():
            out.rejects[k] = out.rejects.get(k, 0) + v
        out.lines = chunk.count
        return out
