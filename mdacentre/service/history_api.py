"""The REST history routes over the service's archive: trails, alert versions, the analyst's SQL.

The API modules know neither the archive nor the zone library; this puts the pieces together."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

import pyarrow as pa
from fastapi import APIRouter

from mdacentre.alerting.jurisdiction import Jurisdictions
from mdacentre.alerting.routing import Router
from mdacentre.api.history import history_router
from mdacentre.api.history_sql import history_sql_router
from mdacentre.core.zones import Zone
from mdacentre.runtime.settings import Settings
from mdacentre.sinks.archive.analyst import analyst_query
from mdacentre.sinks.archive.scoped import alert_history, track_history


def sql_runner(root: Path, timeout_s: float) -> partial[tuple[pa.Table, bool, float]]:
    return partial(_run_sql, root, timeout_s)


def _run_sql(root: Path, timeout_s: float, sql: str, max_rows: int) -> tuple[pa.Table, bool, float]:
    r = analyst_query(root, sql, max_rows=max_rows, timeout_s=timeout_s)
    return r.table, r.truncated, r.elapsed_s


def history_routes(settings: Settings, router: Router | None, zones: Iterable[Zone]) -> APIRouter:
    root = settings.data_dir / settings.archive.dir
    a = settings.archive
    out = APIRouter()
    out.include_router(
        history_router(
            partial(track_history, root),
            Jurisdictions(router, zones),
            partial(alert_history, root),
        )
    )
    out.include_router(history_sql_router(sql_runner(root, a.query_timeout_s), a.query_max_rows))
    return out
