"""Action items: the follow-ups of an incident, tracked to closure.

    item = add(db, "INC-3", title="Index orders.customer_id", type="preventive",
               owner="ana", due_at=..., actor="ana")
    update(db, item.ref, status="done", actor="ana")

The closing gate (registered by the learn area): a P0/P1 incident cannot be closed with no
action items unless a reason is given, and that reason goes on the timeline.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from warroom import incidents
from warroom.core import quoting
from warroom.core.choices import Choice
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, InvalidTransition, NotFound
from warroom.core.refs import parse_number
from warroom.incidents import privacy, timeline
from warroom.incidents.tables import incidents as incidents_t
from warroom.learn.tables import action_items

MAX_TITLE = 200
GATED_SEVERITIES = ("P0", "P1")


class ActionType(Choice):
    DETECTIVE = "detective"
    PREVENTIVE = "preventive"
    CORRECTIVE = "corrective"
    MITIGATION = "mitigation"

    @classmethod
    def field_name(cls) -> str:
        return "type"


class ActionStatus(Choice):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"closed": "done", "wontfix": "cancelled", "started": "in_progress"}

    @classmethod
    def noun(cls) -> str:
        return "status"


PRIORITIES = ("P0", "P1", "P2", "P3")


def parse_priority(value: str) -> str:
    text = str(value).strip().upper()
    if text not in PRIORITIES:
        raise InvalidInput(
            f"unknown priority {value!r}: use one of {', '.join(PRIORITIES)}", field="priority"
        )
    return text


def parse_ref(ref: str | int) -> int:
    """`AI-33`, `ai33`, `33` -> 33."""
    return parse_number(ref, prefix="AI", noun="reference to an action item", field="ref")


def _ticket(url: str | None) -> str:
    url = (url or "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise InvalidInput(
            f"ticket {url!r} is not a URL: give the http(s) address of the Jira or GitHub issue",
            field="ticket_url",
        )
    if len(url) > 500:
        raise InvalidInput("the ticket URL is longer than 500 characters", field="ticket_url")
    return url


@dataclass(frozen=True)
class ActionItem:
    number: int
    incident_key: str
    title: str
    type: ActionType
    owner: str | None
    due_at: datetime | None
    priority: str
    status: ActionStatus
    ticket_url: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @property
    def ref(self) -> str:
        return f"AI-{self.number}"

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.status.is_open and self.due_at is not None and self.due_at < (now or utcnow())

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "id": self.ref,
            "incident": self.incident_key,
            "title": self.title,
            "type": self.type.value,
            "owner": self.owner,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "priority": self.priority,
            "status": self.status.value,
            "overdue": self.is_overdue(now),
            "ticket_url": self.ticket_url,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


def _from_row(r: Row[Any]) -> ActionItem:
    return ActionItem(
        number=r.number,
        incident_key=r.key,
        title=r.title,
        type=ActionType(r.type),
        owner=r.owner,
        due_at=r.due_at,
        priority=r.priority,
        status=ActionStatus(r.status),
        ticket_url=r.ticket_url,
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
        closed_at=r.closed_at,
    )


def _select() -> sa.Select[Any]:
    return sa.select(action_items, incidents_t.c.key).join(
        incidents_t, incidents_t.c.id == action_items.c.incident_id
    )


def _missing(number: int) -> NotFound:
    return NotFound(
        f"action item AI-{number} does not exist",
        field="ref",
        hint=Hint("list_actions", "see the action items"),
    )


def _get(conn: Connection, number: int) -> ActionItem:
    r = conn.execute(_select().where(action_items.c.number == number)).first()
    if r is None:
        raise _missing(number)
    return _from_row(r)


def add(
    db: Database,
    key: str | int,
    *,
    title: str,
    type: ActionType | str,
    actor: str,
    owner: str | None = None,
    due_at: datetime | None = None,
    priority: str = "P2",
    ticket_url: str | None = None,
) -> ActionItem:
    """Add an action item to an incident (recorded on its timeline as `action.added`)."""
    title = (title or "").strip()
    if not title:
        raise InvalidInput("an action item needs a title: what will be done", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the title is longer than {MAX_TITLE} characters", field="title")
    kind = ActionType.parse(type)
    prio = parse_priority(priority)
    url = _ticket(ticket_url)
    owner = (owner or "").strip()[:200] or None
    due = ensure_utc(due_at) if due_at else None
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        number = incidents.next_number(db, conn, "action_item")
        now = utcnow()
        conn.execute(
            action_items.insert().values(
                number=number,
                incident_id=row.id,
                title=title,
                type=kind.value,
                owner=owner,
                due_at=due,
                priority=prio,
                status=ActionStatus.OPEN.value,
                ticket_url=url,
                created_by=actor,
                created_at=now,
                updated_at=now,
                closed_at=None,
            )
        )
        data = {
            "id": f"AI-{number}",
            "title": title,
            "type": kind.value,
            "owner": owner,
            "due_at": due.isoformat() if due else None,
            "priority": prio,
            "summary": f"Action item AI-{number} ({kind.value}, {prio}): {title}"
            + (f" -> {owner}" if owner else ""),
        }
        timeline.append(conn, row.id, actor=actor, kind="action.added", at=now, data=data)
        item = _get(conn, number)
    incidents.announce_event(db, row.key, "action.added", data, actor)
    return item


def update(
    db: Database,
    ref: str | int,
    *,
    actor: str,
    status: ActionStatus | str | None = None,
    owner: str | None = None,
    due_at: datetime | None = None,
    priority: str | None = None,
    ticket_url: str | None = None,
    title: str | None = None,
) -> ActionItem:
    """Change an action item; each change is an `action.updated` event on its incident."""
    number = parse_ref(ref)
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = ActionStatus.parse(status).value
    if owner is not None:
        changes["owner"] = owner.strip()[:200] or None
    if due_at is not None:
        changes["due_at"] = ensure_utc(due_at)
    if priority is not None:
        changes["priority"] = parse_priority(priority)
    if ticket_url is not None:
        changes["ticket_url"] = _ticket(ticket_url)
    if title is not None:
        if not title.strip() or len(title.strip()) > MAX_TITLE:
            raise InvalidInput(f"a title needs 1 to {MAX_TITLE} characters", field="title")
        changes["title"] = title.strip()
    if not changes:
        raise InvalidInput(
            "nothing to change: give a new status, owner, due date, priority, ticket or title"
        )
    with db.transaction() as conn:
        current = conn.execute(
            sa.select(action_items).where(action_items.c.number == number)
        ).first()
        if current is None:
            raise _missing(number)
        row = conn.execute(
            db.lock_row(sa.select(incidents_t).where(incidents_t.c.id == current.incident_id))
        ).one()
        diff = {k: v for k, v in changes.items() if getattr(current, k) != v}
        if not diff:
            raise InvalidTransition(f"AI-{number} already has those values")
        now = utcnow()
        values = dict(diff, updated_at=now)
        if "status" in diff:
            values["closed_at"] = None if ActionStatus(diff["status"]).is_open else now
        conn.execute(action_items.update().where(action_items.c.id == current.id).values(**values))
        shown = ", ".join(
            f"{k} {v.isoformat() if isinstance(v, datetime) else v}" for k, v in diff.items()
        )
        data = {
            "id": f"AI-{number}",
            "changes": {
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in diff.items()
            },
            "summary": f"Action item AI-{number}: {shown}",
        }
        timeline.append(conn, row.id, actor=actor, kind="action.updated", at=now, data=data)
        item = _get(conn, number)
    incidents.announce_event(db, row.key, "action.updated", data, actor)
    return item


def get(db: Database, ref: str | int) -> ActionItem:
    with db.read() as conn:
        return _get(conn, parse_ref(ref))


def list_items(
    db: Database,
    *,
    incident: str | int | None = None,
    open_only: bool = False,
    overdue_only: bool = False,
    now: datetime | None = None,
) -> list[ActionItem]:
    """Action items across incidents (or of one): overdue first, then by priority and due."""
    now = now or utcnow()
    with db.read() as conn:
        stmt = _select()
        if incident is not None:
            stmt = stmt.where(action_items.c.incident_id == incidents.get_id(conn, incident))
        if open_only or overdue_only:
            stmt = stmt.where(
                action_items.c.status.in_([s.value for s in ActionStatus if s.is_open])
            )
        items = [_from_row(r) for r in conn.execute(stmt)]
    reader = privacy.current()
    if incident is None and reader is not None and not reader.sees_all:
        # Items of private incidents the reader may not see are left out (issue 20).
        seen = {i.key for i in incidents.list_incidents(db)}
        items = [i for i in items if i.incident_key in seen]
    if overdue_only:
        items = [i for i in items if i.is_overdue(now)]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(
        items,
        key=lambda i: (
            0 if i.is_overdue(now) else 1,
            0 if i.status.is_open else 1,
            i.priority,
            i.due_at or far,
            i.number,
        ),
    )


CSV_FIELDS = (
    "id",
    "incident",
    "title",
    "type",
    "priority",
    "status",
    "owner",
    "due_at",
    "overdue",
    "ticket_url",
    "created_at",
    "closed_at",
)


def export_csv(items: list[ActionItem], now: datetime | None = None) -> str:
    """CSV with a header row, for Jira / GitHub issue import."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for i in items:
        # =HYPERLINK(...) or @SUM(...) in a title stays text in a spreadsheet
        writer.writerow({k: quoting.csv_cell(v) for k, v in i.to_dict(now).items()})
    return out.getvalue()


def export_json(items: list[ActionItem], now: datetime | None = None) -> str:
    return json.dumps([i.to_dict(now) for i in items], indent=2) + "\n"


def escalate(
    db: Database, ref: str | int, *, actor: str, because_of: str, reason: str
) -> ActionItem:
    """Record that an open item is escalated to its owner (`action.escalated` on its
    incident); the timeline event is the escalation record."""
    number = parse_ref(ref)
    with db.transaction() as conn:
        item = _get(conn, number)
        row = incidents.lock(db, conn, item.incident_key)
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind="action.escalated",
            data={
                "id": item.ref,
                "owner": item.owner,
                "because_of": because_of,
                "reason": reason,
                "summary": f"Action item {item.ref} escalated to {item.owner or 'its owner'}: "
                f"{reason}",
            },
        )
    return item


# --- the closing gate -------------------------------------------------------------------------


def close_gate(
    db: Database, conn: Connection, row: Row[Any], reason: str | None, *, actor: str
) -> None:
    """P0/P1 cannot close without action items unless a reason is given (and recorded, as
    said by `actor`, the identity closing the incident)."""
    if row.severity not in GATED_SEVERITIES:
        return
    count = conn.execute(
        sa.select(sa.func.count())
        .select_from(action_items)
        .where(
            action_items.c.incident_id == row.id,
            action_items.c.status != ActionStatus.CANCELLED.value,
        )
    ).scalar_one()
    if count:
        return
    if not reason:
        raise InvalidTransition(
            f"cannot close {row.key} ({row.severity}) with no action items: add one that will "
            "stop this recurring, or give a reason why none is needed (it is recorded on the "
            "timeline)",
            field="reason",
            hint=Hint(
                "add_action",
                "add an action item that will stop this recurring",
                incident=row.key,
                params={"type": ActionType.PREVENTIVE.value},
            ),
        )
    timeline.append(
        conn,
        row.id,
        actor=actor,
        kind="close.without_actions",
        data={
            "reason": reason,
            "severity": row.severity,
            "summary": f"Closed without action items: {reason}",
        },
    )
