"""Paging: declaring an incident, raising its severity or marking the services it affects
pages the policy routed for its services; no acknowledgement in time pages the next level.

The hooks (`page_on_declare`, `page_on_event`) only record a trigger after the change has
committed; the worker job (`tick`) does the rest, so every step runs from the database:

1. each trigger is taken once: the incident's services (marked in the catalog, or routed
   from its alerts' labels with the `[detect]` routes) and its severity choose policies, and
   a pager opens for each (a policy pages an incident once);
2. each pager whose time has come pages its next level: whoever is on call for the level's
   schedules, or its people, through their contact methods for the route's urgency, each
   page with a one-time signed acknowledgement link, queued in the notification outbox;
   nobody reachable at a level -> the next one; past the last level -> again from the first
   `repeat` times, then the pager gives up.

Exactly once with several workers: a step locks the incident's row first and re-reads the
pager under the lock, so a second worker finds it already moved on; messages are outbox rows
under unique keys, delivered once by the comms job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.comms import notify
from warroom.comms.tables import incident_services, services
from warroom.core.clock import duration, utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.severity import Severity
from warroom.detect.alerts.routing import Routing
from warroom.detect.tables import alert_states
from warroom.incidents import timeline
from warroom.incidents.tables import incidents as incidents_t
from warroom.oncall import links
from warroom.oncall.config import OncallConfig
from warroom.oncall.model import Level, Policy, Urgency
from warroom.oncall.pager import PAGER, RESOLVED, Kind, Status, page_text
from warroom.oncall.people import people_on
from warroom.oncall.policies import policies_on, routes_on
from warroom.oncall.schedules import schedules_on
from warroom.oncall.tables import (
    oncall_pagers,
    oncall_pages,
    oncall_policies,
    oncall_triggers,
)

BATCH = 100


# --- hooks: record what may page ---------------------------------------------------------------


def _trigger(db: Database, incident_id: int, reason: str, actor: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            oncall_triggers.insert().values(
                incident_id=incident_id, reason=reason, actor=actor, created_at=utcnow()
            )
        )


def page_on_declare(db: Database, incident: incidents.Incident, actor: str) -> None:
    """After a declaration (CLI, web, API, alert intake): page if its routes say so. Drills
    page nobody."""
    if incident.severity is not None and not incident.drill:
        _trigger(db, incident.id, "declared", actor)


def page_on_event(db: Database, key: str, kind: str, data: dict[str, Any], actor: str) -> None:
    """A severity raised, or services marked affected: page what the routes now call for."""
    if kind == timeline.Kind.SEVERITY_CHANGED:
        before, after = data.get("from"), data.get("to")
        if not after or (before and Severity.parse(after).rank >= Severity.parse(before).rank):
            return
        reason = "severity"
    elif kind == "services.affected":
        reason = "services"
    else:
        return
    inc = incidents.get(db, key)
    if inc.severity is not None and not inc.drill:
        _trigger(db, inc.id, reason, actor)


# --- the worker: open pagers, step them ---------------------------------------------------------


@dataclass
class Stats:
    opened: int = 0
    pages: int = 0
    escalations: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"pagers_opened": self.opened, "pages": self.pages, "escalations": self.escalations}


def tick(db: Database, settings: Settings, worker: str) -> dict[str, Any]:
    """The worker job: open the pagers triggers call for, then page every level that is due."""
    return {
        "paging": run_once(
            db, config=OncallConfig.from_settings(settings), routing=Routing.from_settings(settings)
        ).to_dict()
    }


def run_once(db: Database, *, config: OncallConfig, routing: Routing) -> Stats:
    stats = Stats()
    now = utcnow()
    open_pagers(db, routing=routing, now=now, stats=stats)
    step_due(db, config=config, now=now, stats=stats)
    return stats


def services_of(conn: Connection, incident_id: int, routing: Routing) -> set[str]:
    """The incident's services: marked in the catalog, and routed from its alerts' labels."""
    names = set(
        conn.execute(
            sa.select(services.c.name)
            .select_from(
                incident_services.join(services, services.c.id == incident_services.c.service_id)
            )
            .where(incident_services.c.incident_id == incident_id)
        ).scalars()
    )
    for labels in conn.execute(
        sa.select(alert_states.c.labels).where(alert_states.c.incident_id == incident_id)
    ).scalars():
        service, _ = routing.route(dict(labels or {}))
        if service:
            names.add(service)
    return names


def open_pagers(db: Database, *, routing: Routing, now: datetime, stats: Stats) -> None:
    with db.read() as conn:
        pending = conn.execute(
            sa.select(oncall_triggers.c.id, incidents_t.c.key)
            .select_from(
                oncall_triggers.join(incidents_t, incidents_t.c.id == oncall_triggers.c.incident_id)
            )
            .where(oncall_triggers.c.handled_at.is_(None))
            .order_by(oncall_triggers.c.id)
            .limit(BATCH)
        ).all()
    for trigger_id, key in pending:
        stats.opened += db.retrying(partial(_open, db, trigger_id, key, routing, now))


def _open(db: Database, trigger_id: int, key: str, routing: Routing, now: datetime) -> int:
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)  # every worker locks the incident first
        taken = conn.execute(
            oncall_triggers.update()
            .where(oncall_triggers.c.id == trigger_id, oncall_triggers.c.handled_at.is_(None))
            .values(handled_at=now)
        )
        if not taken.rowcount or row.severity is None or row.drill:
            return 0
        if incidents.Stage(row.stage) in RESOLVED:
            return 0
        opened = 0
        for service, policy_id, urgency in routes_on(
            conn, services_of(conn, row.id, routing), Severity(row.severity)
        ):
            exists = conn.execute(
                sa.select(oncall_pagers.c.id).where(
                    oncall_pagers.c.incident_id == row.id, oncall_pagers.c.policy_id == policy_id
                )
            ).first()
            if exists is not None:
                continue
            conn.execute(
                oncall_pagers.insert().values(
                    incident_id=row.id,
                    policy_id=policy_id,
                    service=service,
                    urgency=urgency.value,
                    status=Status.ACTIVE.value,
                    level=-1,  # nothing paged yet: the step pages level 1
                    round=0,
                    next_at=now,
                    created_at=now,
                )
            )
            opened += 1
        return opened


def step_due(db: Database, *, config: OncallConfig, now: datetime, stats: Stats) -> None:
    with db.read() as conn:
        due = conn.execute(
            sa.select(oncall_pagers.c.id, incidents_t.c.key)
            .select_from(
                oncall_pagers.join(incidents_t, incidents_t.c.id == oncall_pagers.c.incident_id)
            )
            .where(oncall_pagers.c.status == Status.ACTIVE.value, oncall_pagers.c.next_at <= now)
            .order_by(oncall_pagers.c.next_at, oncall_pagers.c.id)
            .limit(BATCH)
        ).all()
    if not due:
        return
    secret = links.secret(db)  # before any write transaction (it may create the secret)
    for pager_id, key in due:
        db.retrying(partial(_step, db, pager_id, key, config, secret, now, stats))


def _step(
    db: Database,
    pager_id: int,
    key: str,
    config: OncallConfig,
    secret: bytes,
    now: datetime,
    stats: Stats,
) -> None:
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        p = conn.execute(sa.select(oncall_pagers).where(oncall_pagers.c.id == pager_id)).first()
        if p is None or p.status != Status.ACTIVE.value or p.next_at > now:
            return  # another worker took this step, or someone acknowledged meanwhile
        policy_row = conn.execute(
            sa.select(oncall_policies.c.name).where(oncall_policies.c.id == p.policy_id)
        ).scalar_one()
        policy = policies_on(conn, {policy_row})[policy_row]
        items: list[tuple[str, dict[str, Any] | None]] = []
        values: dict[str, Any]
        if incidents.Stage(row.stage) in RESOLVED:
            values = {"status": Status.STOPPED.value}
            items.append(
                (
                    Kind.STOPPED,
                    {"policy": policy.name, "summary": f"Paging stopped: {key} is resolved"},
                )
            )
        else:
            values = _escalate(conn, row, p, policy, config, secret, now, items, stats)
        conn.execute(oncall_pagers.update().where(oncall_pagers.c.id == p.id).values(**values))
        timeline.append_after(
            conn, row.id, timeline.head(conn, row.id), actor=PAGER, items=items, at=now
        )


def _escalate(
    conn: Connection,
    row: Any,
    p: Any,
    policy: Policy,
    config: OncallConfig,
    secret: bytes,
    now: datetime,
    items: list[tuple[str, dict[str, Any] | None]],
    stats: Stats,
) -> dict[str, Any]:
    """Page the next level that reaches someone; the pager's new values."""
    level, rnd = p.level, p.round
    if level >= 0:  # the level paged last did not acknowledge in time
        timeout = policy.levels[level].timeout
        items.append(
            (
                Kind.ESCALATED,
                {
                    "policy": policy.name,
                    "from_level": level + 1,
                    "round": rnd + 1,
                    "summary": f"No acknowledgement within {duration(timeout)} at level "
                    f"{level + 1} of {policy.name}: escalating",
                },
            )
        )
        stats.escalations += 1
    urgency = Urgency(p.urgency)
    for _ in range(len(policy.levels) * (policy.repeat + 1)):
        level, rnd = (level + 1, rnd) if level + 1 < len(policy.levels) else (0, rnd + 1)
        if p.level < 0 and rnd > 0:
            break  # the first step went once around without reaching anyone
        if rnd > policy.repeat:
            break
        reached, missed = _targets(conn, policy.levels[level], urgency, now)
        where = f"level {level + 1} of {policy.name}" + (f", round {rnd + 1}" if rnd else "")
        if not reached:
            items.append(
                (
                    Kind.SKIPPED,
                    {
                        "policy": policy.name,
                        "level": level + 1,
                        "round": rnd + 1,
                        "reasons": missed,
                        "summary": f"Nobody to page at {where}: {'; '.join(missed)}",
                    },
                )
            )
            continue
        deadline = _send(conn, row, p, policy, level, rnd, reached, where, config, secret, now)
        items.append(
            (
                Kind.SENT,
                {
                    "policy": policy.name,
                    "service": p.service,
                    "urgency": urgency.value,
                    "level": level + 1,
                    "round": rnd + 1,
                    "people": [person.name for person, _ in reached],
                    "unreachable": missed,
                    "summary": f"Paged {', '.join(person.name for person, _ in reached)} "
                    f"({where}, {urgency.value} urgency)",
                },
            )
        )
        stats.pages += len(reached)
        return {"level": level, "round": rnd, "next_at": deadline}
    items.append(
        (
            Kind.EXHAUSTED,
            {
                "policy": policy.name,
                "summary": f"Nobody acknowledged: every level of {policy.name} was paged"
                + (f" {policy.repeat + 1} times" if policy.repeat else ""),
            },
        )
    )
    return {"status": Status.EXHAUSTED.value}


def _targets(
    conn: Connection, level: Level, urgency: Urgency, now: datetime
) -> tuple[list[tuple[Any, str]], list[str]]:
    """(person, how they are on this level) to page, and why others could not be."""
    wanted: dict[str, str] = {}
    missed: list[str] = []
    scheds = schedules_on(conn, {t.name for t in level.targets if t.kind == "schedule"})
    for t in level.targets:
        if t.kind == "person":
            wanted.setdefault(t.name, "named in the policy")
            continue
        schedule = scheds.get(t.name)
        who = schedule.who_at(now).person if schedule else None
        if who is None:
            missed.append(f"nobody is on call for schedule {t.name}")
        else:
            wanted.setdefault(who, f"on call for {t.name}")
    known = people_on(conn, set(wanted))
    reached = []
    for name, how in wanted.items():
        person = known.get(name)
        if person is None:
            missed.append(f"{name} is not registered for paging")
        elif not person.reach(urgency):
            missed.append(f"{name} has no contact method for {urgency.value} urgency")
        else:
            reached.append((person, how))
    return reached, missed


def _send(
    conn: Connection,
    row: Any,
    p: Any,
    policy: Policy,
    level: int,
    rnd: int,
    reached: list[tuple[Any, str]],
    where: str,
    config: OncallConfig,
    secret: bytes,
    now: datetime,
) -> datetime:
    """One page per person, one outbox row per contact method; the level's deadline."""
    urgency = Urgency(p.urgency)
    last = now
    for person, how in reached:
        nonce, nonce_hash = links.new_nonce()
        deliver_at = person.deliver_at(urgency, now)
        last = max(last, deliver_at)
        page_id = conn.execute(
            oncall_pages.insert()
            .values(
                pager_id=p.id,
                incident_id=row.id,
                person=person.name,
                level=level,
                round=rnd,
                nonce_hash=nonce_hash,
                sent_at=now,
                deliver_at=deliver_at,
            )
            .returning(oncall_pages.c.id)
        ).scalar_one()
        token = links.ack_token(secret, row.key, page_id=page_id, nonce=nonce)
        title, body = page_text(
            key=row.key,
            severity=row.severity or "--",
            title=row.title,
            service=p.service,
            where=f"{where}; {how}",
            link=f"{config.url}/ack/{row.key}/{token}",
            desk=config.url,
        )
        for i, contact in enumerate(person.reach(urgency)):
            notify.enqueue(
                conn,
                key=f"page:{page_id}:{i}",
                incident_id=row.id,
                channel=notify.Channel(
                    name=f"page @{person.name}", url=contact.url, audiences=("escalation",)
                ),
                title=title,
                body=body,
                not_before=deliver_at,
            )
    return last + policy.levels[level].timeout
