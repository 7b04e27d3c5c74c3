"""On call from the CLI, the desk and the API: who is on call, import, overrides, people,
acknowledging, the link's page, the calendar feeds, the gap warning on the desk."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import icalendar
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from oncall_helpers import document, set_up
from warroom import incidents
from warroom.cli.main import app as cli
from warroom.comms import catalog
from warroom.core.db import Database
from warroom.detect.alerts.routing import Routing
from warroom.oncall import links, paging
from warroom.oncall.config import OncallConfig

L1, L2 = "json://127.0.0.1:9/ana", "json://127.0.0.1:9/bob"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_cli_imports_says_who_and_takes_overrides(db: Database, tmp_path: Path, clock: Any) -> None:
    catalog.add_service(db, name="checkout")
    path = tmp_path / "oncall.yaml"
    path.write_text(document(L1, L2), encoding="utf-8")
    r = run("oncall", "import", str(path), "--db", db.url, "--as", "lead")
    assert r.exit_code == 0, r.output
    assert "2 schedules" in r.output
    r = run("oncall", "who", "--db", db.url)
    assert r.exit_code == 0 and "ana" in r.output and "bob" in r.output
    r = run(
        "oncall",
        "override",
        "add",
        "l1",
        "carl",
        "--start",
        "2026-11-24T13:00",
        "--end",
        "2026-11-24T20:00",
        "--reason",
        "I cover",
        "--db",
        db.url,
        "--as",
        "carl",
    )
    assert r.exit_code == 0, r.output
    r = run(
        "oncall", "who", "--at", "2026-11-24T14:00Z", "--schedule", "l1", "--json", "--db", db.url
    )
    assert r.exit_code == 0 and '"person": "carl"' in r.output
    r = run("oncall", "who", "--schedule", "nope", "--db", db.url)
    assert r.exit_code == 1 and "no on-call schedule named nope" in r.output
    assert "warroom oncall who" in r.output  # the hint as a command
    r = run("oncall", "person", "add", "dana", "--timezone", "Mars/Olympus", "--db", db.url)
    assert r.exit_code == 2 and "not a time zone" in r.output
    r = run("oncall", "person", "list", "--db", db.url)
    assert "json://127.0.0.1:9/..." in r.output and ":9/ana" not in r.output  # path hidden
    r = run("oncall", "calendar", "--schedule", "l1", "--db", db.url)
    assert "/oncall/calendar/schedule/l1.ics?key=" in r.output


def test_cli_acknowledges_and_shows_the_pagers(db: Database, clock: Any) -> None:
    set_up(db, L1, L2)
    inc = incidents.declare(db, title="Checkout down", actor="ana", severity="P1")
    catalog.affect(db, inc.key, names=["checkout"], actor="ana")
    paging.run_once(db, config=OncallConfig(), routing=Routing())
    r = run("oncall", "pages", inc.key, "--db", db.url)
    assert "payments (checkout, high): active" in r.output
    r = run("oncall", "ack", inc.key, "--db", db.url, "--as", "ana")
    assert r.exit_code == 0 and f"{inc.key} acknowledged by ana" in r.output
    r = run("oncall", "ack", inc.key, "--db", db.url, "--as", "ana")
    assert r.exit_code == 2 and "already acknowledged by ana" in r.output


def test_the_desk_shows_who_is_on_call_and_warns_of_gaps(
    web_client: TestClient, db: Database, clock: Any
) -> None:
    set_up(db, L1, L2)
    page = web_client.get("/oncall")
    assert page.status_code == 200 and "<strong>ana</strong>" in page.text
    assert "/oncall/calendar/schedule/l1.ics?key=" in page.text
    assert web_client.get("/").text.count('role="alert"') == 0
    # carl covers l1 from the schedule page's form; then ana's rotation is taken back: a gap
    r = web_client.post(
        "/oncall/schedules/l1/overrides",
        data={"person": "carl", "start": "2026-11-24T13:00", "end": "2026-11-24T14:00"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "carl" in web_client.get("/oncall/schedules/l1").text
    r = web_client.post(
        "/oncall/document",
        data={
            "text": "schedules:\n  - name: l3\n    timezone: UTC\n    layers:\n"
            "      - {rotation: daily, handoff: '2027-01-01T09:00', members: [carl]}\n"
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    desk = web_client.get("/").text
    assert "nobody is on call for schedule l3 now" in desk and 'href="/oncall"' in desk
    who = web_client.get("/api/v1/oncall/who").json()
    assert [w["warning"] is not None for w in who] == [False, False, True]


def test_the_api_acknowledges_and_the_link_page_refuses_a_forged_link(
    web_client: TestClient, db: Database, clock: Any
) -> None:
    set_up(db, L1, L2)
    inc = incidents.declare(db, title="Checkout down", actor="ana", severity="P0")
    catalog.affect(db, inc.key, names=["checkout"], actor="ana")
    paging.run_once(db, config=OncallConfig(), routing=Routing())
    assert web_client.get(f"/api/v1/incidents/{inc.key}/pagers").json()[0]["status"] == "active"
    assert "Acknowledge the page" in web_client.get(f"/incidents/{inc.key}").text
    forged = web_client.get(f"/ack/{inc.key}/1.nonce.signature")
    assert forged.status_code == 403 and "not valid" in forged.text
    r = web_client.post(
        f"/api/v1/incidents/{inc.key}/acknowledge", headers={"X-Warroom-User": "bob"}
    )
    assert r.status_code == 200 and r.json()["person"] == "bob"
    again = web_client.post(f"/api/v1/incidents/{inc.key}/acknowledge")
    assert again.status_code == 409 and again.json()["hint"]["action"] == "show_incident"


def test_calendar_feeds_are_signed_and_parse_as_icalendar(
    web_client: TestClient, db: Database, clock: Any
) -> None:
    set_up(db, L1, L2)
    url = links.feed_url(db, "http://testserver", "schedule", "l1")
    feed = web_client.get(url.removeprefix("http://testserver"))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert events and all("ana" in str(e["SUMMARY"]) for e in events)
    bad = web_client.get(re.sub(r"key=.*", "key=forged", url.removeprefix("http://testserver")))
    assert bad.status_code == 403
    person = links.feed_url(db, "http://testserver", "person", "bob")
    bob = icalendar.Calendar.from_ical(
        web_client.get(person.removeprefix("http://testserver")).content
    )
    assert {str(e["SUMMARY"]) for e in bob.walk("VEVENT")} == {"On call: bob (l2)"}
