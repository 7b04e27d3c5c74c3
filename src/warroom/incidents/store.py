"""Reading incidents: keys, rows, locks, and the Incident records built from them.

    get(db, "INC-7").stage            # one incident with its roles and tasks
    row = lock(db, conn, "INC-7")     # the row, locked for the caller's transaction

Every verb (lifecycle, roles, tasks and the other areas') reads through here, so an unknown
key is the same NotFound, with the same hint, everywhere.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from warroom.core.db import Database
from warroom.core.errors import Hint, NotFound
from warroom.core.refs import parse_number
from warroom.core.severity import Factors, Severity
from warroom.incidents import privacy
from warroom.incidents.model import OPEN_STAGES, Incident, Role, Stage, Task
from warroom.incidents.tables import incidents, roles, tasks


def parse_key(key: str | int) -> int:
    """`INC-7`, `inc-7`, `7` -> 7; anything else is refused."""
    return parse_number(key, prefix="INC", noun="incident key", field="key")


def missing(number: int) -> NotFound:
    """The error for an incident number nobody declared."""
    return NotFound(
        f"incident INC-{number} does not exist",
        field="key",
        hint=Hint("list_incidents", "see the incidents"),
    )


_WHO = (incidents.c.id, incidents.c.private, incidents.c.created_by, incidents.c.commander)


def get_id(conn: Connection, key: str | int) -> int:
    """The incident's row id (NotFound when there is none, or the reader may not see it)."""
    number = parse_key(key)
    row = conn.execute(sa.select(*_WHO).where(incidents.c.number == number)).first()
    if row is None or not privacy.sees(conn, row):
        raise missing(number)
    return int(row.id)


def lock(db: Database, conn: Connection, key: str | int) -> Row[Any]:
    """The incident row, locked for the caller's transaction (PostgreSQL FOR UPDATE)."""
    number = parse_key(key)
    row = conn.execute(
        db.lock_row(sa.select(incidents).where(incidents.c.number == number))
    ).first()
    if row is None or not privacy.sees(conn, row):
        raise missing(number)
    return row


def from_row(row: Row[Any]) -> Incident:
    """An Incident without its roles and tasks (see `load_details`)."""
    return Incident(
        id=row.id,
        key=row.key,
        title=row.title,
        description=row.description,
        severity=Severity(row.severity) if row.severity else None,
        factors=Factors.from_dict(row.factors),
        stage=Stage(row.stage),
        started_at=row.started_at,
        detected_at=row.detected_at,
        stage_times={
            "detected": row.detected_at,
            "contained": row.contained_at,
            "root_caused": row.root_caused_at,
            "fixed": row.fixed_at,
            "verified": row.verified_at,
            "closed": row.closed_at,
        },
        skipped_stages=list(row.skipped_stages or []),
        impact_scope=row.impact_scope,
        business_impact=row.business_impact,
        error_messages=row.error_messages,
        suspected_changes=row.suspected_changes,
        reporter=row.reporter,
        reporter_contact=row.reporter_contact,
        security=bool(row.security),
        drill=bool(row.drill),
        type=row.type,
        private=bool(row.private),
        commander=row.commander,
        commander_at=row.commander_at,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_seq=row.last_seq,
        last_hash=row.last_hash,
    )


def load_details(conn: Connection, items: list[Incident]) -> None:
    """Fill in the roles, participants and tasks of `items` (two queries for all of them)."""
    if not items:
        return
    by_id = {i.id: i for i in items}
    for r in conn.execute(
        sa.select(roles).where(roles.c.incident_id.in_(by_id)).order_by(roles.c.id)
    ):
        inc = by_id[r.incident_id]
        if r.role == Role.PARTICIPANT:
            inc.participants.append(r.person)
        else:
            inc.roles[r.role] = r.person
    for t in conn.execute(
        sa.select(tasks).where(tasks.c.incident_id.in_(by_id)).order_by(tasks.c.number)
    ):
        by_id[t.incident_id].tasks.append(
            Task(
                number=t.number,
                title=t.title,
                assignee=t.assignee,
                status=t.status,
                created_by=t.created_by,
                created_at=t.created_at,
                updated_at=t.updated_at,
            )
        )


def get(db: Database, key: str | int) -> Incident:
    """One incident with its roles and tasks."""
    with db.read() as conn:
        return get_on(conn, key)


def get_on(conn: Connection, key: str | int) -> Incident:
    """`get` inside the caller's transaction (a verb returns what it just wrote)."""
    number = parse_key(key)
    row = conn.execute(sa.select(incidents).where(incidents.c.number == number)).first()
    if row is None or not privacy.sees(conn, row):
        raise missing(number)
    inc = from_row(row)
    load_details(conn, [inc])
    return inc


def list_incidents(
    db: Database,
    *,
    include_closed: bool = True,
    include_drills: bool = True,
    closed_only: bool = False,
) -> list[Incident]:
    """Incidents in priority order: open first, by severity, factors, then age."""
    with db.read() as conn:
        stmt = sa.select(incidents)
        if not include_closed:
            stmt = stmt.where(incidents.c.stage.in_(OPEN_STAGES))
        if closed_only:
            stmt = stmt.where(incidents.c.stage == Stage.CLOSED.value)
        if not include_drills:
            stmt = stmt.where(incidents.c.drill.is_(False))
        items = [from_row(r) for r in conn.execute(stmt)]
        load_details(conn, items)
    reader = privacy.current()
    items = [i for i in items if privacy.allowed(reader, private=i.private, people=i.people)]
    return sorted(items, key=Incident.priority_key)
