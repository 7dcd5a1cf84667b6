"""Keeping the event loop's thread quick: the GIL hand-over.

The archive writer's thread (GeoParquet conversion, the timeline) and the store's worker threads
run Python beside the event loop. NumPy releases the GIL around its work and the loop's thread
must take it back each time; with CPython's default switch interval (5 ms) every take-back can
wait that long for a busy thread, so a step of a few milliseconds could take 50 ms or more (a
cause of the live latency tail, docs/performance.md, fourth round of 2026-12-03). A shorter
interval (:data:`SWITCH_INTERVAL_S`) bounds each wait.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL_S = 0.0005  # CPython's default is 0.005


def shorten_gil_switch(interval_s: float = SWITCH_INTERVAL_S) -> float:
    """Set the interpreter's thread switch interval (process-wide); the previous value."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(interval_s)
    return before
