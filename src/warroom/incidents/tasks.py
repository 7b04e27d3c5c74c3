"""Tasks of an incident: T1, T2, ... with an assignee and a status.

add_task(db, "INC-7", title="inspect DB logs", assignee="dana", actor="ana")
update_task(db, "INC-7", "T1", status="done", actor="dana")
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, InvalidTransition, NotFound
from warroom.core.refs import parse_number
from warroom.incidents import store, timeline
from warroom.incidents.announce import announce_event
from warroom.incidents.model import MAX_NAME, MAX_TITLE, Task, TaskStatus, clean_text
from warroom.incidents.tables import tasks
from warroom.incidents.timeline import Kind


def parse_task(value: int | str) -> int:
    """`T3`, `t3` or `3` -> 3."""
    return parse_number(value, prefix="T", noun="task number", field="task")


def add_task(
    db: Database, key: str | int, *, title: str, actor: str, assignee: str | None = None
) -> Task:
    """Add a task (e.g. "inspect DB logs") to the incident."""
    title = clean_text("title", title, limit=MAX_TITLE, required=True)
    assignee = clean_text("assignee", assignee, limit=MAX_NAME) or None
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        number = (
            conn.execute(
                sa.select(sa.func.max(tasks.c.number)).where(tasks.c.incident_id == row.id)
            ).scalar()
            or 0
        ) + 1
        now = utcnow()
        conn.execute(
            tasks.insert().values(
                incident_id=row.id,
                number=number,
                title=title,
                assignee=assignee,
                status=TaskStatus.OPEN.value,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
        )
        data = {"number": number, "title": title, "assignee": assignee}
        timeline.append(conn, row.id, actor=actor, kind=Kind.TASK_ADDED, at=now, data=data)
        task = next(t for t in store.get_on(conn, row.key).tasks if t.number == number)
        incident_key = row.key
    announce_event(db, incident_key, Kind.TASK_ADDED, data, actor)
    return task


def update_task(
    db: Database,
    key: str | int,
    number: int | str,
    *,
    actor: str,
    status: TaskStatus | str | None = None,
    assignee: str | None = None,
) -> Task:
    """Change a task's status or assignee."""
    n = parse_task(number)
    new_status = TaskStatus.parse(status) if status else None
    assignee = clean_text("assignee", assignee, limit=MAX_NAME) or None
    if new_status is None and assignee is None:
        raise InvalidInput(
            "give the task a new status or assignee",
            field="status",
            hint=Hint(
                "update_task",
                "give a new status or assignee",
                incident=f"INC-{store.parse_key(key)}",
                params={"task": f"T{n}"},
            ),
        )
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        task = conn.execute(
            sa.select(tasks).where(tasks.c.incident_id == row.id, tasks.c.number == n)
        ).first()
        if task is None:
            raise NotFound(
                f"{row.key} has no task T{n}",
                field="task",
                hint=Hint("show_incident", "see its tasks", incident=row.key),
            )
        changes: dict[str, Any] = {}
        if new_status is not None and new_status.value != task.status:
            changes["status"] = new_status.value
        if assignee is not None and assignee != task.assignee:
            changes["assignee"] = assignee
        if not changes:
            raise InvalidTransition(
                f"task T{n} of {row.key} already has those values", field="status"
            )
        now = utcnow()
        conn.execute(tasks.update().where(tasks.c.id == task.id).values(updated_at=now, **changes))
        data = {"number": n, "title": task.title, "changes": changes}
        timeline.append(conn, row.id, actor=actor, kind=Kind.TASK_UPDATED, at=now, data=data)
        updated = next(t for t in store.get_on(conn, row.key).tasks if t.number == n)
        incident_key = row.key
    announce_event(db, incident_key, Kind.TASK_UPDATED, data, actor)
    return updated
