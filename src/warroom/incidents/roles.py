"""Roles: who commands, who leads ops and comms, who writes it down, who takes part.

    assign_role(db, "INC-7", role=Role.COMMANDER, person="ana", actor="ana")
    remove_role(db, "INC-7", role="scribe", actor="ana")

One commander at a time: naming a new one is a hand-off event, and the commander can only be
handed off, never removed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidTransition, NotFound
from warroom.incidents import store, timeline
from warroom.incidents.announce import announce_event
from warroom.incidents.model import MAX_NAME, Incident, Role, clean_text
from warroom.incidents.tables import incidents, roles
from warroom.incidents.timeline import Kind


def assign_in(
    db: Database, conn: Connection, key: str | int, *, role: Role, person: str, actor: str
) -> tuple[str, dict[str, Any]]:
    """Give `role` to `person` inside the caller's transaction (declare names a commander);
    the kind and data of the event it appended."""
    row = store.lock(db, conn, key)
    now = utcnow()
    holder = None
    if role is Role.PARTICIPANT:
        exists = conn.execute(
            sa.select(roles.c.id).where(
                roles.c.incident_id == row.id, roles.c.role == role.value, roles.c.person == person
            )
        ).first()
        if exists:
            raise InvalidTransition(
                f"{person} is already a participant in {row.key}", field="person"
            )
    else:
        holder = conn.execute(
            sa.select(roles.c.id, roles.c.person).where(
                roles.c.incident_id == row.id, roles.c.role == role.value
            )
        ).first()
        if holder is not None and holder.person == person:
            raise InvalidTransition(
                f"{person} is already {role.value} of {row.key}", field="person"
            )
        if holder is not None:
            conn.execute(roles.delete().where(roles.c.id == holder.id))
    conn.execute(
        roles.insert().values(
            incident_id=row.id, role=role.value, person=person, assigned_at=now, assigned_by=actor
        )
    )
    kind: str = Kind.ROLE_ASSIGNED
    data: dict[str, Any] = {"role": role.value, "person": person}
    if role is Role.COMMANDER:
        # One commander at a time: the row names them, and a new one is a hand-off.
        if holder is not None:
            kind = Kind.COMMANDER_HANDOFF
        data.update({"from": holder.person if holder else None, "to": person})
        values: dict[str, Any] = {"commander": person}
        if row.commander_at is None:
            values["commander_at"] = now  # MTTA counts the first commander
        conn.execute(incidents.update().where(incidents.c.id == row.id).values(**values))
    timeline.append(conn, row.id, actor=actor, kind=kind, at=now, data=data)
    return kind, data


def assign_role(
    db: Database, key: str | int, *, role: Role | str, person: str, actor: str
) -> Incident:
    """Give a role to a person; a new commander is a hand-off event (one at a time)."""
    r = Role.parse(role)
    person = clean_text("person", person, limit=MAX_NAME, required=True)
    with db.transaction() as conn:
        kind, data = assign_in(db, conn, key, role=r, person=person, actor=actor)
        result = store.get_on(conn, key)
    announce_event(db, result.key, kind, data, actor)
    return result


def remove_role(
    db: Database, key: str | int, *, role: Role | str, person: str | None = None, actor: str
) -> Incident:
    """Take a role back. The commander cannot be removed, only handed off."""
    r = Role.parse(role)
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        if r is Role.COMMANDER:
            raise InvalidTransition(
                f"{row.key} must always have a commander once named: hand off instead",
                field="role",
                hint=Hint(
                    "assign_role",
                    "name the new commander",
                    incident=row.key,
                    params={"role": Role.COMMANDER.value},
                ),
            )
        stmt = sa.select(roles.c.id, roles.c.person).where(
            roles.c.incident_id == row.id, roles.c.role == r.value
        )
        if person:
            stmt = stmt.where(roles.c.person == person)
        holder = conn.execute(stmt).first()
        if holder is None:
            raise NotFound(
                f"nobody {'named ' + person + ' ' if person else ''}is {r.value} of {row.key}",
                field="person" if person else "role",
                hint=Hint("show_incident", "see who holds which role", incident=row.key),
            )
        conn.execute(roles.delete().where(roles.c.id == holder.id))
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=Kind.ROLE_REMOVED,
            data={"role": r.value, "person": holder.person},
        )
        return store.get_on(conn, row.key)
