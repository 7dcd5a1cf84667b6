"""Health vocabulary shared by the service (which checks), the API and the MQTT sink (which tell).

A :class:`HealthReport` is a list of :class:`Check` results. Liveness (``/healthz``) fails only on
what a restart of the process would cure; readiness (``/readyz``) fails on anything that means
alerts are not flowing end to end right now. Every failing check carries a :class:`Reason` that
docs/operations.md explains.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Reason(StrEnum):
    STARTING = "starting"
    STAGE_DOWN = "stage_down"  # a supervised stage failed and waits to be restarted
    PIPELINE_STALLED = "pipeline_stalled"  # input is waiting, but no pipeline step completed lately
    PIPELINE_STUCK = "pipeline_stuck"  # ... for so long that the process should be restarted
    BROKER_DISCONNECTED = "broker_disconnected"
    DELIVERY_BACKLOG = "delivery_backlog"  # the oldest undelivered alert message is too old
    STORE_NOT_WRITABLE = "store_not_writable"  # locked, read-only, full, or I/O error
    WATERMARK_IN_FUTURE = "watermark_in_future"  # event time ahead of the wall clock
    UDP_DROPS = "udp_drops"  # informative: the kernel dropped datagrams of a UDP feed


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    ok: bool
    reason: Reason | None = None
    detail: str = ""
    liveness: bool = False  # a failure here also fails /healthz
    value: float | None = None


class HealthReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    time: float
    checks: list[Check]

    @property
    def live(self) -> bool:
        return all(c.ok for c in self.checks if c.liveness)

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks)

    def reasons(self, liveness_only: bool = False) -> list[str]:
        return [
            c.reason.value
            for c in self.checks
            if not c.ok and c.reason is not None and (c.liveness or not liveness_only)
        ]

    def as_json(self, kind: str = "readiness") -> dict[str, object]:
        """``kind`` readiness: every check decides; liveness: only the liveness checks."""
        live_only = kind == "liveness"
        ok = self.live if live_only else self.ready
        checks = [c for c in self.checks if c.liveness] if live_only else self.checks
        return {
            "status": "ok" if ok else "fail",
            "ready": self.ready,
            "live": self.live,
            "reasons": self.reasons(live_only),
            "checks": {
                c.name: {
                    "ok": c.ok,
                    **({"reason": c.reason.value} if c.reason and not c.ok else {}),
                    **({"detail": c.detail} if c.detail else {}),
                    **({"value": round(c.value, 3)} if c.value is not None else {}),
                }
                for c in checks
            },
            "time": self.time,
        }
