"""Behaviour detectors: configuration from ``[detectors.*]`` tables and assembly into a list.

The profiles file (``geofences/profiles.toml``) may carry one table per detector::

    [detectors.ais_gap]
    enabled = true
    threshold_h = 6.0
    territorial_threshold_h = 2.0

Every key is optional (defaults: :mod:`docs/detectors.md`); an unknown key or a value of the
wrong type raises :class:`~mdacentre.model.errors.ConfigError` naming the table and the allowed keys
(the models are in :mod:`mdacentre.detect.config`).
A missing ``[detectors]`` section means "all detectors with their defaults".

The cross-domain detector reads what the aircraft, encounter and go-fast detectors found in the
same step. It is given them explicitly (``depends_on``), and the pipeline runs it after them
whatever the order of the list (:func:`~mdacentre.detect.context.in_dependency_order`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mdacentre.core.context import LearnedContext, load_context
from mdacentre.core.fences import Transition
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.air import AircraftDetector
from mdacentre.detect.common import Cleared, StepOut, make_finding, track_label, zone_ref
from mdacentre.detect.config import DETECTOR_NAMES, TransitConfig, parse_config, parse_section, read_section
from mdacentre.detect.context import Detector, StepContext
from mdacentre.detect.crossdomain import CrossDomainDetector
from mdacentre.detect.encounter import EncounterDetector
from mdacentre.detect.gap import AisGapDetector
from mdacentre.detect.identity import IdentityDetector
from mdacentre.detect.motion import GoFastDetector, LoiteringDetector
from mdacentre.detect.spoof import SpoofConfig, SpoofDetector
from mdacentre.detect.watchlist import load_ship_watchlists
from mdacentre.model.batch import TrackKind
from mdacentre.model.findings import Finding
from mdacentre.model.sets import isin

ZONE_ENTRY = "zone_entry"


# --- transits ----------------------------------------------------------------------------------


class TransitDetector:
    """Info-level findings for crossings into transit gates and territorial seas (closed on exit)."""

    def __init__(self, zones: list[Zone], config: TransitConfig | None = None) -> None:
        self.cfg = config or TransitConfig()
        self.zones = zones
        kinds = set(self.cfg.zone_kinds)
        self.watch = np.asarray([i for i, z in enumerate(zones) if z.kind.value in kinds], dtype=np.int64)
        self.track_kinds = tuple(int(TrackKind[k.upper()]) for k in self.cfg.track_kinds)

    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = []
        ev = ctx.fence_events
        if len(ev) == 0 or len(self.watch) == 0:
            return findings, cleared
        tc = ctx.table.cols
        rel = ev[isin(ev["zone"], self.watch) & isin(tc["kind"][ev["row"]], self.track_kinds)]
        for e in rel:
            zi, row, key, t = int(e["zone"]), int(e["row"]), int(e["key"]), float(e["t"])
            z = self.zones[zi]
            if int(e["transition"]) == Transition.ENTER and not bool(e["initial"]):
                verb = "crossed" if z.kind == ZoneKind.TRANSIT_GATE else "entered"
                reason = f"{track_label(ctx.table, row)} {verb} {z.name}"
                findings.append(
                    make_finding(
                        ctx.table,
                        row,
                        ZONE_ENTRY,
                        t,
                        self.cfg.score,
                        (reason,),
                        zone_ref(self.zones, zi),
                        {"zone_kind": z.kind.value},
                    )
                )
            elif int(e["transition"]) == Transition.EXIT:
                cleared.append(((ZONE_ENTRY, key, z.id), t))
        return findings, cleared

    def forget(self, keys: set[int]) -> None:
        return None


# --- assembly ----------------------------------------------------------------------------------


CONTEXT_AWARE = ("ais_gap", "encounter", "loitering", "go_fast")


def build_detectors(
    section: dict[str, Any],
    zones: list[Zone],
    where: str = "detectors",
    context: LearnedContext | None = None,
    base_dir: Path | None = None,
) -> list[Detector]:
    """Detectors from a parsed ``detectors`` table (missing tables take the defaults).

    ``context`` (learned stopping places, coverage, distance to shore) goes to the detectors that
    weigh where a behaviour happens; without it they use their rules without context.
    """
    section = parse_section(section, where)
    cfgs = {n: parse_config(n, section.get(n, {}), f"{where} [detectors.{n}]") for n in DETECTOR_NAMES}
    out: list[Detector] = []
    made: dict[str, Any] = {}
    factories: dict[str, Any] = {
        "ais_gap": AisGapDetector,
        "encounter": EncounterDetector,
        "loitering": LoiteringDetector,
        "go_fast": GoFastDetector,
        "position_jump": SpoofDetector,
        "aircraft": AircraftDetector,
        "transits": TransitDetector,
        "identity_change": IdentityDetector,
    }
    for name, factory in factories.items():
        enabled, cfg = cfgs[name]
        if enabled:
            made[name] = factory(zones, cfg, context) if name in CONTEXT_AWARE else factory(zones, cfg)
            out.append(made[name])
    if "encounter" in made:
        ecfg = made["encounter"].cfg
        watch = load_ship_watchlists(ecfg.watch_lists, base_dir or Path.cwd(), ecfg.watch_mmsi)
        made["encounter"].use_watchlist(watch)
    enabled, cfg = cfgs["cross_domain"]
    if enabled and "aircraft" in made and ("encounter" in made or "go_fast" in made):
        sources = [made[n] for n in ("encounter", "go_fast") if n in made]
        out.append(CrossDomainDetector(made["aircraft"], sources, cfg))
    return out


def load_detectors(path: Path, zones: list[Zone], context: LearnedContext | None = None) -> list[Detector]:
    """The detectors configured in the ``[detectors.*]`` tables of ``path`` (the profiles file).

    A relative ``land_file`` in ``[detectors.position_jump]`` is taken relative to the profiles file.
    Without ``context``, the learned context of the ``context/`` folder next to the profiles file
    is loaded (none there: no context).
    """
    if context is None:
        context = load_context(path.parent / "context")
    section = read_section(path)
    spoof = section.get("position_jump", {})
    land_file = spoof.get("land_file")
    if isinstance(land_file, str) and land_file and not Path(land_file).is_absolute():
        section = {**section, "position_jump": {**spoof, "land_file": str(path.parent / land_file)}}
    return build_detectors(section, zones, str(path), context, path.parent)


__all__ = [
    "DETECTOR_NAMES",
    "Cleared",
    "SpoofConfig",
    "StepOut",
    "TransitConfig",
    "TransitDetector",
    "build_detectors",
    "load_detectors",
    "parse_config",
]
