"""Schemathesis generates requests from the published OpenAPI document (fetched signed in) and sends
them to the real app, signed in as a watch officer: no request may cause a server error (5xx)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.authkit import LiveServer, sign_in
from tests.test_auth import build_site

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    app, *_ = build_site(tmp_path_factory.mktemp("fuzz"))
    server = LiveServer(app)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            csrf = sign_in(c)
            spec = c.get("/openapi.json")
            assert spec.status_code == 200
            headers = {"Cookie": f"mda_session={c.cookies['mda_session']}", "X-CSRF-Token": csrf}
        yield {"app": app, "url": server.url, "headers": headers, "spec": spec.json()}
    finally:
        server.stop()


def test_openapi_is_behind_sign_in(site: dict[str, Any]) -> None:
    c = TestClient(site["app"], base_url="http://127.0.0.1")
    assert c.get("/openapi.json").status_code == 401
    assert {"/api/tracks", "/api/alerts", "/api/session", "/api/alerts/{alert_id}/ack"} <= set(
        site["spec"]["paths"]
    )


def test_no_generated_request_causes_a_server_error(site: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_dict(site["spec"])
    failures: list[str] = []
    count = 0
    for op_result in schema.get_all_operations():
        op = op_result.ok()
        if op.method.upper() == "DELETE" and op.path == "/api/session":
            continue  # signing out would leave the rest of the run without a session

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            nonlocal count
            count += 1
            resp = case.call(base_url=site["url"], headers=site["headers"])
            try:
                case.validate_response(resp, checks=[not_a_server_error])
            except Exception as exc:  # collect: report every failing operation, not only the first
                failures.append(f"{case.method} {case.path}: {str(exc)[:300]}")

        run()
    print(f"schemathesis: {count} generated requests")
    assert count > 50
    assert failures == []
