"""Risk profiles: operator-editable conditions on tracks and zones, evaluated on table columns.

A profile file (TOML) holds ``[[profile]]`` tables::

    [[profile]]
    id = "hazardous_cargo_caribbean"
    category = "hazardous_cargo"
    weight = 60               # contribution to the track's score, 0-100
    level = "high"            # level of the alert this profile raises
    reason = "hazardous cargo (category {cargo}) inside {zone}"
    [profile.when]
    kind = ["vessel"]
    hazardous = true
    inside = ["caribbean_sea"]   # zone ids, "kind:eez", "state:JM"; one alert per zone transit

Conditions are evaluated on whole columns of the track table for the rows a batch
touched; a profile with ``inside`` raises once per (track, zone) stay and clears when
the track leaves the zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    Strict,
    WithJsonSchema,
    create_model,
    model_validator,
)

from mdacentre.core.fences import FENCE_EVENT_DTYPE, FenceTracker, Transition
from mdacentre.core.refs import track_ref
from mdacentre.core.tracks import TrackTable
from mdacentre.core.zones import Zone
from mdacentre.detect.config import section_model
from mdacentre.model.batch import TrackKind
from mdacentre.model.errors import ConfigError
from mdacentre.model.findings import Finding, Level, ZoneRef
from mdacentre.model.sets import isin
from mdacentre.risk.conditions import Conditions, parse_conditions
from mdacentre.runtime.config import ConfigModel, LevelName, read_toml, validate

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HAZARD_CATEGORY = {1: "X", 2: "Y", 3: "Z", 4: "OS"}
HAZARD_FIRST_DIGITS = (2, 4, 6, 7, 8, 9)


def hazardous_mask(ship_type: npt.NDArray[np.int16], imdg_class: npt.NDArray[np.float32]) -> BoolArray:
    """ITU-R M.1371 ship types whose second digit 1-4 marks hazardous category X/Y/Z/OS, or an IMDG class."""
    st = ship_type.astype(np.int64)
    first, second = st // 10, st % 10
    by_type = isin(first, HAZARD_FIRST_DIGITS) & (second >= 1) & (second <= 4) & (st >= 20) & (st <= 99)
    return np.asarray(by_type | np.isfinite(imdg_class))


@dataclass(frozen=True)
class Profile:
    id: str
    category: str
    weight: float
    level: Level
    reason: str
    kinds: tuple[int, ...] = ()
    hazardous: bool | None = None
    zones: tuple[int, ...] = ()  # zone indices; empty = no zone condition
    ship_types: tuple[int, ...] = ()
    min_sog: float | None = None
    max_sog: float | None = None
    mmsi: frozenset[int] = field(default_factory=frozenset)
    exclude_mmsi: frozenset[int] = field(default_factory=frozenset)
    conditions: Conditions = field(default_factory=Conditions)  # watch-lists, flag, size, status, night


def _resolve_zones(selectors: list[str], zones: list[Zone], where: str) -> tuple[int, ...]:
    out: list[int] = []
    for sel in selectors:
        if sel.startswith("kind:"):
            hit = [i for i, z in enumerate(zones) if z.kind.value == sel[5:]]
        elif sel.startswith("state:"):
            hit = [i for i, z in enumerate(zones) if z.state == sel[6:].upper()]
        else:
            hit = [i for i, z in enumerate(zones) if z.id == sel]
        if not hit:
            raise ConfigError(f"{where}: zone selector {sel!r} matches no zone in the library")
        out.extend(hit)
    return tuple(sorted(set(out)))


def _track_kind(value: str) -> str:
    if value.upper() not in TrackKind.__members__:
        raise ValueError(f"unknown track kind {value!r}; use {[x.label for x in TrackKind]}")
    return value.lower()


def _flag(value: str) -> str:
    if len(value) != 2 or not value.isalpha():
        raise ValueError(f"flag {value!r} must be an ISO 3166 alpha-2 code such as 'JM'")
    return value.upper()


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


TrackKindName = Annotated[
    str, AfterValidator(_track_kind), WithJsonSchema({"enum": [k.label for k in TrackKind]})
]
FlagCode = Annotated[str, AfterValidator(_flag), Field(pattern="^[A-Za-z]{2}$")]
Paths = Annotated[list[str], BeforeValidator(_one_or_many)]
Flags = Annotated[list[FlagCode], BeforeValidator(_one_or_many)]
Metres = Annotated[float, Strict(), Field(ge=0)]
Knots = Annotated[float, Strict(), Field(ge=0)]


class When(ConfigModel):
    """``[profile.when]``: every condition given must hold (see docs/detectors.md)."""

    key_noun: ClassVar[str] = "condition"

    kind: list[TrackKindName] = Field(default_factory=list, description="track kinds")
    hazardous: Annotated[bool, Strict()] | None = Field(
        default=None, description="hazardous cargo X/Y/Z/OS from the AIS ship type, or an IMDG class"
    )
    inside: list[str] = Field(
        default_factory=list, description='zone ids, "kind:eez", "state:JM"; one alert per zone transit'
    )
    ship_type: list[Annotated[int, Field(ge=0, le=99)]] = Field(default_factory=list)
    min_sog: Knots | None = None
    max_sog: Knots | None = None
    mmsi: list[int] = Field(default_factory=list)
    exclude_mmsi: list[int] = Field(default_factory=list)
    watchlist: Paths = Field(default_factory=list, description="CSV files relative to the profiles file")
    exclude_watchlist: Paths = Field(default_factory=list)
    flag: Flags = Field(default_factory=list, description="flag states (MID of the MMSI)")
    exclude_flag: Flags = Field(default_factory=list)
    min_length_m: Metres | None = None
    max_length_m: Metres | None = None
    nav_status: list[Annotated[int, Field(ge=0, le=15)]] = Field(default_factory=list)
    night: Annotated[bool, Strict()] | None = Field(default=None, description="sun below the horizon")

    @model_validator(mode="after")
    def _ranges(self) -> When:
        lo, hi = self.min_length_m, self.max_length_m
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_length_m {lo} is larger than max_length_m {hi}")
        return self


class ProfileEntry(ConfigModel):
    """``[[profile]]``: one risk profile."""

    id: str = Field(min_length=1)
    category: str = Field(min_length=1, description="the alert category (a topic level)")
    weight: float = Field(ge=0, le=100, description="contribution to the track's score, 0-100")
    level: LevelName
    reason: str | None = Field(
        default=None, description="template: {zone}, {cargo}, {name}, {ship_type}, {watch}, {id}"
    )
    when: When = Field(default_factory=When)


class ProfilesFileBase(ConfigModel):
    """``geofences/profiles.toml``: risk profiles and behaviour detector settings."""

    profile: list[ProfileEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ProfilesFileBase:
        ids = [p.id for p in self.profile]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate profile ids {dup}")
        return self


@cache
def profiles_file_model() -> type[ProfilesFileBase]:
    """The model of the whole profiles file (its ``[detectors]`` table from the detector configs)."""
    detectors: Any = section_model() | None
    model = create_model(
        "ProfilesFile",
        __base__=ProfilesFileBase,
        __doc__=ProfilesFileBase.__doc__,
        detectors=(detectors, Field(default=None)),
    )
    return model


def _profile(entry: ProfileEntry, zones: list[Zone], where: str, base_dir: Path) -> Profile:
    when = entry.when
    return Profile(
        id=entry.id,
        category=entry.category,
        weight=entry.weight,
        level=entry.level,
        reason=entry.reason if entry.reason is not None else entry.id,
        kinds=tuple(int(TrackKind[k.upper()]) for k in when.kind),
        hazardous=when.hazardous,
        zones=_resolve_zones(when.inside, zones, where),
        ship_types=tuple(when.ship_type),
        min_sog=when.min_sog,
        max_sog=when.max_sog,
        mmsi=frozenset(when.mmsi),
        exclude_mmsi=frozenset(when.exclude_mmsi),
        conditions=parse_conditions(when.model_dump(exclude_unset=True), base_dir, where),
    )


def load_profiles(path: Path, zones: list[Zone]) -> list[Profile]:
    """The risk profiles of ``path``; the whole file is checked (a mistake names the entry and key)."""
    doc = read_toml(path, "risk profiles", "pass --profiles with an existing file")
    parsed = validate(profiles_file_model(), doc, str(path))
    return [
        _profile(e, zones, f"{path}: profile #{i + 1} ({e.id!r})", path.parent)
        for i, e in enumerate(parsed.profile)
    ]


class RiskEngine:
    """Evaluates profiles on touched rows; reports conditions that hold and those that ended."""

    def __init__(self, profiles: list[Profile], zones: list[Zone]) -> None:
        self.profiles = profiles
        self.zones = zones
        # active situations per profile: set of (track key, zone index or -1)
        self.active: dict[str, set[tuple[int, int]]] = {p.id: set() for p in profiles}

    def base_mask(self, p: Profile, table: TrackTable, rows: IntArray) -> BoolArray:
        c = table.cols
        m = np.ones(len(rows), dtype=bool)
        if p.kinds:
            m &= isin(c["kind"][rows], p.kinds)
        if p.hazardous is not None:
            hz = hazardous_mask(c["ship_type"][rows], c["imdg_class"][rows])
            m &= hz if p.hazardous else ~hz
        if p.ship_types:
            m &= isin(c["ship_type"][rows], p.ship_types)
        if p.min_sog is not None:
            m &= c["sog"][rows] >= p.min_sog
        if p.max_sog is not None:
            m &= c["sog"][rows] <= p.max_sog
        ident = c["ident"][rows].astype(np.int64)
        if p.mmsi:
            m &= isin(ident, np.fromiter(p.mmsi, dtype=np.int64))
        if p.exclude_mmsi:
            m &= ~isin(ident, np.fromiter(p.exclude_mmsi, dtype=np.int64))
        if not p.conditions.empty and m.any():
            sub = np.flatnonzero(m)
            m[sub] = p.conditions.mask(table, rows[sub])
        return m

    def _reason(self, p: Profile, table: TrackTable, row: int, zone: Zone | None) -> str:
        st = int(table.cols["ship_type"][row])
        cargo = HAZARD_CATEGORY.get(st % 10, "?") if st >= 0 else "?"
        imdg = float(table.cols["imdg_class"][row])
        if np.isfinite(imdg):
            cargo = f"IMDG class {imdg:g}"
        try:
            return p.reason.format(
                zone=zone.name if zone else "",
                cargo=cargo,
                ship_type=st,
                name=str(table.cols["name"][row]) or "unnamed",
                watch=p.conditions.watch_label(table, row) or "watch-list",
                id=track_ref(table, row).id,
            )
        except (KeyError, IndexError, ValueError):
            return p.reason

    def evaluate(
        self,
        table: TrackTable,
        fences: FenceTracker,
        rows: IntArray,
        fence_events: np.ndarray | None = None,
        flags: dict[int, str] | None = None,
    ) -> tuple[list[Finding], list[tuple[tuple[str, int, str], float]]]:
        """Findings for situations that start, and situations that end, with their event times.

        Zone profiles first follow this step's fence transitions in time order, so that a track
        that leaves and re-enters within one batch makes two transits (two alerts), each at the
        event time of its crossing. A final pass on the rows' current state catches conditions
        that changed for other reasons (static data arriving while a track is already inside).
        """
        findings: list[Finding] = []
        cleared: list[tuple[tuple[str, int, str], float]] = []
        if len(rows) == 0:
            return findings, cleared
        ev = fence_events if fence_events is not None else np.empty(0, dtype=FENCE_EVENT_DTYPE)
        for p in self.profiles:
            act = self.active[p.id]
            if p.zones and len(ev):
                mine = ev[isin(ev["zone"], p.zones)]
                if len(mine):
                    ev_rows = mine["row"].astype(np.int64)
                    ok = self.base_mask(p, table, ev_rows)
                    for e, holds in zip(mine.tolist(), ok.tolist(), strict=True):
                        row, key, zi, tr, _initial, t = (
                            int(e[0]),
                            int(e[1]),
                            int(e[2]),
                            int(e[3]),
                            e[4],
                            float(e[5]),
                        )
                        zone = self.zones[zi]
                        if tr == Transition.ENTER and holds and (key, zi) not in act:
                            act.add((key, zi))
                            findings.append(self._finding(p, table, row, key, zone, t, flags))
                        elif tr == Transition.EXIT and (key, zi) in act:
                            act.discard((key, zi))
                            cleared.append(((p.category, key, zone.id), t))
            self._state_pass(p, table, fences, rows, flags, findings, cleared)
        return findings, cleared

    def _state_pass(
        self,
        p: Profile,
        table: TrackTable,
        fences: FenceTracker,
        rows: IntArray,
        flags: dict[int, str] | None,
        findings: list[Finding],
        cleared: list[tuple[tuple[str, int, str], float]],
    ) -> None:
        base = self.base_mask(p, table, rows)
        act = self.active[p.id]
        if not base.any() and not act:
            return  # the common case: nothing holds and nothing was open
        keys = table.cols["key"][rows]
        times = np.fmax(table.cols["t"][rows], table.cols["static_t"][rows])
        open_by_zone: dict[int, list[int]] = {}
        for k, z in act:
            open_by_zone.setdefault(z, []).append(k)
        for zi in p.zones if p.zones else (-1,):
            opened = open_by_zone.get(zi)
            if not opened and not base.any():
                continue
            holds = base & fences.is_inside(rows, zi) if zi >= 0 else base
            zone = self.zones[zi] if zi >= 0 else None
            for j in np.flatnonzero(holds).tolist():
                k = int(keys[j])
                if (k, zi) not in act:
                    act.add((k, zi))
                    findings.append(self._finding(p, table, int(rows[j]), k, zone, float(times[j]), flags))
            if not opened:
                continue
            ended = ~holds & isin(keys, np.asarray(opened, dtype=np.int64))
            for j in np.flatnonzero(ended).tolist():
                k = int(keys[j])
                if (k, zi) in act:
                    act.discard((k, zi))
                    cleared.append(((p.category, k, zone.id if zone else ""), float(times[j])))

    def _finding(
        self,
        p: Profile,
        table: TrackTable,
        row: int,
        key: int,
        zone: Zone | None,
        t: float,
        flags: dict[int, str] | None,
    ) -> Finding:
        return Finding(
            category=p.category,
            track_key=key,
            track=track_ref(table, row, (flags or {}).get(row)),
            t=t,
            score=p.weight,
            level=p.level,
            reasons=(self._reason(p, table, row, zone),),
            zone=ZoneRef(zone.id, zone.name, zone.state) if zone else None,
            extra={"profile": p.id},
        )

    def forget(self, keys: set[int]) -> None:
        for act in self.active.values():
            for item in [a for a in act if a[0] in keys]:
                act.discard(item)
