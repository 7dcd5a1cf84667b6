"""Who reads the archive over REST: the analyst's locked-down SQL, and liaisons scoped to their agency's
jurisdiction (trails, events, archived alert versions). Real archive: the demo recording replayed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from mdacentre.alerting.jurisdiction import ALERT_MARGIN_S
from mdacentre.alerting.routing import Router, load_rules
from mdacentre.api.web import MemoryMapState, create_app
from mdacentre.core.zones import load_library
from mdacentre.model.errors import QueryRefused, QueryTimeout
from mdacentre.runtime.settings import ArchiveSettings, Settings, repo_root
from mdacentre.service.history_api import history_routes
from mdacentre.sinks.archive.analyst import analyst_query
from mdacentre.sinks.archive.query import History
from tests.authkit import make_security, sign_in

REPO = repo_root()
WEB = REPO / "web"
USERS = (
    ("watch", "watch", None),
    ("ana", "analyst", None),
    ("jm", "liaison", "jdf-cg"),  # Jamaica Defence Force Coast Guard: JM, every category, low and up
    ("tt", "liaison", "tt-cg"),
    ("lost", "liaison", "no-such-agency"),
    ("root", "admin", None),
)
HEAVY = "SELECT sum(hash(a.range * b.range)) FROM range(100000) a, range(100000) b"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("access") / "var"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mdacentre",
            "replay",
            str(REPO / "feeds" / "demo" / "caribbean_ais.nmea"),
            str(REPO / "feeds" / "demo" / "caribbean_sbs.txt"),
            "--data-dir",
            str(data),
            "--out",
            str(data.parent / "alerts.jsonl"),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return data


@pytest.fixture(scope="module")
def router() -> Router:
    return load_rules(REPO / "alerting" / "routing.toml")


def _app(tmp: Path, data: Path, router: Router, timeout_s: float = 30.0) -> tuple[TestClient, Any]:
    sec = make_security(tmp, USERS, router)
    settings = replace(Settings(data_dir=data), archive=ArchiveSettings(query_timeout_s=timeout_s))
    app = create_app(MemoryMapState(), WEB, security=sec)
    app.include_router(history_routes(settings, router, load_library(REPO / "geofences")))
    return TestClient(app, base_url="http://127.0.0.1"), sec


def _sql(c: TestClient, csrf: str, sql: str, **extra: Any) -> Any:
    return c.post("/api/history/sql", json={"sql": sql, **extra}, headers={"X-CSRF-Token": csrf})


def _audit(sec: Any) -> list[dict[str, Any]]:
    return sorted((r for r in sec.audit.tail(1000) if r["event"] == "history_query"), key=lambda r: r["seq"])


# -- the analyst's SQL ----------------------------------------------------------------------------


def test_history_sql_only_for_analysts_json_csv_rows_cap_and_audit(
    tmp_path: Path, archive: Path, router: Router
) -> None:
    c, sec = _app(tmp_path, archive, router)
    assert c.post("/api/history/sql", json={"sql": "SELECT 1"}).status_code == 401
    for name in ("watch", "jm", "root"):
        csrf = sign_in(c, name)
        assert _sql(c, csrf, "SELECT count(*) FROM positions").status_code == 403, name
        c.delete("/api/session", headers={"X-CSRF-Token": csrf})
    assert _audit(sec) == []  # refused at the gate: nothing ran
    csrf = sign_in(c, "ana")
    with History(archive / "history") as h:
        n = h.sql("SELECT count(*) AS n FROM positions").column("n")[0].as_py()
        cats = h.sql("SELECT count(DISTINCT category) AS n FROM alerts").column("n")[0].as_py()
    r = _sql(c, csrf, "SELECT count(*) AS n FROM positions")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["columns"][0]["name"] == "n" and doc["rows"] == [[n]] and doc["truncated"] is False
    r = _sql(c, csrf, "SELECT category, count(*) AS n FROM alerts GROUP BY ALL ORDER BY 1", format="csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0] == "category,n" and len(lines) == 1 + cats
    r = _sql(c, csrf, "SELECT t, track_id, lat, lon, geometry FROM positions ORDER BY t", max_rows=5)
    doc = r.json()
    assert doc["row_count"] == 5 and doc["truncated"] is True
    assert doc["rows"][0][0].endswith("Z") and len(doc["rows"][0][4]) == 42  # WKB point as hex
    assert _sql(c, csrf, "SELECT nonsense FROM positions").status_code == 422
    records = _audit(sec)
    assert [r["details"]["outcome"] for r in records] == ["ok", "ok", "ok", "error"]
    assert all(r["actor"] == "ana" for r in records)
    assert records[0]["details"]["sql"] == "SELECT count(*) AS n FROM positions"
    assert records[2]["details"]["rows"] == 5 and records[2]["details"]["truncated"] is True


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "COPY (SELECT * FROM positions) TO '{out}/leak.csv'",
        "ATTACH '{out}/other.db' AS other",
        "INSTALL spatial",
        "LOAD spatial",
        "SET enable_external_access = true",
        "SELECT 1; COPY (SELECT 1) TO '{out}/two.csv'",
        "CREATE TABLE x AS SELECT 1",
        "SELECT * FROM read_parquet('{out}/*.parquet')",
        "SELECT * FROM query('COPY (SELECT 1) TO ''{out}/q.csv''')",
    ],
)
def test_history_sql_refuses_files_writes_and_settings(
    tmp_path: Path, archive: Path, router: Router, sql: str
) -> None:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "other.parquet").write_bytes(
        (next((archive / "history" / "alerts").rglob("*.parquet"))).read_bytes()
    )
    c, sec = _app(tmp_path, archive, router)
    csrf = sign_in(c, "ana")
    r = _sql(c, csrf, sql.format(out=out))
    assert r.status_code in (403, 422), r.text
    assert list(out.iterdir()) == [out / "other.parquet"]  # nothing written
    assert "root:" not in r.text
    (rec,) = _audit(sec)
    assert rec["details"]["outcome"] in ("refused", "error") and rec["details"]["status"] == r.status_code


def test_history_sql_time_limit_interrupts(tmp_path: Path, archive: Path, router: Router) -> None:
    with pytest.raises(QueryTimeout):
        analyst_query(archive / "history", HEAVY, max_rows=10, timeout_s=0.3)
    with pytest.raises(QueryRefused):
        analyst_query(archive / "history", "SELECT * FROM read_csv('/etc/passwd')", max_rows=10, timeout_s=5)
    c, sec = _app(tmp_path, archive, router, timeout_s=0.3)
    csrf = sign_in(c, "ana")
    r = _sql(c, csrf, HEAVY)
    assert r.status_code == 408 and "time limit" in r.json()["error"]
    assert _sql(c, csrf, "SELECT count(*) FROM alerts").status_code == 200  # the next query runs
    assert [r["details"]["outcome"] for r in _audit(sec)] == ["timeout", "ok"]


# -- liaisons: their agency's jurisdiction ----------------------------------------------------------


def _area(state: str) -> Any:
    return shapely.union_all([z.geometry for z in load_library(REPO / "geofences") if z.state == state])


def _points(doc: dict[str, Any], role: str = "position") -> list[dict[str, Any]]:
    return [f for f in doc["features"] if f["properties"]["role"] == role]


def _track_url(track_id: str) -> str:
    kind = "aircraft" if not track_id.isdigit() else "vessel"
    return f"/api/tracks/{kind}/{track_id}/history"


def test_liaison_trail_is_cut_to_its_jurisdiction(tmp_path: Path, archive: Path, router: Router) -> None:
    jm = _area("JM")
    with History(archive / "history") as h:
        pos = h.sql("SELECT key, track_id, lon, lat FROM positions")
        alerted = set(h.sql("SELECT DISTINCT key FROM alerts WHERE state = 'JM'").column(0).to_pylist())
    keys = pos.column("key").to_numpy()
    inside = shapely.intersects_xy(jm, pos.column("lon").to_numpy(), pos.column("lat").to_numpy())
    ids = pos.column("track_id").to_pylist()
    # a vessel partly inside Jamaica's waters, without a Jamaican alert; and one never inside
    part = next(k for k in np.unique(keys[inside]) if k not in alerted and not inside[keys == k].all())
    never = next(k for k in np.unique(keys) if not inside[keys == k].any() and k not in alerted)
    part_id = ids[int(np.flatnonzero(keys == part)[0])]
    never_id = ids[int(np.flatnonzero(keys == never)[0])]
    c, sec = _app(tmp_path, archive, router)
    sign_in(c, "watch")
    full = _points(c.get(_track_url(part_id)).json())
    assert len(full) == int((keys == part).sum())
    sign_in(c, "jm")
    r = c.get(_track_url(part_id))
    assert r.status_code == 200
    mine = _points(r.json())
    assert 0 < len(mine) == int((inside & (keys == part)).sum()) < len(full)
    xy = np.array([f["geometry"]["coordinates"] for f in mine])
    assert shapely.intersects_xy(jm.buffer(1e-6), xy[:, 0], xy[:, 1]).all()
    assert all(
        f["geometry"] is None or shapely.intersects_xy(jm.buffer(1e-6), *f["geometry"]["coordinates"])
        for f in _points(r.json(), "event")
    )
    assert c.get(_track_url(never_id)).json()["features"] == []  # same answer as no such track
    assert any(r["event"] == "export" and r["actor"] == "jdf-cg/jm" for r in sec.audit.tail(100))
    sign_in(c, "lost")  # an agency the routing rules do not know sees nothing
    assert c.get(_track_url(part_id)).status_code == 403
    sign_in(c, "root")
    assert c.get(_track_url(part_id)).status_code == 403


def test_liaison_sees_a_routed_alerts_track_during_the_alert(
    tmp_path: Path, archive: Path, router: Router
) -> None:
    with History(archive / "history") as h:
        al = h.sql("SELECT key, track_id, state, category, level, started, t FROM alerts ORDER BY t")
    rows = al.to_pylist()
    routed = [a for a in rows if "jdf-cg" in router.route_to(a["state"], a["category"], _level(a["level"]))]
    assert routed, "the demo has an alert routed to the Jamaican coast guard"
    key, tid = routed[0]["key"], routed[0]["track_id"]
    mine = [a for a in routed if a["key"] == key]
    lo = min(a["started"] for a in mine).timestamp() - ALERT_MARGIN_S
    hi = max(a["t"] for a in mine).timestamp() + ALERT_MARGIN_S
    with History(archive / "history") as h:
        pos = h.track(key)
    t = pos.column("t").cast("int64").to_numpy() / 1e6
    inside = shapely.intersects_xy(_area("JM"), pos.column("lon").to_numpy(), pos.column("lat").to_numpy())
    expect = inside | ((t >= lo) & (t <= hi))
    c, _ = _app(tmp_path, archive, router)
    sign_in(c, "jm")
    got = _points(c.get(_track_url(tid)).json())
    assert len(got) == int(expect.sum()) > int(inside.sum())  # the alert adds points outside the waters


def _level(text: str) -> Any:
    from mdacentre.model.findings import Level

    return Level[text.upper()]


def test_liaison_alert_history_is_what_routing_sends_it(
    tmp_path: Path, archive: Path, router: Router
) -> None:
    lines = [json.loads(x) for x in (archive.parent / "alerts.jsonl").read_text().splitlines()]
    c, sec = _app(tmp_path, archive, router)
    sign_in(c, "watch")
    every = c.get("/api/history/alerts", params={"limit": 5000}).json()
    assert len(every) == len(lines)
    for name, agency in (("jm", "jdf-cg"), ("tt", "tt-cg")):
        sign_in(c, name)
        got = c.get("/api/history/alerts", params={"limit": 5000})
        assert got.status_code == 200
        want = [a for a in lines if agency in router.route(a)]
        assert sorted((a["id"], a["version"]) for a in got.json()) == sorted(
            (a["id"], a["version"]) for a in want
        )
        assert all(agency in router.route(a) for a in got.json())
    sign_in(c, "jm")
    assert len(c.get("/api/history/alerts").json()) < len(every)
    assert c.get("/api/history/alerts", params={"from": "nonsense"}).status_code == 422
    sign_in(c, "lost")
    assert c.get("/api/history/alerts").status_code == 403
    c.cookies.clear()
    assert c.get("/api/history/alerts").status_code == 401


def _fuzz(op: Any, url: str, headers: dict[str, str], who: str, failures: list[str]) -> int:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    count = 0

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=op.as_strategy())
    def run(case: Any) -> None:
        nonlocal count
        count += 1
        resp = case.call(base_url=url, headers=headers)
        try:
            case.validate_response(resp, checks=[not_a_server_error])
        except Exception as exc:  # collect every failing operation, not only the first
            failures.append(f"{who} {case.method} {case.path}: {str(exc)[:300]}")

    run()
    return count


def test_no_generated_history_request_causes_a_server_error(
    tmp_path: Path, archive: Path, router: Router
) -> None:
    """Schemathesis requests to the history routes, signed in as an analyst and as a liaison."""
    schemathesis = pytest.importorskip("schemathesis")
    import httpx

    from tests.authkit import LiveServer

    c, _ = _app(tmp_path, archive, router, timeout_s=2.0)
    server = LiveServer(c.app)
    failures: list[str] = []
    count = 0
    try:
        for name in ("ana", "jm"):
            with httpx.Client(base_url=server.url, timeout=30) as hc:
                csrf = sign_in(hc, name)
                spec = hc.get("/openapi.json").json()
                headers = {"Cookie": f"mda_session={hc.cookies['mda_session']}", "X-CSRF-Token": csrf}
            for op_result in schemathesis.openapi.from_dict(spec).get_all_operations():
                op = op_result.ok()
                if "history" in op.path:
                    count += _fuzz(op, server.url, headers, name, failures)
    finally:
        server.stop()
    assert count > 50
    assert failures == []
