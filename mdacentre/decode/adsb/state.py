"""What is known about each aircraft between messages, and the rows it gives (shared by the Mode S and SBS decoders)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from mdacentre.model.batch import (
    Batch,
    PositionArray,
    StaticArray,
    TrackKind,
    empty_positions,
    empty_statics,
    make_key,
)

STATE_TTL_S = 600.0
EVICT_EVERY_S = 60.0


class FlightMsgType(IntEnum):
    """``msg_type`` for aircraft rows that did not come from a raw Mode S frame.

    Raw frames use ``100 + typecode`` (DF17/18, 100..131) or ``100 + DF`` (others).
    SBS rows use ``140 + n`` for ``MSG,n``.
    """

    SBS_BASE = 140
    AIRCRAFT_JSON = 150
    OPENSKY = 151
    READSB_TRACE = 152


class AircraftState:
    """What is known about one aircraft (one object per aircraft, not per message)."""

    __slots__ = (
        "alt",
        "callsign",
        "even",
        "gs",
        "heading",
        "last_t",
        "odd",
        "on_ground",
        "pos",
        "pos_t",
        "squawk",
        "track",
        "vrate",
    )

    def __init__(self) -> None:
        self.alt = math.nan
        self.gs = math.nan
        self.track = math.nan
        self.heading = math.nan
        self.vrate = math.nan
        self.squawk = -1
        self.callsign = ""
        self.on_ground = -1
        self.last_t = -math.inf
        self.pos: tuple[float, float] | None = None
        self.pos_t = -math.inf
        # pending CPR frames: (t, lat_raw, lon_raw, surface)
        self.even: tuple[float, int, int, bool] | None = None
        self.odd: tuple[float, int, int, bool] | None = None


class AircraftMemory:
    """Per-aircraft state shared by the Mode S and SBS decoders, with time-based eviction."""

    def __init__(self, ttl_s: float = STATE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self.states: dict[int, AircraftState] = {}
        self.trusted: set[int] = set()
        self._next_sweep = -math.inf

    def get(self, ident: int, t: float) -> AircraftState:
        st = self.states.get(ident)
        if st is None:
            st = AircraftState()
            self.states[ident] = st
        st.last_t = max(st.last_t, t)
        return st

    def sweep(self, now: float) -> None:
        """Forget aircraft not heard for ``ttl_s`` (runs at most every EVICT_EVERY_S)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + EVICT_EVERY_S
        stale = [k for k, s in self.states.items() if now - s.last_t > self.ttl_s]
        for k in stale:
            del self.states[k]
            self.trusted.discard(k)

    def __len__(self) -> int:
        return len(self.states)


@dataclass
class RowSink:
    """Collects aircraft rows column by column and turns them into a :class:`Batch`."""

    feed: int
    pos_cols: dict[str, list[float | int]] = field(default_factory=dict)
    stat_cols: dict[str, list[float | int | str]] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    internal_errors: int = 0  # messages lost to failures of the decoder itself (not of the input)

    _POS = (
        "ident",
        "t",
        "lat",
        "lon",
        "sog",
        "cog",
        "heading",
        "msg_type",
        "alt_ft",
        "vrate_fpm",
        "squawk",
        "on_ground",
    )
    _STAT = ("ident", "t", "msg_type", "name", "squawk")

    def __post_init__(self) -> None:
        self.pos_cols = {k: [] for k in self._POS}
        self.stat_cols = {k: [] for k in self._STAT}

    def reject(self, reason: str, n: int = 1) -> None:
        if n:
            self.rejects[str(reason)] = self.rejects.get(str(reason), 0) + n

    def position(
        self,
        ident: int,
        t: float,
        lat: float,
        lon: float,
        st: AircraftState,
        msg_type: int,
        on_ground: int,
        alt: float,
    ) -> None:
        c = self.pos_cols
        for k, v in (
            ("ident", ident),
            ("t", t),
            ("lat", lat),
            ("lon", lon),
            ("sog", st.gs),
            ("cog", st.track),
            ("heading", st.heading),
            ("msg_type", msg_type),
            ("alt_ft", alt),
            ("vrate_fpm", st.vrate),
            ("squawk", st.squawk),
            ("on_ground", on_ground),
        ):
            c[k].append(v)

    def static(self, ident: int, t: float, msg_type: int, st: AircraftState) -> None:
        c = self.stat_cols
        c["ident"].append(ident)
        c["t"].append(t)
        c["msg_type"].append(msg_type)
        c["name"].append(st.callsign)
        c["squawk"].append(st.squawk)

    def batch(self, lines: int) -> Batch:
        return Batch(
            positions=self._positions(),
            statics=self._statics(),
            rejects=dict(self.rejects),
            lines=lines,
            internal_errors=self.internal_errors,
        )

    def _positions(self) -> PositionArray:
        c = self.pos_cols
        out = empty_positions(len(c["ident"]))
        if len(out) == 0:
            return out
        for k in self._POS:
            out[k] = c[k]
        _fill_keys(out, self.feed)
        return out

    def _statics(self) -> StaticArray:
        c = self.stat_cols
        out = empty_statics(len(c["ident"]))
        if len(out) == 0:
            return out
        for k in self._STAT:
            out[k] = c[k]
        _fill_keys(out, self.feed)
        return out


def _fill_keys(out: npt.NDArray[np.void], feed: int) -> None:
    out["kind"] = int(TrackKind.AIRCRAFT)
    out["key"] = make_key(int(TrackKind.AIRCRAFT), out["ident"])
    out["feed"] = feed
