"""IMO ship identification numbers: seven digits, the last a check digit (IMO Resolution A.1117(30)).

AIS carries many placeholders (0, 1, 100, 1234567, the MMSI...); only numbers whose check digit
holds identify a ship."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def valid_imo(imo: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where ``imo`` is a seven-digit IMO number with a correct check digit."""
    n = np.asarray(imo, dtype=np.int64)
    digits = (n[..., None] // 10 ** np.arange(6, -1, -1)) % 10  # most significant first
    weights = np.arange(7, 1, -1)
    check = (digits[..., :6] * weights).sum(axis=-1) % 10
    return np.asarray((n >= 1_000_000) & (n <= 9_999_999) & (check == digits[..., 6]))
