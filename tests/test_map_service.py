"""The whole service behind the map: a small AIS feed through the real pipeline, seen in headless Chromium."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import position, static

from mdacentre.ingest.feeds import FeedKind, FeedSpec, Transport
from mdacentre.runtime.settings import AuthSettings, HttpSettings, MqttSettings, Settings
from mdacentre.sinks.broker import free_port
from tests.authkit import PASSWORD
from tests.servicekit import running_service

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent (apt-get install chromium)"),
    pytest.mark.skipif(
        not (REPO / "web/node_modules/leaflet/dist/leaflet.js").exists(), reason="run npm ci --prefix web"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (driver only)")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
T0 = 1_768_435_200.0
VESSELS = [
    (311000101, "ISLAND TRADER", 70, 18.2, -76.2),
    (339000202, "BLUE LAGOON", 60, 17.6, -77.3),
    (362000303, "TRINI STAR", 30, 11.0, -61.5),
    (314000404, "BAJAN BREEZE", 52, 13.2, -59.8),
]
TANKER = 538000505


def feed_file(path: Path) -> None:
    lines: list[str] = []
    for mmsi, name, st, lat, lon in VESSELS:
        lines += static(mmsi, name, st, T0)
        lines += position(mmsi, lat, lon, T0 + 5)
    lines += static(TANKER, "HAZMAT CARRIER", 82, T0)
    for i in range(20):
        lines += position(TANKER, 15.05, -58.5 - 0.1 * i, T0 + 60 * i)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[int]:
    feed_file(tmp_path / "small.nmea")
    http_port = free_port()
    settings = replace(
        Settings(),
        data_dir=tmp_path / "var",
        mqtt=MqttSettings(embedded_port=free_port(), client_id="mda-map-test"),
        http=HttpSettings(port=http_port),
        auth=AuthSettings(bootstrap_password=PASSWORD),
    )
    feeds = [FeedSpec("small", FeedKind.AIS, Transport.FILE, path=str(tmp_path / "small.nmea"))]
    with running_service(settings, feeds):
        time.sleep(0.5)
        yield http_port


def test_map_shows_the_feed_and_its_alert(service: int, tmp_path: Path) -> None:
    errors: list[str] = []
    urls: list[str] = []
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 850},
        )
        pg = ctx.new_page()
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("request", lambda r: urls.append(r.url))
        pg.goto(f"http://127.0.0.1:{service}/")
        assert urlsplit(pg.url).path == "/login"  # the service's first user signs in first
        pg.fill("#login-name", "watch")
        pg.fill("#login-password", PASSWORD)
        pg.click("#login-submit")
        pg.wait_for_url(f"http://127.0.0.1:{service}/", timeout=15000)
        n = len(VESSELS) + 1
        pg.wait_for_function(
            f"() => window.mdaMap && mdaMap.connected() && mdaMap.trackCount() === {n} && mdaMap.drawnCount() === {n}",
            timeout=30000,
        )
        alerts_text: Any = pg.wait_for_function(
            "() => { const t = document.body.innerText; return t.includes('HAZMAT CARRIER') && t.toLowerCase().includes('hazardous') ? t : false; }",
            timeout=30000,
        ).json_value()
        pg.screenshot(path="/tmp/map_service.png")
        served_categories = pg.evaluate("() => mdaMap.vocabulary().categories")
        ctx.close()
    assert "HAZMAT CARRIER" in str(alerts_text)
    # the page's category list is the service's routing vocabulary
    routing = tomllib.loads((REPO / "alerting" / "routing.toml").read_text(encoding="utf-8"))
    assert served_categories == sorted(routing["categories"]) and "hazardous_cargo" in served_categories
    assert errors == []
    assert [u for u in urls if urlsplit(u).hostname != "127.0.0.1"] == []
