"""Planted scenario definitions (TOML): known threats and near misses, re-timed into the day of the data.

One ``[[scenario]]`` table per case::

    [[scenario]]
    id = "encounter_south_of_ponce"
    kind = "encounter"           # what the synthesizer builds (ScenarioKind)
    expect = "encounter"         # alert category that must fire (or, for a near miss, must not)
    near_miss = false
    at = "02:00"                 # start, UTC time of day on the first day of the data
    lat = 17.30                  # where the scenario is put
    lon = -66.50
    window_h = [2.0, 4.0]        # the expected alert's event time, hours after `at`
    [scenario.params]            # kind-specific numbers (see Params); all have defaults
    hold_h = 3.0

A planted case is found when an alert of its ``expect`` category on one of its tracks opens
inside its window; a near miss has failed when such an alert opens inside its window (which
should cover the time the near miss is acted out: planted tracks simply stop at their end, and
the silence after it is no part of the case).
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mdacentre.model.errors import ConfigError


class ScenarioKind(StrEnum):
    ENCOUNTER = "encounter"  # two vessels meet and drift together at sea
    RENDEZVOUS_AIR = "rendezvous_air"  # two vessels side by side, an aircraft circling over them
    GOING_DARK = "going_dark"  # a vessel stops reporting at sea and reappears far away
    GO_FAST = "go_fast"  # a small craft runs fast toward the coast
    SPOOFING = "spoofing"  # one MMSI reported from two places at once
    HAZARDOUS = "hazardous"  # a tanker with a hazardous ship type in transit
    TRANSIT = "transit"  # an ordinary straight transit (near misses: fast ferries, clean tankers)


class Params(BaseModel):
    """Numbers of a scenario; each kind uses those it needs (defaults make a clear-cut threat)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    speed_kn: float = Field(default=12.0, gt=0, le=80)  # transit / run speed
    heading_deg: float = Field(default=90.0, ge=0, lt=360)  # course of a transit or run
    hold_h: float = Field(default=3.0, gt=0, le=20)  # time spent together (encounter, rendezvous)
    separation_m: float = Field(default=150.0, gt=0, le=5000)  # distance between vessels held together
    drift_kn: float = Field(default=0.6, ge=0, le=5)  # drift while held together
    before_h: float = Field(default=2.0, gt=0, le=12)  # reporting before the event (gap, spoof)
    gap_h: float = Field(default=8.0, gt=0, le=20)  # silence (going dark)
    after_h: float = Field(default=1.0, gt=0, le=12)  # reporting after the event
    duration_h: float = Field(default=1.0, gt=0, le=20)  # run or transit time
    jump_km: float = Field(default=40.0, gt=0, le=500)  # distance of the second transmitter (spoofing)
    spoof_min: float = Field(default=20.0, gt=0, le=240)  # how long the two transmitters overlap
    ship_type: int = Field(default=-1, ge=-1, le=99)  # -1: the kind's default
    length_m: float = Field(default=0.0, ge=0, le=500)  # 0: the kind's default
    class_b: bool = False
    anonymous: bool = False  # no name, no static report
    report_s: float = Field(default=60.0, ge=2, le=600)  # report interval (MarineCadastre: one minute)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    kind: ScenarioKind
    expect: str = Field(pattern=r"^[a-z_]{1,40}$")
    near_miss: bool = False
    at: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    lat: float = Field(ge=-80, le=80)
    lon: float = Field(ge=-180, le=180)
    window_h: tuple[float, float]
    note: str = ""
    params: Params = Params()

    @field_validator("window_h")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not (0 <= v[0] <= v[1] <= 48):
            raise ValueError("window_h must be [start, end] hours after `at`, 0 <= start <= end <= 48")
        return v

    @property
    def at_s(self) -> float:
        h, m = self.at.split(":")
        return int(h) * 3600.0 + int(m) * 60.0


def load_scenarios(path: Path) -> list[Scenario]:
    """Scenarios of a TOML file (or of every ``*.toml`` in a directory), validated."""
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    out: list[Scenario] = []
    for f in files:
        try:
            doc = tomllib.loads(f.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read scenarios {f}: {exc}") from None
        for i, raw in enumerate(doc.get("scenario", [])):
            try:
                out.append(Scenario.model_validate(raw))
            except ValidationError as exc:
                raise ConfigError(f"{f.name}: scenario {i + 1} ({raw.get('id', '?')}): {exc}") from None
    ids = [s.id for s in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"scenario ids used twice: {dup}")
    if not out:
        raise ConfigError(f"no [[scenario]] tables in {path}")
    return out
