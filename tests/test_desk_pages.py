"""The desk's pages: who acts (a name asked once), links that lead somewhere, pages in words,
the status page's truth, services, drills, triage and verify from the web, closed incidents."""

from __future__ import annotations

import getpass
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from test_desk_chromium import CONFIG, ONSET, T0, write_log
from warroom import incidents
from warroom.access import accounts
from warroom.comms import catalog, statuspage, updates
from warroom.contain import drills
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.core.errors import ACTIONS, Hint
from warroom.incidents import artifacts, timeline
from warroom.learn import postmortems, reports
from warroom.triage.chart import chart_title
from warroom.web import errors
from warroom.web.app import create_app

BROWSER = {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document", "accept": "text/html"}


@pytest.fixture
def desk(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The desk over `db` with a lever declared, drills written under tmp_path."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "warroom.toml").write_text(CONFIG + '\n[drills]\ndir = "drills"\n')
    (tmp_path / "flags.json").write_text('{"flags": {}}')
    settings = load_settings(database_url=db.url, config_path=tmp_path / "warroom.toml")
    return TestClient(create_app(settings, database=db), headers={"X-Warroom-User": "ana"})


def actors(db: Database, key: str = "INC-1") -> list[str]:
    return [e.actor for e in timeline.read(db, key)]


# --- who acts ------------------------------------------------------------------------------


def test_a_browser_is_asked_its_name_once_and_every_change_carries_it(
    db: Database, desk: TestClient
) -> None:
    c = TestClient(desk.app, follow_redirects=False)  # no X-Warroom-User: a person's browser
    asked = c.get("/incidents/new", headers=BROWSER)
    assert asked.status_code == 303 and asked.headers["location"] == "/who?next=%2Fincidents%2Fnew"
    page = c.get("/who?next=%2Fincidents%2Fnew", headers=BROWSER)
    assert page.status_code == 200 and "Who are you?" in page.text
    assert c.post("/who", data={"name": "  ", "next": "/"}).status_code == 303
    assert c.get("/who").text.count("name must not be empty") == 1  # said once, as a flash
    told = c.post("/who", data={"name": "Ana Ruiz", "next": "/incidents/new"})
    assert told.status_code == 303 and told.headers["location"] == "/incidents/new"
    assert c.get("/incidents/new", headers=BROWSER).status_code == 200  # not asked again
    c.post("/incidents/new", data={"title": "Cart empty", "severity": "P2"})
    c.post("/incidents/INC-1/notes", data={"text": "looking"})
    assert actors(db) == ["Ana Ruiz", "Ana Ruiz"]
    assert "Ana Ruiz" in c.get("/incidents/INC-1").text


def test_without_a_name_the_actor_is_anonymous_never_the_servers_user(
    db: Database, desk: TestClient
) -> None:
    c = TestClient(desk.app)
    c.post("/api/v1/incidents", json={"title": "db slow"})
    # a browser post without a name goes to the name page, and nothing is recorded
    refused = c.post(
        "/incidents/INC-1/notes",
        data={"text": "x"},
        headers={"sec-fetch-mode": "navigate", "referer": "http://testserver/incidents/INC-1"},
        follow_redirects=False,
    )
    assert refused.headers["location"] == "/who?next=%2Fincidents%2FINC-1"
    assert actors(db) == ["anonymous"]
    assert getpass.getuser() not in actors(db)
    assert c.get("/api/v1/whoami", headers={"X-Warroom-User": "bo"}).json()["name"] == "bo"


def test_with_accounts_the_name_page_shows_the_account_and_takes_no_name(
    db: Database, desk: TestClient
) -> None:
    accounts.add_user(db, "ana", role="admin", password="correct horse battery", actor="root")
    c = TestClient(desk.app, follow_redirects=False)
    c.post("/login", data={"name": "ana", "password": "correct horse battery", "next": "/"})
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', c.get("/who").text)
    assert token and "signed in as <strong>ana</strong>" in c.get("/who").text
    c.post("/who", data={"name": "mallory", "csrf_token": token.group(1)})
    assert "the desk records your account" in c.get("/who").text
    assert "warroom_name" not in c.cookies


# --- links and words ---------------------------------------------------------------------


def seed(db: Database) -> None:
    """A fixed (still open, reopenable) incident and a public service."""
    key = incidents.declare(db, title="Checkout 500", actor="ana", severity="P1").key
    catalog.add_service(db, name="checkout", public=True)
    incidents.move(db, key, to="fixed", actor="ana")


def test_every_hint_link_leads_to_a_page_and_its_anchor(db: Database, desk: TestClient) -> None:
    seed(db)
    pages: dict[str, str] = {}
    for action in sorted(ACTIONS):
        for hint in (Hint(action, "do it", incident="INC-1"), Hint(action, "do it")):
            href = errors.link(hint)["href"]
            if not href:
                continue  # "retry": no link, the words say it
            path, _, anchor = href.partition("#")
            if path not in pages:
                page = desk.get(path)
                assert page.status_code == 200, f"{action}: {href}"
                pages[path] = page.text
            if anchor:
                assert f'id="{anchor}"' in pages[path], f"{action}: {href}"


def test_desk_pages_speak_in_words_not_commands(db: Database, desk: TestClient) -> None:
    seed(db)
    incidents.add_note(db, "INC-1", text="looked", actor="ana")
    for path in (
        "/",
        "/incidents/INC-1",
        "/incidents/new",
        "/services",
        "/drills",
        "/levers",
        "/actions",
        "/reports",
        "/access",
        "/who",
        "/audit",
        "/incidents/INC-1/audit",
        "/incidents/INC-1/triage",
        "/incidents/INC-1/postmortem",
        "/incidents/INC-9",
    ):
        text = desk.get(path, headers={"accept": "text/html"}).text.split("<main", 1)[1]
        assert not re.search(r"\bwarroom [a-z]+ (INC|--|[A-Z])|--[a-z]{3,}", text), path


def test_timeline_shows_kinds_in_words(db: Database, desk: TestClient) -> None:
    seed(db)
    desk.post("/incidents/INC-1/rootcause", data={"category": "bad_deploy", "summary": "v42"})
    desk.post("/incidents/INC-1/services", data={"service": "checkout"})
    page = desk.get("/incidents/INC-1").text
    timeline_html = page.split('id="timeline"', 1)[1].split("</section>", 1)[0]
    assert "rootcause.recorded" not in timeline_html
    assert "services.affected" not in timeline_html
    assert "Affected services: checkout" in timeline_html


def test_a_closed_incident_offers_reopen_postmortem_and_actions_only(
    db: Database, desk: TestClient
) -> None:
    key = incidents.declare(db, title="Cache cold", actor="ana", severity="P3").key
    incidents.move(db, key, to="fixed", actor="ana")
    incidents.move(db, key, to="closed", actor="ana")
    page = desk.get(f"/incidents/{key}").text
    for offered in ('id="reopen"', f"/incidents/{key}/postmortem", 'id="learn"', "Add action"):
        assert offered in page, offered
    for gone in ("Move to", "Start runbook", 'class="note"', "Post update", "Take command"):
        assert gone not in page, gone
    declare = desk.get("/incidents/new").text
    assert "P0 · Critical</option>" in declare and "…</option>" not in declare


# --- status page ---------------------------------------------------------------------------


def test_an_open_public_incident_shows_its_state_without_any_service(
    db: Database, desk: TestClient, clock: Any
) -> None:
    key = incidents.declare(db, title="internal words", actor="ana", severity="P1").key
    assert desk.get("/status.json").json()["components"][0]["name"] == statuspage.SITE
    updates.post_update(
        db, key, audience="public", actor="ana", conditions="Payments fail", headline="Payments"
    )
    data = desk.get("/status.json").json()
    assert data["overall"]["state"] == "partial_outage"  # a P1 without a stated state
    assert [(c["name"], c["state"]) for c in data["components"]] == [("site", "partial_outage")]
    desk.post(
        f"/incidents/{key}/updates",
        data={"audience": "public", "conditions": "Most fail", "component_state": "major_outage"},
    )
    assert desk.get("/status.json").json()["overall"]["state"] == "major_outage"
    assert "Major outage" in desk.get("/status").text
    # A public service the incident does not reach stays green; the site carries the state.
    catalog.add_service(db, name="search", public=True)
    comps = {c.name: c.state.value for c in statuspage.build(db).components}
    assert comps == {"site": "major_outage", "search": "operational"}


# --- services, drills ----------------------------------------------------------------------


def test_services_are_created_made_public_and_marked_affected_from_the_desk(
    db: Database, desk: TestClient
) -> None:
    key = incidents.declare(db, title="Checkout 500", actor="ana", severity="P1").key
    made = desk.post(
        "/services",
        data={"name": "checkout", "display_name": "Checkout", "tier": "1", "owner": "payments"},
        follow_redirects=False,
    )
    assert made.headers["location"] == "/services#service-checkout"
    assert not catalog.list_services(db)[0].public
    desk.post("/services/checkout/public", data={"public": "yes"})
    assert catalog.list_services(db)[0].public
    again = desk.post("/services", data={"name": "checkout"})
    assert "already exists" in again.text and 'href="/services#add"' in again.text
    desk.post(f"/incidents/{key}/services", data={"service": "checkout"})
    assert [s.name for s in catalog.affected(db, key)] == ["checkout"]
    assert "Checkout" in desk.get("/status").text


@pytest.mark.slow
def test_a_drill_is_started_timed_and_scored_from_the_desk(
    db: Database, desk: TestClient, tmp_path: Path
) -> None:
    started = desk.post(
        "/drills", data={"scenario": "deploy_5xx", "commander": "ana"}, follow_redirects=False
    )
    assert started.headers["location"] == "/incidents/INC-1"
    assert list((tmp_path / "drills").iterdir())  # its logs, on the server
    page = desk.get("/incidents/INC-1").text
    assert 'id="drill"' in page and "running for" in page and "End the drill" in page
    desk.post("/incidents/INC-1/stage", data={"to": "contained"})
    desk.post("/incidents/INC-1/drill/end")
    ended = desk.get("/incidents/INC-1").text
    assert "Scorecard" in ended and "Contain +" in ended
    assert "ended" in desk.get("/drills").text


def test_a_drill_writes_its_traffic_after_the_fix_and_the_desk_verifies_it(
    db: Database, desk: TestClient
) -> None:
    desk.post("/drills", data={"scenario": "deploy_5xx", "commander": "ana"})
    early = desk.post("/incidents/INC-1/drill/after-fix")
    assert "has no fix yet" in early.text  # nothing pulled, contained or fixed: refused, said
    assert "Write the traffic after the fix" in early.text
    desk.post("/incidents/INC-1/stage", data={"to": "fixed"})
    desk.post("/incidents/INC-1/drill/after-fix")
    d = drills.get(db, "INC-1")
    assert Path(d.files["after_fix_log"]).is_file()
    page = desk.get("/incidents/INC-1").text
    paths = f"{d.files['access_log']}\n{d.files['after_fix_log']}"
    assert f">{paths}</textarea>" in page  # the verify form names both logs
    desk.post("/incidents/INC-1/verify/path", data={"path": paths})
    [verdict] = timeline.read(db, "INC-1", kinds=["verification.recorded"])
    assert verdict.data["verdict"] == "recovered", verdict.data
    assert verdict.actor == "ana"


# --- triage and verify from the web --------------------------------------------------------


@pytest.mark.slow
def test_triage_upload_attaches_the_report_and_offers_its_severity(
    db: Database, desk: TestClient, tmp_path: Path, clock: Any
) -> None:
    clock.set(ONSET)
    key = incidents.declare(db, title="Checkout 500", actor="ana", severity="P3").key
    log = write_log(tmp_path / "access.log")
    with log.open("rb") as f:
        done = desk.post(
            f"/incidents/{key}/triage",
            files={"access_log": ("access.log", f)},
            follow_redirects=False,
        )
    assert done.headers["location"] == f"/incidents/{key}/triage"
    report = artifacts.latest_triage_report(db, key)
    assert report and report["onset"]
    page = desk.get(f"/incidents/{key}/triage").text
    assert "data:image/svg+xml" in page and "Routes hit" in page
    suggested = report["severity"]["severity"]
    assert f"Triage suggests {suggested}, not P3" in page
    desk.post(
        f"/incidents/{key}/severity", data={"severity": suggested, "reason": "triage suggests"}
    )
    assert incidents.get(db, key).severity.value == suggested
    assert "Triage suggests" in desk.get(f"/incidents/{key}").text


def test_verify_from_an_upload_or_a_readable_path_only(
    db: Database, desk: TestClient, tmp_path: Path, clock: Any
) -> None:
    clock.set(ONSET)
    key = incidents.declare(db, title="Checkout 500", actor="ana", started_at=ONSET).key
    clock.set(ONSET + timedelta(minutes=20))
    incidents.move(db, key, to="fixed", actor="ana")
    clock.set(T0 + timedelta(hours=2, minutes=5))
    log = write_log(tmp_path / "access.log")
    with log.open("rb") as f:
        desk.post(f"/incidents/{key}/verify", files={"log": ("fresh.log", f)}, data={"soak": "10m"})
    [verdict] = timeline.read(db, key, kinds=["verification.recorded"])
    assert verdict.data["verdict"] == "recovered" and verdict.data["numbers"]["files"] == [
        "fresh.log"
    ]
    outside = desk.post(f"/incidents/{key}/verify/path", data={"path": "/etc/passwd"})
    assert "outside the directories the desk may read" in outside.text
    desk.post(f"/incidents/{key}/verify/path", data={"path": "access.log"})
    assert len(timeline.read(db, key, kinds=["verification.recorded"])) == 2


# --- numbers -------------------------------------------------------------------------------


def test_impact_start_and_mttd_come_from_the_triage_onset(db: Database, clock: Any) -> None:
    clock.set(ONSET + timedelta(minutes=8))
    key = incidents.declare(db, title="Checkout 500", actor="ana", severity="P2").key
    report = {
        "onset": ONSET.isoformat(),
        "routes": [
            {"route": "/checkout", "affected": True, "error_rate_during": 0.38},
            {"route": "/search", "affected": False, "error_rate_during": 0.01},
        ],
    }
    artifacts.attach_triage_report(db, key, report, actor="ana")
    incidents.move(db, key, to="fixed", actor="ana")
    incidents.move(db, key, to="closed", actor="ana")
    pm = postmortems.draft(db, key, actor="ana")
    assert "MTTD, start to detection): 8m" in pm.sections["impact"]
    assert "/checkout" in pm.sections["impact"] and "/search" not in pm.sections["impact"]
    assert f"Impact began {ONSET:%Y-%m-%d %H:%M} UTC" in pm.sections["summary"]
    rep = reports.build(db, since=ONSET - timedelta(days=1), until=ONSET + timedelta(days=1))
    assert rep.durations["mttd"]["all"]["median"] == 480.0


def test_chart_title_says_what_its_axis_plots() -> None:
    title = chart_title([0.001, 0.061, None, 0.02], ONSET)
    assert title == "All requests: 5xx peaks at 6.1%, with p95 latency; onset 11:00 UTC"
