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

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mdacentre.core.fences import FENCE_EVENT_DTYPE, FenceTracker, Transition
from mdacentre.core.refs import track_ref
from mdacentre.core.tracks import TrackTable
from mdacentre.core.zones import Zone
from mdacentre.model.batch import TrackKind
from mdacentre.model.errors import ConfigError
from mdacentre.model.findings import Finding, Level, ZoneRef
from mdacentre.risk.conditions import CONDITION_KEYS, Conditions, parse_conditions

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HAZARD_CATEGORY = {1: "X", 2: "Y", 3: "Z", 4: "OS"}
HAZARD_FIRST_DIGITS = (2, 4, 6, 7, 8, 9)

KNOWN_WHEN = {"kind", "hazardous", "inside", "ship_type", "min_sog", "max_sog", "mmsi", "exclude_mmsi"} | set(
    CONDITION_KEYS
)


def hazardous_mask(ship_type: npt.NDArray[np.int16], imdg_class: npt.NDArray[np.float32]) -> BoolArray:
    """ITU-R M.1371 ship types whose second digit 1-4 marks hazardous category X/Y/Z/OS, or an IMDG class."""
    st = ship_type.astype(np.int64)
    first, second = st // 10, st % 10
    by_type = np.isin(first, HAZARD_FIRST_DIGITS) & (second >= 1) & (second <= 4) & (st >= 20) & (st <= 99)
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


def _profile(raw: dict[str, Any], zones: list[Zone], where: str, base_dir: Path = Path(".")) -> Profile:
    for req in ("id", "category", "weight", "level"):
        if req not in raw:
            raise ConfigError(f"{where}: profile lacks {req!r}")
    when = raw.get("when", {})
    if not isinstance(when, dict):
        raise ConfigError(f"{where}: [profile.when] must be a table")
    unknown = set(when) - KNOWN_WHEN
    if unknown:
        raise ConfigError(f"{where}: unknown condition(s) {sorted(unknown)}; known: {sorted(KNOWN_WHEN)}")
    weight = float(raw["weight"])
    if not 0 <= weight <= 100:
        raise ConfigError(f"{where}: weight {weight} must be between 0 and 100")
    kinds: list[int] = []
    for k in when.get("kind", []):
        try:
            kinds.append(int(TrackKind[str(k).upper()]))
        except KeyError:
            raise ConfigError(
                f"{where}: unknown track kind {k!r}; use {[x.label for x in TrackKind]}"
            ) from None
    return Profile(
        id=str(raw["id"]),
        category=str(raw["category"]),
        weight=weight,
        level=Level.parse(str(raw["level"])),
        reason=str(raw.get("reason", raw["id"])),
        kinds=tuple(kinds),
        hazardous=when.get("hazardous"),
        zones=_resolve_zones([str(s) for s in when.get("inside", [])], zones, where),
        ship_types=tuple(int(x) for x in when.get("ship_type", [])),
        min_sog=float(when["min_sog"]) if "min_sog" in when else None,
        max_sog=float(when["max_sog"]) if "max_sog" in when else None,
        mmsi=frozenset(int(x) for x in when.get("mmsi", [])),
        exclude_mmsi=frozenset(int(x) for x in when.get("exclude_mmsi", [])),
        conditions=parse_conditions(when, base_dir, where),
    )


def load_profiles(path: Path, zones: list[Zone]) -> list[Profile]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read risk profiles {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at the position shown") from None
    raws = doc.get("profile", [])
    if not isinstance(raws, list):
        raise ConfigError(f"{path}: profiles must be written as [[profile]] tables")
    profiles = [_profile(r, zones, f"{path} profile #{i + 1}", path.parent) for i, r in enumerate(raws)]
    ids = [p.id for p in profiles]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ConfigError(f"{path}: duplicate profile ids {sorted(dup)}")
    return profiles


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
            m &= np.isin(c["kind"][rows], p.kinds)
        if p.hazardous is not None:
            hz = hazardous_mask(c["ship_type"][rows], c["imdg_class"][rows])
            m &= hz if p.hazardous else ~hz
        if p.ship_types:
            m &= np.isin(c["ship_type"][rows], p.ship_types)
        if p.min_sog is not None:
            m &= c["sog"][rows] >= p.min_sog
        if p.max_sog is not None:
            m &= c["sog"][rows] <= p.max_sog
        ident = c["ident"][rows].astype(np.int64)
        if p.mmsi:
            m &= np.isin(ident, np.fromiter(p.mmsi, dtype=np.int64))
        if p.exclude_mmsi:
            m &= ~np.isin(ident, np.fromiter(p.exclude_mmsi, dtype=np.int64))
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
                mine = ev[np.isin(ev["zone"], p.zones)]
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
            ended = ~holds & np.isin(keys, np.asarray(opened, dtype=np.int64))
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
