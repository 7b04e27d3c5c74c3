"""Escalation policies and the paging routes that attach them to catalog services.

save_policy(db, Policy.from_dict({"name": "payments", "levels": [
    {"schedule": "payments-l1", "timeout": "10m"}, {"schedule": "payments-l2"}]}))
set_route(db, Route.from_dict({"service": "checkout", "severities": ["P0", "P1"],
                               "policy": "payments"}))
route_for(db, "checkout", "P1")   # (Policy, Urgency.HIGH) or None
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.comms.tables import services
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Hint, NotFound
from warroom.core.severity import Severity
from warroom.oncall.model import Policy, Route, Urgency
from warroom.oncall.schedules import check_people, missing_schedule
from warroom.oncall.tables import oncall_policies, oncall_routes, oncall_schedules, save_by_name


def missing_policy(name: str) -> NotFound:
    return NotFound(
        f"no escalation policy named {name}",
        field="policy",
        hint=Hint("show_oncall", "see the policies"),
    )


def _from_row(r: Any) -> Policy:
    return Policy.from_dict(
        {"name": r.name, "description": r.description, "repeat": r.repeat, "levels": r.levels}
    )


def policies_on(conn: Connection, names: set[str] | None = None) -> dict[str, Policy]:
    stmt = sa.select(oncall_policies).order_by(oncall_policies.c.name)
    if names is not None:
        stmt = stmt.where(oncall_policies.c.name.in_(sorted(names)))
    return {r.name: _from_row(r) for r in conn.execute(stmt)}


def list_policies(db: Database) -> list[Policy]:
    with db.read() as conn:
        return list(policies_on(conn).values())


def save_in(
    conn: Connection,
    policy: Policy,
    *,
    known_schedules: Collection[str] = (),
    known_people: Collection[str] = (),
) -> None:
    """Add or replace a policy inside the caller's transaction, after checking that every
    schedule and person it pages exists."""
    wanted = {t.name for lv in policy.levels for t in lv.targets if t.kind == "schedule"}
    have = {
        r.name
        for r in conn.execute(
            sa.select(oncall_schedules.c.name).where(oncall_schedules.c.name.in_(sorted(wanted)))
        )
    }
    for name in sorted(wanted - have - set(known_schedules)):
        raise missing_schedule(name)
    people = {t.name for lv in policy.levels for t in lv.targets if t.kind == "person"}
    check_people(conn, people, known=known_people)
    values = {
        "description": policy.description,
        "repeat": policy.repeat,
        "levels": [lv.to_dict() for lv in policy.levels],
        "updated_at": utcnow(),
    }
    save_by_name(conn, oncall_policies, policy.name, values)


# --- routes: service + severity -> policy -------------------------------------------------------


def set_route_in(conn: Connection, route: Route) -> None:
    """Page `route.policy` for the service at those severities (replacing what they paged)."""
    if (
        conn.execute(sa.select(services.c.id).where(services.c.name == route.service)).first()
        is None
    ):
        raise NotFound(
            f"no service named {route.service} in the catalog: add it first",
            field="service",
            hint=Hint("add_service", "add it", params={"name": route.service}),
        )
    policy = conn.execute(
        sa.select(oncall_policies.c.id).where(oncall_policies.c.name == route.policy)
    ).first()
    if policy is None:
        raise missing_policy(route.policy)
    for sev in route.severities:
        conn.execute(
            oncall_routes.delete().where(
                oncall_routes.c.service == route.service, oncall_routes.c.severity == sev.value
            )
        )
        conn.execute(
            oncall_routes.insert().values(
                service=route.service,
                severity=sev.value,
                policy_id=policy.id,
                urgency=route.urgency.value,
            )
        )


def list_routes(db: Database) -> list[Route]:
    """Every paging route, one per service, policy and urgency (severities grouped)."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(oncall_routes, oncall_policies.c.name.label("policy"))
            .select_from(
                oncall_routes.join(
                    oncall_policies, oncall_policies.c.id == oncall_routes.c.policy_id
                )
            )
            .order_by(oncall_routes.c.service, oncall_routes.c.severity)
        ).all()
    grouped: dict[tuple[str, str, str], list[Severity]] = {}
    for r in rows:
        grouped.setdefault((r.service, r.policy, r.urgency), []).append(Severity(r.severity))
    return [
        Route(service, tuple(sevs), policy, Urgency(urgency))
        for (service, policy, urgency), sevs in grouped.items()
    ]


def routes_on(
    conn: Connection, services_: Collection[str], severity: Severity
) -> list[tuple[str, int, Urgency]]:
    """(service, policy id, urgency) routed for these services at this severity."""
    if not services_:
        return []
    rows = conn.execute(
        sa.select(oncall_routes).where(
            oncall_routes.c.service.in_(sorted(services_)),
            oncall_routes.c.severity == severity.value,
        )
    )
    return [(r.service, int(r.policy_id), Urgency(r.urgency)) for r in rows]
