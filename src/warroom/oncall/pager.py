"""The pager's records: its states, its timeline event kinds, and how a page reads.

A pager is one escalation policy running for one incident. It is `active` until someone
acknowledges (`acknowledged`), every level of every round went unanswered (`exhausted`), or
the incident was resolved first (`stopped`). Its state lives in the database, so a restart
of the server or the worker picks it up where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.core.db import Database
from warroom.oncall.tables import oncall_pagers, oncall_policies

PAGER = "pager"  # the actor of the events the pager writes by itself (pages, escalations)
RESOLVED = frozenset({incidents.Stage.FIXED, incidents.Stage.VERIFIED, incidents.Stage.CLOSED})


class Status(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    EXHAUSTED = "exhausted"
    STOPPED = "stopped"


class Kind(StrEnum):
    """The timeline events of paging."""

    SENT = "page.sent"
    ESCALATED = "page.escalated"
    SKIPPED = "page.skipped"
    ACKNOWLEDGED = "page.acknowledged"
    EXHAUSTED = "page.exhausted"
    STOPPED = "page.stopped"


@dataclass(frozen=True)
class PagerState:
    """One pager as the incident page and the API show it."""

    id: int
    policy: str
    service: str
    urgency: str
    status: str
    level: int  # 1-based; 0 before the first page
    round: int
    next_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "service": self.service,
            "urgency": self.urgency,
            "status": self.status,
            "level": self.level,
            "round": self.round,
            "next_escalation_at": self.next_at.isoformat() if self.next_at else None,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by,
        }


def pagers_on(conn: Connection, incident_id: int) -> list[PagerState]:
    rows = conn.execute(
        sa.select(oncall_pagers, oncall_policies.c.name.label("policy"))
        .select_from(
            oncall_pagers.join(oncall_policies, oncall_policies.c.id == oncall_pagers.c.policy_id)
        )
        .where(oncall_pagers.c.incident_id == incident_id)
        .order_by(oncall_pagers.c.id)
    ).all()
    return [
        PagerState(
            id=r.id,
            policy=r.policy,
            service=r.service,
            urgency=r.urgency,
            status=r.status,
            level=r.level + 1,
            round=r.round + 1,
            next_at=r.next_at if r.status == Status.ACTIVE.value else None,
            acknowledged_at=r.acknowledged_at,
            acknowledged_by=r.acknowledged_by,
        )
        for r in rows
    ]


def pagers(db: Database, key: str) -> list[PagerState]:
    """The pagers of an incident, oldest first."""
    with db.read() as conn:
        return pagers_on(conn, incidents.get_id(conn, key))


def page_text(
    *, key: str, severity: str, title: str, service: str, where: str, link: str, desk: str
) -> tuple[str, str]:
    """(title, body) of a page: what broke, why you, how to acknowledge."""
    subject = f"[{severity}] {key} needs you: {title}"[:300]
    body = (
        f"{key} ({severity}): {title}\n"
        f"Service: {service}. You are on call ({where}).\n\n"
        f"Acknowledge (once): {link}\n"
        f"Incident: {desk}/incidents/{key}\n"
    )
    return subject, body
