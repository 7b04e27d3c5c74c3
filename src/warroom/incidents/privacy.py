"""Private incidents: who may see one, decided once, where every read passes.

The shells say who is reading (`reading_as`, a context variable: the web's access middleware
sets it for every signed-in request); `warroom.incidents.store` asks `sees` on every read by
key and filters every list, so a private incident is missing (NotFound, a 404) for anyone
else, everywhere an incident is read through the store: the API, the pages, lists, reports,
exports, recurrence.

A private incident is visible to admins, to whoever declared it and to its participants (the
people named for its roles, commander included, and the people added). Nobody reading (None:
the worker, the server's own CLI, which holds the database itself) sees everything.

    with reading_as(Reader("ana", sees_all=False)):
        incidents.get(db, "INC-7")      # NotFound unless ana takes part in INC-7

Every read of a private incident by someone (opened or refused) is collected on the reader
and written by `record` once the request is done (the web's middleware calls it): the table
`private_reads`, which `warroom access-log INC-n`, the admins' panel and the evidence bundle
show. A table, not the timeline: reads are not the incident's story, and a page reloaded
every few seconds would flood the hash chain everyone scrolls.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.incidents.tables import private_reads, roles


@dataclass(frozen=True)
class Reader:
    """Who reads: a name, and whether their account role sees every incident (admin).

    `via`: the route the reads come by (api, page, export, evidence); `seen` collects the
    private incidents read, (incident id, allowed) -> first time, for `record`."""

    name: str
    sees_all: bool = False
    via: str = ""
    seen: dict[tuple[int, bool], datetime] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )


log = logging.getLogger("warroom.access")
_reader: ContextVar[Reader | None] = ContextVar("warroom_reader", default=None)


def current() -> Reader | None:
    """Who is reading now (None: nobody in particular, which sees everything)."""
    return _reader.get()


def enter(reader: Reader | None) -> Token[Reader | None]:
    return _reader.set(reader)


def leave(token: Token[Reader | None]) -> None:
    _reader.reset(token)


@contextmanager
def reading_as(reader: Reader | None) -> Iterator[Reader | None]:
    token = enter(reader)
    try:
        yield reader
    finally:
        leave(token)


def members(conn: Connection, incident_id: int) -> set[str]:
    """Everyone named for a role of the incident (participants included)."""
    found = conn.execute(sa.select(roles.c.person).where(roles.c.incident_id == incident_id))
    return {str(p) for p in found.scalars()}


def allowed(reader: Reader | None, *, private: bool, people: Iterable[str | None]) -> bool:
    """Whether `reader` may see an incident with these people (declarer, roles)."""
    if not private or reader is None or reader.sees_all:
        return True
    return reader.name in {p for p in people if p}


def sees(conn: Connection, row: Any) -> bool:
    """Whether the current reader may see the incident of `row` (an `incidents` row with id,
    private, created_by and commander). Every access by key to a private incident, granted
    or refused, is logged (the `warroom.access` logger) with who asked."""
    reader = current()
    if not row.private or reader is None:
        return True
    people = {row.created_by, row.commander}
    ok = reader.sees_all or allowed(
        reader, private=True, people=people | members(conn, int(row.id))
    )
    log.info("private incident id=%s %s to %s", row.id, "opened" if ok else "refused", reader.name)
    reader.seen.setdefault((int(row.id), ok), utcnow())
    return ok


def record(db: Database, reader: Reader | None) -> int:
    """Write the private-incident reads `reader` collected (one request) to `private_reads`,
    in one transaction: a row per incident, person, route, outcome and hour, whose count
    grows with each request in that hour. Returns how many reads were written.

    No unique constraint: two requests racing in a new hour may write two rows for it, which
    the log shows as two (a read is never lost, and no reader waits on another)."""
    if reader is None or not reader.seen:
        return 0
    found = list(reader.seen.items())
    reader.seen.clear()
    via = reader.via or "other"
    with db.transaction() as conn:
        for (incident_id, ok), at in found:
            hour = at.replace(minute=0, second=0, microsecond=0)
            same = sa.and_(
                private_reads.c.incident_id == incident_id,
                private_reads.c.person == reader.name,
                private_reads.c.via == via,
                private_reads.c.allowed == ok,
                private_reads.c.hour == hour,
            )
            row_id = conn.execute(sa.select(private_reads.c.id).where(same)).scalar()
            if row_id is None:
                conn.execute(
                    private_reads.insert().values(
                        incident_id=incident_id,
                        person=reader.name,
                        via=via,
                        allowed=ok,
                        hour=hour,
                        first_at=at,
                        last_at=at,
                        reads=1,
                    )
                )
            else:
                conn.execute(
                    private_reads.update()
                    .where(private_reads.c.id == row_id)
                    .values(reads=private_reads.c.reads + 1, last_at=at)
                )
    return len(found)
