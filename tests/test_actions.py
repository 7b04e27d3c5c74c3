"""Action items: add, update, list open and overdue across incidents, export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from warroom import incidents
from warroom.cli.main import app
from warroom.core.errors import Hint, InvalidInput, InvalidTransition, NotFound
from warroom.incidents import timeline
from warroom.learn import actions


def test_overdue_items_list_first_and_export_for_import(db, db_url, clock):
    incidents.declare(db, title="A", actor="ana", severity="P2")
    incidents.declare(db, title="B", actor="ana", severity="P2")
    now = clock.now
    actions.add(
        db,
        "INC-1",
        title="Alert on pool saturation",
        type="detective",
        owner="bo",
        due_at=now + timedelta(days=3),
        priority="P2",
        actor="ana",
    )
    actions.add(
        db,
        "INC-2",
        title="Retry budget",
        type="preventive",
        owner="cy",
        due_at=now + timedelta(days=1),
        priority="P1",
        actor="ana",
        ticket_url="https://github.com/acme/api/issues/7",
    )
    actions.add(db, "INC-2", title="Old idea", type="corrective", actor="ana")
    actions.update(db, "AI-3", status="cancelled", actor="ana")
    clock.advance(days=2)
    items = actions.list_items(db, open_only=True)
    assert [i.ref for i in items] == ["AI-2", "AI-1"]
    assert items[0].is_overdue() and not items[1].is_overdue()
    assert [i.ref for i in actions.list_items(db, overdue_only=True)] == ["AI-2"]
    rows = list(csv.DictReader(io.StringIO(actions.export_csv(items))))
    assert rows[0]["id"] == "AI-2" and rows[0]["overdue"] == "True"
    assert rows[0]["ticket_url"] == "https://github.com/acme/api/issues/7"
    result = CliRunner().invoke(app, ["actions", "--format", "json", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert [d["id"] for d in json.loads(result.output)] == ["AI-2", "AI-1"]
    events = timeline.read(db, "INC-2", kinds=["action.added", "action.updated"])
    assert events[-1].summary().endswith("Action item AI-3: status cancelled")


def test_done_item_records_closed_time_and_bad_input_is_refused(db, clock):
    incidents.declare(db, title="A", actor="ana", severity="P2")
    actions.add(db, "INC-1", title="Fix", type="corrective", actor="ana")
    clock.advance(hours=5)
    item = actions.update(db, "ai-1", status="done", actor="ana")
    assert item.closed_at == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="detective"):
        actions.add(db, "INC-1", title="x", type="nice", actor="ana")
    with pytest.raises(InvalidInput, match="not a URL"):
        actions.add(db, "INC-1", title="x", type="preventive", ticket_url="JIRA-1", actor="ana")


def test_references_are_read_by_the_one_parser(db, clock):
    incidents.declare(db, title="A", actor="ana", severity="P2")
    actions.add(db, "INC-1", title="Fix", type="corrective", actor="ana")
    assert [actions.get(db, ref).ref for ref in ("AI-1", "ai1", " 1 ", 1)] == ["AI-1"] * 4
    for bad in ("AI-１", "AI-1234567890", "T1", "AI-"):
        with pytest.raises(InvalidInput) as exc:
            actions.get(db, bad)
        assert exc.value.field == "ref"
    with pytest.raises(NotFound) as missing:
        actions.update(db, "AI-9", status="done", actor="ana")
    assert str(missing.value) == "action item AI-9 does not exist"
    assert missing.value.hint == Hint("list_actions", "see the action items")
    with pytest.raises(InvalidInput, match="give a new status, owner"):
        actions.update(db, "AI-1", actor="ana")


def test_closing_gate_refuses_in_words_and_hints_at_a_preventive_item(db, db_url, clock):
    incidents.declare(db, title="Queue stuck", actor="ana", severity="P0", commander="ana")
    incidents.move(db, "INC-1", to="fixed", actor="ana")
    with pytest.raises(InvalidTransition) as exc:
        incidents.move(db, "INC-1", to="closed", actor="ana")
    assert "no action items" in str(exc.value) and "--" not in str(exc.value)
    assert exc.value.field == "reason"
    assert exc.value.hint == Hint(
        "add_action",
        "add an action item that will stop this recurring",
        incident="INC-1",
        params={"type": "preventive"},
    )
    result = CliRunner().invoke(app, ["stage", "INC-1", "closed", "--db", db_url])
    assert result.exit_code == 2
    assert "warroom action add INC-1 TITLE --type preventive" in result.output
