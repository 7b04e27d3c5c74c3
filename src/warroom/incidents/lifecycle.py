"""Incidents: declare, move through the stages, command, assign, record.

    inc = declare(db, title="Checkout returns 500", actor="ana", severity="P1")
    move(db, inc.key, to=Stage.CONTAINED, actor="ana")

Every function here changes the `incidents` row and appends the timeline event that records
the change in one transaction, so the row is always what the events say.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from warroom.core import registry
from warroom.core.choices import Choice
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound
from warroom.core.severity import Factors, Severity
from warroom.incidents import timeline
from warroom.incidents.tables import counters, incidents, roles, tasks
from warroom.incidents.timeline import Kind

MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_NAME = 200
CLOCK_SKEW = timedelta(minutes=5)
log = logging.getLogger("warroom")


class Stage(Choice):
    DETECTED = "detected"
    CONTAINED = "contained"
    ROOT_CAUSED = "root_caused"
    FIXED = "fixed"
    VERIFIED = "verified"
    CLOSED = "closed"

    @property
    def index(self) -> int:  # type: ignore[override]  # position in the lifecycle, not str.index
        return list(Stage).index(self)

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"root_cause": "root_caused", "rca": "root_caused", "resolved": "fixed"}


STAGE_LABELS = {
    Stage.DETECTED: "Detect",
    Stage.CONTAINED: "Contain",
    Stage.ROOT_CAUSED: "Root cause",
    Stage.FIXED: "Fix",
    Stage.VERIFIED: "Verify",
    Stage.CLOSED: "Handover",
}

NEXT_STEP = {
    Stage.DETECTED: "Stop the bleeding: contain the impact (rollback, flag off, rate-limit).",
    Stage.CONTAINED: "Find the root cause: what changed, what is saturated, what fails first.",
    Stage.ROOT_CAUSED: "Ship a durable fix for the root cause.",
    Stage.FIXED: "Verify recovery from the numbers before calling it done.",
    Stage.VERIFIED: "Hand over: close, write the postmortem, track the action items.",
    Stage.CLOSED: "Closed. Follow the action items to closure.",
}


class Role(Choice):
    COMMANDER = "commander"
    OPS_LEAD = "ops_lead"
    COMMS_LEAD = "comms_lead"
    SCRIBE = "scribe"
    LIAISON = "liaison"
    PARTICIPANT = "participant"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"ic": "commander", "incident_commander": "commander"}


class TaskStatus(Choice):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @classmethod
    def field_name(cls) -> str:
        return "status"


@dataclass
class Task:
    number: int
    title: str
    assignee: str | None
    status: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "id": f"T{self.number}",
            "title": self.title,
            "assignee": self.assignee,
            "status": self.status,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass
class Incident:
    id: int
    key: str
    title: str
    description: str
    severity: Severity | None
    factors: Factors
    stage: Stage
    started_at: datetime
    detected_at: datetime
    stage_times: dict[str, datetime | None]
    skipped_stages: list[str]
    impact_scope: str
    business_impact: str
    error_messages: str
    suspected_changes: str
    reporter: str
    reporter_contact: str
    security: bool
    drill: bool
    commander: str | None
    commander_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_seq: int
    last_hash: str = ""  # with last_seq, the head of the timeline's hash chain
    roles: dict[str, str] = field(default_factory=dict)
    participants: list[str] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.stage is not Stage.CLOSED

    @property
    def next_stage(self) -> Stage | None:
        if self.stage is Stage.CLOSED:
            return None
        return list(Stage)[self.stage.index + 1]

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.stage]

    @property
    def warnings(self) -> list[str]:
        """What the desk nags about on every list and show."""
        out: list[str] = []
        if self.is_open and self.severity in (Severity.P0, Severity.P1) and not self.commander:
            out.append(
                f"NO COMMANDER on a {self.severity.value}: name one now "
                f"(warroom role {self.key} commander NAME)"
            )
        if self.is_open and self.severity is None:
            out.append(f"no severity yet: set one (warroom severity {self.key} P2)")
        return out

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or utcnow()) - self.started_at

    def priority_key(self) -> tuple[Any, ...]:
        """Open first; then severity, the six factors, then the oldest first."""
        sev_rank = self.severity.rank if self.severity else 5
        return (
            0 if self.is_open else 1,
            sev_rank,
            self.factors.urgency_key(),
            self.started_at,
            self.id,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "severity": self.severity.value if self.severity else None,
            "factors": self.factors.to_dict(),
            "stage": self.stage.value,
            "next_stage": self.next_stage.value if self.next_stage else None,
            "next_step": self.next_step,
            "started_at": self.started_at.isoformat(),
            "detected_at": self.detected_at.isoformat(),
            "stage_times": {k: (v.isoformat() if v else None) for k, v in self.stage_times.items()},
            "skipped_stages": self.skipped_stages,
            "impact_scope": self.impact_scope,
            "business_impact": self.business_impact,
            "error_messages": self.error_messages,
            "suspected_changes": self.suspected_changes,
            "reporter": self.reporter,
            "reporter_contact": self.reporter_contact,
            "security": self.security,
            "drill": self.drill,
            "commander": self.commander,
            "roles": self.roles,
            "participants": self.participants,
            "tasks": [t.to_dict() for t in self.tasks],
            "warnings": self.warnings,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "events": self.last_seq,
        }


# --- validation -----------------------------------------------------------------------------

_KEY_RE = re.compile(r"^\s*(?:INC-?)?(\d+)\s*$", re.IGNORECASE)


def parse_key(key: str | int) -> int:
    """`INC-7`, `inc-7`, `7` -> 7; anything else is refused."""
    m = _KEY_RE.match(str(key))
    if not m:
        raise InvalidInput(f"{key!r} is not an incident key: use the form INC-7", field="key")
    return int(m.group(1))


def _text(name: str, value: str | None, *, limit: int = MAX_TEXT, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"{name.replace('_', ' ')} must not be empty", field=name)
    if len(value) > limit:
        raise InvalidInput(
            f"{name.replace('_', ' ')} is {len(value):,} characters; the limit is {limit:,} "
            "(attach long text as a file instead)",
            field=name,
        )
    return value


def _started(value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    value = ensure_utc(value)
    if value > now + CLOCK_SKEW:
        raise InvalidInput(
            f"start time {value.isoformat()} is in the future (now is {now.isoformat()}): "
            "give the time the impact began, in UTC or with an offset",
            field="started_at",
        )
    return value


# --- reading --------------------------------------------------------------------------------


def get_id(conn: Connection, key: str | int) -> int:
    number = parse_key(key)
    row = conn.execute(sa.select(incidents.c.id).where(incidents.c.number == number)).first()
    if row is None:
        raise NotFound(
            f"incident INC-{number} does not exist (warroom list shows the incidents)",
            field="key",
        )
    return int(row.id)


def _lock(db: Database, conn: Connection, key: str | int) -> Row[Any]:
    """The incident row, locked for this transaction (PostgreSQL FOR UPDATE)."""
    number = parse_key(key)
    row = conn.execute(
        db.lock_row(sa.select(incidents).where(incidents.c.number == number))
    ).first()
    if row is None:
        raise NotFound(
            f"incident INC-{number} does not exist (warroom list shows the incidents)",
            field="key",
        )
    return row


def _from_row(row: Row[Any]) -> Incident:
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
        commander=row.commander,
        commander_at=row.commander_at,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_seq=row.last_seq,
        last_hash=row.last_hash,
    )


def _load_details(conn: Connection, items: list[Incident]) -> None:
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
        return _get(conn, key)


def _get(conn: Connection, key: str | int) -> Incident:
    number = parse_key(key)
    row = conn.execute(sa.select(incidents).where(incidents.c.number == number)).first()
    if row is None:
        raise NotFound(
            f"incident INC-{number} does not exist (warroom list shows the incidents)",
            field="key",
        )
    inc = _from_row(row)
    _load_details(conn, [inc])
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
            stmt = stmt.where(incidents.c.stage != Stage.CLOSED.value)
        if closed_only:
            stmt = stmt.where(incidents.c.stage == Stage.CLOSED.value)
        if not include_drills:
            stmt = stmt.where(incidents.c.drill.is_(False))
        items = [_from_row(r) for r in conn.execute(stmt)]
        _load_details(conn, items)
    return sorted(items, key=Incident.priority_key)


# --- changing -------------------------------------------------------------------------------


# One statement takes the next value and holds the counter's row lock until commit (on
# PostgreSQL a concurrent UPDATE waits, then adds to the committed value): gapless.
_BUMP = (
    counters.update()
    .where(counters.c.name == sa.bindparam("counter"))
    .values(value=counters.c.value + 1)
    .returning(counters.c.value)
)


def _next_number(db: Database, conn: Connection, name: str) -> int:
    value = conn.execute(_BUMP, {"counter": name}).scalar()
    if value is not None:
        return int(value)
    try:
        with conn.begin_nested():
            conn.execute(counters.insert().values(name=name, value=1))
        return 1
    except sa.exc.IntegrityError:
        return int(conn.execute(_BUMP, {"counter": name}).scalar_one())


def next_number(db: Database, conn: Connection, name: str) -> int:
    """The next value of a named counter (INC, AI, ...), gapless, inside the transaction."""
    return _next_number(db, conn, name)


_DECLARE = incidents.insert().returning(*incidents.c)


def declare(
    db: Database,
    *,
    title: str,
    actor: str,
    description: str = "",
    started_at: datetime | None = None,
    severity: Severity | str | None = None,
    factors: Factors | dict[str, Any] | None = None,
    impact_scope: str = "",
    business_impact: str = "",
    error_messages: str = "",
    suspected_changes: str = "",
    reporter: str | None = None,
    reporter_contact: str = "",
    security: bool = False,
    drill: bool = False,
    commander: str | None = None,
    in_transaction: Connection | None = None,
) -> Incident:
    """Declare an incident: the intake questions of the method, then the first event.

    `in_transaction`: declare inside the caller's open transaction (alert intake opens an
    incident and records the alerts atomically); the caller then owns retries.
    """
    now = utcnow()
    fields = {
        "title": _text("title", title, limit=MAX_TITLE, required=True),
        "description": _text("description", description),
        "impact_scope": _text("impact_scope", impact_scope),
        "business_impact": _text("business_impact", business_impact),
        "error_messages": _text("error_messages", error_messages),
        "suspected_changes": _text("suspected_changes", suspected_changes),
        "reporter": _text("reporter", reporter or actor, limit=MAX_NAME),
        "reporter_contact": _text("reporter_contact", reporter_contact, limit=MAX_NAME),
    }
    actor = _text("actor", actor, limit=MAX_NAME, required=True)
    sev = Severity.parse(severity) if severity not in (None, "") else None
    fac = factors if isinstance(factors, Factors) else Factors.from_dict(factors)
    start = _started(started_at, now)
    commander = _text("commander", commander, limit=MAX_NAME) or None

    def run() -> Incident:
        outer = in_transaction
        with contextlib.nullcontext(outer) if outer is not None else db.transaction() as conn:
            number = _next_number(db, conn, "incident")
            key = f"INC-{number}"
            declared = {
                **fields,
                "key": key,
                "severity": sev.value if sev else None,
                "factors": fac.to_dict(),
                "started_at": start.isoformat(),
                "security": bool(security),
                "drill": bool(drill),
            }
            # The first event's hash does not depend on the row: the row is inserted with
            # its head already set, then the event (two statements, no read back).
            first, head = timeline.chain(
                timeline.Head(), actor=actor, at=now, items=[(Kind.DECLARED, declared)]
            )
            row = conn.execute(
                _DECLARE,
                {
                    "number": number,
                    "key": key,
                    "severity": sev.value if sev else None,
                    "factors": fac.to_dict(),
                    "stage": Stage.DETECTED.value,
                    "started_at": start,
                    "detected_at": now,
                    "skipped_stages": [],
                    "security": bool(security),
                    "drill": bool(drill),
                    "commander": None,
                    "created_by": actor,
                    "created_at": now,
                    "updated_at": now,
                    "last_seq": head.seq,
                    "last_hash": head.hash,
                    **fields,
                },
            ).one()
            timeline.insert_events(conn, row.id, first)
            if commander:
                _assign(db, conn, key, role=Role.COMMANDER, person=commander, actor=actor)
                return _get(conn, key)
            return _from_row(row)  # a new incident has no roles or tasks yet

    if in_transaction is not None:
        return run()
    result: Incident = db.retrying(run)
    announce_declared(db, result, actor)
    return result


def _verification_ok(conn: Connection, row: Row[Any], reason: str | None) -> bool:
    """A recovered verdict recorded since the fix, or an explicit override reason."""
    if reason:
        return True
    from warroom.incidents.tables import events

    since = row.fixed_at or row.detected_at
    verdicts = conn.execute(
        sa.select(events.c.data, events.c.at).where(
            events.c.incident_id == row.id,
            events.c.kind == Kind.VERIFICATION.value,
        )
    ).all()
    return any(v.data.get("verdict") == "recovered" and v.at >= since for v in verdicts)


def run_hooks(hooks: list[Any], *args: Any) -> None:
    """Run after-commit hooks; an error in one is logged, not raised."""
    for hook in list(hooks):
        try:
            hook(*args)
        except Exception:  # noqa: BLE001 - the change is committed; a hook must not undo it
            log.exception("hook %r failed", hook)


def announce_declared(db: Database, incident: Incident, actor: str) -> None:
    """Run every area's after-declare hooks (recurrence, paging) for a committed incident."""
    run_hooks(registry.active().after_declare(), db, incident, actor)


def move(
    db: Database, key: str | int, *, to: Stage | str, actor: str, reason: str | None = None
) -> Incident:
    """Move an incident forward to `to`; stages passed over are recorded as skipped.

    `verified` needs a recovered verdict (warroom verify) or a `reason` to override it.
    """
    target = Stage.parse(to)
    reason = _text("reason", reason, limit=2000) or None

    with db.transaction() as conn:
        row = _lock(db, conn, key)
        current = Stage(row.stage)
        k = row.key
        if target == current:
            raise InvalidTransition(f"{k} is already {current.value}")
        if current is Stage.CLOSED:
            raise InvalidTransition(
                f"{k} is closed: reopen it first (warroom stage {k} --reopen --reason '...')"
            )
        if target.index < current.index:
            raise InvalidTransition(
                f"cannot move {k} back from {current.value} to {target.value}: stages only go "
                f"forward; if the problem is back, reopen it (warroom stage {k} --reopen "
                "--reason '...')"
            )
        if target is Stage.VERIFIED and current.index < Stage.FIXED.index:
            raise InvalidTransition(
                f"cannot move {k} from {current.value} to verified: fix it first "
                f"(warroom stage {k} fixed)"
            )
        if target is Stage.CLOSED and current.index < Stage.FIXED.index:
            first = "contain it" if current is Stage.DETECTED else "fix it"
            raise InvalidTransition(
                f"cannot close {k} from {current.value}: {first} first "
                f"(warroom stage {k} {'contained' if current is Stage.DETECTED else 'fixed'})"
            )
        if target is Stage.VERIFIED and not _verification_ok(conn, row, reason):
            raise InvalidTransition(
                f"cannot mark {k} verified without evidence: run `warroom verify {k} --log "
                f"FILE` until it says recovered, or give --reason to override (recorded on "
                "the timeline)"
            )
        for gate in registry.active().stage_gates(target.value):
            gate(db, conn, row, reason)
        now = utcnow()
        skipped = [s for s in list(Stage)[current.index + 1 : target.index]]
        for s in skipped:
            timeline.append(
                conn,
                row.id,
                actor=actor,
                kind=Kind.STAGE_SKIPPED,
                at=now,
                data={"stage": s.value},
            )
        if target is Stage.VERIFIED and reason:
            timeline.append(
                conn,
                row.id,
                actor=actor,
                kind=Kind.VERIFICATION_OVERRIDDEN,
                at=now,
                data={"reason": reason},
            )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=Kind.STAGE_CHANGED,
            at=now,
            data={
                "from": current.value,
                "to": target.value,
                "reason": reason,
                "skipped": [s.value for s in skipped],
            },
        )
        values: dict[str, Any] = {
            "stage": target.value,
            f"{target.value}_at": now,
            "skipped_stages": sorted(
                set(row.skipped_stages or []) | {s.value for s in skipped},
                key=lambda v: Stage(v).index,
            ),
        }
        conn.execute(incidents.update().where(incidents.c.id == row.id).values(**values))
        return _get(conn, k)


def reopen(db: Database, key: str | int, *, actor: str, reason: str) -> Incident:
    """Reopen a fixed, verified or closed incident back to detected (its own event)."""
    reason = _text("reason", reason, limit=2000, required=True)
    with db.transaction() as conn:
        row = _lock(db, conn, key)
        current = Stage(row.stage)
        if current.index < Stage.FIXED.index:
            raise InvalidTransition(
                f"{row.key} is still {current.value}, not resolved: there is nothing to "
                "reopen; carry on with the next stage"
            )
        now = utcnow()
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=Kind.REOPENED,
            at=now,
            data={"from": current.value, "reason": reason},
        )
        conn.execute(
            incidents.update()
            .where(incidents.c.id == row.id)
            .values(
                stage=Stage.DETECTED.value,
                contained_at=None,
                root_caused_at=None,
                fixed_at=None,
                verified_at=None,
                closed_at=None,
                skipped_stages=[],
            )
        )
        return _get(conn, row.key)


def set_severity(
    db: Database,
    key: str | int,
    *,
    severity: Severity | str,
    actor: str,
    reason: str | None = None,
    factors: Factors | dict[str, Any] | None = None,
) -> Incident:
    """Change the severity (and optionally the recorded factors)."""
    sev = Severity.parse(severity)
    reason = _text("reason", reason, limit=2000) or None
    fac = (
        None
        if factors is None
        else (factors if isinstance(factors, Factors) else Factors.from_dict(factors))
    )
    with db.transaction() as conn:
        row = _lock(db, conn, key)
        if row.severity == sev.value and fac is None:
            raise InvalidTransition(f"{row.key} is already {sev.value}")
        data: dict[str, Any] = {"from": row.severity, "to": sev.value, "reason": reason}
        values: dict[str, Any] = {"severity": sev.value}
        if fac is not None:
            data["factors"] = fac.to_dict()
            values["factors"] = fac.to_dict()
        timeline.append(conn, row.id, actor=actor, kind=Kind.SEVERITY_CHANGED, data=data)
        conn.execute(incidents.update().where(incidents.c.id == row.id).values(**values))
        return _get(conn, row.key)


def _assign(
    db: Database, conn: Connection, key: str | int, *, role: Role, person: str, actor: str
) -> None:
    row = _lock(db, conn, key)
    now = utcnow()
    if role is Role.PARTICIPANT:
        exists = conn.execute(
            sa.select(roles.c.id).where(
                roles.c.incident_id == row.id, roles.c.role == role.value, roles.c.person == person
            )
        ).first()
        if exists:
            raise InvalidTransition(f"{person} is already a participant in {row.key}")
    else:
        holder = conn.execute(
            sa.select(roles.c.id, roles.c.person).where(
                roles.c.incident_id == row.id, roles.c.role == role.value
            )
        ).first()
        if holder is not None and holder.person == person:
            raise InvalidTransition(f"{person} is already {role.value} of {row.key}")
        if holder is not None:
            conn.execute(roles.delete().where(roles.c.id == holder.id))
        if role is Role.COMMANDER:
            timeline.append(
                conn,
                row.id,
                actor=actor,
                kind=(Kind.COMMANDER_HANDOFF if holder is not None else Kind.ROLE_ASSIGNED),
                at=now,
                data={
                    "role": role.value,
                    "person": person,
                    "from": holder.person if holder else None,
                    "to": person,
                },
            )
            values: dict[str, Any] = {"commander": person}
            if row.commander_at is None:
                values["commander_at"] = now
            conn.execute(incidents.update().where(incidents.c.id == row.id).values(**values))
            conn.execute(
                roles.insert().values(
                    incident_id=row.id,
                    role=role.value,
                    person=person,
                    assigned_at=now,
                    assigned_by=actor,
                )
            )
            return
    conn.execute(
        roles.insert().values(
            incident_id=row.id,
            role=role.value,
            person=person,
            assigned_at=now,
            assigned_by=actor,
        )
    )
    timeline.append(
        conn,
        row.id,
        actor=actor,
        kind=Kind.ROLE_ASSIGNED,
        at=now,
        data={"role": role.value, "person": person},
    )


def assign_role(
    db: Database, key: str | int, *, role: Role | str, person: str, actor: str
) -> Incident:
    """Give a role to a person; a new commander is a hand-off event (one at a time)."""
    r = Role.parse(role)
    person = _text("person", person, limit=MAX_NAME, required=True)
    with db.transaction() as conn:
        _assign(db, conn, key, role=r, person=person, actor=actor)
        return _get(conn, key)


def remove_role(
    db: Database, key: str | int, *, role: Role | str, person: str | None = None, actor: str
) -> Incident:
    """Take a role back. The commander cannot be removed, only handed off."""
    r = Role.parse(role)
    with db.transaction() as conn:
        row = _lock(db, conn, key)
        if r is Role.COMMANDER:
            raise InvalidTransition(
                f"{row.key} must always have a commander once named: hand off instead "
                f"(warroom role {row.key} commander NEW_PERSON)"
            )
        stmt = sa.select(roles.c.id, roles.c.person).where(
            roles.c.incident_id == row.id, roles.c.role == r.value
        )
        if person:
            stmt = stmt.where(roles.c.person == person)
        holder = conn.execute(stmt).first()
        if holder is None:
            raise NotFound(
                f"nobody {'named ' + person + ' ' if person else ''}is {r.value} of {row.key}"
            )
        conn.execute(roles.delete().where(roles.c.id == holder.id))
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=Kind.ROLE_REMOVED,
            data={"role": r.value, "person": holder.person},
        )
        return _get(conn, row.key)


def add_task(
    db: Database, key: str | int, *, title: str, actor: str, assignee: str | None = None
) -> Task:
    """Add a task (e.g. "inspect DB logs") to the incident."""
    title = _text("title", title, limit=MAX_TITLE, required=True)
    assignee = _text("assignee", assignee, limit=MAX_NAME) or None
    with db.transaction() as conn:
        row = _lock(db, conn, key)
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
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=Kind.TASK_ADDED,
            at=now,
            data={"number": number, "title": title, "assignee": assignee},
        )
        return next(t for t in _get(conn, row.key).tasks if t.number == number)


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
    n = _task_number(number)
    new_status = TaskStatus.parse(status) if status else None
    assignee = _text("assignee", assignee, limit=MAX_NAME) or None
    if new_status is None and assignee is None:
        raise InvalidInput("give a new --status or --assignee for the task", field="status")
    with db.transaction() as conn:
        row = _lock(db, conn, key)
        task = conn.execute(
            sa.select(tasks).where(tasks.c.incident_id == row.id, tasks.c.number == n)
        ).first()
        if task is None:
            raise NotFound(f"{row.key} has no task T{n} (warroom show {row.key} lists them)")
        changes: dict[str, Any] = {}
        if new_status is not None and new_status.value != task.status:
            changes["status"] = new_status.value
        if assignee is not None and assignee != task.assignee:
            changes["assignee"] = assignee
        if not changes:
            raise InvalidTransition(f"task T{n} of {row.key} already has those values")
        now = utcnow()
        conn.execute(tasks.update().where(tasks.c.id == task.id).values(updated_at=now, **changes))
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=Kind.TASK_UPDATED,
            at=now,
            data={"number": n, "title": task.title, "changes": changes},
        )
        return next(t for t in _get(conn, row.key).tasks if t.number == n)


def _task_number(value: int | str) -> int:
    text = str(value).strip().upper().lstrip("T")
    if not text.isdigit():
        raise InvalidInput(f"{value!r} is not a task number: use T1 or 1", field="task")
    return int(text)


def add_note(db: Database, key: str | int, *, text: str, actor: str) -> int:
    """Write a free-text note on the timeline; returns its seq."""
    text = timeline.check_note(text)
    with db.transaction() as conn:
        row = _lock(db, conn, key)
        return timeline.append(conn, row.id, actor=actor, kind=Kind.NOTE, data={"text": text})


def record(db: Database, key: str | int, *, kind: str, actor: str, data: dict[str, Any]) -> int:
    """Append an event of another module's kind (runbook step, status update, ...)."""
    with db.transaction() as conn:
        row = _lock(db, conn, key)
        return timeline.append(conn, row.id, actor=actor, kind=kind, data=data)


def lock(db: Database, conn: Connection, key: str | int) -> Row[Any]:
    """Lock the incident row inside a caller's transaction (for other domain modules)."""
    return _lock(db, conn, key)


UPDATABLE = (
    "title",
    "description",
    "impact_scope",
    "business_impact",
    "error_messages",
    "suspected_changes",
    "reporter_contact",
)


def update_fields(db: Database, key: str | int, *, actor: str, **changes: Any) -> Incident:
    """Edit intake fields (title, impact, ...); each change is on the timeline."""
    unknown = set(changes) - set(UPDATABLE) - {"security"}
    if unknown:
        raise InvalidInput(
            f"cannot edit {', '.join(sorted(unknown))}: editable fields are "
            f"{', '.join(UPDATABLE)}, security",
            field=sorted(unknown)[0],
        )
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            continue
        if name == "security":
            clean[name] = bool(value)
        elif name == "title":
            clean[name] = _text("title", value, limit=MAX_TITLE, required=True)
        else:
            clean[name] = _text(name, value)
    if not clean:
        raise InvalidInput("nothing to change: give at least one field")
    with db.transaction() as conn:
        row = _lock(db, conn, key)
        diff = {k: v for k, v in clean.items() if getattr(row, k) != v}
        if diff:
            timeline.append(
                conn, row.id, actor=actor, kind=Kind.FIELDS_UPDATED, data={"fields": diff}
            )
            conn.execute(incidents.update().where(incidents.c.id == row.id).values(**diff))
        return _get(conn, row.key)
