"""The flag of each track: from the MID in a vessel's MMSI, from the ICAO address block for an aircraft."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from mdacentre.model.batch import TrackKind
from mdacentre.model.icao import icao_flags
from mdacentre.model.mid import flag_states

AIR_KINDS = (int(TrackKind.AIRCRAFT),)  # SAR aircraft carry an MMSI (111MMMXXX): their flag is the MID's


def track_flags(kinds: Sequence[int] | npt.ArrayLike, idents: npt.ArrayLike) -> list[str]:
    """Alpha-2 flag per track ('' when unknown)."""
    k = np.asarray([int(x) for x in kinds] if isinstance(kinds, Sequence) else kinds, dtype=np.int64)
    ids = np.asarray(idents, dtype=np.int64)
    if len(ids) == 0:
        return []
    air = np.isin(k, AIR_KINDS)
    out = np.asarray(flag_states(ids), dtype="<U2")
    if air.any():
        out[air] = icao_flags(ids[air])
    return [str(x) for x in out.tolist()]
