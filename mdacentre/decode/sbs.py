"""SBS-1 / BaseStation CSV (port 30003, ``MSG,1`` .. ``MSG,8``) to aircraft column batches.

A line has 22 comma-separated fields::

    MSG,3,1,1,4CA2D6,1,2018/06/26,17:12:10.000,2018/06/26,17:12:10.000,,125,,,17.93513,-76.78634,,,0,0,0,0
    0   1 2 3 4      5 6          7            8          9            10 11 12 13 14 15 16 17 18 19 20 21
    type  ...  hex ident, generated date/time, logged date/time, callsign, altitude, ground speed, track,
    lat, lon, vertical rate, squawk, alert, emergency, SPI, on ground (-1 or 1 = true)

The decoder is type-agnostic: every non-empty field updates the aircraft's state, and a
line with lat/lon becomes a position row carrying the latest known velocity, altitude and
squawk. Callsign and squawk changes become static rows. ``msg_type`` is ``140 + n``.

Times: the generated date/time is read as UTC (readsb writes UTC; dump1090 writes receiver
local time - pass ``utc_offset_s`` for such feeds). Lines without a usable date/time get the
``receive_time`` of the chunk.

:func:`write_sbs` renders a batch back to SBS text (used to derive the Kingston sample).
"""

from __future__ import annotations

import calendar
import logging
import math
import time
from pathlib import Path

import numpy as np

from mdacentre.decode.adsb.fields import NON_ICAO_FLAG
from mdacentre.decode.adsb.state import AircraftMemory, AircraftState, FlightMsgType, RowSink
from mdacentre.ingest.framing import LineBuffer
from mdacentre.model.batch import Batch
from mdacentre.model.rejects import Reject

SBS_FIELDS = 22
MIN_FIELDS = 11
_SBS_OTHER_RECORDS = frozenset(("SEL", "ID", "AIR", "STA", "CLK"))
_TRUE_FLAGS = frozenset(("-1", "1"))


log = logging.getLogger(__name__)


class SbsLineError(ValueError):
    """One SBS line is malformed (internal: turned into a reject count, never raised out)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SbsDecoder:
    """Stateful SBS-1 decoder (whole lines; never raises on bad input)."""

    def __init__(self, feed: int = 0, *, use_message_time: bool = True, utc_offset_s: float = 0.0) -> None:
        self.feed = feed
        self.use_message_time = use_message_time
        self.utc_offset_s = utc_offset_s
        self.memory = AircraftMemory()
        self._day_cache: dict[str, float] = {}

    def decode(self, data: bytes, receive_time: float) -> Batch:
        lines = LineBuffer.of_chunk(data).lines()
        sink = RowSink(self.feed)
        latest = -math.inf
        for raw in lines:
            try:
                t = self._line(raw, receive_time, sink)
            except SbsLineError as exc:
                sink.reject(exc.reason)
                continue
            except Exception:  # a bug of this decoder, not bad input: logged, counted apart
                sink.internal_errors += 1
                if sink.internal_errors == 1:
                    log.exception("SBS decoder (feed %d) internal error on %r", self.feed, raw[:120])
                continue
            latest = max(latest, t)
        if latest > -math.inf:
            self.memory.sweep(latest)
        return sink.batch(len(lines))

    # one line ------------------------------------------------------------------------------

    def _line(self, raw: bytes, receive_time: float, sink: RowSink) -> float:
        try:
            text = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise SbsLineError(Reject.BAD_FRAME) from None
        if not text:
            raise SbsLineError(Reject.BLANK)
        f = text.split(",")
        if f[0] in _SBS_OTHER_RECORDS:
            raise SbsLineError(Reject.UNKNOWN_TYPE)
        if f[0] != "MSG" or len(f) < MIN_FIELDS:
            raise SbsLineError(Reject.BAD_FRAME)
        if len(f) < SBS_FIELDS:
            f.extend([""] * (SBS_FIELDS - len(f)))
        n = _int_field(f[1])
        if n is None or not 1 <= n <= 8:
            raise SbsLineError(Reject.BAD_FRAME)
        ident = _parse_ident(f[4])
        t = self._time(f, receive_time)
        values = _parse_values(f)
        self._apply(sink, ident, t, int(FlightMsgType.SBS_BASE) + n, values)
        return t

    def _apply(self, sink: RowSink, ident: int, t: float, msg_type: int, v: _Values) -> None:
        st = self.memory.get(ident, t)
        if v.gs == v.gs:
            st.gs = v.gs
        if v.track == v.track:
            st.track = v.track
        if v.vrate == v.vrate:
            st.vrate = v.vrate
        if v.alt == v.alt:
            st.alt = v.alt
        if v.on_ground >= 0:
            st.on_ground = v.on_ground
        changed = False
        if v.callsign and v.callsign != st.callsign:
            st.callsign, changed = v.callsign, True
        if v.squawk >= 0 and v.squawk != st.squawk:
            st.squawk, changed = v.squawk, True
        if changed:
            sink.static(ident, t, msg_type, st)
        if v.lat == v.lat and v.lon == v.lon:
            self._position(sink, st, ident, t, msg_type, v)

    @staticmethod
    def _position(sink: RowSink, st: AircraftState, ident: int, t: float, msg_type: int, v: _Values) -> None:
        if msg_type == FlightMsgType.SBS_BASE + 2:
            on_ground = 1
        elif v.on_ground < 0 and msg_type == FlightMsgType.SBS_BASE + 3:
            on_ground = 0
        else:
            on_ground = st.on_ground
        alt = math.nan if on_ground == 1 else st.alt
        st.pos, st.pos_t = (v.lat, v.lon), t
        sink.position(ident, t, v.lat, v.lon, st, msg_type, on_ground, alt)

    def _time(self, f: list[str], receive_time: float) -> float:
        if not self.use_message_time:
            return receive_time
        for date, clock in ((f[6], f[7]), (f[8], f[9])):
            t = self._parse_time(date, clock)
            if t is not None:
                return t - self.utc_offset_s
        return receive_time

    def _parse_time(self, date: str, clock: str) -> float | None:
        day = self._day_cache.get(date)
        if day is None:
            try:
                day = float(calendar.timegm(time.strptime(date, "%Y/%m/%d")))
            except ValueError:
                return None
            if len(self._day_cache) > 64:
                self._day_cache.clear()
            self._day_cache[date] = day
        parts = clock.split(":")
        if len(parts) != 3:
            return None
        try:
            h, m, s = int(parts[0]), int(parts[1]), float(parts[2])
        except ValueError:
            return None
        if not (0 <= h < 24 and 0 <= m < 60 and 0.0 <= s < 61.0):
            return None
        return day + h * 3600 + m * 60 + s


class _Values:
    """Parsed optional fields of one SBS line (NaN / -1 / "" when absent)."""

    __slots__ = ("alt", "callsign", "gs", "lat", "lon", "on_ground", "squawk", "track", "vrate")

    def __init__(self) -> None:
        self.callsign = ""
        self.alt = math.nan
        self.gs = math.nan
        self.track = math.nan
        self.lat = math.nan
        self.lon = math.nan
        self.vrate = math.nan
        self.squawk = -1
        self.on_ground = -1


def _parse_values(f: list[str]) -> _Values:
    v = _Values()
    v.callsign = f[10].strip()
    if len(v.callsign) > 8 or not all(c.isalnum() for c in v.callsign):
        raise SbsLineError(Reject.BAD_VALUE)
    v.alt = _float_field(f[11], -2000.0, 150000.0)
    v.gs = _float_field(f[12], 0.0, 4000.0)
    v.track = _float_field(f[13], -360.0, 360.0) % 360.0
    v.lat = _float_field(f[14], -90.0, 90.0)
    v.lon = _float_field(f[15], -180.0, 180.0)
    if (v.lat == v.lat) != (v.lon == v.lon):
        raise SbsLineError(Reject.BAD_VALUE)
    v.vrate = _float_field(f[16], -100000.0, 100000.0)
    v.squawk = _squawk_field(f[17])
    flag = f[21].strip()
    if flag:
        v.on_ground = 1 if flag in _TRUE_FLAGS else 0
    return v


def _int_field(s: str) -> int | None:
    try:
        return int(s)
    except ValueError:
        return None


def _float_field(s: str, lo: float, hi: float) -> float:
    s = s.strip()
    if not s:
        return math.nan
    try:
        x = float(s)
    except ValueError:
        raise SbsLineError(Reject.BAD_VALUE) from None
    if math.isnan(x) or not (lo <= x <= hi):
        raise SbsLineError(Reject.BAD_VALUE)
    return x


def _squawk_field(s: str) -> int:
    s = s.strip()
    if not s:
        return -1
    if len(s) > 4 or any(c not in "01234567" for c in s):
        raise SbsLineError(Reject.BAD_VALUE)
    return int(s)


def _parse_ident(s: str) -> int:
    s = s.strip()
    flag = 0
    if s.startswith("~"):
        s, flag = s[1:], NON_ICAO_FLAG
    if len(s) != 6:
        raise SbsLineError(Reject.BAD_FRAME)
    try:
        return int(s, 16) | flag
    except ValueError:
        raise SbsLineError(Reject.BAD_FRAME) from None


# --- writer ---------------------------------------------------------------------------------


def _stamp(t: float) -> tuple[str, str]:
    ms = round(t * 1000.0)
    sec, frac = divmod(ms, 1000)
    tm = time.gmtime(sec)
    return time.strftime("%Y/%m/%d", tm), time.strftime("%H:%M:%S", tm) + f".{frac:03d}"


def _ident_text(ident: int) -> str:
    text = f"{ident & 0xFFFFFF:06X}"
    return "~" + text if ident & NON_ICAO_FLAG else text


def _num(x: float, fmt: str) -> str:
    return "" if math.isnan(x) else format(x, fmt)


def _line(n: int, ident: int, t: float, **cols: str) -> str:
    date, clock = _stamp(t)
    f = ["MSG", str(n), "1", "1", _ident_text(ident), "1", date, clock, date, clock] + [""] * 12
    for name, idx in (
        ("callsign", 10),
        ("alt", 11),
        ("gs", 12),
        ("track", 13),
        ("lat", 14),
        ("lon", 15),
        ("vrate", 16),
        ("squawk", 17),
        ("ground", 21),
    ):
        if name in cols:
            f[idx] = cols[name]
    return ",".join(f)


def format_sbs(batch: Batch) -> list[str]:
    """SBS lines for a batch, in time order.

    A static row becomes MSG,1 (callsign) and/or MSG,6 (squawk) for whichever of the two
    changed since the last static row of that aircraft; a position becomes MSG,4 (velocity,
    when known) followed by MSG,3 (airborne) or MSG,2 (surface).
    """
    events: list[tuple[float, int, int, list[str]]] = []
    written: dict[int, tuple[str, int]] = {}
    for i in np.argsort(batch.statics["t"], kind="stable"):
        s = batch.statics[i]
        ident, t, name, squawk = int(s["ident"]), float(s["t"]), str(s["name"]), int(s["squawk"])
        last_name, last_squawk = written.get(ident, ("", -1))
        lines = []
        if name and name != last_name:
            lines.append(_line(1, ident, t, callsign=name))
        if squawk >= 0 and squawk != last_squawk:
            lines.append(_line(6, ident, t, squawk=f"{squawk:04d}"))
        written[ident] = (name or last_name, squawk if squawk >= 0 else last_squawk)
        events.append((t, 0, int(i), lines))
    for i, p in enumerate(batch.positions):
        events.append((float(p["t"]), 1, i, _position_lines(p)))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    return [line for e in events for line in e[3]]


def _position_lines(p: np.void) -> list[str]:
    ident, t = int(p["ident"]), float(p["t"])
    out = []
    if not (math.isnan(p["sog"]) and math.isnan(p["cog"]) and math.isnan(p["vrate_fpm"])):
        out.append(
            _line(
                4,
                ident,
                t,
                gs=_num(float(p["sog"]), ".1f"),
                track=_num(float(p["cog"]), ".1f"),
                vrate=_num(float(p["vrate_fpm"]), ".0f"),
            )
        )
    ground = int(p["on_ground"])
    out.append(
        _line(
            2 if ground == 1 else 3,
            ident,
            t,
            alt=_num(float(p["alt_ft"]), ".0f"),
            lat=f"{float(p['lat']):.6f}",
            lon=f"{float(p['lon']):.6f}",
            ground="" if ground < 0 else ("-1" if ground == 1 else "0"),
        )
    )
    return out


def write_sbs(batch: Batch, path: Path) -> int:
    """Write a batch as SBS-1 text to ``path``; returns the number of lines written."""
    lines = format_sbs(batch)
    Path(path).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="ascii")
    return len(lines)
