"""The public status page: components, current incidents, history, maintenance; HTML, JSON
and Atom; nothing internal ever appears; and a real Chromium posting a public update."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import Pages
from helpers import running_server, say_who
from warroom import incidents
from warroom.comms import catalog, statuspage, updates
from warroom.comms.updates import CommsConfig
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.web.app import create_app

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CFG = CommsConfig()
SECRETS = [
    "SECRET-TITLE-db-password-hunter2",
    "SECRET-DESC-bob-dropped-the-table",
    "SECRET-IMPACT-lost-4M-EUR",
    "SECRET-INTERNAL-root-cause-cve-2026-1234",
    "SECRET-STAKEHOLDER-customer-acme-churning",
    "SECRET-NEEDS-approve-overtime",
    "secret-internal-db",
]


def setup_incident(db: Database) -> str:
    catalog.add_service(db, name="secret-internal-db", tier=1)
    catalog.add_service(
        db, name="checkout", display_name="Checkout", public=True, depends_on=["secret-internal-db"]
    )
    catalog.add_service(db, name="search", display_name="Search", public=True)
    key = incidents.declare(
        db,
        title=SECRETS[0],
        description=SECRETS[1],
        business_impact=SECRETS[2],
        actor="ana",
        severity="P1",
        commander="ana",
    ).key
    catalog.affect(db, key, names=["secret-internal-db"], actor="ana")
    updates.post_update(
        db,
        key,
        audience="internal",
        actor="ana",
        conditions=SECRETS[3],
        needs=SECRETS[5],
        config=CFG,
    )
    updates.post_update(
        db, key, audience="stakeholder", actor="ana", conditions=SECRETS[4], config=CFG
    )
    updates.post_update(
        db,
        key,
        audience="public",
        kind="initial",
        actor="ana",
        headline="Checkout errors",
        conditions="Some payments fail",
        actions="We are restoring the service",
        config=CFG,
    )
    return key


def test_internal_and_stakeholder_text_never_reaches_html_json_or_atom(db_url: str) -> None:
    db = Database(db_url)
    setup_incident(db)
    db.dispose()
    client = TestClient(create_app(load_settings(database_url=db_url)))
    bodies = {
        "html": client.get("/status").text,
        "json": client.get("/status.json").text,
        "atom": client.get("/status/feed.atom").text,
    }
    for fmt, body in bodies.items():
        assert "Some payments fail" in body, fmt
        for secret in SECRETS:
            assert secret not in body, f"{secret} leaked into the {fmt} status page"
    assert "<script" not in bodies["html"]


def test_components_take_the_state_of_public_updates(db: Database, clock) -> None:
    key = setup_incident(db)
    page = statuspage.build(db)
    states = {c.name: c.state.value for c in page.components}
    # Checkout depends on the affected internal db; P1 without a stated state: partial outage.
    assert states == {"checkout": "partial_outage", "search": "operational"}
    assert page.overall_text == "Partial outage"
    [current] = page.current
    assert current.headline == "Checkout errors" and current.status == "Investigating"
    assert current.components == ["Checkout"] and len(current.updates) == 1
    clock.advance(minutes=20)
    updates.post_update(
        db,
        key,
        audience="public",
        actor="ana",
        conditions="Recovering",
        component_state="degraded_performance",
        config=CFG,
    )
    page = statuspage.build(db)
    assert {c.name: c.state.value for c in page.components}["checkout"] == ("degraded_performance")
    assert [u.text.splitlines()[0] for u in page.current[0].updates] == [
        "Update on Checkout errors.",
        "We are investigating: Checkout errors.",
    ]
    updates.post_update(
        db,
        key,
        audience="public",
        kind="resolution",
        actor="ana",
        conditions="Payments work again",
        config=CFG,
    )
    page = statuspage.build(db)
    assert page.current == [] and page.overall_text == "All systems operational"
    assert [h.headline for h in page.history] == ["Checkout errors"]
    # History keeps 90 days.
    clock.advance(days=89)
    assert len(statuspage.build(db).history) == 1
    clock.advance(days=2)
    assert statuspage.build(db).history == []


def test_scheduled_maintenance_shows_and_sets_component_state(db: Database, clock) -> None:
    catalog.add_service(db, name="search", display_name="Search", public=True)
    statuspage.add_maintenance(
        db,
        title="Search index rebuild",
        description="Search may be slow",
        starts_at=clock.now + timedelta(hours=1),
        ends_at=clock.now + timedelta(hours=2),
        services=["search"],
        actor="ana",
    )
    page = statuspage.build(db)
    assert [m.title for m in page.maintenance] == ["Search index rebuild"]
    assert page.components[0].state.value == "operational"
    clock.advance(minutes=61)
    page = statuspage.build(db)
    assert page.maintenance[0].in_progress
    assert page.components[0].state.value == "under_maintenance"
    clock.advance(hours=1)
    assert statuspage.build(db).maintenance == []


def test_json_and_atom_are_well_formed(db_url: str) -> None:
    db = Database(db_url)
    setup_incident(db)
    db.dispose()
    client = TestClient(create_app(load_settings(database_url=db_url)))
    data = client.get("/status.json").json()
    assert data["overall"]["state"] == "partial_outage"
    assert data["incidents"][0]["updates"][0]["label"] == "Initial assessment"
    r = client.get("/status/feed.atom")
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.text)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert titles == ["Initial assessment: Checkout errors"]
    json.dumps(data)  # serialisable as served


@pytest.mark.chromium
def test_chromium_posts_a_public_update_and_sees_it_on_status(
    sqlite_url: str, browser: Pages
) -> None:
    db = Database(sqlite_url)
    catalog.add_service(db, name="checkout", display_name="Checkout", public=True)
    key = incidents.declare(
        db, title="Internal: PSP cert expired", actor="ana", severity="P1", commander="ana"
    ).key
    catalog.affect(db, key, names=["checkout"], actor="ana")
    updates.post_update(
        db,
        key,
        audience="internal",
        actor="ana",
        conditions="SECRET-INTERNAL cert on psp-gw-3",
        config=CFG,
    )
    db.dispose()
    app = create_app(load_settings(database_url=sqlite_url))
    ARTIFACTS.mkdir(exist_ok=True)
    with running_server(app) as url:
        page = browser.new_page(viewport={"width": 360, "height": 780})
        say_who(page, url)
        page.goto(f"{url}/incidents/{key}")
        assert "Next update due in" in page.locator("#comms .countdown").inner_text()
        page.click("#comms summary")
        page.select_option("#composer select[name=audience]", "public")
        page.fill("#composer input[name=headline]", "Card payments failing")
        page.fill("#composer textarea[name=conditions]", "Some card payments are declined")
        page.fill("#composer textarea[name=actions]", "We are renewing a certificate")
        page.select_option("#composer select[name=component_state]", "partial_outage")
        page.click("#composer button[type=submit]")
        page.wait_for_selector("text=Initial assessment")
        page.locator("#comms").screenshot(path=str(ARTIFACTS / "incident-comms-panel.png"))
        page.goto(f"{url}/status")
        body = page.content()
        assert "Card payments failing" in body
        assert "Some card payments are declined" in body
        assert "SECRET-INTERNAL" not in body and "PSP cert expired" not in body
        assert page.locator(".components li").inner_text().startswith("Checkout")
        assert "Partial outage" in page.locator(".components").inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360  # no sideways scrolling on a phone
        page.screenshot(path=str(ARTIFACTS / "status-page.png"), full_page=True)
