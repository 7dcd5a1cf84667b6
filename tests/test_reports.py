"""Period reports and incident briefings over an archive with known truth.

The archive is the bundled demo feed replayed through the pipeline (its scenarios are planted
events with names and MMSIs), plus planted acknowledgements (known delays) and a planted watch-list
entry. Truth comes from the replay's alert lines and the scenario file, not from the report code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest

from mdacentre.alerting.routing import load_rules
from mdacentre.runtime.settings import repo_root
from mdacentre.sinks.archive.recorder import acks_table
from mdacentre.sinks.archive.schema import Table
from mdacentre.sinks.archive.writer import write_parquet_atomic

REPO = repo_root()
DEMO = REPO / "feeds" / "demo"
WEB = REPO / "web"
CHROMIUM = Path("/usr/bin/chromium")
SCENARIOS = json.loads((DEMO / "scenarios.json").read_text())["scenarios"]
WATCHED_MMSI = 377495469  # a background demo vessel that crosses the Mona Passage; planted on the INF list
ACK_DELAYS_S = [60.0, 300.0, 900.0]  # bb-cg acknowledges its three hazardous-cargo alerts after these
WATCH_DELAY_S = 120.0  # the watch floor acknowledges one go-fast alert after this
SECTIONS = [
    "1. Alerts",
    "2. Hazardous-cargo and watch-listed transits",
    "3. Going dark and encounters",
    "4. Response indicators",
    "5. Top tracks by gravity",
    "6. Data coverage",
]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mdacentre", *args], capture_output=True, text=True, check=True, timeout=600
    )


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _truth(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per alert id: first version's category/state/time and the gravest version's level."""
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in lines:
        by_id[a["id"]].append(a)
    out = {}
    for aid, vs in by_id.items():
        vs.sort(key=lambda a: a["version"])
        grave = max(vs, key=lambda a: (a["score"], -a["version"]))
        out[aid] = {**vs[0], "level": grave["level"]}
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("report")
    data = base / "var"
    _cli(
        "replay",
        str(DEMO / "caribbean_ais.nmea"),
        str(DEMO / "caribbean_sbs.txt"),
        "--data-dir",
        str(data),
        "--out",
        str(base / "alerts.jsonl"),
    )
    lines = [json.loads(x) for x in (base / "alerts.jsonl").read_text().splitlines()]
    truth = _truth(lines)
    # planted acknowledgements: bb-cg on the hazardous-cargo alerts, the watch floor on one go-fast
    haz = sorted(
        (a for a in truth.values() if a["category"] == "hazardous_cargo"), key=lambda a: a["started"]
    )
    fast = min((a for a in truth.values() if a["category"] == "go_fast"), key=lambda a: a["started"])
    acks = [
        {
            **a,
            "status": "acknowledged",
            "ack": {"by": "bb-cg/duty officer", "note": "tasked", "at": _iso(_t(a["started"]) + d)},
        }
        for a, d in zip(haz, ACK_DELAYS_S, strict=True)
    ]
    acks.append(
        {
            **fast,
            "status": "acknowledged",
            "ack": {"by": "watch/analyst", "note": "", "at": _iso(_t(fast["started"]) + WATCH_DELAY_S)},
        }
    )
    folder = data / "history" / "acks" / "day=2026-01-15"
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(acks_table(acks), folder / "part-planted.parquet", Table.ACKS)
    # planted watch-list entry in a copy of the zone library
    zones = base / "zones"
    shutil.copytree(REPO / "geofences", zones)
    with (zones / "watchlists" / "inf_ships.csv").open("a") as f:
        f.write(f"mmsi,{WATCHED_MMSI},TEST INF carrier (planted)\n")
    out = base / "out1"
    common = ["--data-dir", str(data), "--zones", str(zones), "--from", "2026-01-15", "--to", "2026-01-15"]
    _cli("report", *common, "--out", str(out))
    return {
        "base": base,
        "data": data,
        "zones": zones,
        "out": out,
        "common": common,
        "truth": truth,
        "haz": haz,
        "figures": json.loads((out / "figures.json").read_text()),
    }


def test_report_alert_counts_are_the_replayed_alerts(archive: dict[str, Any]) -> None:
    f, truth = archive["figures"], archive["truth"]
    rows = list(truth.values())
    a = f["alerts"]
    assert a["total"] == len(rows) > 20
    for key, field in (("by_category", "category"), ("by_level", "level"), ("by_state", "state")):
        assert a[key] == dict(Counter(r[field] for r in rows)), key
    assert a["by_month"] == {"2026-01": len(rows)}


def test_report_transits_name_the_planted_ships_and_passages(archive: dict[str, Any]) -> None:
    tr = archive["figures"]["transits"]
    hazardous = {s["mmsi"]: s["name"] for s in SCENARIOS if s["category"] == "hazardous_cargo"}
    flagged = {s["mmsi"]: s["name"] for s in tr["flagged_ships"]}
    assert set(flagged) == set(hazardous) | {WATCHED_MMSI}
    assert all(flagged[m] == n for m, n in hazardous.items())
    assert any(
        "TEST INF carrier" in w for s in tr["flagged_ships"] if s["mmsi"] == WATCHED_MMSI for w in s["why"]
    )
    passages = {z["zone"]: [(s["name"], s["mmsi"]) for s in z["ships"]] for z in tr["by_passage"]}
    # ISLAND VENTURE enters through the Windward Passage (scenario note); the watched ship crosses Mona
    assert passages == {
        "gate-windward": [("ISLAND VENTURE", 538881863)],
        "gate-mona": [(flagged[WATCHED_MMSI], WATCHED_MMSI)],
    }
    assert {z["zone"]: z["transits"] for z in tr["by_passage"]} == {"gate-windward": 1, "gate-mona": 1}
    eez_ships = {s["mmsi"] for z in tr["by_eez"] for s in z["ships"]}
    assert eez_ships <= set(flagged) and set(hazardous) <= eez_ships
    assert all(z["zone"].endswith("-eez") and z["transits"] == len(z["ships"]) for z in tr["by_eez"])


def test_report_incidents_and_response_indicators(archive: dict[str, Any]) -> None:
    f, truth = archive["figures"], archive["truth"]
    dark = {a["id"] for a in truth.values() if a["category"] == "ais_gap"}
    meets = {a["id"] for a in truth.values() if a["category"] in ("encounter", "close_rendezvous")}
    assert {r["id"] for r in f["incidents"]["going_dark"]} == dark
    assert {r["id"] for r in f["incidents"]["encounters"]} == meets
    dark_names = {s["name"] for s in SCENARIOS if s["category"] == "ais_gap"}
    assert dark_names <= {r["name"] for r in f["incidents"]["going_dark"]}
    meet_names = {n for s in SCENARIOS if s["category"] == "encounter" for n in s["name"].split(" / ")}
    assert {r["name"] for r in f["incidents"]["encounters"]} <= meet_names
    agencies = {a["agency"]: a for a in f["response"]["agencies"]}
    bb = agencies["bb-cg"]
    assert bb["acknowledged"] == 3 and bb["median_s"] == 300.0
    assert bb["p90_s"] == pytest.approx(float(np.percentile(ACK_DELAYS_S, 90)), abs=0.1)
    assert bb["never_acknowledged"] == bb["alerts"] - 3
    do = agencies["do-navy"]  # also receives the hazardous-cargo alerts, acknowledged none of them
    assert do["acknowledged"] == 0 and do["median_s"] is None and do["never_acknowledged"] == do["alerts"] > 0
    watch = agencies["watch"]
    assert watch["alerts"] == len(truth) and watch["acknowledged"] == 1 and watch["median_s"] == WATCH_DELAY_S
    top = f["top_tracks"]
    assert top[0]["score"] == max(a["score"] for a in truth.values()) and top[0]["reasons"]
    assert [t["score"] for t in top] == sorted((t["score"] for t in top), reverse=True)
    cov = f["coverage"]
    assert cov["covered"]["minutes"] == 480 and cov["messages_per_day"] == {
        "2026-01-15": sum(fd["messages"] for fd in cov["feeds"])
    }
    assert {fd["feed"] for fd in cov["feeds"]} == {0, 1} and cov["feeds"][0]["uptime_pct"] == 100.0


def test_report_is_reproducible(archive: dict[str, Any]) -> None:
    out2 = archive["base"] / "out2"
    _cli("report", *archive["common"], "--out", str(out2))
    out = archive["out"]
    assert (out / "figures.json").read_bytes() == (out2 / "figures.json").read_bytes()
    assert (out / "report.html").read_bytes() == (out2 / "report.html").read_bytes()


def test_report_filters_by_state_and_agency(archive: dict[str, Any]) -> None:
    truth = archive["truth"]
    common = [c for c in archive["common"]]
    out = archive["base"] / "jm"
    _cli("report", *common, "--state", "JM", "--out", str(out))
    f = json.loads((out / "figures.json").read_text())
    assert f["alerts"]["total"] == sum(1 for a in truth.values() if a["state"] == "JM") > 0
    assert f["alerts"]["by_state"] == {"JM": f["alerts"]["total"]}
    out = archive["base"] / "bb"
    _cli("report", *common, "--agency", "bb-cg", "--out", str(out))
    f = json.loads((out / "figures.json").read_text())
    assert f["alerts"]["by_category"] == {"hazardous_cargo": 3}


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="pdftoppm absent (apt-get install poppler-utils)"
)
def test_report_pdf_renders_every_section(archive: dict[str, Any], tmp_path: Path) -> None:
    pdf = archive["out"] / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3 and all(p.stat().st_size > 1000 for p in pages)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for title in SECTIONS:
        assert title in text, f"section {title!r} missing from the PDF"
    for needle in ("ISLAND VENTURE", "538881863", "Windward Passage", "Mona Passage", "Barbados Coast Guard"):
        assert needle in text
    # charts and maps are images in the PDF (pdfimages lists them)
    imgs = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert len([ln for ln in imgs.splitlines()[2:] if ln.strip()]) >= 5


# -- incident briefing ---------------------------------------------------------------------------------


def test_brief_rest_endpoint(archive: dict[str, Any], tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from mdacentre.api.brief import brief_router
    from mdacentre.api.web import MemoryMapState, create_app
    from mdacentre.reports.brief import brief_html
    from tests.authkit import make_security, sign_in

    users = (("watch", "watch", None), ("analyst", "analyst", None), ("jm", "liaison", "jdf-cg"))
    sec = make_security(tmp_path, users, load_rules(REPO / "alerting" / "routing.toml"))
    router = brief_router(partial(brief_html, archive["data"] / "history", WEB))
    app = create_app(MemoryMapState(), WEB, [router], security=sec)
    aid = archive["haz"][0]["id"]
    anonymous = TestClient(app)
    assert anonymous.get(f"/api/alerts/{aid}/brief").status_code == 401  # behind sign-in
    liaison = TestClient(app)
    sign_in(liaison, "jm")
    assert liaison.get(f"/api/alerts/{aid}/brief").status_code == 403  # not a liaison's export
    local = TestClient(app)
    sign_in(local, "watch")
    r = local.get(f"/api/alerts/{aid}/brief")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f'filename="brief-{aid}.html"' in r.headers["content-disposition"]
    assert "bb-cg/duty officer" in r.text and "<script src=" not in r.text
    assert local.get("/api/alerts/0123456789abcdef0123/brief").status_code == 404
    assert local.get("/api/alerts/..%2Fetc/brief").status_code in (404, 422)
    assert local.get("/api/alerts/NOT-AN-ID/brief").status_code == 422
    analyst = TestClient(app)
    sign_in(analyst, "analyst")
    assert analyst.get(f"/api/alerts/{aid}/brief").status_code == 200
    audited = (tmp_path / "audit.jsonl").read_text()
    assert audited.count(f"/api/alerts/{aid}/brief") >= 2  # each export is in the audit trail


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent (apt-get install chromium)")
@pytest.mark.skipif(
    not (WEB / "node_modules" / "leaflet" / "dist" / "leaflet.js").exists(), reason="npm ci --prefix web"
)
def test_brief_opens_offline_in_chromium(archive: dict[str, Any], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.test_map_browser import CHROME_ARGS

    alert = archive["haz"][1]
    out = tmp_path / "brief.html"
    _cli("brief", "--data-dir", str(archive["data"]), alert["id"], "--out", str(out))
    urls: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROME_ARGS,
            viewport={"width": 1400, "height": 800},
        )
        try:
            pg = ctx.new_page()
            pg.on("request", lambda r: urls.append(r.url))
            pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            pg.goto(out.as_uri())
            pg.wait_for_function(
                "() => window.L && document.querySelectorAll('.leaflet-interactive').length > 2"
            )
            trail = pg.evaluate(
                "() => [...document.querySelectorAll('path.leaflet-interactive')]"
                ".filter(p => p.getAttribute('stroke') === '#1f4e9a').length"
            )
            land = pg.evaluate(
                "() => [...document.querySelectorAll('path.leaflet-interactive')]"
                ".filter(p => p.getAttribute('fill') === '#d9d4c7').length"
            )
            text = pg.inner_text(".brief-text")
            pg.screenshot(path=str(tmp_path / "brief.png"))
        finally:
            ctx.close()
    assert trail == 1 and land >= 1
    assert alert["id"] in text and alert["track"]["name"] in text
    assert all(r in text for r in alert["reasons"])
    assert "bb-cg/duty officer" in text and "tasked" in text
    assert errors == []
    assert urls and all(urlsplit(u).scheme in ("file", "data") for u in urls), urls


def test_service_serves_the_briefing_route(archive: dict[str, Any]) -> None:
    from dataclasses import replace

    from mdacentre.runtime.settings import Settings
    from mdacentre.service.wiring import brief_api

    router = brief_api(replace(Settings(), data_dir=archive["data"]))
    assert "/api/alerts/{alert_id}/brief" in {r.path for r in router.routes}


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent (apt-get install chromium)")
@pytest.mark.skipif(
    not (WEB / "node_modules" / "leaflet" / "dist" / "leaflet.js").exists(), reason="npm ci --prefix web"
)
def test_briefing_downloads_from_the_map(archive: dict[str, Any], tmp_path: Path) -> None:
    """The live map's alert list links each alert to its briefing; the download is the briefing."""
    import socket
    import threading
    import time

    import uvicorn

    from mdacentre.api.brief import brief_router
    from mdacentre.api.web import MemoryMapState, create_app
    from mdacentre.reports.brief import brief_html
    from tests.authkit import make_security
    from tests.test_map_browser import CHROME_ARGS, sign_in_page

    sync_api = pytest.importorskip("playwright.sync_api")
    alert = archive["haz"][0]
    state = MemoryMapState()
    state.add_alert(dict(alert))
    app = create_app(state, WEB, security=make_security(tmp_path / "auth"))
    app.include_router(brief_router(partial(brief_html, archive["data"] / "history", WEB)))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    urls: list[str] = []
    try:
        with sync_api.sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROME_ARGS,
                accept_downloads=True,
            )
            try:
                pg = ctx.new_page()
                pg.on("request", lambda r: urls.append(r.url))
                sign_in_page(pg, f"http://127.0.0.1:{sock.getsockname()[1]}/")  # the map needs a session
                link = pg.locator(f"#alert-list li[data-alert-id='{alert['id']}'] a.alert-brief")
                link.wait_for(timeout=15000)
                with pg.expect_download() as dl:
                    link.click()
                doc = Path(dl.value.path()).read_text(encoding="utf-8")
                filename = dl.value.suggested_filename
            finally:
                ctx.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert filename == f"brief-{alert['id']}.html"
    assert alert["id"] in doc and "bb-cg/duty officer" in doc and "<script src=" not in doc
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in urls), urls
