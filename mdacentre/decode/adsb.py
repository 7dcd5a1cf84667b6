"""Mode S / ADS-B decoding into column batches (the airspace half of the ingest).

Three wire formats feed one stateful decoder:

* raw hex strings (``8D4840D6202CC371C32CE0576098``) - :meth:`ModeSDecoder.decode_messages`;
* AVR text lines (``*8D...;``, ``@<12 hex MLAT ticks><hex>;``, ``<<12 hex><2 hex RSSI><hex>;``)
  - :class:`AvrDecoder`;
* Beast binary (``0x1a`` + type + 6-byte MLAT clock + RSSI + frame, ``0x1a`` escaped by
  doubling) - :class:`BeastDecoder`, which keeps partial frames between calls.

Field extraction (CRC, downlink format, typecode, altitude, squawk, callsign, velocity,
raw CPR) is done on whole NumPy columns. Only the state that is sequential by nature -
CPR even/odd pairing and "latest known" values per aircraft - runs in a loop over the
already-decoded columns, with one small slotted object per aircraft (never per message).

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
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache

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
from mdacentre.model.rejects import Reject

U8Array = npt.NDArray[np.uint8]
U32Array = npt.NDArray[np.uint32]
U64Array = npt.NDArray[np.uint64]
I64Array = npt.NDArray[np.int64]
F64Array = npt.NDArray[np.float64]
F32Array = npt.NDArray[np.float32]

# --- protocol constants -------------------------------------------------------------------

CRC_POLY = 0xFFF409  # Mode S CRC-24 generator (x^24 implied)
SHORT_BYTES = 7
LONG_BYTES = 14
CPR_PAIR_WINDOW_S = 10.0
LOCAL_REF_MAX_AGE_S = 180.0
SURFACE_REF_MAX_NM = 45.0
JUMP_ACCEPT_AFTER_S = 120.0
MAX_AIRBORNE_KT = 1000.0
MAX_SURFACE_KT = 150.0
POSITION_SLACK_NM = 3.0
STATE_TTL_S = 600.0
EVICT_EVERY_S = 60.0
NON_ICAO_FLAG = 1 << 24  # set on ``ident`` for anonymous / non-ICAO addresses
_CALLSIGN_CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
_EARTH_NM_PER_DEG = 60.0


class DownlinkFormat(IntEnum):
    """Mode S downlink formats this decoder knows (DF24 stands for every Comm-D 11xxx)."""

    SHORT_ACAS = 0
    SURV_ALTITUDE = 4
    SURV_IDENTITY = 5
    ALL_CALL = 11
    LONG_ACAS = 16
    EXTENDED_SQUITTER = 17
    NON_TRANSPONDER_ES = 18
    MILITARY_ES = 19
    COMMB_ALTITUDE = 20
    COMMB_IDENTITY = 21
    COMM_D = 24


class FlightMsgType(IntEnum):
    """``msg_type`` for aircraft rows that did not come from a raw Mode S frame.

    Raw frames use ``100 + typecode`` (DF17/18, 100..131) or ``100 + DF`` (others).
    SBS rows use ``140 + n`` for ``MSG,n``.
    """

    SBS_BASE = 140
    AIRCRAFT_JSON = 150
    OPENSKY = 151
    READSB_TRACE = 152


class BeastType(IntEnum):
    """Beast frame type byte following the 0x1a marker."""

    MODE_AC = 0x31
    MODE_S_SHORT = 0x32
    MODE_S_LONG = 0x33
    STATUS = 0x34


_BEAST_BODY = {
    BeastType.MODE_AC: 2,
    BeastType.MODE_S_SHORT: 7,
    BeastType.MODE_S_LONG: 14,
    BeastType.STATUS: 14,
}
_BEAST_HEADER = 7  # 6 bytes MLAT counter + 1 byte signal level
_AP_FORMATS = frozenset((0, 4, 5, 16, 20, 21))
_ES_FORMATS = frozenset((17, 18))
_DF18_ADSB_CF = frozenset((0, 1, 2, 5, 6))


class Effect(IntEnum):
    """What a decoded frame contributes (one value per frame, a NumPy column)."""

    NONE = 0  # valid but carries nothing this service keeps (e.g. TC29/31, DF16 without data)
    IDENT = 1
    AIRBORNE_POSITION = 2
    SURFACE_POSITION = 3
    VELOCITY = 4
    SURVEILLANCE = 5  # altitude / squawk / ground state only


# --- lookup tables (built on first use) --------------------------------------------------


@lru_cache(maxsize=1)
def _crc_table() -> U32Array:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i << 16
        for _ in range(8):
            c = ((c << 1) ^ CRC_POLY) if c & 0x800000 else (c << 1)
        table[i] = c & 0xFFFFFF
    return table


def _gray_to_binary(g: int) -> int:
    b = g
    shift = 1
    while (g >> shift) > 0:
        b ^= g >> shift
        shift += 1
    return b


def _gillham_altitude(ac13: int) -> float:
    """100 ft Gillham (Gray) code of a 13-bit AC field with M=0, Q=0."""

    def bit(n: int) -> int:
        return (ac13 >> n) & 1

    c1, a1, c2, a2, c4, a4, b1, b2, d2, b4, d4 = (bit(n) for n in (12, 11, 10, 9, 8, 7, 5, 3, 2, 1, 0))
    gray500 = (d2 << 7) | (d4 << 6) | (a1 << 5) | (a2 << 4) | (a4 << 3) | (b1 << 2) | (b2 << 1) | b4
    gray100 = (c1 << 2) | (c2 << 1) | c4
    n500 = _gray_to_binary(gray500)
    n100 = _gray_to_binary(gray100)
    if n100 not in (1, 2, 3, 4, 7):  # Gray 001 011 010 110 100 are the only valid 100 ft codes
        return math.nan
    if n100 == 7:
        n100 = 5
    if n500 % 2 == 1:
        n100 = 6 - n100
    return float(n500 * 500 + n100 * 100 - 1300)


def _ac13_altitude(ac13: int) -> float:
    if ac13 == 0 or (ac13 >> 6) & 1:  # not available, or metric (not used in practice)
        return math.nan
    if (ac13 >> 4) & 1:  # Q bit: 25 ft steps
        n = ((ac13 >> 7) << 5) | (((ac13 >> 5) & 1) << 4) | (ac13 & 0xF)
        return float(n * 25 - 1000)
    return _gillham_altitude(ac13)


@lru_cache(maxsize=1)
def _altitude_table() -> F32Array:
    """Barometric altitude (ft) for every 13-bit AC code, NaN where not valid."""
    return np.array([_ac13_altitude(code) for code in range(8192)], dtype=np.float32)


@lru_cache(maxsize=1)
def _movement_table() -> F32Array:
    """Surface ground speed (kt, lower edge of each DO-260B movement bin) per 7-bit movement code."""
    out = np.full(128, np.nan, dtype=np.float32)
    for m in range(1, 125):
        if m == 1:
            v = 0.0
        elif m <= 8:
            v = 0.125 * (m - 1)
        elif m <= 12:
            v = 1.0 + 0.25 * (m - 9)
        elif m <= 38:
            v = 2.0 + 0.5 * (m - 13)
        elif m <= 93:
            v = 15.0 + (m - 39)
        elif m <= 108:
            v = 70.0 + 2.0 * (m - 94)
        elif m <= 123:
            v = 100.0 + 5.0 * (m - 109)
        else:
            v = 175.0
        out[m] = v
    return out


@lru_cache(maxsize=1)
def _callsign_lut() -> npt.NDArray[np.str_]:
    return np.array(list(_CALLSIGN_CHARS), dtype="<U1")


@lru_cache(maxsize=1)
def _nl_boundaries() -> tuple[float, ...]:
    """Latitudes (ascending) where the CPR longitude-zone count NL drops by one."""
    a = 1.0 - math.cos(math.pi / 30.0)  # 1 - cos(pi / (2 * NZ)), NZ = 15
    bounds = [
        math.degrees(math.acos(math.sqrt(a / (1.0 - math.cos(2.0 * math.pi / k))))) for k in range(59, 1, -1)
    ]
    return tuple(bounds)


def cpr_nl(lat: float) -> int:
    """Number of CPR longitude zones at ``lat`` (DO-260B A.1.7.2)."""
    abs_lat = abs(lat)
    if abs_lat >= 87.0:
        return 1 if abs_lat > 87.0 else 2
    return 59 - bisect_right(_nl_boundaries(), abs_lat)


# --- vectorised field extraction -----------------------------------------------------------


def crc_remainder(frames: U8Array, nbytes: npt.NDArray[np.integer]) -> U32Array:
    """CRC-24 remainder of every frame (0 for a good DF17; the address for AP formats).

    ``frames`` is (n, 14) uint8 with short frames left-aligned; ``nbytes`` is 7 or 14.
    """
    table = _crc_table()
    n = len(frames)
    crc = np.zeros(n, dtype=np.uint32)
    data_len = np.asarray(nbytes, dtype=np.int64) - 3
    for k in range(LONG_BYTES - 3):
        active = k < data_len
        b = frames[:, k].astype(np.uint32)
        nxt = ((crc << 8) & 0xFFFFFF) ^ table[((crc >> 16) ^ b) & 0xFF]
        crc = np.where(active, nxt, crc)
    rows = np.arange(n)
    parity = np.zeros(n, dtype=np.uint32)
    for j in range(3):
        idx = np.clip(data_len + j, 0, LONG_BYTES - 1)
        parity = ((parity << 8) | frames[rows, idx]).astype(np.uint32)
    return (crc ^ parity).astype(np.uint32)


def squawk_from_identity(id13: npt.NDArray[np.integer]) -> npt.NDArray[np.int16]:
    """Decimal-digit squawk (7700 stays 7700) from 13-bit identity fields."""
    v = np.asarray(id13, dtype=np.int64)

    def bit(n: int) -> I64Array:
        return (v >> n) & 1

    a = bit(7) * 4 + bit(9) * 2 + bit(11)
    b = bit(1) * 4 + bit(3) * 2 + bit(5)
    c = bit(8) * 4 + bit(10) * 2 + bit(12)
    d = bit(0) * 4 + bit(2) * 2 + bit(4)
    return (a * 1000 + b * 100 + c * 10 + d).astype(np.int16)


def altitude_from_ac13(ac13: npt.NDArray[np.integer]) -> F32Array:
    """Barometric altitude in feet from 13-bit AC fields (NaN where invalid)."""
    return _altitude_table()[np.asarray(ac13, dtype=np.int64) & 0x1FFF]


def callsigns_from_me(me: U64Array) -> npt.NDArray[np.str_]:
    """Callsigns (trailing blanks removed) from identification ME fields."""
    if len(me) == 0:
        return np.zeros(0, dtype="<U8")
    shifts = np.arange(42, -1, -6, dtype=np.uint64)
    codes = ((me[:, None] >> shifts[None, :]) & np.uint64(63)).astype(np.int64)
    chars = np.ascontiguousarray(_callsign_lut()[codes])
    words = chars.view("<U8").reshape(-1)
    return np.char.strip(np.char.replace(words, "#", " "))


@lru_cache(maxsize=32)
def _member_table(values: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    table = np.zeros(32, dtype=bool)
    table[list(values)] = True
    return table


def _member(codes: I64Array, values: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """``np.isin`` for small non-negative codes (< 32) through a cached lookup table."""
    return _member_table(values)[codes]


def _be_uint(frames: U8Array, start: int, count: int) -> U64Array:
    out = np.zeros(len(frames), dtype=np.uint64)
    for k in range(start, start + count):
        out = (out << np.uint64(8)) | frames[:, k].astype(np.uint64)
    return out


@dataclass
class FrameFields:
    """Columns decoded from n frames (all NumPy, one entry per frame)."""

    df: I64Array
    icao: I64Array
    valid: npt.NDArray[np.bool_]  # CRC confirmed (ES/DF11) or address parity (AP, trust checked later)
    reject: npt.NDArray[np.int8]  # index into _REJECT_CODES, 0 = none
    effect: npt.NDArray[np.int8]
    msg_type: I64Array
    alt: F32Array
    squawk: npt.NDArray[np.int16]
    on_ground: npt.NDArray[np.int8]
    gs: F32Array
    track: F32Array
    heading: F32Array
    vrate: F32Array
    cpr_odd: I64Array
    cpr_lat: I64Array
    cpr_lon: I64Array
    callsign: npt.NDArray[np.str_]


_REJECT_CODES: tuple[str | None, ...] = (
    None,
    Reject.BAD_CRC,
    Reject.BAD_FRAME,
    Reject.UNKNOWN_TYPE,
    Reject.BAD_VALUE,
)
_RJ_CRC, _RJ_FRAME, _RJ_TYPE = 1, 2, 3


def extract_fields(frames: U8Array, nbytes: npt.NDArray[np.integer]) -> FrameFields:
    """Decode every field this service needs from (n, 14) frames, on whole columns."""
    n = len(frames)
    nb = np.asarray(nbytes, dtype=np.int64)
    b0 = frames[:, 0].astype(np.int64)
    df = b0 >> 3
    df = np.where(df >= 24, 24, df)
    rem = crc_remainder(frames, nb).astype(np.int64)
    aa = _be_uint(frames, 1, 3).astype(np.int64)
    w32 = _be_uint(frames, 0, 4).astype(np.int64)
    me = _be_uint(frames, 4, 7)
    cf = b0 & 7

    reject = np.zeros(n, dtype=np.int8)
    long_df = df >= 16
    known = _member(df, (0, 4, 5, 11, 16, 17, 18, 20, 21))
    reject[~known] = _RJ_TYPE
    bad_len = known & (np.where(long_df, 14, 7) != nb)
    reject[bad_len] = _RJ_FRAME
    es = (df == 17) | ((df == 18) & _member(cf, tuple(sorted(_DF18_ADSB_CF))))
    reject[(reject == 0) & (df == 18) & ~es] = _RJ_TYPE
    crc_bad = (reject == 0) & ((es & (rem != 0)) | ((df == 11) & ((rem & ~0x7F) != 0)))
    reject[crc_bad] = _RJ_CRC
    valid = reject == 0

    icao = np.where(es | (df == 11), aa, rem)
    ident = np.where((df == 18) & (cf != 0), icao | NON_ICAO_FLAG, icao)

    tc = (me >> np.uint64(51)).astype(np.int64)
    st = ((me >> np.uint64(48)) & np.uint64(7)).astype(np.int64)
    f = _FieldBuilder(n)
    f.msg_type = np.where(es, 100 + tc, 100 + df)
    _surveillance_fields(f, df, w32, valid)
    _es_fields(f, es & valid, me, tc, st)
    return FrameFields(
        df=df,
        icao=ident,
        valid=valid,
        reject=reject,
        effect=f.effect,
        msg_type=f.msg_type,
        alt=f.alt,
        squawk=f.squawk,
        on_ground=f.on_ground,
        gs=f.gs,
        track=f.track,
        heading=f.heading,
        vrate=f.vrate,
        cpr_odd=f.cpr_odd,
        cpr_lat=f.cpr_lat,
        cpr_lon=f.cpr_lon,
        callsign=f.callsign,
    )


class _FieldBuilder:
    def __init__(self, n: int) -> None:
        self.effect = np.zeros(n, dtype=np.int8)
        self.msg_type = np.zeros(n, dtype=np.int64)
        self.alt = np.full(n, np.nan, dtype=np.float32)
        self.squawk = np.full(n, -1, dtype=np.int16)
        self.on_ground = np.full(n, -1, dtype=np.int8)
        self.gs = np.full(n, np.nan, dtype=np.float32)
        self.track = np.full(n, np.nan, dtype=np.float32)
        self.heading = np.full(n, np.nan, dtype=np.float32)
        self.vrate = np.full(n, np.nan, dtype=np.float32)
        self.cpr_odd = np.zeros(n, dtype=np.int64)
        self.cpr_lat = np.zeros(n, dtype=np.int64)
        self.cpr_lon = np.zeros(n, dtype=np.int64)
        self.callsign = np.zeros(n, dtype="<U8")


def _surveillance_fields(f: _FieldBuilder, df: I64Array, w32: I64Array, valid: npt.NDArray[np.bool_]) -> None:
    code13 = w32 & 0x1FFF
    fs = (w32 >> 24) & 7
    alt_df = valid & _member(df, (0, 4, 16, 20))
    id_df = valid & _member(df, (5, 21))
    f.alt[alt_df] = altitude_from_ac13(code13[alt_df])
    f.squawk[id_df] = squawk_from_identity(code13[id_df])
    fs_df = valid & _member(df, (4, 5, 20, 21))
    f.on_ground[fs_df & ((fs == 0) | (fs == 2))] = 0
    f.on_ground[fs_df & ((fs == 1) | (fs == 3))] = 1
    vs = (w32 >> 26) & 1
    f.on_ground[valid & _member(df, (0, 16))] = vs[valid & _member(df, (0, 16))].astype(np.int8)
    ca_df = valid & (df == 11)
    f.on_ground[ca_df & (fs == 4)] = 1
    f.on_ground[ca_df & (fs == 5)] = 0
    f.effect[valid & ~_member(df, (17, 18))] = Effect.SURVEILLANCE


def _es_fields(f: _FieldBuilder, es: npt.NDArray[np.bool_], me: U64Array, tc: I64Array, st: I64Array) -> None:
    ident = es & (tc >= 1) & (tc <= 4)
    surface = es & (tc >= 5) & (tc <= 8)
    airborne = es & (((tc >= 9) & (tc <= 18)) | ((tc >= 20) & (tc <= 22)))
    velocity = es & (tc == 19) & (st >= 1) & (st <= 4)
    emergency = es & (tc == 28) & (st == 1)
    f.effect[es] = Effect.NONE
    f.effect[ident] = Effect.IDENT
    f.effect[surface] = Effect.SURFACE_POSITION
    f.effect[airborne] = Effect.AIRBORNE_POSITION
    f.effect[velocity] = Effect.VELOCITY
    f.effect[emergency] = Effect.SURVEILLANCE
    u = np.uint64
    f.callsign[ident] = callsigns_from_me(me[ident])
    pos = surface | airborne
    f.cpr_odd[pos] = ((me[pos] >> u(34)) & u(1)).astype(np.int64)
    f.cpr_lat[pos] = ((me[pos] >> u(17)) & u(0x1FFFF)).astype(np.int64)
    f.cpr_lon[pos] = (me[pos] & u(0x1FFFF)).astype(np.int64)
    baro = es & (tc >= 9) & (tc <= 18)
    alt12 = ((me >> u(36)) & u(0xFFF)).astype(np.int64)
    f.alt[baro] = altitude_from_ac13(((alt12[baro] & 0xFC0) << 1) | (alt12[baro] & 0x3F))
    f.on_ground[airborne] = 0
    f.on_ground[surface] = 1
    mov = ((me >> u(44)) & u(0x7F)).astype(np.int64)
    f.gs[surface] = _movement_table()[mov[surface]]
    trk_ok = surface & (((me >> u(43)) & u(1)) == u(1))
    f.track[trk_ok] = ((me[trk_ok] >> u(36)) & u(0x7F)).astype(np.float32) * np.float32(360.0 / 128.0)
    _velocity_fields(f, velocity, me, st)
    f.squawk[emergency] = squawk_from_identity(((me[emergency] >> u(32)) & u(0x1FFF)).astype(np.int64))


def _velocity_fields(f: _FieldBuilder, velocity: npt.NDArray[np.bool_], me: U64Array, st: I64Array) -> None:
    u = np.uint64
    ground = velocity & ((st == 1) | (st == 2))
    air = velocity & ((st == 3) | (st == 4))
    scale = np.where(st == 2, 4.0, 1.0)
    vew_raw = ((me >> u(32)) & u(0x3FF)).astype(np.int64)
    vns_raw = ((me >> u(21)) & u(0x3FF)).astype(np.int64)
    sew = np.where(((me >> u(42)) & u(1)) == u(1), -1.0, 1.0)
    sns = np.where(((me >> u(31)) & u(1)) == u(1), -1.0, 1.0)
    has_v = ground & (vew_raw > 0) & (vns_raw > 0)
    vx = sew * (vew_raw - 1) * scale
    vy = sns * (vns_raw - 1) * scale
    f.gs[has_v] = np.hypot(vx[has_v], vy[has_v]).astype(np.float32)
    f.track[has_v] = (np.degrees(np.arctan2(vx[has_v], vy[has_v])) % 360.0).astype(np.float32)
    hdg_ok = air & (((me >> u(42)) & u(1)) == u(1))
    f.heading[hdg_ok] = (vew_raw[hdg_ok] * (360.0 / 1024.0)).astype(np.float32)
    vr_raw = ((me >> u(10)) & u(0x1FF)).astype(np.int64)
    vr_sign = np.where(((me >> u(19)) & u(1)) == u(1), -1.0, 1.0)
    has_vr = velocity & (vr_raw > 0)
    f.vrate[has_vr] = (vr_sign[has_vr] * (vr_raw[has_vr] - 1) * 64.0).astype(np.float32)


# --- CPR ------------------------------------------------------------------------------------

_CPR_SCALE = 131072.0


def cpr_global(
    even: tuple[int, int],
    odd: tuple[int, int],
    current_odd: bool,
    surface: bool = False,
    reference: tuple[float, float] | None = None,
) -> tuple[float, float] | None:
    """Position of the current frame from an even/odd CPR pair; None if the pair straddles a zone.

    ``even``/``odd`` are raw (lat, lon) 17-bit fields. Surface pairs need ``reference``.
    """
    span = 90.0 if surface else 360.0
    lat_e, lon_e = even[0] / _CPR_SCALE, even[1] / _CPR_SCALE
    lat_o, lon_o = odd[0] / _CPR_SCALE, odd[1] / _CPR_SCALE
    j = math.floor(59.0 * lat_e - 60.0 * lat_o + 0.5)
    rlat_e = span / 60.0 * (j % 60 + lat_e)
    rlat_o = span / 59.0 * (j % 59 + lat_o)
    if surface:
        if reference is None:
            return None
        if abs(reference[0] - (rlat_o if current_odd else rlat_e)) > abs(
            reference[0] - ((rlat_o if current_odd else rlat_e) - 90.0)
        ):
            rlat_e -= 90.0
            rlat_o -= 90.0
    else:
        rlat_e = rlat_e - 360.0 if rlat_e >= 270.0 else rlat_e
        rlat_o = rlat_o - 360.0 if rlat_o >= 270.0 else rlat_o
    if abs(rlat_e) > 90.0 or abs(rlat_o) > 90.0 or cpr_nl(rlat_e) != cpr_nl(rlat_o):
        return None
    lat = rlat_o if current_odd else rlat_e
    nl = cpr_nl(lat)
    ni = max(nl - (1 if current_odd else 0), 1)
    m = math.floor(lon_e * (nl - 1) - lon_o * nl + 0.5)
    lon = span / ni * (m % ni + (lon_o if current_odd else lon_e))
    if surface:
        assert reference is not None
        return lat, _nearest_quadrant(lon, reference[1])
    return lat, _wrap_lon(lon)


def cpr_local(
    cpr: tuple[int, int], odd: bool, reference: tuple[float, float], surface: bool = False
) -> tuple[float, float]:
    """Position of one CPR frame decoded against a reference within half a zone."""
    span = 90.0 if surface else 360.0
    ylat, xlon = cpr[0] / _CPR_SCALE, cpr[1] / _CPR_SCALE
    dlat = span / (59.0 if odd else 60.0)
    j = math.floor(0.5 + reference[0] / dlat - ylat)
    lat = dlat * (j + ylat)
    ni = cpr_nl(lat) - (1 if odd else 0)
    dlon = span / ni if ni > 0 else span
    m = math.floor(0.5 + reference[1] / dlon - xlon)
    return lat, _wrap_lon(dlon * (m + xlon))


def _wrap_lon(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def _nearest_quadrant(lon: float, ref_lon: float) -> float:
    best = _wrap_lon(lon)
    for q in (90.0, 180.0, 270.0):
        cand = _wrap_lon(lon + q)
        if abs(_wrap_lon(cand - ref_lon)) < abs(_wrap_lon(best - ref_lon)):
            best = cand
    return best


def distance_nm(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in nautical miles."""
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2.0 * math.degrees(math.asin(min(1.0, math.sqrt(h)))) * _EARTH_NM_PER_DEG


# --- per-aircraft memory and row assembly ---------------------------------------------------


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
            positions=self._positions(), statics=self._statics(), rejects=dict(self.rejects), lines=lines
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


# --- the stateful decoder -------------------------------------------------------------------


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
        fields = extract_fields(frames, nbytes)
        self.df_counts += np.bincount(fields.df, minlength=25)[:25]
        for code, reason in enumerate(_REJECT_CODES):
            if reason is not None:
                sink.reject(reason, int((fields.reject == code).sum()))
        idx = np.flatnonzero(fields.valid)
        if len(idx) == 0:
            return
        self._apply(fields, idx, t, sink)
        self.memory.sweep(float(np.max(t[idx])))

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
            if df in _AP_FORMATS:
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
            return pos if distance_nm(pos, ref) <= SURFACE_REF_MAX_NM else None
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
    return distance_nm(st.pos, pos) <= allowed


# --- hex, AVR and Beast framing -------------------------------------------------------------


def hex_to_frames(hexmsgs: Sequence[str]) -> tuple[U8Array, I64Array, npt.NDArray[np.bool_]]:
    """(n, 14) frames, byte lengths and a validity mask from hex strings (bad ones flagged)."""
    n = len(hexmsgs)
    frames = np.zeros((n, LONG_BYTES), dtype=np.uint8)
    nbytes = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    for i, h in enumerate(hexmsgs):
        s = h.strip() if isinstance(h, str) else ""
        if len(s) not in (14, 28):
            continue
        try:
            raw = bytes.fromhex(s)
        except ValueError:
            continue
        frames[i, : len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        nbytes[i] = len(raw)
        ok[i] = True
    return frames, nbytes, ok


def _classify_avr_line(line: bytes) -> tuple[str | None, str]:
    """(hex payload or None, reject reason) for one AVR line."""
    s = line.strip()
    if not s:
        return None, Reject.BLANK
    if s[:1] == b"#":
        return None, Reject.COMMENT
    if s[:1] in (b"*", b"@", b"<", b":") and s[-1:] == b";":
        body = s[1:-1]
        if s[:1] == b"@":
            body = body[12:]
        elif s[:1] == b"<":
            body = body[14:]
    else:
        body = s.rstrip(b";")
    if len(body) == 4:
        return None, Reject.UNKNOWN_TYPE  # Mode A/C reply
    if len(body) not in (14, 28):
        return None, Reject.BAD_FRAME
    try:
        text = body.decode("ascii")
        bytes.fromhex(text)
    except ValueError:
        return None, Reject.BAD_FRAME
    return text, ""


class AvrDecoder:
    """AVR text (``*hex;`` / ``@ticks hex;`` / ``<ticks rssi hex;``) lines to batches."""

    def __init__(self, feed: int = 0, *, reference: tuple[float, float] | None = None) -> None:
        self.modes = ModeSDecoder(feed, reference=reference)

    def decode(self, data: bytes, receive_time: float) -> Batch:
        """Decode whole lines; every line is either decoded or counted under a reject reason."""
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        hexes: list[str] = []
        rejects: dict[str, int] = {}
        for line in lines:
            text, reason = _classify_avr_line(line)
            if text is None:
                rejects[reason] = rejects.get(reason, 0) + 1
            else:
                hexes.append(text)
        out = self.modes.decode_messages(hexes, np.full(len(hexes), receive_time))
        for k, v in rejects.items():
            out.rejects[k] = out.rejects.get(k, 0) + v
        out.lines = len(lines)
        return out


@dataclass
class BeastFrames:
    """Mode S frames cut out of a Beast stream (Mode A/C and status frames are counted, not kept)."""

    frames: U8Array
    nbytes: I64Array
    mlat_ticks: I64Array
    signal: npt.NDArray[np.uint8]
    rejects: dict[str, int]
    count: int  # every complete frame of any type


class BeastFramer:
    """Cuts a Beast byte stream into frames, keeping a partial frame between calls."""

    def __init__(self) -> None:
        self._buf = b""
        self._in_garbage = False

    def feed(self, data: bytes) -> BeastFrames:
        buf = self._buf + bytes(data)
        bodies: list[bytes] = []
        kinds: list[int] = []
        rejects: dict[str, int] = {}
        pos = 0
        end = len(buf)
        while pos < end:
            if buf[pos] != 0x1A:
                nxt = buf.find(b"\x1a", pos)
                self._garbage(rejects)
                pos = end if nxt < 0 else nxt
                continue
            if pos + 1 >= end:
                break
            kind = buf[pos + 1]
            if kind not in _BEAST_BODY:
                self._garbage(rejects)
                pos += 1 if kind == 0x1A else 2
                continue
            body, consumed = _unescape(buf, pos + 2, _BEAST_HEADER + _BEAST_BODY[BeastType(kind)])
            if consumed < 0:  # need more bytes
                break
            if body is None:  # frame cut short by a new marker
                self._garbage(rejects)
                pos += 2 + consumed
                continue
            self._in_garbage = False
            bodies.append(body)
            kinds.append(kind)
            pos += 2 + consumed
        self._buf = buf[pos:]
        return _frames_from_bodies(bodies, kinds, rejects)

    def _garbage(self, rejects: dict[str, int]) -> None:
        if not self._in_garbage:
            rejects[Reject.BAD_FRAME] = rejects.get(Reject.BAD_FRAME, 0) + 1
        self._in_garbage = True


def _unescape(buf: bytes, start: int, need: int) -> tuple[bytes | None, int]:
    """Read ``need`` unescaped bytes from ``buf[start:]``.

    Returns (body, bytes consumed); consumed = -1 when more data is needed, and body None
    (with consumed up to the offending marker) when an unescaped 0x1a interrupts the frame.
    """
    raw = buf[start : start + need]
    if len(raw) == need and 0x1A not in raw:
        return raw, need
    out = bytearray()
    i = start
    n = len(buf)
    while len(out) < need:
        if i >= n:
            return None, -1
        b = buf[i]
        if b == 0x1A:
            if i + 1 >= n:
                return None, -1
            if buf[i + 1] != 0x1A:
                return None, i - start
            i += 1
        out.append(b)
        i += 1
    return bytes(out), i - start


def _frames_from_bodies(bodies: list[bytes], kinds: list[int], rejects: dict[str, int]) -> BeastFrames:
    mode_s = [i for i, k in enumerate(kinds) if k in (BeastType.MODE_S_SHORT, BeastType.MODE_S_LONG)]
    other = len(kinds) - len(mode_s)
    if other:
        rejects[Reject.UNKNOWN_TYPE] = rejects.get(Reject.UNKNOWN_TYPE, 0) + other
    frames = np.zeros((len(mode_s), LONG_BYTES), dtype=np.uint8)
    nbytes = np.zeros(len(mode_s), dtype=np.int64)
    ticks = np.zeros(len(mode_s), dtype=np.int64)
    signal = np.zeros(len(mode_s), dtype=np.uint8)
    for row, i in enumerate(mode_s):
        body = bodies[i]
        payload = body[_BEAST_HEADER:]
        frames[row, : len(payload)] = np.frombuffer(payload, dtype=np.uint8)
        nbytes[row] = len(payload)
        ticks[row] = int.from_bytes(body[:6], "big")
        signal[row] = body[6]
    return BeastFrames(frames, nbytes, ticks, signal, rejects, len(kinds))


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
