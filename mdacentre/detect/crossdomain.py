"""The cross-domain link: an aircraft circling over or near a vessel that is already under alert
(encounter or go-fast), as one graver finding. It reads its sources, the circling aircraft and the
vessel alerts, through the interfaces of :mod:`mdacentre.detect.context`, never from its siblings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mdacentre.detect.common import (
    Cleared,
    StepOut,
    make_finding,
    track_label,
)
from mdacentre.detect.context import CirclingSource, StepContext, VesselAlertSource
from mdacentre.model.findings import Finding
from mdacentre.model.geodesy import haversine_m, is_night

CROSS = "cross_domain"


@dataclass(frozen=True)
class CrossDomainConfig:
    radius_km: float = 5.0
    clear_radius_km: float = 7.0
    score: float = 75.0
    night_score: float = 10.0


class CrossDomainDetector:
    """An aircraft circling within 5 km of a vessel under an encounter or go-fast alert."""

    def __init__(
        self,
        circling: CirclingSource,
        vessel_alerts: Sequence[VesselAlertSource],
        config: CrossDomainConfig | None = None,
    ) -> None:
        self.cfg = config or CrossDomainConfig()
        self.circling = circling
        self.vessel_alerts = tuple(vessel_alerts)
        # read in the same step: the pipeline runs this detector after these (in_dependency_order)
        self.depends_on: tuple[object, ...] = (circling, *self.vessel_alerts)
        self.open: dict[int, int] = {}  # aircraft key -> vessel key

    def _vessel_keys(self) -> list[tuple[int, str]]:
        return [kc for src in self.vessel_alerts for kc in src.open_vessel_alerts()]

    def step(self, ctx: StepContext) -> StepOut:
        findings: list[Finding] = []
        cleared: list[Cleared] = []
        tc = ctx.table.cols
        circling = self.circling.circling_tracks()
        vessels = self._vessel_keys() if circling else []
        vkeys = np.asarray([k for k, _ in vessels], dtype=np.int64)
        vrows = ctx.table.lookup(vkeys) if len(vkeys) else np.empty(0, dtype=np.int64)
        for akey in list(self.open):
            arow = int(ctx.table.lookup(np.asarray([akey]))[0])
            vrow = int(ctx.table.lookup(np.asarray([self.open[akey]]))[0])
            dist = self._dist(tc, arow, vrow)
            if akey not in circling or not (dist <= self.cfg.clear_radius_km * 1000):
                cleared.append(((CROSS, akey, ""), float(tc["t"][arow]) if arow >= 0 else ctx.watermark))
                del self.open[akey]
        for akey, arow in circling.items():
            if akey in self.open or len(vrows) == 0:
                continue
            ok = vrows >= 0
            d = haversine_m(tc["lat"][arow], tc["lon"][arow], tc["lat"][vrows[ok]], tc["lon"][vrows[ok]])
            if len(d) == 0 or float(np.min(d)) > self.cfg.radius_km * 1000:
                continue
            j = int(np.argmin(d))
            vrow = int(vrows[ok][j])
            cat = [v for v, o in zip(vessels, ok, strict=True) if o][j][1]
            findings.append(self._finding(ctx, arow, vrow, float(d[j]), cat))
            self.open[akey] = int(tc["key"][vrow])
        return findings, cleared

    @staticmethod
    def _dist(tc: dict[str, npt.NDArray[np.generic]], a: int, b: int) -> float:
        if a < 0 or b < 0:
            return float("nan")
        return float(haversine_m(tc["lat"][a], tc["lon"][a], tc["lat"][b], tc["lon"][b]))

    def _finding(self, ctx: StepContext, arow: int, vrow: int, d: float, cat: str) -> Finding:
        tc = ctx.table.cols
        t = float(max(tc["t"][arow], tc["t"][vrow]))
        night = bool(
            is_night(np.asarray([t]), np.asarray([tc["lat"][arow]]), np.asarray([tc["lon"][arow]]))[0]
        )
        score = self.cfg.score + (self.cfg.night_score if night else 0)
        what = cat.replace("_", " ")
        reason = (
            f"{track_label(ctx.table, arow)} circling {d / 1000:.1f} km from {track_label(ctx.table, vrow)}, "
            f"which is under a {what} alert" + (" (night)" if night else "")
        )
        extra = {
            "vessel_key": int(tc["key"][vrow]),
            "vessel_id": str(int(tc["ident"][vrow])),
            "vessel_alert": cat,
            "distance_m": round(d, 1),
        }
        return make_finding(ctx.table, arow, CROSS, t, score, (reason,), extra=extra)

    def forget(self, keys: set[int]) -> None:
        for a in [a for a, v in self.open.items() if a in keys or v in keys]:
            del self.open[a]


__all__ = ["CrossDomainConfig", "CrossDomainDetector"]
