"""Verify an incident's hash chain and that its rows match its timeline.

    report = audit.audit(db, "INC-1")
    report.ok, report.first_broken_seq, report.problems

Each event stores `prev_hash` and `hash = event_hash(prev_hash, seq, at, actor, kind, data)`,
and `incidents.last_hash` is the head. Nothing in warroom updates an event (triggers refuse
it), so a mismatch means someone edited the database directly. Checks, in order:

- seq runs 1, 2, 3 ... without gaps,
- each event's `prev_hash` is the previous event's `hash` ("" for the first),
- each event's `hash` is what its content hashes to,
- the incident's `last_seq`/`last_hash` are the last event's (the head),
- the incident, roles and tasks rows equal the replay of the timeline (`projection`);
- (every incident) the ledger of incident heads holds and agrees with every incident's head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import ledger
from warroom.incidents.store import get_id
from warroom.incidents.tables import incident_ledger, incidents
from warroom.incidents.timeline import event_hash
from warroom.trust import projection


@dataclass(frozen=True)
class Problem:
    """One thing wrong: `what` is gap, link, hash, head or row."""

    what: str
    message: str
    seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "seq": self.seq, "message": self.message}


@dataclass
class Report:
    key: str
    events: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_broken_seq(self) -> int | None:
        """The first seq whose hash or link does not match (None when the chain holds)."""
        seqs = [p.seq for p in self.problems if p.seq is not None]
        return min(seqs) if seqs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.key,
            "events": self.events,
            "ok": self.ok,
            "first_broken_seq": self.first_broken_seq,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_chain(items: Sequence[Any], *, last_seq: int, last_hash: str) -> list[Problem]:
    """Problems in a chain of event rows (seq order) and its head; empty when intact."""
    problems: list[Problem] = []
    prev = ""
    expected_seq = 1
    for e in items:
        if e.seq != expected_seq:
            problems.append(
                Problem("gap", f"expected event seq {expected_seq}, found {e.seq}", e.seq)
            )
        if e.prev_hash != prev:
            problems.append(
                Problem(
                    "link",
                    f"event {e.seq} ({e.kind}) points to previous hash {e.prev_hash[:12]}, "
                    f"but event {e.seq - 1} hashes to {prev[:12] or 'nothing'}",
                    e.seq,
                )
            )
        digest = event_hash(e.prev_hash, e.seq, e.at, e.actor, e.kind, e.data)
        if digest != e.hash:
            problems.append(
                Problem(
                    "hash",
                    f"event {e.seq} ({e.kind} by {e.actor}) was changed after it was written: "
                    f"its content hashes to {digest[:12]}, the stored hash is {e.hash[:12]}",
                    e.seq,
                )
            )
        prev = e.hash
        expected_seq = e.seq + 1
    last = items[-1] if items else None
    if last is None or last.seq != last_seq or last.hash != last_hash:
        have = f"seq {last.seq} hash {last.hash[:12]}" if last else "no events"
        problems.append(
            Problem(
                "head",
                f"the incident row says its last event is seq {last_seq} hash "
                f"{last_hash[:12]}, the timeline ends at {have} (events removed or added?)",
            )
        )
    return problems


def check_incident(conn: Connection, incident_id: int, *, rows: bool = True) -> Report:
    """Audit one incident inside an open connection."""
    inc = conn.execute(
        sa.select(incidents.c.key, incidents.c.last_seq, incidents.c.last_hash).where(
            incidents.c.id == incident_id
        )
    ).one()
    items = projection.load_events(conn, incident_id)
    report = Report(inc.key, len(items))
    report.problems = verify_chain(items, last_seq=inc.last_seq, last_hash=inc.last_hash)
    if rows and items:
        try:
            diffs = projection.check(conn, incident_id)
        except InvalidInput as exc:
            diffs = [exc.message]
        report.problems += [Problem("row", f"row differs from the timeline: {d}") for d in diffs]
    return report


def audit(db: Database, key: str | int, *, rows: bool = True) -> Report:
    """Audit one incident: its hash chain, head and (with `rows`) row-vs-timeline."""
    with db.read() as conn:
        return check_incident(conn, get_id(conn, key), rows=rows)


LEDGER = "ledger"


def audit_all(db: Database, *, rows: bool = True, ledger_too: bool = False) -> list[Report]:
    """Audit every incident, in number order; with `ledger_too`, then the ledger of incident
    heads (a report keyed "ledger": a deleted or rolled-back incident shows there)."""
    with db.read() as conn:
        ids = conn.execute(sa.select(incidents.c.id).order_by(incidents.c.number)).scalars()
        reports = [check_incident(conn, i, rows=rows) for i in list(ids)]
        entries = conn.execute(sa.select(sa.func.count()).select_from(incident_ledger)).scalar()
        found = ledger.check(conn) if ledger_too else []
    if ledger_too:
        problems = [Problem("ledger", p) for p in found]
        reports.append(Report(LEDGER, int(entries or 0), problems))
    return reports
