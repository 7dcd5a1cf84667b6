"""MarineCadastre decoded AIS (US BOEM/NOAA), as CSV or GeoParquet, to archive rows.

Columns (folded names, so ``BaseDateTime`` and ``base_date_time`` both match): MMSI,
BaseDateTime (ISO 8601, UTC), LAT, LON (or a WKB point ``geometry`` in GeoParquet), SOG, COG,
Heading, VesselName, IMO (``IMO9344241``), CallSign, VesselType, Status, Length, Width, Draft,
Cargo, TransceiverClass (A/B). Any of the columns after LON may be missing (day files split per
vessel drop several).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from mdacentre.decode.archives.build import ArchiveRows
from mdacentre.decode.archives.columns import (
    as_epoch,
    as_float,
    as_text,
    digits,
    int_or,
    normalized,
    pick,
)
from mdacentre.model.batch import TrackKind

REQUIRED = ("mmsi", "basedatetime")


def matches(names: list[str]) -> bool:
    """True if folded column names are those of a MarineCadastre file."""
    return all(n in names for n in REQUIRED)


def lat_lon(cols: dict[str, pa.ChunkedArray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude from LAT/LON columns, or else from a WKB point geometry column."""
    lat, lon = pick(cols, "lat", "latitude"), pick(cols, "lon", "longitude")
    if lat is not None and lon is not None:
        return as_float(lat, n), as_float(lon, n)
    geom = pick(cols, "geometry", "geom")
    if geom is None:
        return np.full(n, np.nan), np.full(n, np.nan)
    if pa.types.is_struct(geom.type):  # GeoArrow native point encoding {x, y}
        g = geom.combine_chunks()
        return as_float(pa.chunked_array([g.field("y")]), n), as_float(pa.chunked_array([g.field("x")]), n)
    wkb = np.asarray(geom.to_numpy(zero_copy_only=False), dtype=object)
    pts = shapely.from_wkb(wkb, on_invalid="ignore")
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    return np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)


def rows_of(table: pa.Table) -> ArchiveRows:
    cols = normalized(table)
    n = table.num_rows
    lat, lon = lat_lon(cols, n)
    cls = pick(cols, "transceiverclass", "transceiver")
    class_b = (
        np.zeros(n, dtype=bool)
        if cls is None
        else np.asarray(
            pc.fill_null(pc.equal(pc.utf8_upper(pc.cast(cls, pa.string())), "B"), False).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
    )
    return ArchiveRows(
        mmsi=int_or(as_float(cols["mmsi"], n), 1, 999_999_999, 0),
        t=as_epoch(cols["basedatetime"], n, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"),
        lat=lat,
        lon=lon,
        sog=as_float(pick(cols, "sog"), n),
        cog=as_float(pick(cols, "cog"), n),
        heading=as_float(pick(cols, "heading"), n),
        nav_status=int_or(as_float(pick(cols, "status"), n), 0, 15, -1),
        kind=np.full(n, int(TrackKind.VESSEL), dtype=np.int64),
        class_b=class_b,
        name=as_text(pick(cols, "vesselname"), n, 20),
        callsign=as_text(pick(cols, "callsign"), n, 7),
        imo=int_or(digits(pick(cols, "imo"), n), 1, 9_999_999, 0),
        ship_type=int_or(as_float(pick(cols, "vesseltype"), n), 0, 99, -1),
        length_m=_positive(as_float(pick(cols, "length"), n)),
        beam_m=_positive(as_float(pick(cols, "width"), n)),
        draught_m=_positive(as_float(pick(cols, "draft", "draught"), n)),
        destination=np.full(n, "", dtype="<U20"),
        eta=np.full(n, "", dtype="<U11"),
    )


def _positive(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0, v, np.nan)
