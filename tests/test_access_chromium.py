"""Accounts mode in a real Chromium: sign in, post a form under the CSP, cross-site post refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from conftest import Pages
from helpers import running_server
from warroom import incidents
from warroom.access import accounts
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.web.app import create_app

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "correct horse battery"


def evil_site(target: str) -> Starlette:
    """Another origin whose page posts a note to the desk as soon as it loads."""
    page = f"""<!doctype html><form id="f" method="post" action="{target}/incidents/INC-1/notes">
<input name="text" value="forged"></form><script>document.getElementById('f').submit()</script>"""

    async def home(request: Any) -> HTMLResponse:
        return HTMLResponse(page)

    return Starlette(routes=[Route("/", home)])


@pytest.mark.chromium
def test_chromium_signs_in_posts_a_note_and_a_cross_site_post_is_refused(
    sqlite_url: str, clock: Any, browser: Pages
) -> None:
    db = Database(sqlite_url)
    incidents.declare(db, title="<b>Checkout</b> returns 500", actor="seed", severity="P1")
    accounts.add_user(db, "ana", role="responder", password=PASSWORD, actor="root")
    app = create_app(load_settings(database_url=sqlite_url), database=db)
    ARTIFACTS.mkdir(exist_ok=True)
    with running_server(app) as url:
        # localhost vs 127.0.0.1: a different site for the browser.
        evil = evil_site(url)
        with running_server(evil) as evil_url:
            page = browser.new_page(viewport={"width": 360, "height": 800})
            violations: list[str] = []
            page.on(
                "console",
                lambda m: (
                    violations.append(f"{page.url} {m.location}: {m.text[:60]}")
                    if "Content Security Policy" in m.text
                    else None
                ),
            )
            page.goto(f"{url}/incidents/INC-1")
            page.wait_for_url(f"{url}/login?next=%2Fincidents%2FINC-1")
            page.screenshot(path=str(ARTIFACTS / "access-login.png"), full_page=True)
            page.fill("input[name=name]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(f"{url}/incidents/INC-1")
            assert "<b>Checkout</b> returns 500" in page.inner_text("h1")  # escaped, shown as text
            assert "ana (responder)" in page.inner_text("header")
            page.fill("form.note textarea[name=text]", "restarted the pods")
            page.click("form.note button[type=submit]")
            page.wait_for_selector("text=restarted the pods")
            page.screenshot(path=str(ARTIFACTS / "access-note.png"), full_page=True)

            # The desk offers the next step; a responder's "Move to Verify" is refused with
            # the role it needs and whom to ask, and nothing moves.
            incidents.move(db, "INC-1", to="fixed", actor="seed", reason="rolled back")
            page.goto(f"{url}/incidents/INC-1")
            page.fill("input[name=reason]", "graphs look flat")
            page.click("button:has-text('Move to Verify')")
            page.wait_for_selector("text=needs the commander role")
            assert "Ask an admin to change your role" in page.content()
            page.screenshot(path=str(ARTIFACTS / "access-refused.png"), full_page=True)
            assert incidents.get(db, "INC-1").stage.value == "fixed"

            forged = page.goto(evil_url.replace("127.0.0.1", "localhost") + "/")
            page.wait_for_load_state("networkidle")
            assert forged is not None
            assert page.url == f"{url}/incidents/INC-1/notes"  # the form reached the desk...
            assert "cross-site request refused" in page.content()  # ...and was refused
    notes = [
        (e.actor, e.data.get("text")) for e in timeline.read(db, "INC-1") if e.kind == "note.added"
    ]
    assert notes == [("ana", "restarted the pods")]
    assert violations == []
    db.dispose()
