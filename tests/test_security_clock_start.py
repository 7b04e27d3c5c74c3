"""A type's regulatory clocks start by themselves: at the declaration, or when an incident is
changed to a type that names clocks; idempotent; a missing clock is a warning on the desk and
in `warroom show`. Both stores, the test clock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from typer.testing import CliRunner

from warroom import incidents
from warroom.cli.main import app as cli_app
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.incidents import desk, timeline
from warroom.incidents.tables import incidents as incidents_t
from warroom.security import clocks

runner = CliRunner()


def started(db: Database, key: str) -> list[timeline.Event]:
    return [e for e in timeline.read(db, key) if e.kind == clocks.STARTED]


def test_declaring_a_security_or_data_loss_incident_starts_its_clocks(
    db: Database, clock: Any
) -> None:
    sec = incidents.declare(db, title="key leaked", actor="cora", type="security")
    [gdpr] = clocks.list_for(db, sec.key)
    assert (gdpr.name, gdpr.aware_at) == ("gdpr", sec.detected_at)
    assert gdpr.due_at - gdpr.aware_at == timedelta(hours=72)
    [event] = started(db, sec.key)
    assert event.actor == "cora" and event.data["why"] == "declared as a security incident"
    loss = incidents.declare(
        db, title="rows gone", actor="ana", type="data_loss", impact_scope="orders"
    )
    assert [c.name for c in clocks.list_for(db, loss.key)] == ["gdpr"]
    plain = incidents.declare(db, title="slow", actor="ana")
    assert clocks.list_for(db, plain.key) == []

    clock.advance(hours=1)  # starting again (by hand, or the type's) changes nothing
    again = clocks.start(db, sec.key, actor="root")
    assert [(c.name, c.aware_at) for c in again] == [("gdpr", sec.detected_at)]
    clocks.start(db, sec.key, name="gdpr", actor="root")
    assert len(started(db, sec.key)) == 1


def test_changing_the_type_starts_the_new_types_clocks_from_the_change(
    db: Database, clock: Any
) -> None:
    inc = incidents.declare(db, title="odd logins", actor="ana")
    assert clocks.list_for(db, inc.key) == []
    clock.advance(minutes=45)
    changed = incidents.set_type(db, inc.key, type="security", actor="cora")
    assert (changed.type, changed.security) == ("security", True)
    [gdpr] = clocks.list_for(db, inc.key)
    assert gdpr.aware_at == inc.detected_at + timedelta(minutes=45)
    [event] = started(db, inc.key)
    assert event.actor == "cora" and "changed to a security incident" in event.data["why"]
    clock.advance(minutes=5)  # the same type again, or another naming the same clock: no-op
    incidents.set_type(db, inc.key, type="security", actor="cora")
    incidents.set_type(db, inc.key, type="data-loss", actor="cora")
    assert len(started(db, inc.key)) == 1
    assert clocks.list_for(db, inc.key)[0].aware_at == gdpr.aware_at
    updates = [e.data["fields"] for e in timeline.read(db, inc.key) if e.kind == "incident.updated"]
    assert updates == [{"type": "security", "security": True}, {"type": "data_loss"}]


def test_a_clock_the_type_expects_but_not_running_is_warned_on_desk_and_show(
    db_url: str, db: Database, clock: Any
) -> None:
    # A type configured later to name a second clock: the incident lacks it.
    inc = incidents.declare(db, title="card testing", actor="cora", type="security")
    settings = Settings(
        raw={
            "incident_types": {"security": {"clocks": ["gdpr", "pci"]}},
            "regulatory_clocks": {"pci": {"hours": 24, "authority": "card brands"}},
        }
    )
    entry = next(e for e in desk.page(db, settings=settings).entries if e.incident.key == inc.key)
    [nag] = [n for n in entry.nags if "not running" in n.text]
    assert "PCI" in nag.text and "GDPR" not in nag.text
    assert nag.hint is not None and nag.hint.action == "start_clock"
    default = next(e for e in desk.page(db).entries if e.incident.key == inc.key)
    assert not [w for w in default.warnings if "not running" in w]

    # With the builtin types, the CLI's show warns when GDPR is missing (a retyped incident
    # whose hook could not run is the same case: here, an incident made before the hook).
    plain = incidents.declare(db, title="slow", actor="ana")
    with db.transaction() as conn:  # the row says security, as an old database would
        conn.execute(
            incidents_t.update().where(incidents_t.c.id == plain.id).values(type="security")
        )
    shown = runner.invoke(cli_app, ["show", plain.key, "--db", db_url])
    assert shown.exit_code == 0, shown.output
    assert "security incident expects the GDPR clock, which is not running" in shown.output
    data = json.loads(runner.invoke(cli_app, ["show", plain.key, "--db", db_url, "--json"]).output)
    assert data["clock_warnings"][0]["hint"]["action"] == "start_clock"
    clocks.start(db, plain.key, actor="ana")
    shown = runner.invoke(cli_app, ["show", plain.key, "--db", db_url])
    assert "not running" not in shown.output


def test_retype_command(db_url: str, db: Database, clock: Any) -> None:
    inc = incidents.declare(db, title="rows gone", actor="ana")
    r = runner.invoke(
        cli_app, ["retype", inc.key, "data_loss", "--as", "dana", "--db", db_url, "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["type"] == "data_loss"
    [event] = started(db, inc.key)
    assert event.actor == "dana"
    bad = runner.invoke(cli_app, ["retype", inc.key, "weather", "--db", db_url])
    assert bad.exit_code != 0 and "unknown incident type" in bad.output
