"""The desk overview nags on every list: overdue status updates and postmortems."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import Clock
from warroom import incidents
from warroom.cli.main import app
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.core.errors import Hint
from warroom.incidents import desk
from warroom.web.app import create_app


def test_overdue_update_and_overdue_postmortem_are_flagged(
    db: Database, db_url: str, clock: Clock
) -> None:
    resolved = incidents.declare(
        db, title="payments down", actor="a", severity="P1", commander="ana"
    )
    incidents.move(db, resolved.key, to="fixed", actor="ana")
    live = incidents.declare(db, title="checkout 500", actor="a", severity="P0", commander="bo")
    clock.advance(minutes=20)  # P0 cadence is 15 min: the first update is overdue

    by_key = {e.incident.key: e for e in desk.page(db).entries}
    assert by_key[live.key].columns["heartbeat"] is not None
    assert by_key[live.key].columns["heartbeat"].state.value == "overdue"
    assert any("status update" in w for w in by_key[live.key].warnings)
    assert by_key[resolved.key].columns["postmortem"]["status"] == "missing"
    assert not by_key[resolved.key].columns["postmortem"]["overdue"]

    clock.advance(hours=49)
    entry = {e.incident.key: e for e in desk.page(db).entries}[resolved.key]
    assert entry.columns["postmortem"]["overdue"]
    assert any("postmortem overdue" in w for w in entry.warnings)

    out = CliRunner().invoke(app, ["list", "--db", db_url, "--json"])
    assert out.exit_code == 0, out.output
    listed = {i["key"]: i for i in json.loads(out.stdout)}
    assert listed[resolved.key]["postmortem"]["overdue"] is True
    assert listed[live.key]["heartbeat"]["state"] == "escalated"

    page = TestClient(create_app(load_settings(database_url=db_url))).get("/").text
    assert "postmortem overdue since" in page
    assert "OVERDUE" in page


def test_incident_page_top_band_counts_down_to_the_next_update(
    db: Database, db_url: str, clock: Clock
) -> None:
    inc = incidents.declare(db, title="checkout 500", actor="a", severity="P0", commander="bo")
    client = TestClient(create_app(load_settings(database_url=db_url)))
    band = client.get(f"/incidents/{inc.key}").text.split('<div class="cols">')[0]
    assert "Status update: Next update due in 15 min" in band
    clock.advance(minutes=16)
    band = client.get(f"/incidents/{inc.key}").text.split('<div class="cols">')[0]
    assert 'class="countdown overdue"' in band and "OVERDUE" in band


def test_desk_warnings_carry_hints_and_plain_ones_still_show(db: Database) -> None:
    inc = incidents.declare(db, title="payments down", actor="a", severity="P0")
    (entry,) = desk.page(db).entries
    entry.warnings.append("a warning without a next step")
    entry.warn("status update overdue", Hint("post_update", "post one", incident=inc.key))
    texts = [n.text for n in entry.all_nags()]
    assert texts == [
        "NO COMMANDER on a P0: name one now",
        "status update overdue",
        "a warning without a next step",
    ]
    data = entry.to_dict()
    assert data["warnings"] == [
        "NO COMMANDER on a P0: name one now",
        "a warning without a next step",
        "status update overdue",
    ]
    assert [n["hint"] and n["hint"]["action"] for n in data["nags"]] == [
        "assign_role",
        "post_update",
        None,
    ]
