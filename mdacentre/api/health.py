"""Health endpoints: ``GET /healthz`` (liveness) and ``GET /readyz`` (readiness), JSON with reasons.

Both answer 200 when their checks pass and 503 otherwise, with the same body::

    {"status": "ok" | "fail", "ready": bool, "live": bool, "reasons": ["broker_disconnected", ...],
     "checks": {"broker": {"ok": false, "reason": "broker_disconnected", "detail": "..."}, ...},
     "time": 1767225600.0}

``/healthz`` lists only the liveness checks (a failure means: restart the process); ``/readyz``
lists every check (a failure means: alerts are not flowing end to end now).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from mdacentre.runtime.health import HealthReport


def health_router(report: Callable[[], HealthReport]) -> APIRouter:
    router = APIRouter()

    def answer(kind: str) -> Response:
        r = report()
        body = r.as_json(kind)
        ok = r.live if kind == "liveness" else r.ready
        return Response(orjson.dumps(body), status_code=200 if ok else 503, media_type="application/json")

    @router.get("/healthz")
    def healthz() -> Response:
        return answer("liveness")

    @router.get("/readyz")
    def readyz() -> Response:
        return answer("readiness")

    return router
