"""What a behaviour detector sees at each step, and the interface every detector implements.

Detectors depend on this small contract, never on the pipeline that drives them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from mdacentre.core.fences import FenceTracker
from mdacentre.core.tracks import TrackTable, UpdateResult
from mdacentre.core.zones import Zone
from mdacentre.model.findings import Finding


@dataclass(frozen=True)
class StepContext:
    """What a behaviour detector sees at each step (all read-only by convention)."""

    table: TrackTable
    update: UpdateResult  # rows touched, and this batch's valid positions sorted by (key, t) with rows
    fences: FenceTracker  # confirmed zone membership per track
    fence_events: npt.NDArray[np.void]  # this step's enter/exit transitions (FENCE_EVENT_DTYPE)
    zones: list[Zone]
    watermark: float  # newest event time seen: the detectors' "now"


class Detector(Protocol):
    """A behaviour detector: findings for situations that start, and situations that end (with event time)."""

    def step(self, ctx: StepContext) -> tuple[list[Finding], list[tuple[tuple[str, int, str], float]]]: ...

    def forget(self, keys: set[int]) -> None: ...
