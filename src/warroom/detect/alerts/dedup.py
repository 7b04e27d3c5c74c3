"""Deliveries already taken: the same payload twice is answered `duplicate`, changing nothing.

The database (`alert_deliveries.payload_hash`, unique) is the source of truth; this process
also remembers what it committed, so a re-delivery is answered without a query:

    remembered(db, digest)            # IntakeResult("duplicate", "INC-4") or None (no I/O)
    remember_as(db, body_key("alertmanager", raw), result)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core.db import Database
from warroom.detect.tables import alert_deliveries
from warroom.incidents.tables import incidents as incidents_t


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # opened, attached, unchanged, duplicate, ignored
    incident: str | None
    firing: int = 0  # alerts newly firing
    resolved: int = 0  # alerts newly resolved

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "incident": self.incident,
            "firing": self.firing,
            "resolved": self.resolved,
        }


_SEEN = (
    sa.select(alert_deliveries.c.id, incidents_t.c.key)
    .select_from(
        alert_deliveries.outerjoin(incidents_t, incidents_t.c.id == alert_deliveries.c.incident_id)
    )
    .where(alert_deliveries.c.payload_hash == sa.bindparam("digest"))
)


def seen_in(conn: Connection, digest: str) -> IntakeResult | None:
    """The duplicate result when `digest` was taken, read inside the caller's transaction."""
    row = conn.execute(_SEEN, {"digest": digest}).first()
    return None if row is None else IntakeResult("duplicate", row.key)


def seen_outside(db: Database, conn: Connection, digest: str) -> IntakeResult | None:
    """The same, as one read that takes no write lock (PostgreSQL: autocommit, no BEGIN)."""
    row = db.read_once(conn, _SEEN, {"digest": digest})
    if row is None:
        return None
    remember(db, digest, row.key)
    return IntakeResult("duplicate", row.key)


# Payloads this process has seen committed, per database: a delivery row never changes, so
# a re-delivery can be answered without a query. The database stays the source of truth
# (other processes, restarts); the cache only skips a read.
_CACHE_MAX = 100_000
_seen_cache: dict[tuple[str, str], IntakeResult] = {}


def remember(db: Database, digest: str, incident: str | None) -> None:
    """After `digest` was committed, answer it from memory as a duplicate."""
    if len(_seen_cache) >= _CACHE_MAX:
        _seen_cache.clear()
    _seen_cache[(db.url, digest)] = IntakeResult("duplicate", incident)


def body_key(source: str, body: bytes) -> str:
    """A cache key for the exact bytes of a delivery (the same bytes are the same payload;
    equal payloads in other bytes still meet at `payload_hash`)."""
    return "raw:" + hashlib.sha256(source.encode() + b"\n" + body).hexdigest()


def remember_as(db: Database, key: str, taken: IntakeResult) -> None:
    """After a delivery was taken (committed), answer `key` from memory as its duplicate."""
    remember(db, key, taken.incident)


def remembered(db: Database, digest: str) -> IntakeResult | None:
    """The duplicate result when this process committed this payload before (no I/O)."""
    return _seen_cache.get((db.url, digest))
