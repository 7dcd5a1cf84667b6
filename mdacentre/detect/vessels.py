"""What a vessel is, from its AIS ship type and size: the classes the behaviour rules reason with.

AIS ship types (ITU-R M.1371 table 53): 30 fishing, 31/32 towing, 33 dredging, 34 diving,
35 military, 36 sailing, 37 pleasure, 40-49 high-speed craft, 50 pilot, 51 search and rescue,
52 tug, 53 port tender, 54 anti-pollution, 55 law enforcement, 58 medical, 60-69 passenger,
70-79 cargo, 80-89 tanker, 90-99 other; 0 and missing are unknown.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

from mdacentre.model.sets import isin

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


class VesselClass(IntEnum):
    UNKNOWN = 0
    FISHING = 1
    TOWING = 2  # tugs and tows (31, 32, 52)
    SERVICE = 3  # pilot, port tender, dredging, diving, anti-pollution, medical (work alongside others)
    AUTHORITY = 4  # law enforcement, search and rescue, military
    PLEASURE = 5  # sailing and pleasure craft
    PASSENGER = 6
    CARGO = 7  # cargo ships, reefers among them
    TANKER = 8  # tankers, bunker tankers among them
    HSC = 9
    OTHER = 10  # 90-99 and the rest (offshore supply vessels often report 90)

    @property
    def label(self) -> str:
        return self.name.lower()


_TABLE = np.full(100, int(VesselClass.OTHER), dtype=np.int64)
_TABLE[0] = VesselClass.UNKNOWN
_TABLE[30] = VesselClass.FISHING
_TABLE[[31, 32, 52]] = VesselClass.TOWING
_TABLE[[33, 34, 50, 53, 54, 58]] = VesselClass.SERVICE
_TABLE[[35, 51, 55]] = VesselClass.AUTHORITY
_TABLE[[36, 37]] = VesselClass.PLEASURE
_TABLE[40:50] = VesselClass.HSC
_TABLE[60:70] = VesselClass.PASSENGER
_TABLE[70:80] = VesselClass.CARGO
_TABLE[80:90] = VesselClass.TANKER

# Classes whose work puts them next to other vessels or holds them still: never suspicious by type alone.
WORKING = (VesselClass.TOWING, VesselClass.SERVICE, VesselClass.AUTHORITY)
# Vessels that carry for others at sea: reefers (cargo) and bunker tankers.
CARRIERS = (VesselClass.CARGO, VesselClass.TANKER)
LARGE_CLASSES = (VesselClass.CARGO, VesselClass.TANKER, VesselClass.PASSENGER)


def vessel_class(ship_type: npt.ArrayLike) -> IntArray:
    """The :class:`VesselClass` of each AIS ship type (unknown for missing or out-of-range values)."""
    st = np.asarray(ship_type, dtype=np.int64)
    ok = (st >= 0) & (st <= 99)
    return np.where(ok, _TABLE[np.clip(st, 0, 99)], int(VesselClass.UNKNOWN))


def in_classes(cls: npt.ArrayLike, classes: tuple[VesselClass, ...]) -> BoolArray:
    return isin(np.asarray(cls), [int(c) for c in classes])


def is_small(cls: npt.ArrayLike, length_m: npt.ArrayLike, max_len: float = 20.0) -> BoolArray:
    """Small craft: shorter than ``max_len`` when the length is known, else pleasure, fishing or unknown."""
    ln = np.asarray(length_m, dtype=np.float64)
    known = np.isfinite(ln) & (ln > 0)
    by_class = in_classes(cls, (VesselClass.PLEASURE, VesselClass.FISHING, VesselClass.UNKNOWN))
    return np.asarray(np.where(known, ln < max_len, by_class))


def is_large(cls: npt.ArrayLike, length_m: npt.ArrayLike, min_len: float = 50.0) -> BoolArray:
    """Large ships: at least ``min_len`` long when known, else cargo, tanker or passenger by type."""
    ln = np.asarray(length_m, dtype=np.float64)
    known = np.isfinite(ln) & (ln > 0)
    return np.asarray(np.where(known, ln >= min_len, in_classes(cls, LARGE_CLASSES)))
