"""Notes and hand-overs from the page in real headless Chromium, signed in: their own actions (the alert
is not acknowledged by them), shown with who and when in the inbox and the track panel, kept across a
reload, and a note written elsewhere appears live (issue 17, "Actions")."""

from __future__ import annotations

# ruff: noqa: F811  (the fixtures imported from test_map_browser are named as test arguments)
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mdacentre.alerting.notes import NoteBook
from mdacentre.alerting.store import StoreDb
from mdacentre.api.notes import notes_router
from mdacentre.api.vocabulary import vocabulary
from mdacentre.api.web import MemoryMapState, create_app
from tests.authkit import LiveServer, SignedIn
from tests.floorkit import floor_routers
from tests.test_floor_browser import aid, floor_state
from tests.test_map_browser import (  # noqa: F401  (fixtures)
    WEB,
    Watch,
    browser_ctx,
    browser_security,
    page,
    sign_in_page,
)

pytestmark = [pytest.mark.browser]


Noted = tuple[LiveServer, MemoryMapState, list[dict[str, Any]]]
AGENCIES = {"tt-cg": "Trinidad and Tobago Coast Guard", "jdf-cg": "Jamaica Defence Force Coast Guard"}


@pytest.fixture
def noted(tmp_path: Path) -> Iterator[Noted]:
    yield from serve_noted(tmp_path, None)


@pytest.fixture
def noted_agencies(tmp_path: Path) -> Iterator[Noted]:
    yield from serve_noted(tmp_path, AGENCIES)


def serve_noted(tmp_path: Path, agencies: dict[str, str] | None) -> Iterator[Noted]:
    state, vessels, _plane, _t = floor_state()
    sec = browser_security()
    book = NoteBook(StoreDb(tmp_path / "store.sqlite"))

    def lookup(alert_id: str) -> dict[str, Any] | None:
        return {a["id"]: a for a in state.alerts(10_000)}.get(alert_id)

    routers = [*floor_routers(state, sec), notes_router(book, sec, lookup, state.publish)]
    app = create_app(
        state, WEB, routers, vocabulary=vocabulary(features=("notes",), agencies=agencies), security=sec
    )
    server = LiveServer(app)
    yield server, state, vessels
    server.stop()


def item_of(pg: Any, n: int) -> Any:
    return pg.locator(f"#alert-list > li[data-alert-id='{aid(n)}']")


def test_notes_and_hand_over_are_their_own_actions_on_the_page(noted: Noted, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    server, state, vessels = noted
    sign_in_page(pg, server.url + "/")
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length === 4")
    item = item_of(pg, 5)
    item.get_by_role("button", name="Add note").click()
    item.get_by_label("Note", exact=True).fill("calling the patrol boat")
    item.get_by_role("button", name="Save note").click()
    pg.wait_for_function(
        f"() => document.querySelector(\"li[data-alert-id='{aid(5)}']\").textContent.includes('added a note')"
    )
    item.get_by_role("button", name="Hand over").click()
    item.get_by_label("Agency (id, e.g. jdf-coastguard)").fill("jdf-coastguard")
    item.get_by_label("Note", exact=True).fill("their boat is closer")
    item.locator("button.act-submit").click()
    pg.wait_for_function(
        f"() => document.querySelector(\"li[data-alert-id='{aid(5)}']\").textContent.includes('handed over to jdf-coastguard')"
    )
    text = item.text_content() or ""
    assert "calling the patrol boat" in text and "their boat is closer" in text and "watch" in text
    # not an acknowledgement: the alert is still open and still counted as waiting for a person
    assert {a["id"]: a for a in state.alerts(100)}[aid(5)]["status"] == "open"
    assert "acked" not in (item.get_attribute("class") or "")
    assert pg.title().startswith("(2) ")
    # a note written by someone else (another signed-in session) appears live
    other = SignedIn()
    status, _body = other.request(server.port, f"/api/alerts/{aid(5)}/note", {"text": "from the other desk"})
    assert status == 200
    pg.wait_for_function(
        f"() => document.querySelector(\"li[data-alert-id='{aid(5)}']\").textContent.includes('from the other desk')"
    )
    # kept: after a reload the page shows all three, oldest first, in the inbox and the track panel
    pg.reload()
    pg.wait_for_function(
        f"() => document.querySelectorAll(\"#alert-list li[data-alert-id='{aid(5)}'] .note-entry\").length === 3",
        timeout=15000,
    )
    notes = pg.eval_on_selector_all(
        f"#alert-list li[data-alert-id='{aid(5)}'] .note-entry .ack-note",
        "els => els.map(e => e.textContent)",
    )
    assert notes == ["calling the patrol boat", "their boat is closer", "from the other desk"]
    pg.evaluate("(k) => mdaMap.openTrack(k)", vessels[1]["key"])
    panel = pg.get_by_role("region", name="Selected track")
    panel.wait_for()
    entry = panel.locator(f"li[data-alert-id='{aid(5)}']")
    pg.wait_for_function(
        f"() => document.querySelectorAll(\"#track-panel li[data-alert-id='{aid(5)}'] .note-entry\").length === 3"
    )
    assert "handed over to jdf-coastguard" in (entry.text_content() or "")
    assert watch.errors == [] and watch.foreign() == []


def test_hand_over_offers_only_the_routing_agencies(noted_agencies: Noted, page: tuple[Any, Watch]) -> None:
    """When the server names its agencies, the page offers a choice of them, not a free-text id."""
    pg, watch = page
    server, _state, _vessels = noted_agencies
    sign_in_page(pg, server.url + "/")
    pg.wait_for_function("() => document.querySelectorAll('#alert-list > li').length === 4")
    item = item_of(pg, 5)
    item.get_by_role("button", name="Hand over").click()
    choice = item.get_by_label("Agency", exact=True)
    assert choice.evaluate("e => e.tagName") == "SELECT"
    options = choice.evaluate("e => [...e.options].map(o => [o.value, o.textContent])")
    assert options[1:] == [
        ["jdf-cg", "Jamaica Defence Force Coast Guard (jdf-cg)"],
        ["tt-cg", "Trinidad and Tobago Coast Guard (tt-cg)"],
    ]
    item.locator("button.act-submit").click()
    assert "Choose the agency" in (item.locator(".act-error").text_content() or "")
    choice.select_option("tt-cg")
    item.get_by_label("Note", exact=True).fill("nearest cutter")
    item.locator("button.act-submit").click()
    pg.wait_for_function(
        f"() => document.querySelector(\"li[data-alert-id='{aid(5)}']\").textContent.includes('handed over to tt-cg')"
    )
    assert watch.errors == [] and watch.foreign() == []
