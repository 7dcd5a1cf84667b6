"""Danish Maritime Authority decoded AIS CSV to archive rows.

Header: ``# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,
Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,
Draught,Destination,ETA,Data source type,A,B,C,D``; times ``dd/mm/yyyy HH:MM:SS`` (UTC). Ship
type, cargo type and navigational status are text labels; they are turned into the AIS codes
(ship type and cargo category together give the two-digit type, e.g. Tanker + Category X = 81).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mdacentre.decode.archives.build import ArchiveRows
from mdacentre.decode.archives.columns import (
    as_epoch,
    as_float,
    as_text,
    digits,
    eta_text,
    int_or,
    map_codes,
    normalized,
    pick,
)
from mdacentre.model.batch import TrackKind

REQUIRED = ("timestamp", "typeofmobile", "mmsi", "latitude", "longitude")
TIME_FORMAT = "%d/%m/%Y %H:%M:%S"

# DMA ship-type labels (folded) to the first AIS ship-type code of the label
SHIP_TYPES = {
    "wig": 20,
    "fishing": 30,
    "towing": 31,
    "towinglongwide": 32,
    "dredging": 33,
    "diving": 34,
    "military": 35,
    "sailing": 36,
    "pleasure": 37,
    "hsc": 40,
    "pilot": 50,
    "sar": 51,
    "tug": 52,
    "porttender": 53,
    "antipollution": 54,
    "lawenforcement": 55,
    "medical": 58,
    "notpartytoconflict": 59,
    "passenger": 60,
    "cargo": 70,
    "tanker": 80,
    "other": 90,
}
HAZARD_DIGIT = {"categoryx": 1, "categoryy": 2, "categoryz": 3, "categoryos": 4}
NAV_STATUS = {
    "underwayusingengine": 0,
    "atanchor": 1,
    "notundercommand": 2,
    "restrictedmaneuverability": 3,
    "restrictedmanoeuverability": 3,
    "restrictedmanoeuvrability": 3,
    "constrainedbyherdraught": 4,
    "moored": 5,
    "aground": 6,
    "engagedinfishing": 7,
    "underwaysailing": 8,
    "reservedforfutureamendmenthsc": 9,
    "reservedforfutureamendmentwig": 10,
    "powerdrivenvesseltowingastern": 11,
    "powerdrivenvesselpushingaheadortowingalongside": 12,
    "reservedforfutureuse": 13,
    "aissartisactive": 14,
    "unknownvalue": 15,
}
MOBILE_KINDS = {
    "classa": TrackKind.VESSEL,
    "classb": TrackKind.VESSEL,
    "basestation": TrackKind.BASE_STATION,
    "aton": TrackKind.AID_TO_NAVIGATION,
    "sarairborne": TrackKind.SAR_AIRCRAFT,
}


def _fold(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum())


def matches(names: list[str]) -> bool:
    """True if folded column names are those of a DMA file."""
    return all(n in names for n in REQUIRED)


def rows_of(table: pa.Table) -> ArchiveRows:
    cols = normalized(table)
    n = table.num_rows
    mobile = map_codes(
        pick(cols, "typeofmobile"), n, lambda s: int(MOBILE_KINDS.get(_fold(s), TrackKind.VESSEL))
    )
    class_b = map_codes(pick(cols, "typeofmobile"), n, lambda s: int(_fold(s) == "classb"), 0).astype(bool)
    base = map_codes(pick(cols, "shiptype"), n, lambda s: SHIP_TYPES.get(_fold(s), -1))
    hazard = map_codes(pick(cols, "cargotype"), n, lambda s: HAZARD_DIGIT.get(_fold(s), 0), 0)
    # the hazardous category applies to the WIG, HSC, passenger, cargo, tanker and other ranges
    hazard_ok = np.isin(base // 10, (2, 4, 6, 7, 8, 9)) & (base % 10 == 0)
    ship_type = np.where(hazard_ok, base + hazard, base)
    width = as_float(pick(cols, "width"), n)
    length = as_float(pick(cols, "length"), n)
    a, b = as_float(pick(cols, "a"), n), as_float(pick(cols, "b"), n)
    c, d = as_float(pick(cols, "c"), n), as_float(pick(cols, "d"), n)
    length = np.where(length > 0, length, a + b)
    width = np.where(width > 0, width, c + d)
    draught = as_float(pick(cols, "draught"), n)
    return ArchiveRows(
        mmsi=int_or(as_float(cols["mmsi"], n), 1, 999_999_999, 0),
        t=as_epoch(cols["timestamp"], n, TIME_FORMAT),
        lat=as_float(cols["latitude"], n),
        lon=as_float(cols["longitude"], n),
        sog=as_float(pick(cols, "sog"), n),
        cog=as_float(pick(cols, "cog"), n),
        heading=as_float(pick(cols, "heading"), n),
        nav_status=map_codes(pick(cols, "navigationalstatus"), n, lambda s: NAV_STATUS.get(_fold(s), -1)),
        kind=mobile,
        class_b=class_b,
        name=_unknown_blank(as_text(pick(cols, "name"), n, 20)),
        callsign=_unknown_blank(as_text(pick(cols, "callsign"), n, 7)),
        imo=int_or(digits(pick(cols, "imo"), n), 1, 9_999_999, 0),
        ship_type=ship_type,
        length_m=np.where(length > 0, length, np.nan),
        beam_m=np.where(width > 0, width, np.nan),
        draught_m=np.where(draught > 0, draught, np.nan),
        destination=_unknown_blank(as_text(pick(cols, "destination"), n, 20)),
        eta=eta_text(pick(cols, "eta"), n, TIME_FORMAT),
    )


def _unknown_blank(v: np.ndarray) -> np.ndarray:
    return np.where(np.char.lower(v) == "unknown", "", v).astype(v.dtype)
