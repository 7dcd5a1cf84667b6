"""What a behaviour detector sees at each step, and the interface every detector implements.

Detectors depend on this small contract, never on the pipeline that drives them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from mdacentre.core.fences import FenceTracker
from mdacentre.core.tracks import TrackTable, UpdateResult
from mdacentre.core.zones import Zone
from mdacentre.model.errors import ConfigError
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


@runtime_checkable
class DependentDetector(Protocol):
    """A detector that reads what other detectors found in the same step.

    ``depends_on`` names them (the objects themselves): the pipeline runs it after them, whatever
    the order of the list it was given (:func:`in_dependency_order`).
    """

    depends_on: tuple[object, ...]

    def step(self, ctx: StepContext) -> tuple[list[Finding], list[tuple[tuple[str, int, str], float]]]: ...

    def forget(self, keys: set[int]) -> None: ...


class VesselAlertSource(Protocol):
    """A detector whose open situations put vessels under an alert (encounters, go-fast runs)."""

    def open_vessel_alerts(self) -> list[tuple[int, str]]:
        """(vessel track key, alert category) of every open situation."""
        ...


class CirclingSource(Protocol):
    """A detector that knows which aircraft are circling now."""

    def circling_tracks(self) -> dict[int, int]:
        """Aircraft track key -> table row of every aircraft with an open circling situation."""
        ...


def in_dependency_order(detectors: Sequence[Detector]) -> list[Detector]:
    """The detectors with each one after those it depends on; otherwise in the given order.

    Raises :class:`ConfigError` if a detector depends on one that is not in the list (it would
    never see a result) or if the dependencies form a cycle.
    """
    ids = {id(d) for d in detectors}
    out: list[Detector] = []
    done: set[int] = set()
    visiting: set[int] = set()

    def visit(d: Detector) -> None:
        if id(d) in done:
            return
        if id(d) in visiting:
            raise ConfigError(f"detector dependencies form a cycle through {type(d).__name__}")
        visiting.add(id(d))
        for dep in d.depends_on if isinstance(d, DependentDetector) else ():
            if id(dep) not in ids:
                raise ConfigError(
                    f"{type(d).__name__} reads {type(dep).__name__}, which is not among the detectors: "
                    f"enable it too, or disable {type(d).__name__}"
                )
            visit(dep)  # type: ignore[arg-type]
        visiting.discard(id(d))
        done.add(id(d))
        out.append(d)

    for d in detectors:
        visit(d)
    return out
