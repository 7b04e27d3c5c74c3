"""People who can be paged, and how to reach them (apprise URLs, by urgency).

save_person(db, Person.from_dict({"name": "ana", "timezone": "Europe/Lisbon"}))
add_contact(db, "ana", url="mailto://ana@example.com", urgencies=["high", "low"])
get_person(db, "ana").reach(Urgency.HIGH)   # the contacts a high-urgency page uses
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, NotFound
from warroom.oncall.model import Contact, Person, Window, check_person
from warroom.oncall.tables import oncall_people


def _from_row(r: Any) -> Person:
    return Person.from_dict(
        {
            "name": r.name,
            "display_name": r.display_name,
            "timezone": r.timezone,
            "working_hours": r.working_hours,
            "contacts": r.contacts,
        }
    )


def _values(person: Person) -> dict[str, Any]:
    raw = person.to_dict(secrets=True)
    return {
        "display_name": raw["display_name"],
        "timezone": raw["timezone"],
        "working_hours": raw["working_hours"],
        "contacts": raw["contacts"],
        "updated_at": utcnow(),
    }


def missing_person(name: str) -> NotFound:
    return NotFound(
        f"nobody named {name} can be paged: add them with a contact method first",
        field="person",
        hint=Hint("add_person", "add them", params={"name": name}),
    )


def save_in(conn: Connection, person: Person) -> None:
    """Add or replace a person inside the caller's transaction."""
    found = conn.execute(
        sa.select(oncall_people.c.id).where(oncall_people.c.name == person.name)
    ).first()
    if found is None:
        conn.execute(oncall_people.insert().values(name=person.name, **_values(person)))
    else:
        conn.execute(
            oncall_people.update().where(oncall_people.c.id == found.id).values(**_values(person))
        )


def people_on(conn: Connection, names: set[str] | None = None) -> dict[str, Person]:
    """Registered people (of `names`, when given), by name."""
    stmt = sa.select(oncall_people).order_by(oncall_people.c.name)
    if names is not None:
        stmt = stmt.where(oncall_people.c.name.in_(sorted(names)))
    return {r.name: _from_row(r) for r in conn.execute(stmt)}


def list_people(db: Database) -> list[Person]:
    with db.read() as conn:
        return list(people_on(conn).values())


def get_person(db: Database, name: str) -> Person:
    name = check_person(name)
    with db.read() as conn:
        found = people_on(conn, {name}).get(name)
    if found is None:
        raise missing_person(name)
    return found


def _change(db: Database, name: str, change: Any) -> Person:
    name = check_person(name)
    with db.transaction() as conn:
        current = people_on(conn, {name}).get(name)
        if current is None:
            raise missing_person(name)
        updated = change(current)
        save_in(conn, updated)
        return updated


def add_contact(
    db: Database, name: str, *, url: str, urgencies: list[str] | None = None, label: str = ""
) -> Person:
    """Add a contact method (any apprise URL) to a person, for some urgencies (both default)."""
    contact = Contact.from_dict(
        {"url": url, "urgency": urgencies or ["high", "low"], "label": label},
        where=f"person {name}",
    )

    def change(p: Person) -> Person:
        if any(c.url == contact.url for c in p.contacts):
            raise InvalidInput(f"{p.name} already has that contact method", field="url")
        return Person(p.name, p.display_name, p.timezone, p.working_hours, (*p.contacts, contact))

    return _change(db, name, change)


def remove_contact(db: Database, name: str, number: int) -> Person:
    """Remove a person's contact method `number` (1 is the first, as listed)."""

    def change(p: Person) -> Person:
        if not 1 <= number <= len(p.contacts):
            raise NotFound(
                f"{p.name} has {len(p.contacts)} contact method(s); there is no number {number}",
                field="number",
            )
        rest = tuple(c for i, c in enumerate(p.contacts, start=1) if i != number)
        return Person(p.name, p.display_name, p.timezone, p.working_hours, rest)

    return _change(db, name, change)


def set_person(
    db: Database,
    name: str,
    *,
    timezone: str | None = None,
    display_name: str | None = None,
    working_hours: dict[str, Any] | None = None,
) -> Person:
    """Add a person, or change their time zone, name or working hours (contacts kept)."""
    name = check_person(name)
    with db.transaction() as conn:
        current = people_on(conn, {name}).get(name) or Person(name)
        raw = current.to_dict(secrets=True)
        if timezone is not None:
            raw["timezone"] = timezone
        if display_name is not None:
            raw["display_name"] = display_name
        if working_hours is not None:
            Window.from_dict(working_hours, where=f"person {name}, working hours")
            raw["working_hours"] = working_hours
        updated = Person.from_dict(raw)
        save_in(conn, updated)
        return updated
