"""The desk pages: server-rendered, forms without JavaScript, and a real Chromium run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import Pages
from helpers import free_port, running_server, say_who
from warroom import incidents
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.web.app import create_app

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def client(db_url: str) -> TestClient:
    return TestClient(create_app(load_settings(database_url=db_url)))


def test_list_shows_open_incidents_in_priority_order_and_flags_no_commander(
    client: TestClient, db: Database
) -> None:
    incidents.declare(db, title="search slow", actor="a", severity="P3")
    incidents.declare(db, title="payments down", actor="a", severity="P0")
    page = client.get("/").text
    assert page.index("payments down") < page.index("search slow")
    assert "no commander" in page and "NO COMMANDER on a P0" in page


def test_declare_form_and_stage_button_work_without_javascript(client: TestClient) -> None:
    r = client.post(
        "/incidents/new",
        data={"title": "Cart empty", "severity": "P1", "impact_scope": "all users"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/incidents/INC-1"
    r = client.post("/incidents/INC-1/stage", data={"to": "contained"}, follow_redirects=True)
    assert r.status_code == 200
    assert "Stage detected -&gt; contained" in r.text
    assert 'class="current">\n      Contain' in r.text
    r = client.post("/incidents/INC-1/notes", data={"text": "rolled back"}, follow_redirects=True)
    assert "rolled back" in r.text
    r = client.post("/incidents/INC-1/stage", data={"to": "detected"}, follow_redirects=True)
    assert "stages only go forward" in r.text


def test_declare_form_shows_the_problem_and_keeps_values(client: TestClient) -> None:
    r = client.post("/incidents/new", data={"title": " ", "impact_scope": "EU"})
    assert r.status_code == 422
    assert "title must not be empty" in r.text and ">EU</textarea>" in r.text


def test_titles_are_escaped(client: TestClient) -> None:
    client.post("/incidents/new", data={"title": "<script>alert(1)</script>"})
    page = client.get("/incidents/INC-1").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_unknown_incident_page_is_404(client: TestClient) -> None:
    r = client.get("/incidents/INC-9", headers={"accept": "text/html"})
    assert r.status_code == 404 and "INC-9 does not exist" in r.text


def test_refused_stage_move_shows_its_reason_and_next_step_once(client: TestClient) -> None:
    client.post("/incidents/new", data={"title": "Cart empty", "severity": "P2"})
    client.post("/incidents/INC-1/stage", data={"to": "fixed"})
    client.post("/incidents/INC-1/stage", data={"to": "closed"})
    r = client.post("/incidents/INC-1/stage", data={"to": "fixed"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/incidents/INC-1"
    assert "error" not in r.headers["location"] and "closed" not in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert page.count("INC-1 is closed: reopen it first") == 1
    assert '<a href="/incidents/INC-1#reopen">Reopen INC-1</a>' in page
    assert 'id="reopen"' in page
    again = client.get("/incidents/INC-1").text
    assert "reopen it first" not in again and 'class="alert flash"' not in again


def test_an_error_in_the_url_is_never_shown(client: TestClient) -> None:
    client.post("/incidents/new", data={"title": "Cart empty", "severity": "P2"})
    page = client.get("/incidents/INC-1?error=forged").text
    assert "forged" not in page and 'role="alert"' not in page


def test_reopen_from_the_page_and_every_hint_anchor_exists(client: TestClient) -> None:
    client.post("/incidents/new", data={"title": "Cart empty", "severity": "P2"})
    client.post("/incidents/INC-1/stage", data={"to": "fixed"})
    page = client.get("/incidents/INC-1").text
    for anchor in ("stage", "reopen", "roles", "severity", "tasks"):
        assert f'id="{anchor}"' in page, anchor
    refused = client.post("/incidents/INC-1/reopen", data={"reason": ""}).text
    assert "reason must not be empty" in refused and "--reason" not in refused
    r = client.post("/incidents/INC-1/reopen", data={"reason": "errors are back"})
    assert r.status_code == 200 and "Reopened from fixed: errors are back" in r.text
    assert 'class="current">\n      Detect' in r.text and 'id="reopen"' not in r.text


def test_no_commander_banner_links_to_the_roles_form(client: TestClient, db: Database) -> None:
    incidents.declare(db, title="payments down", actor="a", severity="P0")
    for url in ("/", "/incidents/INC-1"):
        page = client.get(url).text
        assert "NO COMMANDER on a P0: name one now" in page
        assert '<a href="/incidents/INC-1#roles">Name the commander</a>' in page
        assert "warroom role" not in page
    incidents.declare(db, title="search slow", actor="a")
    page = client.get("/incidents/INC-2").text
    assert '<a href="/incidents/INC-2#severity">Set the severity</a>' in page


def test_pages_never_tell_people_to_run_a_command(client: TestClient) -> None:
    missing = client.get("/incidents/INC-9", headers={"accept": "text/html"}).text
    assert '<a class="button" href="/">See the incidents</a>' in missing
    bad = client.post("/incidents/new", data={"title": "x", "severity": "P9"})
    assert bad.status_code == 422 and "unknown severity" in bad.text
    assert '<a href="/incidents/new#severity">Read the severity definitions</a>' in bad.text
    for text in (missing, bad.text, client.get("/").text):
        assert "warroom " not in text.replace("warroom</", "").replace("· warroom", "")
        assert "--" not in text.split("<main>")[1]


@pytest.mark.chromium
def test_chromium_declares_through_the_form_and_moves_to_contained(
    sqlite_url: str, browser: Pages
) -> None:
    app = create_app(load_settings(database_url=sqlite_url))
    ARTIFACTS.mkdir(exist_ok=True)
    with running_server(app) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        say_who(page, url)
        page.goto(f"{url}/")
        page.click("text=Declare incident")
        page.fill("input[name=title]", "Checkout returns 500")
        page.select_option("select[name=severity]", "P1")
        page.fill("textarea[name=impact_scope]", "every shopper")
        page.click("button:has-text('Declare')")
        page.wait_for_url(f"{url}/incidents/INC-1")
        page.click("button:has-text('Move to Contain')")
        page.wait_for_selector("text=Stage detected -> contained")
        content = page.content()
        assert "Checkout returns 500" in content
        assert "Declared (P1): Checkout returns 500" in content
        assert page.locator("ol.stages li.current").inner_text().startswith("Contain")
        page.screenshot(path=str(ARTIFACTS / "incident-contained.png"), full_page=True)
        page.goto(f"{url}/")
        assert "Checkout returns 500" in page.content()


@pytest.mark.slow
def test_served_page_lists_incidents_declared_from_the_cli(tmp_path: Path) -> None:
    """What `make run` does: the server and the CLI share the SQLite default."""
    warroom = shutil.which("warroom", path=str(Path(sys.executable).parent))
    assert warroom, "the warroom console script is installed next to python"
    env = {**os.environ, "WARROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'warroom.db'}"}
    port = free_port()
    server = subprocess.Popen(
        [warroom, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        subprocess.run(
            [warroom, "declare", "Queue backed up 200k jobs", "-s", "P1"],
            env=env,
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert "Queue backed up 200k jobs" in page
    finally:
        server.terminate()
        server.wait(timeout=10)
