"""Replaying the timeline gives exactly the state the incident rows hold."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trust_scenarios import busy_history
from warroom import incidents
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.incidents.tables import incidents as incidents_t
from warroom.trust import projection


def _state_pair(db: Database, key: str) -> tuple[projection.State, projection.State]:
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        return (
            projection.project(projection.load_events(conn, incident_id)),
            projection.stored(conn, incident_id),
        )


def test_projection_equals_stored_state_after_a_busy_history(db: Database, clock: Any) -> None:
    for key in busy_history(db, clock):
        replayed, stored = _state_pair(db, key)
        assert projection.differences(replayed, stored) == []
        assert replayed.row == stored.row


def test_projection_follows_roles_tasks_and_reopen(db: Database, clock: Any) -> None:
    key = busy_history(db, clock)[0]
    replayed, _ = _state_pair(db, key)
    assert replayed.row["commander"] == "fay"
    assert replayed.row["severity"] == "P0"
    assert replayed.row["factors"]["affected_users"] == "many"
    assert replayed.row["stage"] == "contained"
    assert replayed.row["fixed_at"] is None and replayed.row["contained_at"] is not None
    assert replayed.row["title"] == "Checkout 500s after 1.4.2"
    assert replayed.row["security"] is True
    people = {(r["role"], r["person"]) for r in replayed.roles}
    assert people == {("commander", "fay"), ("scribe", "ed"), ("participant", "di")}
    assert replayed.tasks[1]["status"] == "done"
    assert replayed.tasks[2]["assignee"] == "di"


def test_projection_of_a_prefix_is_the_state_at_that_moment(db: Database, clock: Any) -> None:
    key = incidents.declare(db, title="Disk full", actor="ana", severity="P2").key
    clock.advance(minutes=5)
    before = incidents.get(db, key)
    incidents.move(db, key, to="contained", actor="ana")
    events = timeline.read(db, key)
    state = projection.project(events[:1])
    assert state.row["stage"] == "detected"
    assert state.row["contained_at"] is None
    assert state.row["updated_at"] == before.updated_at


def test_row_edited_behind_the_timelines_back_is_reported(db: Database, clock: Any) -> None:
    key = incidents.declare(db, title="Queue backlog", actor="ana", severity="P2").key
    with db.transaction() as conn:
        conn.execute(sa.update(incidents_t).where(incidents_t.c.key == key).values(severity="P4"))
    replayed, stored = _state_pair(db, key)
    diffs = projection.differences(replayed, stored)
    assert diffs == ["severity: timeline says 'P2', row has 'P4'"]
