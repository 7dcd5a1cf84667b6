"""Findings: what a detector or a profile says about a track, with its gravity level.

This is cross-stage vocabulary: detectors and profiles make findings, the alert manager
turns them into alerts, the API and sinks show their levels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from mdacentre.model.errors import ConfigError


class Level(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ConfigError(f"unknown level {text!r}; use one of {[lv.label for lv in cls]}") from None

    @classmethod
    def from_score(cls, score: float) -> Level:
        if score >= 80:
            return cls.CRITICAL
        if score >= 60:
            return cls.HIGH
        if score >= 40:
            return cls.MEDIUM
        if score >= 20:
            return cls.LOW
        return cls.INFO


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class TrackRef:
    kind: str
    id: str
    name: str | None
    lat: float | None
    lon: float | None
    sog: float | None
    cog: float | None
    flag: str | None = None
    ship_type: int | None = None


@dataclass(frozen=True)
class ZoneRef:
    id: str
    name: str
    state: str


@dataclass(frozen=True)
class Finding:
    """What a detector or profile says about one track at one event time."""

    category: str
    track_key: int
    track: TrackRef
    t: float
    score: float
    level: Level
    reasons: tuple[str, ...]
    zone: ZoneRef | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def situation(self) -> tuple[str, int, str]:
        return (self.category, self.track_key, self.zone.id if self.zone else "")
