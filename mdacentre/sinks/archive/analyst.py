"""The analyst's SQL over the archive: read-only DuckDB on the documented views, nothing else.

Each query gets its own in-memory DuckDB connection with the views of :class:`History`, then:

* the text must be exactly one ``SELECT`` statement (DuckDB's own parser says so: no ``COPY``,
  ``ATTACH``, ``INSTALL``, ``LOAD``, ``SET``, ``PRAGMA``, ``CREATE``, ``EXPORT``, ...);
* external access is off (``enable_external_access = false``) with the archive folder as the only
  allowed directory, so no table function reads any other file (``read_csv('/etc/passwd')``,
  ``glob``, ``read_text``) and nothing is written; extensions are neither installed nor loaded;
* the configuration is locked (``lock_configuration``), so a query cannot turn any of it back on;
* one thread and a memory limit, at most ``max_rows`` rows are fetched (streamed, then cut), and a
  timer interrupts the query after ``timeout_s`` seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from mdacentre.model.errors import QueryError, QueryRefused, QueryTimeout
from mdacentre.sinks.archive.query import History

MAX_SQL_CHARS = 20_000
MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class QueryResult:
    table: pa.Table
    truncated: bool  # more rows than max_rows: the first max_rows are returned
    elapsed_s: float


def check_statement(sql: str) -> str:
    """The one SELECT statement of ``sql`` (without a trailing semicolon), or :class:`QueryRefused`."""
    if not sql.strip():
        raise QueryRefused("the query is empty")
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRefused(f"the query is longer than {MAX_SQL_CHARS} characters")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"query does not parse: {exc}") from None
    if len(statements) != 1:
        raise QueryRefused(f"send exactly one SELECT statement, not {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise QueryRefused(f"only SELECT over the archive's views is allowed, not {kind.name}")
    return sql


def _lock_down(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    folder = str(root) + "/"
    con.execute("SET allowed_directories = [?]", [folder])
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET threads = 1")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET lock_configuration = true")


def analyst_query(root: Path, sql: str, *, max_rows: int, timeout_s: float) -> QueryResult:
    """Run one analyst SELECT over the archive at ``root`` (see the module notes for the limits).

    Raises :class:`QueryRefused` (not one SELECT, or a file outside the archive), :class:`QueryTimeout`
    and :class:`QueryError` (bad SQL)."""
    if max_rows < 1 or not timeout_s > 0:
        raise QueryError("max_rows must be at least 1 and timeout_s positive")
    check_statement(sql)
    root = Path(root).resolve()
    t0 = time.monotonic()
    with History(root) as h:
        con = h.con
        _lock_down(con, root)
        fired = threading.Event()

        def stop() -> None:
            fired.set()
            con.interrupt()

        timer = threading.Timer(timeout_s, stop)
        timer.daemon = True
        timer.start()
        batches: list[pa.RecordBatch] = []
        rows = 0
        try:
            rel = con.sql(sql)
            if rel is None:
                raise QueryRefused("the statement gives no rows")
            stream = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader  # duckdb 2 / 1.x
            reader = stream(min(max_rows + 1, 65_536))
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if rows > max_rows:
                    break
            schema = reader.schema
        except (duckdb.Error, pa.ArrowException) as exc:
            if fired.is_set():
                raise QueryTimeout(f"the query was stopped after {timeout_s:g} s (the time limit)") from None
            if isinstance(exc, duckdb.PermissionException):
                raise QueryRefused(f"refused: {exc}") from None
            raise QueryError(f"query failed: {exc}") from None
        finally:
            timer.cancel()
    table = pa.Table.from_batches(batches, schema=schema)
    truncated = table.num_rows > max_rows
    if truncated:
        table = table.slice(0, max_rows)
    return QueryResult(table, truncated, time.monotonic() - t0)
