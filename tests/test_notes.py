"""Notes and hand-overs are their own actions: kept (every one, across restarts), never an acknowledgement,
signed-in watch officers only, CSRF-checked, audited, pushed to the map (not to liaisons)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import REPO
from fastapi.testclient import TestClient

from mdacentre.alerting.notes import NoteBook, NoteKind
from mdacentre.alerting.store import StoreDb
from mdacentre.api.auth.scope import Scope, ScopedQueue
from mdacentre.api.auth.sessions import Principal
from mdacentre.api.auth.users import Role
from mdacentre.api.notes import notes_router
from mdacentre.api.web import MemoryMapState, create_app
from tests.authkit import make_security, sign_in

AID = "0123456789abcdef0123"
ALERT = {"id": AID, "status": "open", "level": "critical", "category": "dark_target", "track": {}}


def app_with_notes(tmp: Path) -> tuple[Any, NoteBook, list[dict[str, Any]], Any]:
    sec = make_security(
        tmp,
        users=(("watch", "watch", None), ("ana", "analyst", None), ("liz", "liaison", "jm-cg")),
    )
    book = NoteBook(StoreDb(tmp / "store.sqlite"))
    pushed: list[dict[str, Any]] = []
    app = create_app(MemoryMapState(), REPO / "web", security=sec)
    app.include_router(notes_router(book, sec, {AID: ALERT}.get, pushed.append))
    return app, book, pushed, sec


def test_note_and_hand_over_are_kept_with_who_and_when_and_audited(tmp_path: Path) -> None:
    app, book, pushed, sec = app_with_notes(tmp_path)
    with TestClient(app) as c:
        assert c.post(f"/api/alerts/{AID}/note", json={"text": "x"}).status_code == 401
        csrf = sign_in(c, "watch")
        h = {"X-CSRF-Token": csrf}
        assert c.post(f"/api/alerts/{AID}/note", json={"text": "no token"}).status_code == 403
        r = c.post(f"/api/alerts/{AID}/note", json={"text": "calling the patrol boat"}, headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["by"] == "watch" and r.json()["kind"] == "note" and r.json()["at"].endswith("Z")
        c.post(f"/api/alerts/{AID}/note", json={"text": "boat on scene"}, headers=h)
        bad = c.post(f"/api/alerts/{AID}/handover", json={"agency": "Not An Id", "note": ""}, headers=h)
        assert bad.status_code == 422
        r = c.post(f"/api/alerts/{AID}/handover", json={"agency": "jm-cg", "note": "their case"}, headers=h)
        assert r.status_code == 200 and r.json()["agency"] == "jm-cg"
        assert c.post(f"/api/alerts/{'f' * 20}/note", json={"text": "x"}, headers=h).status_code == 404
        assert c.post(f"/api/alerts/{AID}/note", json={"text": ""}, headers=h).status_code == 422
        assert (
            c.post(f"/api/alerts/{AID}/note", json={"text": "x", "by": "eve"}, headers=h).status_code == 422
        )
        listed = c.get(f"/api/notes?alert={AID}").json()
        assert [(n["kind"], n["text"]) for n in listed] == [
            ("note", "calling the patrol boat"),
            ("note", "boat on scene"),
            ("handover", "their case"),
        ]
    for who in ("ana", "liz"):  # analysts read, liaisons do not; neither writes notes
        with TestClient(app) as c:
            csrf = sign_in(c, who)
            r = c.post(f"/api/alerts/{AID}/note", json={"text": "x"}, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 403
            assert c.get("/api/notes").status_code == (200 if who == "ana" else 403)
    # every one pushed to the map, kept in the store (a new NoteBook on the same file has them)
    assert [m["note"]["text"] for m in pushed] == ["calling the patrol boat", "boat on scene", "their case"]
    again = NoteBook(StoreDb(tmp_path / "store.sqlite"))
    assert len(again.of(AID)) == 3 and again.recent(2)[-1]["kind"] == NoteKind.HANDOVER.value
    assert ALERT["status"] == "open"  # a note is not an acknowledgement
    assert sec.audit is not None
    events = sorted(
        (r for r in sec.audit.tail(50) if r["event"] in ("note", "handover")), key=lambda r: r["seq"]
    )
    assert [(r["event"], r["actor"]) for r in events] == [
        ("note", "watch"),
        ("note", "watch"),
        ("handover", "watch"),
    ]
    assert events[-1]["details"]["agency"] == "jm-cg"


def test_liaisons_do_not_receive_note_messages() -> None:
    import asyncio

    msg = {"type": "note", "note": {"alert": AID, "text": "internal"}}
    liaison = Scope(Principal("liz", Role.LIAISON, "jm-cg"), None)
    watch = Scope(Principal("watch", Role.WATCH, None), None)
    inner: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    assert ScopedQueue(inner, liaison, set()).filter(msg) is None
    assert ScopedQueue(inner, watch, set()).filter(msg) == msg
