"""``POST /api/history/sql``: an analyst's read-only SQL over the archive's documented views.

Body (JSON): ``{"sql": "SELECT ...", "format": "json" | "csv", "max_rows": N}``. Only the analyst role
reaches it (:mod:`mdacentre.api.auth.policy`). The runner from the service wiring does the
locking-down (one SELECT, no file outside the archive, locked configuration, a time limit:
:mod:`mdacentre.sinks.archive.analyst`); this route caps the rows, formats the answer and writes
every query, answered or not, to the audit trail (who, the SQL, its outcome, rows, time).

Answers: 200 (JSON ``{"columns": [{"name", "type"}], "rows": [[...]], "row_count", "truncated",
"elapsed_ms"}`` or CSV with ``X-Mda-Truncated``), 403 (refused: not one SELECT, a file or an
extension), 408 (time limit), 422 (the SQL is wrong), 503 (the audit trail cannot be written: no answer).
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import orjson
import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from mdacentre.model.errors import MdaError, QueryError, QueryRefused, QueryTimeout
from mdacentre.runtime.audit import AuditEvent

MAX_SQL_CHARS = 20_000
AUDIT_SQL_CHARS = 3000  # the audit record keeps this much (and the SHA-256 of all)
# (sql, max rows) -> (rows, truncated, elapsed seconds)
SqlRunner = Callable[[str, int], tuple[pa.Table, bool, float]]


class SqlBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(min_length=1, max_length=MAX_SQL_CHARS)
    format: Literal["json", "csv"] = "json"
    max_rows: int | None = Field(default=None, ge=1)


def _plain(v: Any) -> Any:
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()  # WKB geometry as hex
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, timedelta):
        return v.total_seconds()
    if isinstance(v, set | frozenset | tuple):
        return list(v)
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and v != v:
        return ""
    if isinstance(v, list | dict):
        return orjson.dumps(v, default=_plain).decode()
    if isinstance(v, bytes | bytearray | memoryview | Decimal | timedelta):
        return str(_plain(v))
    return str(v)


def to_json(table: pa.Table, truncated: bool, elapsed_s: float) -> bytes:
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return orjson.dumps(
        {
            "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
            "rows": [list(r) for r in zip(*cols, strict=True)] if cols else [],
            "row_count": table.num_rows,
            "truncated": truncated,
            "elapsed_ms": round(elapsed_s * 1000, 1),
        },
        default=_plain,
        option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z,
    )


def to_csv(table: pa.Table) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(table.column_names)
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    for row in zip(*cols, strict=True):
        w.writerow([_cell(v) for v in row])
    return out.getvalue().encode()


def _error(status: int, msg: str) -> Response:
    return Response(orjson.dumps({"error": msg}), status_code=status, media_type="application/json")


def history_sql_router(run: SqlRunner, max_rows: int) -> APIRouter:
    router = APIRouter()

    @router.post("/api/history/sql", tags=["history"])
    def history_sql(body: SqlBody, request: Request) -> Response:
        principal = getattr(request.state, "principal", None)
        if principal is None:
            return _error(401, "sign in first (POST /api/session)")
        limit = min(body.max_rows or max_rows, max_rows)
        t0 = time.monotonic()
        answer: Response
        details: dict[str, Any] = {
            "sql": body.sql[:AUDIT_SQL_CHARS],
            "sql_sha256": hashlib.sha256(body.sql.encode()).hexdigest(),
            "format": body.format,
            "max_rows": limit,
        }
        try:
            table, truncated, elapsed = run(body.sql, limit)
        except QueryRefused as exc:
            details["outcome"], answer = "refused", _error(403, str(exc))
        except QueryTimeout as exc:
            details["outcome"], answer = "timeout", _error(408, str(exc))
        except QueryError as exc:
            details["outcome"], answer = "error", _error(422, str(exc))
        else:
            details.update(outcome="ok", rows=table.num_rows, truncated=truncated)
            try:
                if body.format == "csv":
                    answer = Response(
                        to_csv(table),
                        media_type="text/csv; charset=utf-8",
                        headers={"X-Mda-Truncated": "true" if truncated else "false"},
                    )
                else:
                    answer = Response(to_json(table, truncated, elapsed), media_type="application/json")
            except (TypeError, ValueError, OverflowError, pa.ArrowException) as exc:
                details["outcome"] = "error"
                answer = _error(422, f"the result has a column that cannot be sent as {body.format}: {exc}")
        details["elapsed_ms"] = round((time.monotonic() - t0) * 1000, 1)
        details["status"] = answer.status_code
        sec = getattr(request.app.state, "security", None)
        audit = getattr(sec, "audit", None)
        if audit is None:
            return _error(503, "no audit trail: analyst queries are refused without one")
        try:
            audit.append(AuditEvent.HISTORY_QUERY, principal.label, details)
        except MdaError as exc:
            return _error(503, f"the query was not answered: {exc}")
        return answer

    return router
