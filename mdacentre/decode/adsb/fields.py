"""Mode S frames to field columns: CRC, downlink format, typecode, altitude, squawk, callsign, velocity, raw CPR.

Every field is cut from whole NumPy columns of frames ((n, 14) ``uint8``, short frames
left-aligned); no per-message objects. What a frame contributes is one :class:`Effect` per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from mdacentre.model.rejects import Reject

U8Array = npt.NDArray[np.uint8]
U32Array = npt.NDArray[np.uint32]
U64Array = npt.NDArray[np.uint64]
I64Array = npt.NDArray[np.int64]
F64Array = npt.NDArray[np.float64]
F32Array = npt.NDArray[np.float32]

CRC_POLY = 0xFFF409  # Mode S CRC-24 generator (x^24 implied)
SHORT_BYTES = 7
LONG_BYTES = 14
NON_ICAO_FLAG = 1 << 24  # set on ``ident`` for anonymous / non-ICAO addresses
_CALLSIGN_CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


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


AP_FORMATS = frozenset((0, 4, 5, 16, 20, 21))  # address/parity: the address is in the CRC
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
    code: npt.NDArray[np.int16] = (a * 1000 + b * 100 + c * 10 + d).astype(np.int16)
    return code


def altitude_from_ac13(ac13: npt.NDArray[np.integer]) -> F32Array:
    """Barometric altitude in feet from 13-bit AC fields (NaN where invalid)."""
    alt: F32Array = _altitude_table()[np.asarray(ac13, dtype=np.int64) & 0x1FFF]
    return alt


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
    reject: npt.NDArray[np.int8]  # index into REJECT_CODES, 0 = none
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


REJECT_CODES: tuple[str | None, ...] = (
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
