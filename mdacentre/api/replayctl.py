"""The replay clock over HTTP: ``GET /api/replay/clock`` and ``POST /api/replay/clock``.

Only a served replay (``mdacentre replay --serve``) has these routes; the live service answers 404,
which is how the page knows it has no time controls. A control is a write: signed-in watch officers
and analysts only (policy), CSRF like every write (the security gate), and each one is audited.

    GET  /api/replay/clock   {"state", "speed", "event_time", "start", "end", "seek_target", "passes"}
    POST /api/replay/clock   {"action": "pause" | "resume" | "speed" | "seek", "speed": x, "to": time}
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mdacentre.api.auth.config import Security
from mdacentre.api.auth.routes import principal_of
from mdacentre.model.errors import MdaError
from mdacentre.runtime.audit import AuditEvent


class ControlAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    SPEED = "speed"
    SEEK = "seek"


class _Status(Protocol):
    def as_json(self) -> dict[str, Any]: ...


class ReplayControl(Protocol):
    """What the routes need of the replay clock (:class:`mdacentre.service.replayclock.ReplayClock`)."""

    def status(self) -> _Status: ...
    def pause(self) -> _Status: ...
    def resume(self) -> _Status: ...
    def set_speed(self, speed: float) -> _Status: ...
    def seek(self, t: float) -> _Status: ...


class ControlBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: ControlAction
    speed: float | None = Field(default=None, gt=0, le=100_000)
    to: str | float | None = Field(default=None, description="ISO-8601 time or Unix seconds (seek)")


def parse_when(value: str | float | None) -> float:
    """Unix seconds from an ISO-8601 time (UTC when it has no zone) or a number; NaN when unparseable."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else math.nan
    text = value.strip()
    if len(text) > 40:
        return math.nan
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return math.nan
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def replay_router(clock: ReplayControl, sec: Security) -> APIRouter:
    router = APIRouter()

    @router.get("/api/replay/clock", tags=["replay"])
    def clock_status() -> Response:
        return JSONResponse(clock.status().as_json())

    @router.post("/api/replay/clock", tags=["replay"])
    def clock_control(body: ControlBody, request: Request) -> Response:
        p = principal_of(request)
        if p is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        try:
            if body.action == ControlAction.PAUSE:
                st = clock.pause()
            elif body.action == ControlAction.RESUME:
                st = clock.resume()
            elif body.action == ControlAction.SPEED:
                if body.speed is None:
                    return JSONResponse({"error": "'speed' needs a number (times real time)"}, 422)
                st = clock.set_speed(body.speed)
            else:
                t = parse_when(body.to)
                if not math.isfinite(t):
                    return JSONResponse({"error": "'to' must be an ISO-8601 time or Unix seconds"}, 422)
                st = clock.seek(t)
        except MdaError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        doc = st.as_json()
        if sec.audit is not None:
            details: dict[str, Any] = {"action": body.action.value, "event_time": doc.get("event_time")}
            if body.speed is not None:
                details["speed"] = body.speed
            if body.to is not None:
                details["to"] = doc.get("seek_target") or str(body.to)[:40]
            sec.audit.append(AuditEvent.REPLAY_CONTROL, p.label, details)
        return JSONResponse(doc)

    return router
