"""Set membership on NumPy columns, cheap for the small test sets of the per-step hot path.

``np.isin`` sorts or tabulates its inputs on every call: tens of microseconds even for five rows
against three values, paid by every detector and profile on every event-time step. Against a few
values, a comparison per value is exact and several times cheaper; larger sets go to ``np.isin``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SMALL_SET = 16  # test sets up to this size are compared value by value


def isin(values: npt.ArrayLike, test: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """``np.isin(values, test)``: is each element of ``values`` one of ``test``? (same result)"""
    a = np.asarray(values)
    b = np.asarray(test).ravel()
    if len(b) > SMALL_SET:
        return np.asarray(np.isin(a, b))
    out = np.zeros(a.shape, dtype=bool)
    if a.size == 0:
        return out
    for v in b.tolist():
        out |= a == v
    return out
