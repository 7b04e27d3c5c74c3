"""Eight processes appending to one incident: every event present, seq gapless, no errors."""

from __future__ import annotations

import multiprocessing

import pytest

from helpers import append_notes
from warroom import incidents
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.incidents.timeline import Kind

WORKERS = 8
NOTES = 200


@pytest.mark.slow
def test_eight_processes_append_200_notes_each(db_url: str) -> None:
    db = Database(db_url)
    key = incidents.declare(db, title="busy incident", actor="ana", severity="P1").key
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WORKERS) as pool:
        results = pool.starmap(
            append_notes, [(db_url, key, NOTES, f"worker{w}") for w in range(WORKERS)]
        )
    errors = [e for r in results for e in r]
    assert errors == []
    events = timeline.read(db, key)
    notes = [e for e in events if e.kind == Kind.NOTE]
    assert len(notes) == WORKERS * NOTES
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    per_worker = {f"worker{w}": 0 for w in range(WORKERS)}
    for e in notes:
        per_worker[e.actor] += 1
    assert set(per_worker.values()) == {NOTES}
    assert incidents.get(db, key).last_seq == len(events)
    db.dispose()
