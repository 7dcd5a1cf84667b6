"""``GET /api/tracks/{kind}/{id}/history?from=&to=``: one track's archived points and events as GeoJSON.

The router gets the archive lookup as a function from the service wiring (the API does not
know where or how the archive is stored)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from mdacentre.model.batch import TrackKind

# (track key, from, to) -> GeoJSON FeatureCollection
HistoryLookup = Callable[[int, float | None, float | None], dict[str, Any]]
_ID = {TrackKind.AIRCRAFT: re.compile(r"^[0-9a-fA-F]{6}$")}
_MMSI = re.compile(r"^[0-9]{1,9}$")


def _time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _error(status: int, msg: str) -> Response:
    return Response(orjson.dumps({"error": msg}), status_code=status, media_type="application/json")


def history_router(lookup: HistoryLookup) -> APIRouter:
    router = APIRouter()

    @router.get("/api/tracks/{kind}/{ident}/history")
    def track_history(
        kind: str,
        ident: str,
        t_from: str | None = Query(None, alias="from", max_length=40),
        t_to: str | None = Query(None, alias="to", max_length=40),
    ) -> Response:
        try:
            k = TrackKind[kind.upper()]
        except KeyError:
            return _error(404, f"unknown track kind {kind!r}")
        pattern = _ID.get(k, _MMSI)
        if not pattern.match(ident):
            return _error(422, f"{ident!r} is not a valid {k.label} id")
        try:
            t0, t1 = _time(t_from), _time(t_to)
        except ValueError as exc:
            return _error(422, str(exc))
        if t0 is not None and t1 is not None and t1 < t0:
            return _error(422, "'to' is before 'from'")
        key = (int(k) << 32) | int(ident, 16 if k == TrackKind.AIRCRAFT else 10)
        return Response(orjson.dumps(lookup(key, t0, t1)), media_type="application/geo+json")

    return router
