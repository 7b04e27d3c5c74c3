"""Alert intake: a delivery opens an incident, or attaches to the open one, exactly once.

    result = receive_alertmanager(db, payload, routing=Routing.from_settings(settings))
    result.outcome, result.incident       # "opened", "INC-4"

A firing group opens an incident, or attaches to the open incident of the same group (or
of an alert with the same fingerprint). The same payload delivered twice changes nothing.
Resolved alerts become timeline events that ask the commander to verify recovery; they
never move or close an incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.core import scrub
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.db import Database
from warroom.core.errors import Conflict
from warroom.core.severity import Severity
from warroom.detect.alerts.dedup import IntakeResult, remember, remembered, seen_in, seen_outside
from warroom.detect.alerts.payloads import (
    FIRING,
    AlertIn,
    FieldMapping,
    Notification,
    parse_alertmanager,
    parse_generic,
    payload_hash,
)
from warroom.detect.alerts.routing import Routing
from warroom.detect.tables import alert_deliveries, alert_groups, alert_states
from warroom.incidents import timeline
from warroom.incidents.tables import incidents as incidents_t

KIND_FIRING = "alert.firing"
KIND_RESOLVED = "alert.resolved"
VERIFY_PROMPT = "alerts resolved: verify recovery before moving to verified"
DEFAULT_ACTOR = "alertmanager"


# --- receiving ----------------------------------------------------------------------------------


def receive_alertmanager(
    db: Database,
    payload: dict[str, Any],
    *,
    routing: Routing | None = None,
    actor: str = DEFAULT_ACTOR,
    digest: str | None = None,
) -> IntakeResult:
    """Take one Alertmanager webhook delivery (`digest`: its payload_hash, if known)."""
    return _take(
        db,
        digest or payload_hash("alertmanager", payload),
        lambda: parse_alertmanager(payload),
        routing=routing or Routing(),
        actor=actor,
    )


def receive_generic(
    db: Database,
    payload: Any,
    *,
    mapping: FieldMapping,
    routing: Routing | None = None,
    actor: str | None = None,
) -> IntakeResult:
    """Take one delivery of a generic JSON monitor through its field mapping."""
    return _take(
        db,
        payload_hash(mapping.source[:40], payload),
        lambda: parse_generic(payload, mapping),
        routing=routing or Routing(),
        actor=actor or mapping.source,
    )


def _take(
    db: Database,
    digest: str,
    parse: Callable[[], Notification],
    *,
    routing: Routing,
    actor: str,
) -> IntakeResult:
    seen = remembered(db, digest)
    if seen is not None:
        return seen
    opened: list[incidents.Incident] = []
    with db.connection() as conn:
        # Re-deliveries and repeat notifications are most of the traffic: those another
        # process took are answered by one read that takes no write lock (PostgreSQL: in
        # autocommit, no BEGIN/COMMIT), before parsing. The write transaction claims it.
        seen = seen_outside(db, conn, digest)
        if seen is not None:
            return seen
        note = parse()
        out = _record(db, conn, note, digest=digest, routing=routing, actor=actor, opened=opened)
    return _committed(db, digest, out, opened, actor)


# --- recording ---------------------------------------------------------------------------------


# Statements built once: the intake hot path should not pay for building SQL each time.
_GROUP = sa.select(alert_groups.c.id, alert_groups.c.incident_id).where(
    alert_groups.c.source == sa.bindparam("source"),
    alert_groups.c.group_key == sa.bindparam("group_key"),
)
_GROUP_LOCKED = _GROUP.with_for_update()
# first sight of a group, or of a payload: INSERT ... ON CONFLICT DO NOTHING. A concurrent
# insert of the same key waits for the other transaction and then inserts nothing, instead
# of failing at the end and running the whole delivery again.
_GROUP_CLAIM = {
    name: insert(alert_groups).on_conflict_do_nothing(index_elements=["source", "group_key"])
    for name, insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}
_GROUP_POINT = (
    alert_groups.update()
    .where(alert_groups.c.id == sa.bindparam("gid"))
    .values(incident_id=sa.bindparam("iid"), updated_at=sa.bindparam("now"))
)
# The incident with its timeline head: read under its row lock, the head is what the new
# events follow (no second read in timeline.append).
_INCIDENT = sa.select(
    incidents_t.c.id,
    incidents_t.c.key,
    incidents_t.c.stage,
    incidents_t.c.last_seq,
    incidents_t.c.last_hash,
).where(incidents_t.c.id == sa.bindparam("iid"))
_INCIDENT_LOCKED = _INCIDENT.with_for_update()
_BY_FINGERPRINT = (
    sa.select(incidents_t.c.id)
    .join(alert_states, alert_states.c.incident_id == incidents_t.c.id)
    .where(
        alert_states.c.fingerprint.in_(sa.bindparam("fps", expanding=True)),
        alert_states.c.status == FIRING,
        incidents_t.c.stage != incidents.Stage.CLOSED.value,
    )
    .order_by(incidents_t.c.id.desc())
    .limit(1)
)
_STATES = sa.select(
    alert_states.c.id, alert_states.c.fingerprint, alert_states.c.starts_at, alert_states.c.status
).where(
    alert_states.c.incident_id == sa.bindparam("iid"),
    alert_states.c.fingerprint.in_(sa.bindparam("fps", expanding=True)),
)
_STATE_INSERT = alert_states.insert()
_STATE_UPDATE = (
    alert_states.update()
    .where(alert_states.c.id == sa.bindparam("sid"))
    .values(
        status=sa.bindparam("new_status"),
        ends_at=sa.bindparam("new_ends_at"),
        updated_at=sa.bindparam("now"),
    )
)
_STILL_FIRING = (
    sa.select(sa.func.count())
    .select_from(alert_states)
    .where(alert_states.c.incident_id == sa.bindparam("iid"), alert_states.c.status == FIRING)
)
_DELIVERY_CLAIM = {
    name: insert(alert_deliveries)
    .on_conflict_do_nothing(index_elements=["payload_hash"])
    .returning(alert_deliveries.c.id)
    for name, insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}
_DELIVERY_DONE = (
    alert_deliveries.update()
    .where(alert_deliveries.c.id == sa.bindparam("did"))
    .values(outcome=sa.bindparam("outcome"), incident_id=sa.bindparam("iid"))
)


# --- drafting: what an opened incident says ---------------------------------------------------


def _title(note: Notification, labels: dict[str, str], service: str) -> str:
    ann = note.common_annotations or note.alerts[0].annotations
    text = ann.get("summary") or ann.get("title")
    if not text:
        name = labels.get("alertname") or "alert"
        text = f"{name} firing" + (f" on {service}" if service else "")
    return text[:200]


def _description(note: Notification, firing: list[AlertIn]) -> str:
    lines = [f"Opened by {note.source} alert group {note.group_key}."]
    for a in firing[:20]:
        desc = a.annotations.get("description") or a.annotations.get("summary") or ""
        lines.append(f"- {a.name} {_fmt_labels(a.labels)}" + (f": {desc}" if desc else ""))
    if note.external_url:
        lines.append(f"Source: {note.external_url}")
    return "\n".join(lines)[:20_000]


def _fmt_labels(labels: dict[str, str]) -> str:
    shown = {k: v for k, v in labels.items() if k != "alertname"}
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) + "}"


def _alert_brief(a: AlertIn) -> dict[str, Any]:
    return {
        "name": a.name,
        "fingerprint": a.fingerprint,
        "labels": a.labels,
        "summary": a.annotations.get("summary", ""),
        "starts_at": a.starts_at.isoformat(),
        "ends_at": a.ends_at.isoformat() if a.ends_at else None,
    }


@dataclass(frozen=True)
class _Plan:
    """What a delivery would open, worked out before the write lock is taken."""

    firing: list[AlertIn]
    fingerprints: list[str]  # of all its alerts, sorted
    title: str = ""
    description: str = ""
    severity: Severity | None = None
    impact_scope: str = ""
    started_at: datetime | None = None


def _plan(note: Notification, routing: Routing, now: datetime) -> _Plan:
    firing = [a for a in note.alerts if a.status == FIRING]
    fingerprints = sorted({a.fingerprint for a in note.alerts})
    if not firing:
        return _Plan(firing, fingerprints)
    labels = {**firing[0].labels, **note.common_labels}
    service, severity = routing.route(labels)
    started = min(a.starts_at for a in firing)
    return _Plan(
        firing,
        fingerprints,
        title=_title(note, labels, service),
        description=_description(note, firing),
        severity=severity,
        impact_scope=f"service {service}" if service else "",
        started_at=min(started, now + timedelta(minutes=4)),
    )


def _group(db: Database, conn: Connection, note: Notification, now: datetime) -> tuple[int, Any]:
    """The group's (id, incident_id), locked for this transaction (created on first sight)."""
    params = {"source": note.source, "group_key": note.group_key}
    # SQLite holds the database lock; PostgreSQL locks the group's row
    select = _GROUP if db.is_sqlite else _GROUP_LOCKED
    row = conn.execute(select, params).first()
    if row is None:
        # first sight; a concurrent first delivery's row makes this insert nothing (after
        # that transaction ends), and the select below then locks that row
        conn.execute(
            _GROUP_CLAIM[db.dialect],
            {**params, "incident_id": None, "created_at": now, "updated_at": now},
        )
        row = conn.execute(select, params).one()
    return int(row.id), row.incident_id


def _open_incident(db: Database, conn: Connection, incident_id: int | None) -> Any:
    """The incident, locked, with its timeline head; None when there is none or it is closed."""
    if incident_id is None:
        return None
    row = conn.execute(_INCIDENT if db.is_sqlite else _INCIDENT_LOCKED, {"iid": incident_id})
    found = row.first()
    if found is None or found.stage == incidents.Stage.CLOSED.value:
        return None
    return found


def _incident_by_fingerprint(db: Database, conn: Connection, fingerprints: list[str]) -> Any:
    if not fingerprints:
        return None
    found = conn.execute(_BY_FINGERPRINT, {"fps": fingerprints}).first()
    return None if found is None else _open_incident(db, conn, int(found.id))


def _record(
    db: Database,
    conn: Connection,
    note: Notification,
    *,
    digest: str,
    routing: Routing,
    actor: str,
    opened: list[incidents.Incident],
) -> IntakeResult:
    """The write transaction of a delivery, on `conn`, retried on conflicts.

    It starts by claiming the payload (its unique payload_hash): a concurrent delivery of the
    same payload waits there for this one, and then answers "duplicate" without doing the
    work again (it used to fail at its final insert and run once more).
    """

    def run() -> IntakeResult:
        now = utcnow()
        plan = _plan(note, routing, now)  # pure work, before the lock
        opened.clear()  # a retried attempt starts over
        with db.transaction(on=conn):
            delivery_id = conn.execute(
                _DELIVERY_CLAIM[db.dialect],
                {
                    "payload_hash": digest,
                    "source": note.source,
                    "group_key": note.group_key,
                    "status": note.status,
                    "alerts": len(note.alerts),
                    "outcome": "pending",
                    "incident_id": None,
                    "received_at": now,
                },
            ).scalar()
            if delivery_id is None:
                seen = seen_in(conn, digest)
                if seen is None:  # pragma: no cover - delivery rows are never deleted
                    raise Conflict(f"delivery {digest[:12]} was claimed but is not recorded")
                return seen
            result = _apply(db, conn, note, plan, now=now, actor=actor, opened=opened)
            conn.execute(
                _DELIVERY_DONE,
                {"did": delivery_id, "outcome": result[0].outcome, "iid": result[1]},
            )
            return result[0]

    out: IntakeResult = db.retrying(run)
    return out


def _committed(
    db: Database, digest: str, out: IntakeResult, opened: list[incidents.Incident], actor: str
) -> IntakeResult:
    remember(db, digest, out.incident)
    for incident in opened:  # committed: run what other areas hook on a declaration
        incidents.announce_declared(db, incident, actor)
    return out


def _apply(
    db: Database,
    conn: Connection,
    note: Notification,
    plan: _Plan,
    *,
    now: datetime,
    actor: str,
    opened: list[incidents.Incident],
) -> tuple[IntakeResult, int | None]:
    group_id, group_incident = _group(db, conn, note, now)
    inc = _open_incident(db, conn, group_incident)
    if inc is None:
        inc = _incident_by_fingerprint(db, conn, [a.fingerprint for a in plan.firing])
    outcome = "attached"
    known: dict[tuple[str, datetime], Any] = {}
    if inc is None:
        if not plan.firing:
            return IntakeResult("ignored", None), None
        declared = incidents.declare(
            db,
            title=plan.title,
            actor=actor,
            description=plan.description,
            started_at=plan.started_at,
            severity=plan.severity,
            impact_scope=plan.impact_scope,
            reporter=actor,
            in_transaction=conn,
        )
        inc_id, inc_key = declared.id, declared.key
        head = timeline.Head(declared.last_seq, declared.last_hash)
        opened.append(declared)
        outcome = "opened"  # and a new incident has no alert states to read
    else:
        inc_id, inc_key = int(inc.id), str(inc.key)
        head = timeline.Head(int(inc.last_seq), str(inc.last_hash))
        known = {
            (r.fingerprint, ensure_utc(r.starts_at)): r
            for r in conn.execute(_STATES, {"iid": inc_id, "fps": plan.fingerprints})
        }
    if group_incident != inc_id:
        conn.execute(_GROUP_POINT, {"gid": group_id, "iid": inc_id, "now": now})
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    newly_firing: list[AlertIn] = []
    newly_resolved: list[AlertIn] = []
    handled: set[tuple[str, datetime]] = set()
    for a in note.alerts:
        if (a.fingerprint, a.starts_at) in handled:  # a payload listing an alert twice
            continue
        handled.add((a.fingerprint, a.starts_at))
        row = known.get((a.fingerprint, a.starts_at))
        if row is None:
            inserts.append(
                {
                    "incident_id": inc_id,
                    "fingerprint": a.fingerprint,
                    "starts_at": a.starts_at,
                    "ends_at": a.ends_at,
                    "status": a.status,
                    "name": a.name[:200],
                    "labels": a.labels,
                    # a secret in an alert's text never reaches the store (nor the timeline,
                    # which is scrubbed on its own)
                    "annotations": scrub.scrub_data(a.annotations)[0],
                    "first_seen": now,
                    "updated_at": now,
                }
            )
        elif row.status != a.status:
            updates.append(
                {"sid": row.id, "new_status": a.status, "new_ends_at": a.ends_at, "now": now}
            )
        else:
            continue
        (newly_firing if a.status == FIRING else newly_resolved).append(a)
    if inserts:
        conn.execute(_STATE_INSERT, inserts)
    if updates:
        conn.execute(_STATE_UPDATE, updates)
    if not newly_firing and not newly_resolved:
        return IntakeResult("unchanged" if outcome == "attached" else outcome, inc_key), inc_id
    items: list[tuple[str, dict[str, Any] | None]] = []
    if newly_firing:
        names = sorted({a.name for a in newly_firing})
        items.append(
            (
                KIND_FIRING,
                {
                    "summary": f"{len(newly_firing)} alert(s) firing: {', '.join(names)[:300]}",
                    "source": note.source,
                    "group_key": note.group_key,
                    "alerts": [_alert_brief(a) for a in newly_firing[:50]],
                },
            )
        )
    if newly_resolved:
        still = conn.execute(_STILL_FIRING, {"iid": inc_id}).scalar_one()
        names = sorted({a.name for a in newly_resolved})
        summary = (
            f"{VERIFY_PROMPT} ({', '.join(names)[:300]})"
            if still == 0
            else f"{len(newly_resolved)} alert(s) resolved ({', '.join(names)[:300]}); "
            f"{still} still firing"
        )
        items.append(
            (
                KIND_RESOLVED,
                {
                    "summary": summary,
                    "source": note.source,
                    "group_key": note.group_key,
                    "still_firing": int(still),
                    "alerts": [_alert_brief(a) for a in newly_resolved[:50]],
                },
            )
        )
    # the incident row is locked (just inserted, or read FOR UPDATE above): `head` is current
    timeline.append_after(conn, inc_id, head, actor=actor, items=items)
    return IntakeResult(outcome, inc_key, len(newly_firing), len(newly_resolved)), inc_id
