"""Behaviour detectors: configuration from ``[detectors.*]`` tables and assembly into a list.

The profiles file (``geofences/profiles.toml``) may carry one table per detector::

    [detectors.ais_gap]
    enabled = true
    threshold_h = 6.0
    territorial_threshold_h = 2.0

Every key is optional (defaults: :mod:`docs/detectors.md`); an unknown key or a value of the
wrong type raises :class:`~mdacentre.model.errors.ConfigError` naming the table and the allowed keys.
A missing ``[detectors]`` section means "all detectors with their defaults".

Order matters: the cross-domain detector reads the state the aircraft, encounter and go-fast
detectors built in the same step, so it comes last.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mdacentre.core.fences import Transition
from mdacentre.core.zones import Zone, ZoneKind
from mdacentre.detect.air import AircraftConfig, AircraftDetector, CrossDomainConfig, CrossDomainDetector
from mdacentre.detect.common import Cleared, StepOut
from mdacentre.detect.context import Detector, StepContext
from mdacentre.detect.encounter import EncounterConfig, EncounterDetector
from mdacentre.detect.gap import AisGapConfig, AisGapDetector
from mdacentre.detect.motion import GoFastConfig, GoFastDetector, LoiteringConfig, LoiteringDetector
from mdacentre.detect.spoof import SpoofConfig, SpoofDetector
from mdacentre.model.errors import ConfigError
from mdacentre.model.findings import Finding

ZONE_ENTRY = "zone_entry"

DETECTOR_NAMES = (
    "ais_gap",
    "encounter",
    "loitering",
    "go_fast",
    "position_jump",
    "aircraft",
    "transits",
    "cross_domain",
)


# --- transits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransitConfig:
    zone_kinds: tuple[str, ...] = ("transit_gate", "territorial_sea")
    track_kinds: tuple[str, ...] = ("vessel",)
    score: float = 10.0


class TransitDetector:
    """Info-level findings for crossings into transit gates and territorial seas (closed on exit)."""

    def __init__(self, zones: list[Zone], config: TransitConfig | None = None) -> None:
        from mdacentre.model.batch import TrackKind

        self.cfg = config or TransitConfig()
        self.zones = zones
        kinds = set(self.cfg.zone_kinds)
        self.watch = np.asarray([i for i, z in enumerate(zones) if z.kind.value in kinds], dtype=np.int64)
        self.track_kinds = tuple(int(TrackKind[k.upper()]) for k in self.cfg.track_kinds)

    def step(self, ctx: StepContext) -> StepOut:
        from mdacentre.detect.common import make_finding, track_label, zone_ref

        findings: list[Finding] = []
        cleared: list[Cleared] = []
        ev = ctx.fence_events
        if len(ev) == 0 or len(self.watch) == 0:
            return findings, cleared
        tc = ctx.table.cols
        rel = ev[np.isin(ev["zone"], self.watch) & np.isin(tc["kind"][ev["row"]], self.track_kinds)]
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


# --- configuration -----------------------------------------------------------------------------

CONFIG_CLASSES: dict[str, type[Any]] = {
    "ais_gap": AisGapConfig,
    "encounter": EncounterConfig,
    "loitering": LoiteringConfig,
    "go_fast": GoFastConfig,
    "position_jump": SpoofConfig,
    "aircraft": AircraftConfig,
    "transits": TransitConfig,
    "cross_domain": CrossDomainConfig,
}


def _coerce(name: str, fld: dataclasses.Field[Any], value: Any, where: str) -> Any:
    factory: Any = fld.default_factory
    default = fld.default if fld.default is not dataclasses.MISSING else factory()
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {name} must be true or false, not {value!r}")
        return value
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {name} must be a number, not {value!r}")
        if value < 0:
            raise ConfigError(f"{where}: {name} must not be negative ({value})")
        return type(default)(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {name} must be a string, not {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {name} must be a list of strings, not {value!r}")
        return tuple(value)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f'{where}: {name} must be a table, e.g. {name} = {{ "7700" = 70 }}')
        try:
            return {int(k): float(v) for k, v in value.items()}
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {name} keys must be integers and values numbers") from None
    return value


def parse_config(name: str, raw: dict[str, Any], where: str) -> tuple[bool, Any]:
    """(enabled, config dataclass) for one ``[detectors.<name>]`` table."""
    cls = CONFIG_CLASSES[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: enabled must be true or false")
    unknown = set(raw) - set(fields) - {"enabled"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(fields) + ['enabled']}"
        )
    values = {k: _coerce(k, fields[k], v, where) for k, v in raw.items() if k != "enabled"}
    cfg = cls(**values)
    _validate(name, cfg, where)
    return enabled, cfg


def _validate(name: str, cfg: Any, where: str) -> None:
    if isinstance(cfg, TransitConfig):
        known = {k.value for k in ZoneKind}
        bad = [k for k in cfg.zone_kinds if k not in known]
        if bad:
            raise ConfigError(f"{where}: zone_kinds {bad} unknown; use {sorted(known)}")
        from mdacentre.model.batch import TrackKind

        badt = [k for k in cfg.track_kinds if k.upper() not in TrackKind.__members__]
        if badt:
            raise ConfigError(f"{where}: track_kinds {badt} unknown; use {[k.label for k in TrackKind]}")
    if isinstance(cfg, AircraftConfig):
        bad_sq = [k for k in cfg.squawk_scores if k not in (7500, 7600, 7700)]
        if bad_sq:
            raise ConfigError(f"{where}: squawk_scores only knows 7500, 7600 and 7700, not {bad_sq}")


def read_section(path: Path) -> dict[str, Any]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read detector settings {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at the position shown") from None
    section = doc.get("detectors", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: 'detectors' must be a table of [detectors.<name>] tables")
    unknown = set(section) - set(DETECTOR_NAMES)
    if unknown:
        raise ConfigError(f"{path}: unknown detector(s) {sorted(unknown)}; known: {list(DETECTOR_NAMES)}")
    for k, v in section.items():
        if not isinstance(v, dict):
            raise ConfigError(f"{path}: [detectors.{k}] must be a table")
    return section


def build_detectors(section: dict[str, Any], zones: list[Zone], where: str = "detectors") -> list[Detector]:
    """Detectors from a parsed ``detectors`` table (missing tables take the defaults)."""
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
    }
    for name, factory in factories.items():
        enabled, cfg = cfgs[name]
        if enabled:
            made[name] = factory(zones, cfg)
            out.append(made[name])
    enabled, cfg = cfgs["cross_domain"]
    if enabled and "aircraft" in made and ("encounter" in made or "go_fast" in made):
        sources = [made[n] for n in ("encounter", "go_fast") if n in made]
        out.append(CrossDomainDetector(made["aircraft"], sources, cfg))
    return out


def load_detectors(path: Path, zones: list[Zone]) -> list[Detector]:
    """The detectors configured in the ``[detectors.*]`` tables of ``path`` (the profiles file).

    A relative ``land_file`` in ``[detectors.position_jump]`` is taken relative to the profiles file.
    """
    section = read_section(path)
    spoof = section.get("position_jump", {})
    land_file = spoof.get("land_file")
    if isinstance(land_file, str) and land_file and not Path(land_file).is_absolute():
        section = {**section, "position_jump": {**spoof, "land_file": str(path.parent / land_file)}}
    return build_detectors(section, zones, str(path))


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
