"""Sign-in, a scoped liaison, cross-site writes and DNS rebinding in real headless Chromium.

The map server is a real uvicorn with the project's routing rules; the attacker is a second real HTTP
server on another site (``evil.example``, which Chromium resolves to the loopback address) whose page
tries to retract an alert and to open the map's WebSocket.
"""

from __future__ import annotations

# ruff: noqa: F811  (the site fixture is imported from test_auth)
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.authkit import PASSWORD
from tests.test_auth import Site, site  # noqa: F401  (fixture)
from tests.test_map_browser import CHROME_ARGS, CHROMIUM, WEB, sign_in_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent (apt-get install chromium)"),
    pytest.mark.skipif(
        not (WEB / "node_modules" / "leaflet" / "dist" / "leaflet.js").exists(),
        reason="Leaflet not installed: run `npm ci --prefix web`",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (driver only)")

EVIL_PAGE = """<!doctype html><html><body><script>
window.result = {ws: [], posts: []};
async function attack(target, alertId) {
  for (const url of [target + '/ws', target.replace('127.0.0.1', 'evil.example') + '/ws']) {
    await new Promise((done) => {
      const ws = new WebSocket(url.replace('http', 'ws'));
      ws.onmessage = (ev) => { window.result.ws.push('message ' + ev.data.slice(0, 40)); };
      ws.onclose = (ev) => { window.result.ws.push('closed ' + ev.code); done(); };
      setTimeout(done, 3000);
    });
  }
  const body = JSON.stringify({action: 'retract', note: 'evil'});
  for (const mode of ['no-cors', 'cors']) {
    try {
      const r = await fetch(target + '/api/alerts/' + alertId + '/ack', {method: 'POST', mode: mode,
        credentials: 'include', headers: {'Content-Type': 'text/plain'}, body: body});
      window.result.posts.push(mode + ' ' + r.status);
    } catch (e) { window.result.posts.push(mode + ' failed'); }
  }
  return window.result;
}
</script></body></html>"""


class EvilHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        data = EVIL_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROME_ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"],
            viewport={"width": 1400, "height": 850},
        )
        yield ctx
        ctx.close()


def wait_map(pg: Any, tracks: int, alerts: int) -> None:
    pg.wait_for_function(
        f"() => window.mdaMap && mdaMap.connected() && mdaMap.trackCount() === {tracks}"
        f" && document.querySelectorAll('#alert-list li').length === {alerts}",
        timeout=20000,
    )


def test_map_asks_to_sign_in_then_works(site: Site, browser: Any) -> None:
    pg = browser.new_page()
    pg.goto(site.url + "/")
    assert pg.url == site.url + "/login"
    pg.fill("#login-name", "watch")
    pg.fill("#login-password", "not the password")
    pg.click("#login-submit")
    pg.wait_for_selector("#login-error:not([hidden])", timeout=10000)
    assert "wrong name or password" in pg.inner_text("#login-error")
    sign_in_page(pg, site.url)
    wait_map(pg, 4, 2)
    cookies = {c["name"]: c for c in browser.cookies()}
    assert cookies["mda_session"]["httpOnly"] and cookies["mda_session"]["sameSite"] == "Strict"
    assert pg.evaluate("() => document.cookie").count("mda_session") == 0  # scripts cannot read it


def test_liaison_map_shows_only_its_state(site: Site, browser: Any) -> None:
    pg = browser.new_page()
    sign_in_page(pg, site.url, "jm", PASSWORD)
    wait_map(pg, 1, 1)
    jm, tt = site.alerts["JM"], site.alerts["TT"]
    site.state.add_alert({**tt.to_json(), "version": 2, "status": "updated", "reasons": ["TT-ONLY REASON"]})
    site.state.add_alert({**jm.to_json(), "version": 2, "status": "updated", "reasons": ["JM UPDATE SEEN"]})
    pg.wait_for_function("() => document.body.innerText.includes('JM UPDATE SEEN')", timeout=15000)
    assert "TT-ONLY REASON" not in pg.inner_text("body")
    assert pg.evaluate("() => mdaMap.trackCount()") == 1


def test_cross_site_page_cannot_retract_or_listen(site: Site, browser: Any) -> None:
    pg = browser.new_page()
    sign_in_page(pg, site.url)  # the victim is signed in in this browser
    wait_map(pg, 4, 2)
    evil = ThreadingHTTPServer(("127.0.0.1", 0), EvilHandler)
    th = threading.Thread(target=evil.serve_forever, daemon=True)
    th.start()
    try:
        attacker = browser.new_page()
        attacker.goto(f"http://evil.example:{evil.server_address[1]}/")
        res = attacker.evaluate(f"() => attack('{site.url}', '{site.alerts['JM'].id}')")
    finally:
        evil.shutdown()
        evil.server_close()
    assert not [m for m in res["ws"] if m.startswith("message")], res
    assert len(res["ws"]) == 2, res
    # no-cors hides the status (0); the server refused it: the alert is still open
    assert site.store.get(site.alerts["JM"].id)["status"] == "open"  # type: ignore[index]
    refused = [r for r in site.sec.audit.tail(100) if r["event"] == "retract"]  # type: ignore[union-attr]
    assert refused == []


def test_rebound_host_name_gets_nothing(site: Site, browser: Any) -> None:
    pg = browser.new_page()
    sign_in_page(pg, site.url)
    port = site.server.port
    resp = pg.goto(f"http://evil.example:{port}/api/alerts")
    assert resp.status == 421 and site.alerts["JM"].id not in pg.content()
    resp = pg.goto(f"http://evil.example:{port}/")
    assert resp.status == 421 and "mdaMap" not in pg.content()
