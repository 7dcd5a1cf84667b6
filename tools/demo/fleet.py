"""Vessels and scenario records, the identity registry and the per-track random streams."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from mdacentre.model.errors import ConfigError
from tools.demo.catalogue import (
    FLAGS,
    LOCAL_FLAGS,
    NAME_A,
    NAME_B,
    SMALL_NAMES,
    AisClass,
    AlertCategory,
    RoleSpec,
)
from tools.demo.inputs import Port
from tools.demo.motion import Track


@dataclass
class Vessel:
    idx: int
    mmsi: int
    ais_class: AisClass
    name: str
    callsign: str
    imo: int
    ship_type: int
    length: int
    beam: int
    draught: float
    destination: str
    eta: datetime | None
    track: Track
    pos_type: int = 1  # 1 or 3 for class A, 18 for class B
    send_static: bool = True
    silences: list[tuple[float, float]] = field(default_factory=list)
    jumps: list[tuple[float, float, float]] = field(default_factory=list)  # t, lat, lon of spoofed reports
    always_report: bool = False  # scenario vessels report even outside the coverage box
    fast_interval_s: float | None = None


@dataclass
class ScenarioRecord:
    id: str
    kind: str
    category: AlertCategory
    start: float
    end: float
    detectable_from: float
    mmsi: int | None = None
    other_mmsi: int | None = None
    icao: str | None = None
    name: str = ""
    lat: float = math.nan
    lon: float = math.nan
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


class Registry:
    """Unique MMSIs, names, call signs and IMO numbers."""

    def __init__(self, seed: int) -> None:
        self.rng = stream(seed, 9001)
        self.mmsis: set[int] = set()
        self.names: set[str] = set()

    def flag(self, local: bool) -> tuple[str, tuple[int, ...], tuple[str, ...]]:
        flags = [f for f in FLAGS if not local or f[0] in LOCAL_FLAGS]
        w = np.array([f[3] for f in flags])
        f = flags[int(self.rng.choice(len(flags), p=w / w.sum()))]
        return f[0], f[1], f[2]

    def mmsi(self, mids: tuple[int, ...]) -> int:
        while True:
            m = int(mids[int(self.rng.integers(len(mids)))]) * 1_000_000 + int(
                self.rng.integers(100_000, 999_999)
            )
            if m not in self.mmsis:
                self.mmsis.add(m)
                return m

    def callsign(self, prefixes: tuple[str, ...]) -> str:
        p = prefixes[int(self.rng.integers(len(prefixes)))]
        chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        n = 6 if len(p) == 1 else 4
        return p + "".join(chars[int(i)] for i in self.rng.integers(0, len(chars), n))

    def imo(self) -> int:
        d = [9] + [int(x) for x in self.rng.integers(0, 10, 5)]
        check = sum(di * (7 - i) for i, di in enumerate(d)) % 10
        return int("".join(map(str, d)) + str(check))

    def name(self, small: bool) -> str:
        for _ in range(200):
            if small:
                n = SMALL_NAMES[int(self.rng.integers(len(SMALL_NAMES)))]
                n = n if n not in self.names else f"{n} {int(self.rng.integers(2, 9))}"
            else:
                n = f"{NAME_A[int(self.rng.integers(len(NAME_A)))]} {NAME_B[int(self.rng.integers(len(NAME_B)))]}"
            if n not in self.names and len(n) <= 20:
                self.names.add(n)
                return n
        raise ConfigError("ran out of vessel names: lower the number of vessels")


def dest_text(p: Port) -> str:
    return p.name.upper()[:20]


def identity(
    reg: Registry,
    spec: RoleSpec,
    rng: np.random.Generator,
    local: bool,
    ship_type: int | None = None,
    mids: tuple[int, ...] | None = None,
) -> dict[str, Any]:
    _, flag_mids, prefixes = reg.flag(local)
    length = float(rng.uniform(*spec.length_m))
    small = spec.ais_class == AisClass.B or length < 45
    return {
        "mmsi": reg.mmsi(mids or flag_mids),
        "ais_class": spec.ais_class,
        "name": reg.name(small),
        "callsign": reg.callsign(prefixes),
        "imo": 0 if small else reg.imo(),
        "ship_type": ship_type
        if ship_type is not None
        else int(spec.ship_types[int(rng.integers(len(spec.ship_types)))]),
        "length": int(round(length)),
        "beam": max(3, int(round(length / spec.beam_ratio))),
        "draught": round(float(rng.uniform(*spec.draught_m)), 1),
    }


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)
