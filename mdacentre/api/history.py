"""History over REST: one track's archived points and events, and archived alert versions.

::

    GET /api/tracks/{kind}/{id}/history?from=&to=   GeoJSON FeatureCollection of timed points and events
    GET /api/history/alerts?from=&to=&limit=        archived alert versions (payloads), newest first

The router gets the archive reads as functions from the service wiring (the API does not know
where or how the archive is stored). Watch officers and analysts see everything; an agency liaison
sees what lies in its agency's jurisdiction (:mod:`mdacentre.alerting.jurisdiction`); a liaison
whose agency the routing rules do not know, and every other role, is refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mdacentre.alerting.jurisdiction import Jurisdiction, Jurisdictions
from mdacentre.api.auth.scope import FULL_PICTURE
from mdacentre.api.auth.users import Role
from mdacentre.model.batch import TrackKind
from mdacentre.model.errors import MdaError

# (track key, from, to, jurisdiction or None for everything) -> GeoJSON FeatureCollection
HistoryLookup = Callable[[int, float | None, float | None, Jurisdiction | None], dict[str, Any]]
# (from, to, jurisdiction or None, limit) -> alert payloads, newest first
AlertHistory = Callable[[float | None, float | None, Jurisdiction | None, int], list[dict[str, Any]]]
MAX_ALERTS = 5000
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


def _window(t_from: str | None, t_to: str | None) -> tuple[float | None, float | None]:
    t0, t1 = _time(t_from), _time(t_to)
    if t0 is not None and t1 is not None and t1 < t0:
        raise ValueError("'to' is before 'from'")
    return t0, t1


class _Refused(MdaError):
    def __init__(self, status: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status


def scope_of(request: Request, jurisdictions: Jurisdictions) -> Jurisdiction | None:
    """None for the whole picture, the agency's jurisdiction for a liaison; :class:`_Refused` otherwise."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise _Refused(401, "sign in first (POST /api/session)")
    if principal.role in FULL_PICTURE:
        return None
    if principal.role == Role.LIAISON:
        within = jurisdictions.get(principal.agency)
        if within is not None:
            return within
        raise _Refused(403, f"the agency {principal.agency!r} has no jurisdiction in the routing rules")
    raise _Refused(403, f"the role {principal.role.value!r} sees no history")


def history_router(
    lookup: HistoryLookup, jurisdictions: Jurisdictions | None = None, alerts: AlertHistory | None = None
) -> APIRouter:
    router = APIRouter()
    juris = jurisdictions if jurisdictions is not None else Jurisdictions(None, ())

    @router.get("/api/tracks/{kind}/{ident}/history")
    def track_history(
        request: Request,
        kind: str,
        ident: str,
        t_from: str | None = Query(None, alias="from", max_length=40),
        t_to: str | None = Query(None, alias="to", max_length=40),
    ) -> Response:
        try:
            within = scope_of(request, juris)
        except _Refused as exc:
            return _error(exc.status, str(exc))
        try:
            k = TrackKind[kind.upper()]
        except KeyError:
            return _error(404, f"unknown track kind {kind!r}")
        pattern = _ID.get(k, _MMSI)
        if not pattern.match(ident):
            return _error(422, f"{ident!r} is not a valid {k.label} id")
        try:
            t0, t1 = _window(t_from, t_to)
        except ValueError as exc:
            return _error(422, str(exc))
        key = (int(k) << 32) | int(ident, 16 if k == TrackKind.AIRCRAFT else 10)
        return Response(orjson.dumps(lookup(key, t0, t1, within)), media_type="application/geo+json")

    if alerts is not None:
        read_alerts = alerts

        @router.get("/api/history/alerts")
        def alert_history(
            request: Request,
            t_from: str | None = Query(None, alias="from", max_length=40),
            t_to: str | None = Query(None, alias="to", max_length=40),
            limit: int = Query(1000, ge=1, le=MAX_ALERTS),
        ) -> Response:
            try:
                within = scope_of(request, juris)
                t0, t1 = _window(t_from, t_to)
            except _Refused as exc:
                return _error(exc.status, str(exc))
            except ValueError as exc:
                return _error(422, str(exc))
            return Response(orjson.dumps(read_alerts(t0, t1, within, limit)), media_type="application/json")

    return router
