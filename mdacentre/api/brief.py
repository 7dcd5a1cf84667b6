"""``GET /api/alerts/{id}/brief``: the incident briefing of one alert as a self-contained HTML download.

The router gets the briefing maker as a function from the service wiring (the API does not know the
archive or how a briefing is drawn). A briefing is an export of archived positions: the sign-in gate
in front of every route (:mod:`mdacentre.api.auth`) lets only the roles its policy names fetch it and
writes each fetch to the audit trail; this module also logs every export (alert id, client, outcome).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from mdacentre.model.errors import MdaError

log = logging.getLogger(__name__)
BriefMaker = Callable[[str], str]  # alert id -> HTML document
_ID = re.compile(r"^[0-9a-f]{8,40}$")


def _error(status: int, msg: str) -> Response:
    return Response(orjson.dumps({"error": msg}), status_code=status, media_type="application/json")


def brief_router(make: BriefMaker) -> APIRouter:
    router = APIRouter()

    @router.get("/api/alerts/{alert_id}/brief")
    def alert_brief(alert_id: str, request: Request) -> Response:
        client = request.client.host if request.client else "?"
        if not _ID.match(alert_id):
            return _error(422, f"{alert_id[:60]!r} is not an alert id (8-40 lower-case hex digits)")
        try:
            doc = make(alert_id)
        except MdaError as exc:
            log.info("export brief alert=%s client=%s refused: %s", alert_id, client, exc)
            return _error(404 if "no alert" in str(exc) else 422, str(exc))
        log.info("export brief alert=%s client=%s bytes=%d", alert_id, client, len(doc))
        return Response(
            doc,
            media_type="text/html; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="brief-{alert_id}.html"'},
        )

    return router
