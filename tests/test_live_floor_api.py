"""The live service (run_service, as `mdacentre serve`) offers the new watch-floor routes: notes and
hand-overs on a real stored alert (the alert stays open), and the picture at a past time from its own
archive, with the features listed in its vocabulary."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.authkit import make_security, sign_in_when_up
from tests.servicekit import TANKER, archived_tanker_service, running_service


def test_live_service_keeps_notes_and_shows_the_past_picture(tmp_path: Path) -> None:
    tanker = TANKER
    settings, feeds, http_port = archived_tanker_service(tmp_path, "mda-floor-api-test")
    make_security(settings.data_dir)
    with (
        running_service(settings, feeds),
        httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=5) as client,
    ):
        csrf = sign_in_when_up(client)
        vocab = client.get("/api/vocabulary").json()
        assert set(vocab["features"]) == {"notes", "past_picture"}
        # the agencies a hand-over may name are the routing's, with their names for the page's choice
        agency_ids = [a["id"] for a in vocab["agencies"]]
        assert {"rsc-desk", "jdf-cg", "tt-cg"} <= set(agency_ids) and agency_ids == sorted(agency_ids)
        assert all(a["name"] for a in vocab["agencies"])
        alert = None
        deadline = time.monotonic() + 30
        while alert is None and time.monotonic() < deadline:
            got = client.get("/api/alerts").json()
            alert = next((a for a in got if a["category"] == "hazardous_cargo"), None)
            time.sleep(0.3)
        assert alert is not None
        h = {"X-CSRF-Token": csrf}
        r = client.post(f"/api/alerts/{alert['id']}/note", json={"text": "tracking it"}, headers=h)
        assert r.status_code == 200, r.text
        r = client.post(
            f"/api/alerts/{alert['id']}/handover", json={"agency": "tt-cg", "note": "in their EEZ"}, headers=h
        )
        assert r.status_code == 200, r.text
        notes = client.get(f"/api/notes?alert={alert['id']}").json()
        assert [(n["kind"], n["by"]) for n in notes] == [("note", "watch"), ("handover", "watch")]
        now = {a["id"]: a for a in client.get("/api/alerts").json()}[alert["id"]]
        assert now["status"] == alert["status"] and now["version"] == alert["version"]
        # the past picture from the service's own archive: the tanker where it was 10 min in
        pic: list = []
        deadline = time.monotonic() + 30
        while not pic and time.monotonic() < deadline:
            time.sleep(0.5)
            doc = client.get("/api/picture", params={"at": "2026-01-15T00:10:30Z", "lookback_s": 600}).json()
            pic = [t for t in doc["tracks"] if t["id"] == str(tanker)]
        assert pic and pic[0]["name"] == "HAZMAT CARRIER" and pic[0]["t"] == "2026-01-15T00:10:00Z"
        assert abs(pic[0]["lon"] - (-58.5 - 0.1 * 10)) < 1e-4 and pic[0]["level"] != "info"
