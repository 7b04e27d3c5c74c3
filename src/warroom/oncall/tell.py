"""Tell the people named: a new commander, a task's assignee and an action item's owner hear
about it through their contact methods (the notification outbox).

Commanders and assignees are needed now (high urgency: any hour); an action item's owner is
told in their working hours (low urgency). Nobody is told about what they did themselves,
and a person with no contact methods is not told (see `warroom.oncall.people`).
"""

from __future__ import annotations

import uuid
from typing import Any

from warroom import incidents
from warroom.comms import notify
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.incidents import timeline
from warroom.oncall.model import Urgency
from warroom.oncall.people import people_on

K = timeline.Kind


def _who_and_what(kind: str, data: dict[str, Any]) -> tuple[str | None, str, Urgency]:
    """(person to tell, what to tell them, urgency) for an event, or (None, "", ...)."""
    changes = data.get("changes") or {}
    if kind in (K.ROLE_ASSIGNED, K.COMMANDER_HANDOFF) and data.get("role") == "commander":
        return (
            data.get("person") or data.get("to"),
            "you are now the incident commander",
            (Urgency.HIGH),
        )
    if kind == K.TASK_ADDED and data.get("assignee"):
        return (
            data["assignee"],
            f"task T{data.get('number')} is yours: {data.get('title')}",
            (Urgency.HIGH),
        )
    if kind == K.TASK_UPDATED and changes.get("assignee"):
        return (
            changes["assignee"],
            f"task T{data.get('number')} is yours: {data.get('title')}",
            (Urgency.HIGH),
        )
    if kind == "action.added" and data.get("owner"):
        return (
            data["owner"],
            f"action item {data.get('id')} is yours: {data.get('title')}",
            (Urgency.LOW),
        )
    if kind == "action.updated" and changes.get("owner"):
        return changes["owner"], f"action item {data.get('id')} is yours", Urgency.LOW
    return None, "", Urgency.HIGH


def tell(db: Database, key: str, *, person: str, text: str, urgency: Urgency, actor: str) -> int:
    """Queue `text` about the incident to each of the person's contact methods for `urgency`;
    how many messages were queued (0 when they cannot be reached)."""
    now = utcnow()
    row = incidents.get(db, key)
    with db.transaction() as conn:
        found = people_on(conn, {person}).get(person)
        if found is None:
            return 0
        deliver_at = found.deliver_at(urgency, now)
        severity = row.severity.value if row.severity else "no severity"
        tag = uuid.uuid4().hex[:12]
        queued = 0
        for i, contact in enumerate(found.reach(urgency)):
            queued += notify.enqueue(
                conn,
                key=f"tell:{row.key}:{person}:{tag}:{i}",
                incident_id=row.id,
                channel=notify.Channel(name=f"@{person}", url=contact.url),
                title=f"{row.key}: {text}"[:300],
                body=f"{row.key} ({severity}): {row.title}\n{text} (from {actor}).\n",
                not_before=deliver_at,
            )
        return queued


def on_event(db: Database, key: str, kind: str, data: dict[str, Any], actor: str) -> None:
    """The after-event hook: tell the person an event names, unless they did it themselves."""
    person, text, urgency = _who_and_what(kind, data)
    if person and person != actor:
        tell(db, key, person=person, text=text, urgency=urgency, actor=actor)


def on_declared(db: Database, incident: incidents.Incident, actor: str) -> None:
    """The after-declare hook: a commander named at declaration is told too."""
    if incident.commander and incident.commander != actor:
        tell(
            db,
            incident.key,
            person=incident.commander,
            text="you are the incident commander",
            urgency=Urgency.HIGH,
            actor=actor,
        )
