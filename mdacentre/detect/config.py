"""The ``[detectors.*]`` tables of the profiles file as pydantic models.

Each detector keeps its settings in a frozen dataclass next to its code (``AisGapConfig`` ...).
The model of its table is made from that dataclass (same keys, types and defaults, plus
``enabled``), so a new setting needs no second declaration: unknown keys are refused, numbers
must be numbers and not negative, and the JSON Schema shipped with the profiles file follows.
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, Strict, StringConstraints, create_model

from mdacentre.core.zones import ZoneKind
from mdacentre.detect.air import AircraftConfig
from mdacentre.detect.crossdomain import CrossDomainConfig
from mdacentre.detect.encounter import EncounterConfig
from mdacentre.detect.gap import AisGapConfig
from mdacentre.detect.identity import IdentityConfig
from mdacentre.detect.motion import GoFastConfig, LoiteringConfig
from mdacentre.detect.spoof import SpoofConfig
from mdacentre.detect.vessels import VesselClass
from mdacentre.model.batch import TrackKind
from mdacentre.runtime.config import ConfigModel, dotted, read_toml, validate


@dataclasses.dataclass(frozen=True)
class TransitConfig:
    zone_kinds: tuple[str, ...] = ("transit_gate", "territorial_sea")
    track_kinds: tuple[str, ...] = ("vessel",)
    score: float = 10.0


# the order the detectors run in (the cross-domain detector reads the others' state: last)
CONFIG_CLASSES: dict[str, type[Any]] = {
    "ais_gap": AisGapConfig,
    "encounter": EncounterConfig,
    "loitering": LoiteringConfig,
    "go_fast": GoFastConfig,
    "position_jump": SpoofConfig,
    "aircraft": AircraftConfig,
    "transits": TransitConfig,
    "identity_change": IdentityConfig,
    "cross_domain": CrossDomainConfig,
}
DETECTOR_NAMES = tuple(CONFIG_CLASSES)

_DESCRIPTIONS = {
    "ais_gap": "going dark: AIS silence (GFW gaps, Skylight dark activity)",
    "encounter": "encounter and close rendezvous of two vessels",
    "loitering": "slow for hours far from shore (GFW loitering)",
    "go_fast": "small fast craft",
    "position_jump": "implausible jumps, one identity in two places, invalid MMSI, positions on land",
    "aircraft": "squawk 7500/7600/7700, low flight, off-airport landing, transponder lost, circling",
    "transits": "zone entries and transit-gate crossings (info level)",
    "cross_domain": "an aircraft circling over a vessel incident",
    "identity_change": "suspicious identity changes: name or flag at sea, one IMO under two MMSIs, statics flipping",
}


def _choice(values: list[str]) -> Any:
    return Literal.__getitem__(tuple(values))


SQUAWKS = (7500, 7600, 7700)


def _squawks(value: dict[int, float]) -> dict[int, float]:
    bad = sorted(k for k in value if k not in SQUAWKS)
    if bad:
        raise ValueError(f"squawk_scores only knows 7500, 7600 and 7700, not {bad}")
    return value


def _field_type(name: str, key: str, annotation: Any) -> Any:
    """The pydantic type of one setting: TOML types checked strictly, numbers not negative."""
    if (name, key) == ("transits", "zone_kinds"):
        zone_kind: Any = _choice([k.value for k in ZoneKind])
        return tuple[zone_kind, ...]
    if (name, key) == ("transits", "track_kinds"):
        track_kind: Any = _choice([k.label for k in TrackKind])
        return tuple[track_kind, ...]
    if key == "routine_classes":
        vessel_class: Any = _choice([c.label for c in VesselClass])
        return tuple[vessel_class, ...]
    if key == "watch_mmsi":
        return tuple[Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")], ...]
    if (name, key) == ("aircraft", "squawk_scores"):
        return Annotated[
            dict[int, Annotated[float, Field(ge=0)]],
            AfterValidator(_squawks),
            Field(json_schema_extra={"propertyNames": {"enum": [str(k) for k in SQUAWKS]}}),
        ]
    if annotation is bool:
        return Annotated[bool, Strict()]
    if annotation in (int, float):
        return Annotated[annotation, Strict(), Field(ge=0)]
    if annotation is str:
        return Annotated[str, Strict()]
    return annotation


class DetectorTable(ConfigModel):
    """Base of one ``[detectors.<name>]`` table."""

    enabled: bool = Field(default=True, strict=True, description="false switches the detector off")


@cache
def table_model(name: str) -> type[DetectorTable]:
    """The model of ``[detectors.<name>]``, made from the detector's config dataclass."""
    cls = CONFIG_CLASSES[name]
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        factory: Any = f.default_factory
        default: Any = f.default if f.default is not dataclasses.MISSING else factory()
        fields[f.name] = (_field_type(name, f.name, hints[f.name]), default)
    model = create_model(
        f"{cls.__name__}Table", __base__=DetectorTable, __doc__=_DESCRIPTIONS.get(name, name), **fields
    )
    return model


class DetectorsSection(ConfigModel):
    """Base of the ``[detectors]`` table."""

    key_noun: ClassVar[str] = "detector"


@cache
def section_model() -> type[DetectorsSection]:
    """The model of the whole ``[detectors]`` table: one optional table per detector."""
    fields: dict[str, Any] = {
        n: (table_model(n) | None, Field(default=None, description=_DESCRIPTIONS.get(n)))
        for n in DETECTOR_NAMES
    }
    model = create_model(
        "Detectors",
        __base__=DetectorsSection,
        __doc__="[detectors.*]: behaviour detectors; a missing table or key keeps its default",
        **fields,
    )
    return model


def parse_config(name: str, raw: dict[str, Any], where: str) -> tuple[bool, Any]:
    """(enabled, config dataclass) for one ``[detectors.<name>]`` table."""
    table = validate(table_model(name), raw, where)
    values = table.model_dump(exclude={"enabled"}, exclude_unset=True)
    return table.enabled, CONFIG_CLASSES[name](**values)


def _in_section(loc: Any, data: Any) -> str:
    return dotted(("detectors", *loc), {"detectors": data})


def parse_section(section: Any, where: str) -> dict[str, dict[str, Any]]:
    """The ``[detectors]`` table checked as a whole (unknown detectors and keys refused)."""
    parsed = validate(section_model(), section, where, key_name=_in_section)
    return {
        n: t.model_dump(exclude_unset=True) for n in DETECTOR_NAMES if (t := getattr(parsed, n)) is not None
    }


def read_section(path: Path) -> dict[str, Any]:
    """The ``[detectors.*]`` tables of a profiles file (other top-level tables are the profiles')."""
    doc = read_toml(path, "detector settings", "pass --profiles with an existing file")
    return parse_section(doc.get("detectors", {}), str(path))
