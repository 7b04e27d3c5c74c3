"""The timeline: append-only in the database itself, gapless, hash-chained, exported."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from warroom import incidents
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.incidents.timeline import Kind, event_hash


@pytest.fixture
def incident(db: Database) -> str:
    inc = incidents.declare(db, title="Checkout 500", actor="ana", severity="P1")
    incidents.add_note(db, inc.key, text="first note", actor="ana")
    return inc.key


def test_update_of_an_event_is_refused_by_the_database(db: Database, incident: str) -> None:
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.transaction() as conn:
        conn.execute(sa.text("UPDATE events SET actor = 'mallory'"))
    assert {e.actor for e in timeline.read(db, incident)} == {"ana"}


def test_delete_of_an_event_is_refused_by_the_database(db: Database, incident: str) -> None:
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.transaction() as conn:
        conn.execute(sa.text("DELETE FROM events"))
    assert len(timeline.read(db, incident)) == 2


def test_truncate_is_refused_on_postgresql(db: Database, incident: str) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE; DELETE is covered above")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.transaction() as conn:
        conn.execute(sa.text("TRUNCATE events CASCADE"))
    assert len(timeline.read(db, incident)) == 2


def test_seq_is_gapless_and_events_are_hash_chained(db: Database, incident: str) -> None:
    for i in range(5):
        incidents.add_note(db, incident, text=f"note {i}", actor="bo")
    events = timeline.read(db, incident)
    assert [e.seq for e in events] == list(range(1, 8))
    prev = ""
    for e in events:
        assert e.prev_hash == prev
        assert e.hash == event_hash(prev, e.seq, e.at, e.actor, e.kind, e.data)
        prev = e.hash
    assert all(e.at.tzinfo is not None for e in events)


def test_exports_as_json_and_markdown(db: Database, incident: str) -> None:
    events = timeline.read(db, incident)
    as_json = json.loads(json.dumps([e.to_dict() for e in events]))
    assert [e["kind"] for e in as_json] == [Kind.DECLARED, Kind.NOTE]
    inc = incidents.get(db, incident)
    md = timeline.markdown(inc.key, inc.title, inc.severity, inc.stage, events)
    assert md.startswith(f"# {incident}: Checkout 500")
    assert "| 2 |" in md and "first note" in md


def test_note_with_pipe_and_newline_keeps_the_markdown_table_intact(
    db: Database, incident: str
) -> None:
    incidents.add_note(db, incident, text="a | b\nc", actor="x")
    inc = incidents.get(db, incident)
    md = timeline.markdown(inc.key, inc.title, inc.severity, inc.stage, timeline.read(db, incident))
    row = [line for line in md.splitlines() if line.startswith("| 3 |")][0]
    assert "a \\| b c" in row
