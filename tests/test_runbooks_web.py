"""Walking a runbook on the web: the suggested runbook on the incident, steps as forms."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import Pages
from warroom import incidents
from warroom.contain import runbooks
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.web.app import create_app


@pytest.fixture
def client_db(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "warroom.toml"
    config.write_text("[contain]\n")
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    database = Database(db_url)
    settings = load_settings(database_url=db_url, config_path=config)
    with TestClient(create_app(settings, database=database)) as client:
        yield client, database
    database.dispose()


def test_incident_page_suggests_runbook_and_walks_it(client_db):
    client, database = client_db
    key = incidents.declare(database, title="Queue backlog on the order workers", actor="ana").key
    page = client.get(f"/incidents/{key}").text
    assert "Queue backlog" in page and "suggested" in page
    res = client.post(
        f"/incidents/{key}/runbooks", data={"name": "queue-backlog"}, follow_redirects=False
    )
    assert res.status_code == 303 and res.headers["location"].endswith("/runbooks/R1")
    walk = client.get(res.headers["location"])
    assert walk.status_code == 200 and "0 of 9 steps" in walk.text
    # A lever step without a declared lever says so and can still be done by hand.
    assert "cannot run automatically" in walk.text
    base = f"/incidents/{key}/runbooks/R1/steps"
    client.post(
        f"{base}/1", data={"action": "done", "note": "depth 40k"}, headers={"X-Warroom-User": "cy"}
    )
    client.post(f"{base}/2", data={"action": "skipped", "note": "no poison"})
    res = client.post(f"{base}/3", data={"action": "execute"}, follow_redirects=False)
    assert res.headers["location"] == f"/incidents/{key}/runbooks/R1"
    assert "tick the confirmation box" in client.get(res.headers["location"]).text  # the flash
    res = client.post(f"{base}/1", data={"action": "done"}, follow_redirects=False)
    assert "already" in client.get(res.headers["location"]).text
    walk = client.get(f"/incidents/{key}/runbooks/R1").text
    assert "2 of 9 steps" in walk and "depth 40k" in walk and "cy" in walk
    steps = timeline.read(database, key, kinds=["runbook.step"])
    assert [(e.data["step"], e.data["outcome"]) for e in steps] == [(1, "done"), (2, "skipped")]
    assert steps[0].actor == "cy"
    assert runbooks.get_run(database, key, "R1").next_step == 3
    page = client.get(f"/incidents/{key}").text
    assert "R1 queue-backlog" in page and "2/9 steps" in page


def test_runbook_api(client_db):
    client, database = client_db
    key = incidents.declare(database, title="Payment callback failures", actor="ana").key
    names = [r["name"] for r in client.get("/api/v1/runbooks").json()]
    assert "security-incident" in names
    got = client.get(f"/api/v1/incidents/{key}/runbooks").json()
    assert got["suggested"][0]["name"] == "payment-callback-failures"
    run = client.post(f"/api/v1/incidents/{key}/runbooks/payment-callback-failures/runs")
    assert run.status_code == 201 and run.json()["id"] == "R1"
    res = client.post(f"/api/v1/incidents/{key}/runbook-runs/R1/steps/1", json={"outcome": "done"})
    assert res.json()["steps"][0]["status"] == "done"
    res = client.post(f"/api/v1/incidents/{key}/runbook-runs/R1/steps/2", json={"outcome": "maybe"})
    assert res.status_code == 422


@pytest.mark.chromium
def test_chromium_walks_a_runbook_and_pulls_a_lever_at_360px(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser: Pages
):
    import json

    from helpers import running_server, say_who

    (tmp_path / "flags.json").write_text(
        json.dumps(
            {
                "flags": {
                    "workers-bulk": {
                        "state": "ENABLED",
                        "variants": {"on": True, "off": False},
                        "defaultVariant": "on",
                    }
                }
            }
        )
    )
    config = tmp_path / "warroom.toml"
    config.write_text(
        '[contain]\nflag_file = "flags.json"\n\n[levers.pause-queue]\n'
        'kind = "flag"\ndescription = "Stop bulk jobs"\nflag = "workers-bulk"\n'
        'variant = "off"\n'
    )
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    database = Database(sqlite_url)
    key = incidents.declare(
        database, title="Queue backlog: orders wait 20 minutes", actor="ana", severity="P2"
    ).key
    app = create_app(load_settings(database_url=sqlite_url, config_path=config), database=database)
    artifacts_dir = Path(__file__).resolve().parent.parent / "test-artifacts"
    artifacts_dir.mkdir(exist_ok=True)
    try:
        with running_server(app) as url:
            page = browser.new_page(viewport={"width": 360, "height": 800})
            say_who(page, url)
            page.goto(f"{url}/incidents/{key}")
            page.locator("#contain button:has-text('Start')").first.click()
            page.wait_for_url(f"{url}/incidents/{key}/runbooks/R1")
            page.locator("#step-1 button:has-text('Done')").click()
            page.wait_for_selector("#step-1 .badge:has-text('done')")
            # Step 3 pulls the pause-queue lever: confirm, run.
            page.locator("#step-3 input[name=confirm]").check()
            page.locator("#step-3 button:has-text('Run')").click()
            page.wait_for_selector("#step-3 .badge:has-text('done')")
            width = page.evaluate("document.documentElement.scrollWidth")
            page.screenshot(path=str(artifacts_dir / "contain-runbook-360.png"), full_page=True)
            assert width <= 360, f"the runbook page is {width}px wide at 360px"
            page.goto(f"{url}/incidents/{key}")
            assert "M1" in page.content() and "R1 queue-backlog" in page.content()
            page.screenshot(path=str(artifacts_dir / "contain-panel-360.png"), full_page=True)
    finally:
        database.dispose()
    assert (
        json.loads((tmp_path / "flags.json").read_text())["flags"]["workers-bulk"]["defaultVariant"]
        == "off"
    )
