"""A busy incident history driven through the domain functions (shared by the trust tests)."""

from __future__ import annotations

from typing import Any

from warroom import incidents
from warroom.core.db import Database
from warroom.incidents import artifacts


def busy_history(db: Database, clock: Any) -> list[str]:
    """Three incidents that use every kind the projection folds; returns their keys."""
    a = incidents.declare(
        db,
        title="Checkout returns 500",
        actor="ana",
        severity="P1",
        impact_scope="EU shoppers",
        commander="ana",
    ).key
    clock.advance(minutes=2)
    incidents.assign_role(db, a, role="scribe", person="bo", actor="ana")
    incidents.assign_role(db, a, role="participant", person="cy", actor="ana")
    incidents.assign_role(db, a, role="participant", person="di", actor="ana")
    clock.advance(minutes=1)
    incidents.assign_role(db, a, role="scribe", person="ed", actor="ana")
    incidents.remove_role(db, a, role="participant", person="cy", actor="ana")
    incidents.assign_role(db, a, role="commander", person="fay", actor="ana")
    clock.advance(minutes=3)
    incidents.set_severity(
        db, a, severity="P0", actor="fay", reason="all regions", factors={"affected_users": "many"}
    )
    incidents.add_task(db, a, title="Roll back 1.4.2", actor="fay", assignee="ed")
    incidents.add_task(db, a, title="Check DB", actor="fay")
    clock.advance(minutes=1)
    incidents.update_task(db, a, 1, actor="ed", status="done")
    incidents.update_task(db, a, 2, actor="fay", assignee="di", status="in_progress")
    incidents.add_note(db, a, text="rollback started, password=hunter2", actor="ed")
    artifacts.attach(
        db,
        a,
        actor="ed",
        kind="log_excerpt",
        name="app.log",
        content=b"GET /pay?api_key=abc123def 500\n",
        media_type="text/plain",
    )
    clock.advance(minutes=5)
    incidents.move(db, a, to="root_caused", actor="fay")
    incidents.update_fields(db, a, actor="fay", title="Checkout 500s after 1.4.2", security=True)
    clock.advance(minutes=5)
    incidents.move(db, a, to="fixed", actor="fay")
    incidents.move(db, a, to="verified", actor="fay", reason="dashboards green")
    clock.advance(minutes=10)
    incidents.reopen(db, a, actor="fay", reason="errors are back")
    clock.advance(minutes=1)
    incidents.move(db, a, to="contained", actor="fay")

    clock.advance(minutes=30)
    b = incidents.declare(db, title="Slow search", actor="bo").key
    incidents.set_severity(db, b, severity="P3", actor="bo")
    clock.advance(minutes=1)
    incidents.add_note(db, b, text="p95 at 2s", actor="bo")
    c = incidents.declare(db, title="Drill: DNS", actor="cy", drill=True, severity="P4").key
    clock.advance(minutes=1)
    incidents.move(db, c, to="fixed", actor="cy")
    return [a, b, c]
