"""The ledger of incident heads: one hash chain across all incidents.

Each incident's timeline is a hash chain whose head is on the incident's row; removing a
whole incident (its row and every event) or rolling one back (its last events and its head)
leaves a chain that still holds. The ledger closes that gap: every transaction that moves an
incident's head appends, just before it commits, one entry per incident it moved:

    seq, incident_id, incident_key, incident_seq, incident_hash, at, prev_hash, hash
    hash = sha256(prev_hash, seq, incident_key, incident_seq, incident_hash, at)

`check(conn)` (run by `warroom audit` without a key) finds a broken ledger chain, an incident
the ledger knows that is gone, an incident whose head is behind (or not) what the ledger
last recorded, and an incident the ledger never saw.

Entries are appended last in the transaction (`Database.transaction` runs the commit hooks
after the caller's work), under a lock taken after every incident row lock, so the ledger
never makes two writers wait for each other in opposite orders.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core import db as dbmod
from warroom.core.clock import utcnow
from warroom.incidents.tables import incident_ledger, incidents

_PENDING = "warroom_ledger"


def entry_hash(
    prev_hash: str, seq: int, key: str, incident_seq: int, incident_hash: str, at: datetime
) -> str:
    body = json.dumps(
        [prev_hash, seq, key, incident_seq, incident_hash, at.isoformat()],
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def note(conn: Connection, incident_id: int, seq: int, digest: str) -> None:
    """Remember that this transaction moved an incident's head (appended at commit)."""
    conn.info.setdefault(_PENDING, {})[incident_id] = (seq, digest)


def _flush(conn: Connection) -> None:
    pending: dict[int, tuple[int, str]] = conn.info.pop(_PENDING, {})
    if not pending:
        return
    if conn.dialect.name == "postgresql":
        # One writer at a time appends (SQLite holds its whole-database lock already).
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.ledger'))")
        )
    last = conn.execute(
        sa.select(incident_ledger.c.seq, incident_ledger.c.hash)
        .order_by(incident_ledger.c.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (int(last.seq), str(last.hash)) if last is not None else (0, "")
    keys = dict(
        conn.execute(
            sa.select(incidents.c.id, incidents.c.key).where(incidents.c.id.in_(list(pending)))
        ).all()
    )
    now = utcnow()
    rows = []
    for incident_id in sorted(pending):
        incident_seq, incident_hash = pending[incident_id]
        seq += 1
        key = str(keys.get(incident_id, ""))
        digest = entry_hash(prev, seq, key, incident_seq, incident_hash, now)
        rows.append(
            {
                "seq": seq,
                "incident_id": incident_id,
                "incident_key": key,
                "incident_seq": incident_seq,
                "incident_hash": incident_hash,
                "at": now,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    conn.execute(incident_ledger.insert(), rows)


def _forget(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


dbmod.on_commit(_flush, _forget)


def rebuild(conn: Connection) -> int:
    """Start the ledger again from the incidents as they are (after a restore to a point in
    time, which rewinds incidents on purpose); returns the entries written."""
    conn.execute(incident_ledger.delete())
    for row in conn.execute(
        sa.select(incidents.c.id, incidents.c.last_seq, incidents.c.last_hash).order_by(
            incidents.c.id
        )
    ).all():
        note(conn, int(row.id), int(row.last_seq), str(row.last_hash))
    count = len(conn.info.get(_PENDING, {}))
    _flush(conn)
    return count


def check(conn: Connection) -> list[str]:
    """What is wrong between the ledger and the incidents; empty when they agree."""
    problems: list[str] = []
    prev, expected = "", 1
    latest: dict[int, Any] = {}
    for e in conn.execute(sa.select(incident_ledger).order_by(incident_ledger.c.seq)):
        if e.seq != expected:
            problems.append(f"ledger entry {expected} is missing (found {e.seq} next)")
        if e.prev_hash != prev:
            problems.append(f"ledger entry {e.seq} does not follow the one before it")
        at = e.at if isinstance(e.at, datetime) else datetime.fromisoformat(str(e.at))
        digest = entry_hash(e.prev_hash, e.seq, e.incident_key, e.incident_seq, e.incident_hash, at)
        if digest != e.hash:
            problems.append(f"ledger entry {e.seq} ({e.incident_key}) was changed")
        prev, expected = e.hash, e.seq + 1
        latest[int(e.incident_id)] = e
    rows = {
        int(r.id): r
        for r in conn.execute(
            sa.select(incidents.c.id, incidents.c.key, incidents.c.last_seq, incidents.c.last_hash)
        )
    }
    for incident_id, e in sorted(latest.items()):
        row = rows.get(incident_id)
        if row is None:
            problems.append(
                f"{e.incident_key} is gone: the ledger recorded it at event {e.incident_seq} "
                "(the incident was deleted from the database)"
            )
        elif (int(row.last_seq), str(row.last_hash)) != (e.incident_seq, e.incident_hash):
            problems.append(
                f"{row.key} ends at event {row.last_seq}, the ledger last recorded event "
                f"{e.incident_seq} (rolled back, or changed outside warroom)"
            )
    for incident_id, row in sorted(rows.items()):
        if incident_id not in latest:
            problems.append(f"{row.key} is not in the ledger (inserted outside warroom)")
    return problems
