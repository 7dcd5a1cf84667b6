"""Alerts: value objects, gravity levels and the lifecycle of one alert per situation.

A *situation* is (category, track, zone). While its condition holds, one alert stays
open; new evidence with a higher level publishes a new version of the same alert id;
when the condition ends the alert is closed at the event time of the data that ended it.
Alert ids derive from the situation and the event time it started, so a replay of the
same data produces the same ids (which is what makes acknowledgements stick).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from mdacentre.model.findings import Finding, Level, TrackRef, ZoneRef, iso


class AlertStatus(StrEnum):
    OPEN = "open"
    UPDATED = "updated"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"
    EXPIRED = "expired"
    RETRACTED = "retracted"


@dataclass(frozen=True)
class Alert:
    id: str
    version: int
    status: AlertStatus
    category: str
    level: Level
    score: float
    time: float  # event time of this version
    started: float  # event time the situation began
    track_key: int
    track: TrackRef
    zone: ZoneRef | None
    reasons: tuple[str, ...]
    ack: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def state(self) -> str:
        """Jurisdiction: the zone owner, or the regional desk (XX) for international waters."""
        return self.zone.state if self.zone else "XX"

    @property
    def topic_suffix(self) -> str:
        return f"{self.state}/{self.category}/{self.level.label}"

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "status": self.status.value,
            "category": self.category,
            "level": self.level.label,
            "score": round(float(self.score), 1),
            "time": iso(self.time),
            "started": iso(self.started),
            "state": self.state,
            "track": {
                "kind": self.track.kind,
                "id": self.track.id,
                "name": self.track.name,
                "lat": self.track.lat,
                "lon": self.track.lon,
                "sog": self.track.sog,
                "cog": self.track.cog,
                "flag": self.track.flag,
                "ship_type": self.track.ship_type,
            },
            "zone": None
            if self.zone is None
            else {"id": self.zone.id, "name": self.zone.name, "state": self.zone.state},
            "reasons": list(self.reasons),
        }
        if self.ack:
            d["ack"] = self.ack
        if self.extra:
            d["details"] = self.extra
        return d


def alert_id(category: str, track_key: int, zone_id: str, started: float) -> str:
    h = hashlib.sha256(f"{category}|{track_key}|{zone_id}|{started:.3f}".encode()).hexdigest()
    return h[:20]


class AlertManager:
    """One alert per situation; versions on change; closes when the condition is over."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, int, str], Alert] = {}

    def observe(
        self, findings: list[Finding], cleared: list[tuple[tuple[str, int, str], float]]
    ) -> list[Alert]:
        """Apply this step's findings (conditions that hold) and cleared situations, in event-time order.

        A situation that is raised, cleared and raised again within one step gives two alerts.
        """
        steps: list[tuple[float, int, Finding | None, tuple[str, int, str] | None]] = []
        for i, f in enumerate(findings):
            steps.append((f.t, i, f, None))
        for j, (situation, t) in enumerate(cleared):
            steps.append((t, len(findings) + j, None, situation))
        steps.sort(key=lambda x: (x[0], x[1]))
        out: list[Alert] = []
        for t, _seq, fnd, sit in steps:
            if fnd is not None:
                a = self._raise(fnd)
                if a is not None:
                    out.append(a)
            elif sit is not None:
                situation = sit
                cur = self.open.pop(situation, None)
                if cur is not None and cur.status != AlertStatus.RETRACTED:
                    out.append(replace(cur, version=cur.version + 1, status=AlertStatus.CLOSED, time=t))
        return out

    def _raise(self, f: Finding) -> Alert | None:
        cur = self.open.get(f.situation)
        if cur is None:
            a = Alert(
                id=alert_id(f.category, f.track_key, f.zone.id if f.zone else "", f.t),
                version=1,
                status=AlertStatus.OPEN,
                category=f.category,
                level=f.level,
                score=f.score,
                time=f.t,
                started=f.t,
                track_key=f.track_key,
                track=f.track,
                zone=f.zone,
                reasons=f.reasons,
                extra=f.extra,
            )
            self.open[f.situation] = a
            return a
        if f.level > cur.level and cur.status != AlertStatus.RETRACTED:
            a = replace(
                cur,
                version=cur.version + 1,
                status=AlertStatus.UPDATED,
                level=f.level,
                score=f.score,
                time=f.t,
                track=f.track,
                reasons=f.reasons,
                extra=f.extra,
            )
            self.open[f.situation] = a
            return a
        return None

    def resync(self, alert_id: str, version: int, status: AlertStatus, ack: dict[str, Any] | None) -> None:
        """Align an open alert with what the store knows (acknowledged, retracted, later version)."""
        for situation, cur in self.open.items():
            if cur.id == alert_id:
                st = status if status in (AlertStatus.ACKNOWLEDGED, AlertStatus.RETRACTED) else cur.status
                self.open[situation] = replace(
                    cur, version=max(version, cur.version), status=st, ack=ack or cur.ack
                )
                return

    def find(self, alert_id: str) -> Alert | None:
        return next((a for a in self.open.values() if a.id == alert_id), None)

    def expire_tracks(self, track_keys: set[int], t: float) -> list[Alert]:
        """Tracks evicted from the table: their open alerts expire."""
        out: list[Alert] = []
        for situation in [s for s in self.open if s[1] in track_keys]:
            cur = self.open.pop(situation)
            if cur.status != AlertStatus.RETRACTED:
                out.append(replace(cur, version=cur.version + 1, status=AlertStatus.EXPIRED, time=t))
        return out

    def retract(self, situations: list[tuple[tuple[str, int, str], float]], reason: str) -> list[Alert]:
        """Open alerts whose condition turned out never to hold (late data filled it): retracted."""
        out: list[Alert] = []
        for situation, t in situations:
            cur = self.open.pop(situation, None)
            if cur is not None and cur.status != AlertStatus.RETRACTED:
                out.append(
                    replace(
                        cur,
                        version=cur.version + 1,
                        status=AlertStatus.RETRACTED,
                        time=t,
                        reasons=(*cur.reasons, reason),
                    )
                )
        return out
