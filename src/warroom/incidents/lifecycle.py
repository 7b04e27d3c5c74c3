"""The lifecycle: declare an incident, move it through the stages, reopen it, record on it.

    inc = declare(db, title="Checkout returns 500", actor="ana", severity="P1")
    move(db, inc.key, to=Stage.CONTAINED, actor="ana")

Every function here changes the `incidents` row and appends the timeline event that records
the change in one transaction, so the row is always what the events say. Roles and tasks have
their own modules (`roles`, `tasks`); reading is in `store`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from warroom.core import registry
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, InvalidTransition
from warroom.core.severity import Factors, Risk, Severity
from warroom.incidents import incident_types, roles, store, timeline
from warroom.incidents.announce import announce_event, run_hooks
from warroom.incidents.model import (
    MAX_NAME,
    MAX_REASON,
    MAX_TITLE,
    Incident,
    Role,
    Stage,
    clean_text,
)
from warroom.incidents.store import get_id  # noqa: F401 - other areas import it from here
from warroom.incidents.tables import counters, events, incidents
from warroom.incidents.timeline import Kind

CLOCK_SKEW = timedelta(minutes=5)


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


def _reason(value: str | None, *, required: bool = False, key: str | None = None) -> str:
    hint = Hint("give_reason", "say why (it is recorded on the timeline)", incident=key)
    return clean_text("reason", value, limit=MAX_REASON, required=required, hint=hint)


# --- counters -------------------------------------------------------------------------------

# One statement takes the next value and holds the counter's row lock until commit (on
# PostgreSQL a concurrent UPDATE waits, then adds to the committed value): gapless.
_BUMP = (
    counters.update()
    .where(counters.c.name == sa.bindparam("counter"))
    .values(value=counters.c.value + 1)
    .returning(counters.c.value)
)


def next_number(db: Database, conn: Connection, name: str) -> int:
    """The next value of a named counter (INC, AI, ...), gapless, inside the transaction."""
    value = conn.execute(_BUMP, {"counter": name}).scalar()
    if value is not None:
        return int(value)
    try:
        with conn.begin_nested():
            conn.execute(counters.insert().values(name=name, value=1))
        return 1
    except sa.exc.IntegrityError:
        return int(conn.execute(_BUMP, {"counter": name}).scalar_one())


# --- declare --------------------------------------------------------------------------------

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
    type: str | None = None,
    private: bool | None = None,
    settings: Settings | None = None,
) -> Incident:
    """Declare an incident: the intake questions of the method, then the first event.

    `type`: one of `incident_types` (`security` when only `security` is said); it sets the
    required fields and whether the incident is `private` unless that is said.
    `in_transaction`: declare inside the caller's open transaction (alert intake opens an
    incident and records the alerts atomically); the caller then owns retries.
    """
    now = utcnow()
    kind = incident_types.resolve(type or ("security" if security else None), settings)
    security = bool(security or kind.security)
    private = kind.private if private is None else bool(private)
    fields = {
        "title": clean_text("title", title, limit=MAX_TITLE, required=True),
        "description": clean_text("description", description),
        "impact_scope": clean_text("impact_scope", impact_scope),
        "business_impact": clean_text("business_impact", business_impact),
        "error_messages": clean_text("error_messages", error_messages),
        "suspected_changes": clean_text("suspected_changes", suspected_changes),
        "reporter": clean_text("reporter", reporter or actor, limit=MAX_NAME),
        "reporter_contact": clean_text("reporter_contact", reporter_contact, limit=MAX_NAME),
    }
    for name in kind.required:
        if not fields.get(name):
            raise InvalidInput(
                f"a {kind.label.lower()} incident needs {name.replace('_', ' ')}", field=name
            )
    actor = clean_text("actor", actor, limit=MAX_NAME, required=True)
    sev = Severity.parse(severity) if severity not in (None, "") else None
    fac = factors if isinstance(factors, Factors) else Factors.from_dict(factors)
    if security and fac.security is Risk.NONE:  # the intake flag is the rubric's factor too
        fac = dataclasses.replace(fac, security=Risk.POSSIBLE)
    start = _started(started_at, now)
    commander = clean_text("commander", commander, limit=MAX_NAME) or None

    def run() -> Incident:
        outer = in_transaction
        with contextlib.nullcontext(outer) if outer is not None else db.transaction() as conn:
            number = next_number(db, conn, "incident")
            key = f"INC-{number}"
            declared = {
                **fields,
                "key": key,
                "severity": sev.value if sev else None,
                "factors": fac.to_dict(),
                "started_at": start.isoformat(),
                "security": bool(security),
                "drill": bool(drill),
                "type": kind.name,
                "private": private,
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
                    "type": kind.name,
                    "private": private,
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
                roles.assign_in(db, conn, key, role=Role.COMMANDER, person=commander, actor=actor)
                return store.get_on(conn, key)
            return store.from_row(row)  # a new incident has no roles or tasks yet

    if in_transaction is not None:
        return run()
    result: Incident = db.retrying(run)
    announce_declared(db, result, actor)
    return result


def announce_declared(db: Database, incident: Incident, actor: str) -> None:
    """Run every area's after-declare hooks (recurrence, paging) for a committed incident."""
    run_hooks(registry.active().after_declare(), db, incident, actor)


# --- stages ---------------------------------------------------------------------------------


def _move_to(key: str, stage: Stage, text: str) -> Hint:
    return Hint("move", text, incident=key, params={"to": stage.value})


def _check_move(key: str, current: Stage, target: Stage) -> None:
    """Refuse a move the lifecycle forbids, saying what to do instead."""
    if target == current:
        raise InvalidTransition(
            f"{key} is already {current.value}",
            field="to",
            hint=Hint("show_incident", "see where it stands", incident=key),
        )
    if current is Stage.CLOSED:
        raise InvalidTransition(
            f"{key} is closed: reopen it first",
            field="to",
            hint=Hint("reopen", "reopen it", incident=key),
        )
    if target.index < current.index:
        if current.reopenable:
            raise InvalidTransition(
                f"cannot move {key} back from {current.value} to {target.value}: stages only "
                "go forward; if the problem is back, reopen it",
                field="to",
                hint=Hint("reopen", "reopen it", incident=key),
            )
        following = list(Stage)[current.index + 1]
        raise InvalidTransition(
            f"cannot move {key} back from {current.value} to {target.value}: stages only "
            "go forward",
            field="to",
            hint=_move_to(key, following, f"move it on to {following.value}"),
        )
    if target is Stage.VERIFIED and current.index < Stage.FIXED.index:
        raise InvalidTransition(
            f"cannot move {key} from {current.value} to verified: fix it first",
            field="to",
            hint=_move_to(key, Stage.FIXED, "move it to fixed once the fix is out"),
        )
    if target is Stage.CLOSED and current.index < Stage.FIXED.index:
        first = Stage.CONTAINED if current is Stage.DETECTED else Stage.FIXED
        verb = "contain it" if first is Stage.CONTAINED else "fix it"
        raise InvalidTransition(
            f"cannot close {key} from {current.value}: {verb} first",
            field="to",
            hint=_move_to(key, first, f"move it to {first.value}"),
        )


def _verification_ok(conn: Connection, row: Row[Any], reason: str | None) -> bool:
    """A recovered verdict recorded since the fix, or an explicit override reason."""
    if reason:
        return True
    since = row.fixed_at or row.detected_at
    verdicts = conn.execute(
        sa.select(events.c.data, events.c.at).where(
            events.c.incident_id == row.id,
            events.c.kind == Kind.VERIFICATION.value,
        )
    ).all()
    return any(v.data.get("verdict") == "recovered" and v.at >= since for v in verdicts)


def move(
    db: Database, key: str | int, *, to: Stage | str, actor: str, reason: str | None = None
) -> Incident:
    """Move an incident forward to `to`; stages passed over are recorded as skipped.

    `verified` needs a recovered verdict (see `contain.verify`) or a `reason` to override it.
    """
    target = Stage.parse(to)
    reason = _reason(reason) or None

    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        current = Stage(row.stage)
        k = row.key
        _check_move(k, current, target)
        if target is Stage.VERIFIED and not _verification_ok(conn, row, reason):
            raise InvalidTransition(
                f"cannot mark {k} verified without evidence: verify recovery from the numbers "
                "until the verdict is recovered, or give a reason to override it (recorded on "
                "the timeline)",
                field="reason",
                hint=Hint("verify", "verify recovery from the numbers", incident=k),
            )
        for gate in registry.active().stage_gates(target.value):
            gate(db, conn, row, reason, actor=actor)  # what a gate records is the actor's
        now = utcnow()
        skipped = [s for s in list(Stage)[current.index + 1 : target.index]]
        items: list[tuple[str, dict[str, Any] | None]] = [
            (Kind.STAGE_SKIPPED, {"stage": s.value}) for s in skipped
        ]
        if target is Stage.VERIFIED and reason:
            items.append((Kind.VERIFICATION_OVERRIDDEN, {"reason": reason}))
        items.append(
            (
                Kind.STAGE_CHANGED,
                {
                    "from": current.value,
                    "to": target.value,
                    "reason": reason,
                    "skipped": [s.value for s in skipped],
                },
            )
        )
        timeline.append_after(
            conn, row.id, timeline.head(conn, row.id), actor=actor, items=items, at=now
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
        return store.get_on(conn, k)


def reopen(db: Database, key: str | int, *, actor: str, reason: str) -> Incident:
    """Reopen a fixed, verified or closed incident back to detected (its own event)."""
    reason = _reason(reason, required=True, key=f"INC-{store.parse_key(key)}")
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        current = Stage(row.stage)
        if not current.reopenable:
            following = list(Stage)[current.index + 1]
            raise InvalidTransition(
                f"{row.key} is still {current.value}, not resolved: there is nothing to "
                "reopen; carry on with the next stage",
                field="stage",
                hint=_move_to(row.key, following, f"move it on to {following.value}"),
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
        return store.get_on(conn, row.key)


# --- severity, fields, notes, events ---------------------------------------------------------


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
    reason = _reason(reason) or None
    fac = (
        None
        if factors is None
        else (factors if isinstance(factors, Factors) else Factors.from_dict(factors))
    )
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        if row.severity == sev.value and fac is None:
            raise InvalidTransition(f"{row.key} is already {sev.value}", field="severity")
        data: dict[str, Any] = {"from": row.severity, "to": sev.value, "reason": reason}
        values: dict[str, Any] = {"severity": sev.value}
        if fac is not None:
            data["factors"] = fac.to_dict()
            values["factors"] = fac.to_dict()
        timeline.append(conn, row.id, actor=actor, kind=Kind.SEVERITY_CHANGED, data=data)
        conn.execute(incidents.update().where(incidents.c.id == row.id).values(**values))
        result = store.get_on(conn, row.key)
    announce_event(db, result.key, Kind.SEVERITY_CHANGED, data, actor)
    return result


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
            clean[name] = clean_text("title", value, limit=MAX_TITLE, required=True)
        else:
            clean[name] = clean_text(name, value)
    if not clean:
        raise InvalidInput("nothing to change: give at least one field", field="fields")
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        diff = {k: v for k, v in clean.items() if getattr(row, k) != v}
        if diff:
            timeline.append(
                conn, row.id, actor=actor, kind=Kind.FIELDS_UPDATED, data={"fields": diff}
            )
            conn.execute(incidents.update().where(incidents.c.id == row.id).values(**diff))
        return store.get_on(conn, row.key)


def set_private(db: Database, key: str | int, *, private: bool, actor: str) -> Incident:
    """Make an incident private (only its participants and admins see it) or not again."""
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        if bool(row.private) != private:
            timeline.append(
                conn,
                row.id,
                actor=actor,
                kind=Kind.FIELDS_UPDATED,
                data={"fields": {"private": private}},
            )
            conn.execute(incidents.update().where(incidents.c.id == row.id).values(private=private))
        return store.get_on(conn, row.key)


TYPE_CHANGED = "incident.type_changed"  # announced to other areas (security starts clocks)


def set_type(
    db: Database, key: str | int, *, type: str, actor: str, settings: Settings | None = None
) -> Incident:
    """Change what kind of incident this is (`incident_types`); a security type sets the
    security flag too. Other areas hear of it after the commit (`TYPE_CHANGED`, with the new
    type's clocks): the security area starts those clocks from now."""
    kind = incident_types.resolve(type, settings)
    now = utcnow()
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        before = str(row.type)
        if before != kind.name:
            diff: dict[str, Any] = {"type": kind.name}
            if kind.security and not row.security:
                diff["security"] = True
            timeline.append(
                conn, row.id, actor=actor, kind=Kind.FIELDS_UPDATED, data={"fields": diff}
            )
            conn.execute(incidents.update().where(incidents.c.id == row.id).values(**diff))
        result = store.get_on(conn, row.key)
    if before != kind.name:
        data = {"from": before, "to": kind.name, "clocks": list(kind.clocks), "at": now}
        announce_event(db, result.key, TYPE_CHANGED, data, actor)
    return result


def add_note(db: Database, key: str | int, *, text: str, actor: str) -> int:
    """Write a free-text note on the timeline; returns its seq."""
    text = timeline.check_note(text)
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        return timeline.append(conn, row.id, actor=actor, kind=Kind.NOTE, data={"text": text})


def record(db: Database, key: str | int, *, kind: str, actor: str, data: dict[str, Any]) -> int:
    """Append an event of another module's kind (runbook step, status update, ...)."""
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        return timeline.append(conn, row.id, actor=actor, kind=kind, data=data)
