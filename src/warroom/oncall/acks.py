"""Acknowledgement: the person paged says "I have it", and the pager stops escalating.

    acknowledge(db, "INC-7", actor="bob")             # CLI, desk, API: every active pager
    acknowledge_link(db, "INC-7", token)              # the page's one-time signed link
    link_state(db, "INC-7", token)                    # what the link would do (GET page)

A link acknowledges its own page's pager, once: a second use, a forged or altered link, or
a link of another incident is refused. Every acknowledgement is a `page.acknowledged` event,
which `warroom report` counts for MTTA.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidTransition
from warroom.incidents import timeline
from warroom.oncall import links
from warroom.oncall.pager import Kind, Status
from warroom.oncall.tables import oncall_pagers, oncall_pages, oncall_policies


@dataclass(frozen=True)
class Ack:
    incident: str
    person: str
    via: str
    policies: list[str]
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "person": self.person,
            "via": self.via,
            "policies": self.policies,
            "at": self.at.isoformat(),
        }


def _policies(conn: Connection, pager_ids: list[int]) -> list[str]:
    if not pager_ids:
        return []
    return list(
        conn.execute(
            sa.select(oncall_policies.c.name)
            .select_from(
                oncall_pagers.join(
                    oncall_policies, oncall_policies.c.id == oncall_pagers.c.policy_id
                )
            )
            .where(oncall_pagers.c.id.in_(pager_ids))
            .order_by(oncall_pagers.c.id)
        ).scalars()
    )


def _stop(conn: Connection, pager_ids: list[int], person: str, now: datetime) -> None:
    if pager_ids:
        conn.execute(
            oncall_pagers.update()
            .where(oncall_pagers.c.id.in_(pager_ids), oncall_pagers.c.status == Status.ACTIVE.value)
            .values(status=Status.ACKNOWLEDGED.value, acknowledged_at=now, acknowledged_by=person)
        )


def _record(conn: Connection, row: Any, ack: Ack, extra: dict[str, Any]) -> None:
    which = ", ".join(ack.policies) or "the page"
    timeline.append(
        conn,
        row.id,
        actor=ack.person,
        kind=Kind.ACKNOWLEDGED,
        at=ack.at,
        data={
            "person": ack.person,
            "via": ack.via,
            "policies": ack.policies,
            **extra,
            "summary": f"{ack.person} acknowledged the page ({which}, {ack.via})",
        },
    )


def acknowledge(db: Database, key: str, *, actor: str, via: str = "cli") -> Ack:
    """Acknowledge every active pager of the incident, as `actor`."""
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        pagers = conn.execute(
            sa.select(oncall_pagers.c.id, oncall_pagers.c.status, oncall_pagers.c.acknowledged_by)
            .where(oncall_pagers.c.incident_id == row.id)
            .order_by(oncall_pagers.c.id)
        ).all()
        active = [p.id for p in pagers if p.status == Status.ACTIVE.value]
        if not active:
            done = [p for p in pagers if p.acknowledged_by]
            raise InvalidTransition(
                f"{row.key} was already acknowledged by {done[0].acknowledged_by}"
                if done
                else f"nobody is being paged for {row.key}",
                field="incident",
                hint=Hint("show_incident", "open the incident", incident=row.key),
            )
        now = utcnow()
        ack = Ack(row.key, actor, via, _policies(conn, active), now)
        _stop(conn, active, actor, now)
        _record(conn, row, ack, {})
        return ack


@dataclass(frozen=True)
class LinkState:
    """What an acknowledgement link is for (shown before the person confirms)."""

    incident: str
    title: str
    person: str
    policy: str
    used_at: datetime | None
    pager_status: str


def _page(db: Database, conn: Connection, key: str, token: str, secret: bytes) -> tuple[Any, Any]:
    """(incident row, page row) of a valid link, the incident locked; Forbidden otherwise."""
    number = incidents.parse_key(key)
    canonical = f"INC-{number}"
    page_id, nonce = links.verify_ack(secret, canonical, token)
    row = incidents.lock(db, conn, canonical)
    page = conn.execute(
        sa.select(oncall_pages).where(
            oncall_pages.c.id == page_id, oncall_pages.c.incident_id == row.id
        )
    ).first()
    if page is None or page.nonce_hash != links.nonce_hash(nonce):
        raise links.invalid_link(canonical)  # the same refusal as a bad signature
    return row, page


def link_state(db: Database, key: str, token: str) -> LinkState:
    """Check a link without using it (a mail scanner's GET must not acknowledge)."""
    secret = links.secret(db)
    with db.transaction() as conn:
        row, page = _page(db, conn, key, token, secret)
        pager = conn.execute(
            sa.select(oncall_pagers.c.status, oncall_policies.c.name)
            .select_from(
                oncall_pagers.join(
                    oncall_policies, oncall_policies.c.id == oncall_pagers.c.policy_id
                )
            )
            .where(oncall_pagers.c.id == page.pager_id)
        ).one()
        # The link needs no sign-in: a private incident's title stays off it (issue 20).
        title = f"{row.key} (private incident)" if row.private else row.title
        return LinkState(row.key, title, page.person, pager.name, page.used_at, pager.status)


def acknowledge_link(db: Database, key: str, token: str) -> Ack:
    """Acknowledge through a page's link, as the person paged; the link works once."""
    secret = links.secret(db)
    with db.transaction() as conn:
        row, page = _page(db, conn, key, token, secret)
        if page.used_at is not None:
            raise InvalidTransition(
                f"this acknowledgement link was already used, at {page.used_at:%Y-%m-%d %H:%M} "
                "UTC: each link works once",
                field="token",
                hint=Hint("show_incident", "open the incident", incident=row.key),
            )
        now = utcnow()
        used = conn.execute(
            oncall_pages.update()
            .where(oncall_pages.c.id == page.id, oncall_pages.c.used_at.is_(None))
            .values(used_at=now)
        )
        if not used.rowcount:  # pragma: no cover - the incident lock serialises uses
            raise InvalidTransition("this acknowledgement link was already used", field="token")
        ack = Ack(row.key, page.person, "link", _policies(conn, [page.pager_id]), now)
        _stop(conn, [page.pager_id], page.person, now)
        _record(conn, row, ack, {"page": page.id, "level": page.level + 1})
        return ack
