"""The access log of a private incident: who opened it, when, by which route, or was refused.

The reads are recorded by `warroom.incidents.privacy` (the web's middleware writes them once a
request is done); this module reads them for admins: `warroom access-log INC-n`, the admins'
panel on the incident page (`warroom.web.pages.security`) and the evidence bundle's manifest.

    for r in log_for(db, "INC-7"):
        r.person, r.via, r.allowed, r.first_at, r.reads
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from warroom.core.db import Database
from warroom.incidents import store
from warroom.incidents.tables import private_reads


@dataclass(frozen=True)
class Read:
    """Reads of one person by one route with one outcome within one hour."""

    person: str
    via: str
    allowed: bool
    first_at: datetime
    last_at: datetime
    reads: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "via": self.via,
            "allowed": self.allowed,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "reads": self.reads,
        }


def log_for(db: Database, key: str | int) -> list[Read]:
    """The incident's recorded reads, oldest first (empty for an incident never private)."""
    with db.read() as conn:
        incident_id = store.get_id(conn, key)
        rows = conn.execute(
            sa.select(private_reads)
            .where(private_reads.c.incident_id == incident_id)
            .order_by(private_reads.c.first_at, private_reads.c.id)
        ).all()
    return [Read(r.person, r.via, bool(r.allowed), r.first_at, r.last_at, r.reads) for r in rows]
