"""`audit` finds the first broken link when someone edits the database directly."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from trust_scenarios import busy_history
from warroom import incidents
from warroom.cli.main import app
from warroom.core.db import Database
from warroom.incidents.tables import events
from warroom.incidents.tables import incidents as incidents_t
from warroom.trust import audit


def _allow_event_edits(conn: sa.Connection, db: Database) -> None:
    """What an attacker with database access does first: switch the append-only guard off."""
    if db.is_sqlite:
        conn.exec_driver_sql("DROP TRIGGER events_no_update")
        conn.exec_driver_sql("DROP TRIGGER events_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_append_only")


def _event_id(db: Database, key: str, seq: int) -> int:
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        return int(
            conn.execute(
                sa.select(events.c.id).where(
                    events.c.incident_id == incident_id, events.c.seq == seq
                )
            ).scalar_one()
        )


def test_untouched_history_passes(db: Database, clock: Any) -> None:
    keys = busy_history(db, clock)
    reports = audit.audit_all(db)
    assert [r.key for r in reports] == keys
    assert all(r.ok for r in reports), [r.problems for r in reports]
    assert reports[0].events > 20


def test_edited_event_data_is_the_first_broken_link(db: Database, clock: Any) -> None:
    key = busy_history(db, clock)[0]
    target = _event_id(db, key, 5)
    with db.transaction() as conn:
        _allow_event_edits(conn, db)
        conn.execute(
            sa.update(events).where(events.c.id == target).values(data={"person": "mallory"})
        )
    report = audit.audit(db, key, rows=False)
    assert not report.ok
    assert report.first_broken_seq == 5
    assert report.problems[0].what == "hash"
    assert "event 5" in report.problems[0].message


def test_rewritten_hash_breaks_the_next_link(db: Database, clock: Any) -> None:
    """Recomputing the edited event's own hash is not enough: the next event points back."""
    key = busy_history(db, clock)[1]
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        e = conn.execute(
            sa.select(events).where(events.c.incident_id == incident_id, events.c.seq == 2)
        ).one()
    from warroom.incidents.timeline import event_hash

    forged = {**e.data, "to": "P4"}
    with db.transaction() as conn:
        _allow_event_edits(conn, db)
        conn.execute(
            sa.update(events)
            .where(events.c.id == e.id)
            .values(data=forged, hash=event_hash(e.prev_hash, 2, e.at, e.actor, e.kind, forged))
        )
    report = audit.audit(db, key, rows=False)
    assert report.first_broken_seq == 3
    assert [p.what for p in report.problems] == ["link"]


def test_deleted_last_event_is_a_head_mismatch(db: Database, clock: Any) -> None:
    key = busy_history(db, clock)[1]
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
    with db.transaction() as conn:
        _allow_event_edits(conn, db)
        last = conn.execute(
            sa.select(sa.func.max(events.c.seq)).where(events.c.incident_id == incident_id)
        ).scalar_one()
        conn.execute(
            sa.delete(events).where(events.c.incident_id == incident_id, events.c.seq == last)
        )
    report = audit.audit(db, key, rows=False)
    assert [p.what for p in report.problems] == ["head"]
    assert report.first_broken_seq is None


def test_row_that_disagrees_with_the_timeline_is_reported(db: Database, clock: Any) -> None:
    key = busy_history(db, clock)[0]
    with db.transaction() as conn:
        conn.execute(
            sa.update(incidents_t).where(incidents_t.c.key == key).values(commander="mallory")
        )
    report = audit.audit(db, key)
    assert [p.what for p in report.problems] == ["row"]
    assert "commander: timeline says 'fay', row has 'mallory'" in report.problems[0].message


def test_cli_audit_exit_codes_and_json(db: Database, db_url: str, clock: Any) -> None:
    key = busy_history(db, clock)[0]
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", key, "--db", db_url])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    target = _event_id(db, key, 3)
    with db.transaction() as conn:
        _allow_event_edits(conn, db)
        conn.execute(sa.update(events).where(events.c.id == target).values(actor="mallory"))
    broken = runner.invoke(app, ["audit", key, "--db", db_url, "--json"])
    assert broken.exit_code == 1
    data = json.loads(broken.stdout)
    assert data[0]["first_broken_seq"] == 3
    every = runner.invoke(app, ["audit", "--db", db_url])
    assert every.exit_code == 1
    assert f"{key}: BROKEN at event 3" in every.output
