"""``GET /api/picture?at=TIME&lookback_s=N``: the track picture at a past time, from the archive.

Each track's last archived position in ``(at - lookback_s, at]`` (default 30 min, 1 min to 24 h), shaped
like the live map's tracks; the page shows it as a HISTORY picture and steps ``at`` forward to play
the past. The router gets the archive lookup from the service wiring (the API does not know where
or how the archive is stored). A read that hands data out of the centre: audited (api/auth/policy.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from mdacentre.api.replayctl import parse_when
from mdacentre.model.errors import MdaError

# (at, lookback seconds) -> {"at", "lookback_s", "tracks", "truncated"}
PictureLookup = Callable[[float, float], dict[str, Any]]
DEFAULT_LOOKBACK_S = 1800.0
MIN_LOOKBACK_S = 60.0
MAX_LOOKBACK_S = 86_400.0


def _error(status: int, msg: str) -> Response:
    return Response(orjson.dumps({"error": msg}), status_code=status, media_type="application/json")


def picture_router(lookup: PictureLookup) -> APIRouter:
    router = APIRouter()

    @router.get("/api/picture", tags=["history"])
    def past_picture(
        at: str = Query(..., max_length=40, description="ISO-8601 time (UTC when no zone) or Unix seconds"),
        lookback_s: float = Query(DEFAULT_LOOKBACK_S, ge=MIN_LOOKBACK_S, le=MAX_LOOKBACK_S),
    ) -> Response:
        t = parse_when(float(at) if _is_number(at) else at)
        if not math.isfinite(t) or t <= 0:
            return _error(422, f"'at' must be an ISO-8601 time or Unix seconds, got {at!r}")
        try:
            doc = lookup(t, float(lookback_s))
        except MdaError as exc:
            return _error(422, str(exc))
        return Response(orjson.dumps(doc), media_type="application/json")

    return router


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
