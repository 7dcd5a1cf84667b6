"""The archive's tables as Arrow: schemas, GeoParquet metadata and column batches -> Arrow tables.

Every table carries the event time ``t`` (timestamp, microseconds, UTC), the track ``key``
(``kind << 32 | ident``), ``kind`` (dictionary string: vessel, aircraft, ...) and ``ident`` (MMSI,
or ICAO address as an integer), and where it has a position ``lon``/``lat`` and a ``geometry``
column (WKB point, EPSG:4326) described by GeoParquet 1.1 ``geo`` metadata. Conversions work
on whole NumPy columns: no Python loop over rows.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from mdacentre.model.batch import TrackKind

GEO_VERSION = "1.1.0"
WKB_POINT_SIZE = 21  # byte order (1) + geometry type (4) + x (8) + y (8)
_WKB_DTYPE = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
KIND_LABELS = ["unknown"] + [k.label for k in TrackKind]


class Table(StrEnum):
    """The archive's tables: one folder each under the archive root."""

    POSITIONS = "positions"
    STATICS = "statics"
    EVENTS = "events"
    ALERTS = "alerts"
    ACKS = "acks"


GEO_TABLES = (Table.POSITIONS, Table.EVENTS, Table.ALERTS)
TS = pa.timestamp("us", tz="UTC")
KIND = pa.dictionary(pa.int8(), pa.string())

_COMMON = [("t", TS), ("key", pa.int64()), ("kind", KIND), ("ident", pa.uint32())]

SCHEMAS: dict[Table, pa.Schema] = {
    Table.POSITIONS: pa.schema(
        _COMMON
        + [
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("sog", pa.float32()),
            ("cog", pa.float32()),
            ("heading", pa.float32()),
            ("nav_status", pa.int8()),
            ("msg_type", pa.uint8()),
            ("alt_ft", pa.float32()),
            ("vrate_fpm", pa.float32()),
            ("squawk", pa.int16()),
            ("on_ground", pa.int8()),
            ("feed", pa.uint16()),
            ("geometry", pa.binary()),
        ]
    ),
    Table.STATICS: pa.schema(
        _COMMON
        + [
            ("msg_type", pa.uint8()),
            ("name", pa.string()),
            ("callsign", pa.string()),
            ("imo", pa.uint32()),
            ("ship_type", pa.int16()),
            ("length_m", pa.float32()),
            ("beam_m", pa.float32()),
            ("draught_m", pa.float32()),
            ("destination", pa.string()),
            ("eta", pa.string()),
            ("imdg_class", pa.float32()),
            ("squawk", pa.int16()),
            ("feed", pa.uint16()),
        ]
    ),
    Table.EVENTS: pa.schema(
        _COMMON
        + [
            ("event", pa.string()),  # EventKind of core.timeline
            ("zone", pa.string()),
            ("field", pa.string()),
            ("old", pa.string()),
            ("new", pa.string()),
            ("duration_s", pa.float64()),
            ("initial", pa.bool_()),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("geometry", pa.binary()),
        ]
    ),
    Table.ALERTS: pa.schema(
        _COMMON
        + [
            ("id", pa.string()),
            ("version", pa.int32()),
            ("status", pa.string()),
            ("category", pa.string()),
            ("level", pa.string()),
            ("score", pa.float32()),
            ("started", TS),
            ("state", pa.string()),
            ("zone", pa.string()),
            ("name", pa.string()),
            ("reasons", pa.list_(pa.string())),
            ("payload", pa.string()),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("geometry", pa.binary()),
        ]
    ),
    Table.ACKS: pa.schema(
        _COMMON
        + [
            ("id", pa.string()),
            ("version", pa.int32()),
            ("status", pa.string()),
            ("ack_by", pa.string()),
            ("ack_note", pa.string()),
            ("ack_at", pa.string()),  # wall clock of the acknowledgement, ISO 8601
        ]
    ),
}

# Sort order inside a compacted file: one track's reports sit together (row-group statistics on
# ``key`` then skip most of a day for a track query).
SORT_KEYS: dict[Table, list[tuple[str, str]]] = {
    t: [("key", "ascending"), ("t", "ascending")] if t == Table.POSITIONS else [("t", "ascending")]
    for t in Table
}

# What makes two rows the same record: a replay of the same recording into the same archive gives
# rows equal on these columns, and merging a day's files keeps one of each (the archive is
# idempotent for replays). Positions: the track, the time and the report (message type and fix).
IDENTITY: dict[Table, tuple[str, ...]] = {
    Table.POSITIONS: ("key", "t", "msg_type", "lat", "lon"),
    Table.STATICS: (
        "key",
        "t",
        "msg_type",
        "name",
        "callsign",
        "imo",
        "ship_type",
        "destination",
        "draught_m",
    ),
    Table.EVENTS: ("key", "t", "event", "zone", "field", "old", "new"),
    Table.ALERTS: ("id", "version"),
    Table.ACKS: ("id", "version", "status", "ack_by", "ack_at"),
}


def wkb_points(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]) -> pa.Array:
    """WKB points (little-endian, 2D) for whole coordinate columns, as one Arrow binary array."""
    n = len(lon)
    raw = np.empty(n, dtype=_WKB_DTYPE)
    raw["order"] = 1
    raw["type"] = 1
    raw["x"] = lon
    raw["y"] = lat
    offsets = (np.arange(n + 1, dtype=np.int32) * WKB_POINT_SIZE).astype(np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw.tobytes())])


def times(t: npt.NDArray[np.float64]) -> pa.Array:
    """Event times (float seconds since the epoch) as UTC microsecond timestamps."""
    us = np.round(np.asarray(t, dtype=np.float64) * 1e6).astype(np.int64)
    return pa.array(us, type=TS)  # (a cast from int64 would look the time zone up on every call)


def kinds(codes: npt.ArrayLike) -> pa.Array:
    idx = np.asarray(codes, dtype=np.int8)
    idx = np.where((idx >= 0) & (idx < len(KIND_LABELS)), idx, 0).astype(np.int8)
    return pa.DictionaryArray.from_arrays(pa.array(idx, type=pa.int8()), pa.array(KIND_LABELS))


def _crs_projjson() -> dict[str, Any]:
    from pyproj import CRS

    return dict(CRS.from_epsg(4326).to_json_dict())


def geo_metadata(table: pa.Table) -> bytes:
    """GeoParquet ``geo`` file metadata for the table's ``geometry`` column (points, EPSG:4326, bbox)."""
    col: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": ["Point"],
        "crs": _crs_projjson(),
        "edges": "planar",
    }
    if table.num_rows and "lon" in table.column_names:
        import pyarrow.compute as pc

        lon, lat = table.column("lon"), table.column("lat")
        mm_x, mm_y = pc.min_max(lon).as_py(), pc.min_max(lat).as_py()
        if mm_x["min"] is not None and mm_y["min"] is not None:
            col["bbox"] = [mm_x["min"], mm_y["min"], mm_x["max"], mm_y["max"]]
    return json.dumps(
        {"version": GEO_VERSION, "primary_column": "geometry", "columns": {"geometry": col}}
    ).encode()


def empty_table(table: Table) -> pa.Table:
    return SCHEMAS[table].empty_table()


def positions_table(pos: npt.NDArray[np.void]) -> pa.Table:
    """Arrow table of a POSITION_DTYPE array (rows without a finite position or time dropped)."""
    ok = np.isfinite(pos["lat"]) & np.isfinite(pos["lon"]) & np.isfinite(pos["t"])
    p = pos[ok] if not ok.all() else pos
    cols: dict[str, Any] = {
        "t": times(p["t"]),
        "key": pa.array(p["key"], type=pa.int64()),
        "kind": kinds(p["kind"]),
        "ident": pa.array(p["ident"], type=pa.uint32()),
    }
    for name in ("lat", "lon", "sog", "cog", "heading", "nav_status", "msg_type", "alt_ft", "vrate_fpm"):
        cols[name] = pa.array(np.ascontiguousarray(p[name]))
    for name in ("squawk", "on_ground", "feed"):
        cols[name] = pa.array(np.ascontiguousarray(p[name]))
    cols["geometry"] = wkb_points(np.ascontiguousarray(p["lon"]), np.ascontiguousarray(p["lat"]))
    return pa.Table.from_pydict(cols, schema=SCHEMAS[Table.POSITIONS])


def statics_table(st: npt.NDArray[np.void]) -> pa.Table:
    """Arrow table of a STATIC_DTYPE array."""
    ok = np.isfinite(st["t"])
    s = st[ok] if not ok.all() else st
    cols: dict[str, Any] = {
        "t": times(s["t"]),
        "key": pa.array(s["key"], type=pa.int64()),
        "kind": kinds(s["kind"]),
        "ident": pa.array(s["ident"], type=pa.uint32()),
    }
    schema = SCHEMAS[Table.STATICS]
    for name in schema.names[4:]:
        v = np.ascontiguousarray(s[name])
        cols[name] = pa.array(v.astype(object) if v.dtype.kind == "U" else v, type=schema.field(name).type)
    return pa.Table.from_pydict(cols, schema=schema)


def table_times(table: pa.Table) -> npt.NDArray[np.int64]:
    """Event times of a table's rows as integer microseconds (for partitioning)."""
    col = table.column("t")
    return (
        np.concatenate([c.view(pa.int64()).to_numpy(zero_copy_only=False) for c in col.chunks])
        if col.num_chunks
        else np.empty(0, np.int64)
    )
