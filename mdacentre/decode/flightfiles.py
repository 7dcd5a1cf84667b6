"""Aggregator flight formats to aircraft column batches.

* :func:`parse_aircraft_json` - a readsb / tar1090 / dump1090 ``aircraft.json`` snapshot
  (stream path: never raises, bad entries are counted). Event time is ``now - seen_pos``
  for positions and ``now - seen`` for identity rows.
* :func:`read_opensky_json` - OpenSky-style state vectors: a list of records as written by
  the ``traffic`` library (ms ``timestamp``, ``icao24``, ``latitude``, ``longitude``,
  ``altitude`` ft, ``groundspeed`` kt, ``track``, ``vertical_rate`` ft/min, ``callsign``),
  the same table in pandas ``columns`` orient (``{column: {row: value}}``), or an OpenSky
  REST ``/states/all`` response (``{"time": .., "states": [[...], ...]}``, SI units).
* :func:`read_readsb_trace` - a readsb ``trace_full`` globe-history JSON.
* :func:`derive_sbs_sample` - the script that turned the Kingston calibration flight into
  ``feeds/samples/kingston_sbs.txt``.

File readers raise :class:`~mdacentre.model.errors.DecodeError` when the file as a whole cannot be
used; individual bad rows are counted under :class:`~mdacentre.model.rejects.Reject` reasons.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from mdacentre.decode.adsb.fields import NON_ICAO_FLAG
from mdacentre.decode.adsb.state import FlightMsgType
from mdacentre.decode.sbs import write_sbs
from mdacentre.model.batch import (
    Batch,
    PositionArray,
    StaticArray,
    TrackKind,
    empty_positions,
    empty_statics,
    make_key,
)
from mdacentre.model.errors import DecodeError
from mdacentre.model.rejects import Reject

F64Array = npt.NDArray[np.float64]
I64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FT_PER_M = 3.280839895
KT_PER_MS = 1.943844492
FPM_PER_MS = 196.8503937
MS_EPOCH_THRESHOLD = 1e11  # timestamps above this are milliseconds
TRACE_FLAG_GEOM_ALT = 8
# OpenSky REST state vector indices
_OS_ICAO, _OS_CALLSIGN, _OS_TPOS, _OS_LAST = 0, 1, 3, 4
_OS_LON, _OS_LAT, _OS_BARO, _OS_GROUND, _OS_VEL, _OS_TRACK, _OS_VRATE, _OS_SQUAWK = 5, 6, 7, 8, 9, 10, 11, 14
# readsb trace row indices
_TR_DT, _TR_LAT, _TR_LON, _TR_ALT, _TR_GS, _TR_TRACK, _TR_FLAGS, _TR_VRATE, _TR_OBJ = range(9)


# --- column helpers ---------------------------------------------------------------------------


class _Rejects:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, reason: str, n: int = 1) -> None:
        if n:
            self.counts[str(reason)] = self.counts.get(str(reason), 0) + int(n)


def _num(v: object) -> float:
    """A JSON value as float, NaN for null / non-numbers (bools are not numbers here)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return float("nan")


def _float_column(values: Sequence[object]) -> F64Array:
    try:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        return np.array([_num(v) for v in values], dtype=np.float64)


def parse_ident(text: object) -> int:
    """ICAO address from hex text; ``~`` marks a non-ICAO address. -1 when not parseable."""
    if not isinstance(text, str):
        return -1
    s = text.strip().lower()
    flag = 0
    if s.startswith("~"):
        s, flag = s[1:], NON_ICAO_FLAG
    if len(s) != 6:
        return -1
    try:
        return int(s, 16) | flag
    except ValueError:
        return -1


def parse_squawk(v: object) -> int:
    """Squawk as decimal digits of the octal code ("7700" -> 7700); -1 if absent or invalid."""
    if isinstance(v, int) and not isinstance(v, bool):
        v = f"{v:04d}"
    if not isinstance(v, str):
        return -1
    s = v.strip()
    if not s or len(s) > 4 or any(c not in "01234567" for c in s):
        return -1
    return int(s)


def _callsign(v: object) -> str:
    return v.strip()[:20] if isinstance(v, str) else ""


def _ffill_index(valid: BoolArray) -> I64Array:
    """Index of the latest valid entry at or before each position (-1 before the first)."""
    idx = np.where(valid, np.arange(len(valid)), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _group_ffill(valid: BoolArray, group_start: I64Array) -> I64Array:
    """Like :func:`_ffill_index` but never reaching back past the start of the row's group."""
    idx = _ffill_index(valid)
    return np.where(idx >= group_start, idx, -1)


def _group_starts(ident: I64Array) -> I64Array:
    """For rows sorted by ident: index of the first row of each row's group."""
    n = len(ident)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.ones(n, dtype=bool)
    start[1:] = ident[1:] != ident[:-1]
    return np.maximum.accumulate(np.where(start, np.arange(n), 0))


@dataclass
class FlightColumns:
    """Aircraft reports as plain columns (one entry per report), before batching."""

    ident: I64Array
    t: F64Array
    lat: F64Array
    lon: F64Array
    alt: F64Array
    gs: F64Array
    track: F64Array
    vrate: F64Array
    heading: F64Array
    squawk: I64Array  # -1 unknown
    on_ground: I64Array  # -1 unknown
    name: npt.NDArray[np.str_]  # "" unknown

    def __len__(self) -> int:
        return len(self.ident)


def columns_to_batch(
    c: FlightColumns, msg_type: int, feed: int, rejects: dict[str, int], lines: int
) -> Batch:
    """Positions for rows with a valid position; statics where callsign or squawk changes per aircraft.

    Position rows carry the latest squawk known for the aircraft at that row (file order).
    """
    order = np.lexsort((np.arange(len(c)), c.ident))
    ident = c.ident[order]
    starts = _group_starts(ident)
    names = c.name[order]
    squawks = c.squawk[order]
    name_ok = names != ""
    sq_ok = squawks >= 0
    ff_name = _group_ffill(name_ok, starts)
    ff_sq = _group_ffill(sq_ok, starts)
    changed = _changed(name_ok, ff_name, starts, names) | _changed(sq_ok, ff_sq, starts, squawks)
    latest_sq = np.where(ff_sq >= 0, squawks[np.maximum(ff_sq, 0)], -1)
    latest_name = np.where(ff_name >= 0, names[np.maximum(ff_name, 0)], "")
    sq_by_row = np.empty(len(c), dtype=np.int64)
    sq_by_row[order] = latest_sq
    statics = _statics(
        ident[changed], c.t[order][changed], latest_name[changed], latest_sq[changed], msg_type, feed
    )
    has_pos = _valid_positions(c)
    positions = _positions(c, has_pos, sq_by_row, msg_type, feed)
    return Batch(positions=positions, statics=statics, rejects=rejects, lines=lines)


def _changed(ok: BoolArray, ff: I64Array, starts: I64Array, values: npt.NDArray[Any]) -> BoolArray:
    n = len(ok)
    prev = np.full(n, -1, dtype=np.int64)
    if n > 1:
        prev[1:] = ff[:-1]
    prev = np.where(prev >= starts, prev, -1)
    differs = np.ones(n, dtype=bool)
    has_prev = prev >= 0
    differs[has_prev] = values[prev[has_prev]] != values[has_prev]
    return ok & differs


def _valid_positions(c: FlightColumns) -> BoolArray:
    return (
        np.isfinite(c.lat)
        & np.isfinite(c.lon)
        & (np.abs(c.lat) <= 90.0)
        & (np.abs(c.lon) <= 180.0)
        & np.isfinite(c.t)
        & (c.ident >= 0)
    )


def _positions(
    c: FlightColumns, mask: BoolArray, squawk: I64Array, msg_type: int, feed: int
) -> PositionArray:
    out = empty_positions(int(mask.sum()))
    out["ident"] = c.ident[mask]
    out["kind"] = int(TrackKind.AIRCRAFT)
    out["key"] = make_key(int(TrackKind.AIRCRAFT), c.ident[mask])
    out["t"] = c.t[mask]
    out["lat"] = c.lat[mask]
    out["lon"] = c.lon[mask]
    out["alt_ft"] = c.alt[mask]
    out["sog"] = c.gs[mask]
    out["cog"] = c.track[mask] % 360.0  # some sources write tracks as -180..180
    out["heading"] = c.heading[mask]
    out["vrate_fpm"] = c.vrate[mask]
    out["squawk"] = squawk[mask]
    out["on_ground"] = c.on_ground[mask]
    out["msg_type"] = msg_type
    out["feed"] = feed
    return out


def _statics(
    ident: I64Array, t: F64Array, name: npt.NDArray[np.str_], squawk: I64Array, msg_type: int, feed: int
) -> StaticArray:
    out = empty_statics(len(ident))
    out["ident"] = ident
    out["kind"] = int(TrackKind.AIRCRAFT)
    out["key"] = make_key(int(TrackKind.AIRCRAFT), ident)
    out["t"] = t
    out["name"] = name
    out["squawk"] = squawk
    out["msg_type"] = msg_type
    out["feed"] = feed
    return out


def _count_unusable(c: FlightColumns, rj: _Rejects) -> None:
    """Rows that give neither a position nor an identity are counted, not dropped silently."""
    bad_ident = c.ident < 0
    rj.add(Reject.BAD_FRAME, int(bad_ident.sum()))
    bad_pos = (np.isfinite(c.lat) | np.isfinite(c.lon)) & ~_valid_positions(c) & ~bad_ident
    rj.add(Reject.BAD_VALUE, int(bad_pos.sum()))
    nothing = ~bad_ident & ~bad_pos & ~np.isfinite(c.lat) & (c.name == "") & (c.squawk < 0)
    rj.add(Reject.EMPTY_PAYLOAD, int(nothing.sum()))


# --- aircraft.json ------------------------------------------------------------------------------


def parse_aircraft_json(data: bytes | Mapping[str, Any], receive_time: float, feed: int = 0) -> Batch:
    """One readsb/tar1090/dump1090 ``aircraft.json`` snapshot to a batch (never raises)."""
    rj = _Rejects()
    doc: object = data
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            doc = orjson.loads(bytes(data))
        except orjson.JSONDecodeError:
            rj.add(Reject.BAD_FRAME)
            return Batch(rejects=rj.counts, lines=1)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("aircraft"), list):
        rj.add(Reject.BAD_FRAME)
        return Batch(rejects=rj.counts, lines=1)
    now = _num(doc.get("now"))
    now = float(receive_time) if math.isnan(now) else now
    items = [a if isinstance(a, Mapping) else {} for a in doc["aircraft"]]
    c = _aircraft_columns(items, now)
    _count_unusable(c, rj)
    return columns_to_batch(c, int(FlightMsgType.AIRCRAFT_JSON), feed, rj.counts, len(items))


def _aircraft_columns(items: list[Mapping[str, Any]], now: float) -> FlightColumns:
    seen_pos = _float_column([_num(a.get("seen_pos")) for a in items])
    seen = _float_column([_num(a.get("seen")) for a in items])
    alt_raw = [a.get("alt_baro", a.get("altitude")) for a in items]
    ground = np.array(
        [1 if v == "ground" else (0 if _num(v) == _num(v) else -1) for v in alt_raw], dtype=np.int64
    )
    t_pos = now - np.where(np.isfinite(seen_pos), seen_pos, np.where(np.isfinite(seen), seen, 0.0))
    lat = _float_column([_num(a.get("lat")) for a in items])
    vrate = _float_column([_num(a.get("baro_rate", a.get("vert_rate"))) for a in items])
    geom_rate = _float_column([_num(a.get("geom_rate")) for a in items])
    c = FlightColumns(
        ident=np.array([parse_ident(a.get("hex")) for a in items], dtype=np.int64),
        t=t_pos,
        lat=lat,
        lon=_float_column([_num(a.get("lon")) for a in items]),
        alt=_float_column([_num(v) for v in alt_raw]),
        gs=_float_column([_num(a.get("gs", a.get("speed"))) for a in items]),
        track=_float_column([_num(a.get("track")) for a in items]),
        vrate=np.where(np.isfinite(vrate), vrate, geom_rate),
        heading=_float_column([_num(a.get("true_heading")) for a in items]),
        squawk=np.array([parse_squawk(a.get("squawk")) for a in items], dtype=np.int64),
        on_ground=ground,
        name=np.array([_callsign(a.get("flight")) for a in items], dtype="<U20"),
    )
    # identity rows without a position are dated by `seen`, not `seen_pos`
    no_pos = ~np.isfinite(lat)
    c.t[no_pos] = now - np.where(np.isfinite(seen[no_pos]), seen[no_pos], 0.0)
    return c


# --- OpenSky-style state vectors ----------------------------------------------------------------


def _load_json(path: Path) -> Any:
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DecodeError(
            f"cannot read {p}: {exc}; check the path and that the file is plain or gzipped JSON"
        ) from exc
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(
            f"{p} is not valid JSON ({exc}); re-export it as JSON (optionally gzipped)"
        ) from exc


def _records_from_columns(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """pandas ``columns`` orient ({column: {row: value}}) to a list of records in row order."""
    cols = {k: v for k, v in doc.items() if isinstance(v, Mapping)}
    rows: set[str] = set()
    for v in cols.values():
        rows.update(v.keys())
    ordered = sorted(rows, key=lambda r: (0, int(r), "") if r.lstrip("-").isdigit() else (1, 0, r))
    return [{k: v.get(r) for k, v in cols.items()} for r in ordered]


def _timestamp(v: object) -> float:
    if isinstance(v, str):
        try:
            stamp = datetime.fromisoformat(v)
        except ValueError:
            return float("nan")
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()  # naive means UTC
    x = _num(v)
    return x / 1000.0 if x > MS_EPOCH_THRESHOLD else x


def read_opensky_json(path: Path, feed: int = 0) -> Batch:
    """State vectors from an OpenSky-style JSON(.gz) file (see module doc for the accepted layouts)."""
    doc = _load_json(path)
    if isinstance(doc, Mapping) and isinstance(doc.get("states"), list):
        c, n = _rest_columns(doc)
    else:
        if isinstance(doc, Mapping) and "icao24" in doc:
            doc = _records_from_columns(doc)
        if not isinstance(doc, list):
            raise DecodeError(
                f"{path}: expected a list of state-vector records, a pandas 'columns'-orient table or an "
                "OpenSky REST response with 'states'; export with DataFrame.to_json(orient='records')"
            )
        c, n = _record_columns(doc)
    rj = _Rejects()
    _count_unusable(c, rj)
    return columns_to_batch(c, int(FlightMsgType.OPENSKY), feed, rj.counts, n)


def _record_columns(records: list[Any]) -> tuple[FlightColumns, int]:
    recs = [r if isinstance(r, Mapping) else {} for r in records]

    def col(name: str) -> F64Array:
        return _float_column([_num(r.get(name)) for r in recs])

    on_ground = np.array(
        [-1 if not isinstance(r.get("onground"), bool) else int(r["onground"]) for r in recs]
    )
    c = FlightColumns(
        ident=np.array([parse_ident(r.get("icao24")) for r in recs], dtype=np.int64),
        t=np.array([_timestamp(r.get("timestamp")) for r in recs], dtype=np.float64),
        lat=col("latitude"),
        lon=col("longitude"),
        alt=col("altitude"),
        gs=col("groundspeed"),
        track=col("track"),
        vrate=col("vertical_rate"),
        heading=np.full(len(recs), np.nan),
        squawk=np.array([parse_squawk(r.get("squawk")) for r in recs], dtype=np.int64),
        on_ground=on_ground.astype(np.int64),
        name=np.array([_callsign(r.get("callsign")) for r in recs], dtype="<U20"),
    )
    return c, len(recs)


def _rest_columns(doc: Mapping[str, Any]) -> tuple[FlightColumns, int]:
    states = [s if isinstance(s, list) and len(s) >= 15 else [None] * 17 for s in doc["states"]]
    now = _num(doc.get("time"))

    def col(i: int) -> F64Array:
        return _float_column([_num(s[i]) for s in states])

    t_pos = col(_OS_TPOS)
    t = np.where(np.isfinite(t_pos), t_pos, np.where(np.isfinite(col(_OS_LAST)), col(_OS_LAST), now))
    ground = [s[_OS_GROUND] for s in states]
    c = FlightColumns(
        ident=np.array([parse_ident(s[_OS_ICAO]) for s in states], dtype=np.int64),
        t=t,
        lat=col(_OS_LAT),
        lon=col(_OS_LON),
        alt=col(_OS_BARO) * FT_PER_M,
        gs=col(_OS_VEL) * KT_PER_MS,
        track=col(_OS_TRACK),
        vrate=col(_OS_VRATE) * FPM_PER_MS,
        heading=np.full(len(states), np.nan),
        squawk=np.array([parse_squawk(s[_OS_SQUAWK]) for s in states], dtype=np.int64),
        on_ground=np.array([int(g) if isinstance(g, bool) else -1 for g in ground], dtype=np.int64),
        name=np.array([_callsign(s[_OS_CALLSIGN]) for s in states], dtype="<U20"),
    )
    return c, len(states)


# --- readsb trace_full ----------------------------------------------------------------------------


def read_readsb_trace(path: Path, feed: int = 0) -> Batch:
    """Positions of one aircraft from a readsb ``trace_full`` / ``trace_recent`` JSON(.gz) file.

    Altitudes flagged as geometric (flag bit 8) are not barometric and are left NaN.
    Callsign and squawk come from the aircraft objects embedded in some trace rows.
    """
    doc = _load_json(path)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("trace"), list):
        raise DecodeError(
            f"{path}: not a readsb trace (expected an object with 'icao', 'timestamp' and 'trace')"
        )
    ident = parse_ident(doc.get("icao"))
    t0 = _num(doc.get("timestamp"))
    if ident < 0 or math.isnan(t0):
        raise DecodeError(
            f"{path}: trace needs a 6-hex-digit 'icao' and a numeric 'timestamp' (got "
            f"{doc.get('icao')!r}, {doc.get('timestamp')!r})"
        )
    rows = [r if isinstance(r, list) and len(r) >= 8 else [None] * 9 for r in doc["trace"]]
    rj = _Rejects()
    c = _trace_columns(rows, ident, t0)
    _count_unusable(c, rj)
    return columns_to_batch(c, int(FlightMsgType.READSB_TRACE), feed, rj.counts, len(rows))


def _trace_columns(rows: list[list[Any]], ident: int, t0: float) -> FlightColumns:
    def col(i: int) -> F64Array:
        return _float_column([_num(r[i]) for r in rows])

    flags = np.array(
        [int(_num(r[_TR_FLAGS])) if _num(r[_TR_FLAGS]) == _num(r[_TR_FLAGS]) else 0 for r in rows],
        dtype=np.int64,
    )
    alt_raw = [r[_TR_ALT] for r in rows]
    alt = _float_column([_num(v) for v in alt_raw])
    alt[(flags & TRACE_FLAG_GEOM_ALT) != 0] = np.nan
    ground = np.array(
        [1 if v == "ground" else (0 if _num(v) == _num(v) else -1) for v in alt_raw], dtype=np.int64
    )
    objs = [r[_TR_OBJ] if len(r) > _TR_OBJ and isinstance(r[_TR_OBJ], Mapping) else {} for r in rows]
    return FlightColumns(
        ident=np.full(len(rows), ident, dtype=np.int64),
        t=t0 + col(_TR_DT),
        lat=col(_TR_LAT),
        lon=col(_TR_LON),
        alt=alt,
        gs=col(_TR_GS),
        track=col(_TR_TRACK),
        vrate=col(_TR_VRATE),
        heading=_float_column([_num(o.get("true_heading")) for o in objs]),
        squawk=np.array([parse_squawk(o.get("squawk")) for o in objs], dtype=np.int64),
        on_ground=ground,
        name=np.array([_callsign(o.get("flight")) for o in objs], dtype="<U20"),
    )


# --- derived sample -------------------------------------------------------------------------------


def derive_sbs_sample(src: Path, dst: Path) -> int:
    """Write the state vectors of ``src`` (OpenSky-style JSON) as SBS-1 text to ``dst``.

    This is how ``feeds/samples/kingston_sbs.txt`` was made from the MIT-licensed
    ``traffic`` Kingston calibration flight. Returns the number of lines written.
    """
    return write_sbs(read_opensky_json(src), dst)
