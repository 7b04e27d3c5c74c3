"""The heartbeat: when the next stakeholder update is due, how punctual the updates were, and
the reminders (overdue update, escalation after grace, no commander, no severity, stale task).

    heartbeat(db, "INC-1", config=cfg).text   # "Next update due in 12 min (by 12:15 UTC)"
    due_reminders(db, config=cfg)             # what is due or overdue now, each with its hint
    send_reminders(db, config=cfg, worker="w1")  # record + queue those not sent, exactly once

`cfg` is `CommsConfig.from_settings(settings)`; without one the defaults apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.comms import notify
from warroom.comms.config import CommsConfig
from warroom.comms.drafting import COUNTING, FINAL_KINDS, hm
from warroom.comms.tables import reminders_sent, status_updates
from warroom.comms.updates import last_counting
from warroom.core.clock import utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Hint
from warroom.incidents.lifecycle import Stage
from warroom.incidents.model import OPEN_STAGES
from warroom.incidents.tables import incidents as incidents_t
from warroom.incidents.tables import roles, tasks

# --- heartbeat --------------------------------------------------------------------------------


class Beat(StrEnum):
    NONE = "none"  # no cadence (P3/P4, no severity, closed, or resolved)
    OK = "ok"
    DUE = "due"  # due within `due_soon_minutes`
    OVERDUE = "overdue"  # past due: the commander is reminded
    ESCALATED = "escalated"  # past due + grace: comms lead and escalation channel told


@dataclass
class Heartbeat:
    incident: str
    state: Beat
    due_at: datetime | None
    last_update_at: datetime | None
    cadence_minutes: int | None
    now: datetime

    @property
    def seconds_left(self) -> int | None:
        if self.due_at is None:
            return None
        return int((self.due_at - self.now).total_seconds())

    @property
    def text(self) -> str:
        """The countdown as words (the page colours it too, but never only colours it)."""
        if self.due_at is None or self.state is Beat.NONE:
            return "No update cadence for this incident"
        left = self.seconds_left or 0
        mins = abs(left) // 60
        if self.state is Beat.OK:
            return f"Next update due in {mins} min (by {hm(self.due_at)})"
        if self.state is Beat.DUE:
            return f"Update due in {mins} min (by {hm(self.due_at)}): post it now"
        word = "OVERDUE" if self.state is Beat.OVERDUE else "OVERDUE, escalated"
        return f"Update {word} by {mins} min (was due {hm(self.due_at)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "state": self.state.value,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "seconds_left": self.seconds_left,
            "last_update_at": self.last_update_at.isoformat() if self.last_update_at else None,
            "cadence_minutes": self.cadence_minutes,
            "text": self.text,
        }


def _beat(row: Any, last: Any, cfg: CommsConfig, now: datetime) -> Heartbeat:
    cadence = cfg.cadence_for(row.severity)
    last_at = last.posted_at if last is not None else None
    minutes = int(cadence.total_seconds() // 60) if cadence else None
    resolved = last is not None and last.kind in [k.value for k in FINAL_KINDS]
    if row.stage == Stage.CLOSED.value or cadence is None or resolved:
        return Heartbeat(row.key, Beat.NONE, None, last_at, minutes, now)
    if last is None:
        due = row.detected_at + cadence
    else:
        due = last.next_update_at or (last.posted_at + cadence)
    if now >= due + timedelta(minutes=cfg.grace_minutes):
        state = Beat.ESCALATED
    elif now >= due:
        state = Beat.OVERDUE
    elif now >= due - timedelta(minutes=cfg.due_soon_minutes):
        state = Beat.DUE
    else:
        state = Beat.OK
    return Heartbeat(row.key, state, due, last_at, minutes, now)


def _incident_row(conn: Connection, key: str) -> Any:
    incident_id = incidents.get_id(conn, key)  # NotFound with the usual message
    return conn.execute(sa.select(incidents_t).where(incidents_t.c.id == incident_id)).one()


def heartbeat(db: Database, key: str, *, config: CommsConfig | None = None) -> Heartbeat:
    """When the next stakeholder/public update is due, and how late it is."""
    cfg = config or CommsConfig()
    with db.read() as conn:
        row = _incident_row(conn, key)
        return _beat(row, last_counting(conn, row.id), cfg, utcnow())


@dataclass
class Punctuality:
    incident: str
    updates: int
    longest_silence_minutes: float
    overdue_count: int
    reminders_sent: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "updates": self.updates,
            "longest_silence_minutes": round(self.longest_silence_minutes, 1),
            "overdue_count": self.overdue_count,
            "reminders_sent": self.reminders_sent,
        }


def punctuality(db: Database, key: str, *, config: CommsConfig | None = None) -> Punctuality:
    """How well the cadence was kept: number of updates, longest silence, overdue count.

    Silence is measured between detection, each stakeholder/public update, and the end (the
    resolution update, closure, or now). An update is late when posted after the time the
    previous one promised (or detection + cadence for the first).
    """
    cfg = config or CommsConfig()
    with db.read() as conn:
        row = _incident_row(conn, key)
        ups = conn.execute(
            sa.select(status_updates)
            .where(
                status_updates.c.incident_id == row.id,
                status_updates.c.audience.in_(COUNTING),
            )
            .order_by(status_updates.c.number)
        ).all()
        sent = conn.execute(
            sa.select(sa.func.count())
            .select_from(reminders_sent)
            .where(reminders_sent.c.incident_id == row.id)
        ).scalar_one()
    return _punctuality(row, ups, int(sent), cfg, utcnow())


def _punctuality(
    row: Any, ups: Sequence[Any], sent: int, cfg: CommsConfig, now: datetime
) -> Punctuality:
    """Punctuality from the incident row, its counting updates in order and the reminders sent."""
    cadence = cfg.cadence_for(row.severity)
    prev = row.detected_at
    due: datetime | None = row.detected_at + cadence if cadence else None
    longest = timedelta(0)
    overdue = 0
    finished = False
    for u in ups:
        longest = max(longest, u.posted_at - prev)
        if due is not None and u.posted_at > due and not finished:
            overdue += 1
        prev = u.posted_at
        finished = u.kind in [k.value for k in FINAL_KINDS]
        due = u.next_update_at or (u.posted_at + cadence if cadence else None)
    if not finished:
        end = row.closed_at or now
        longest = max(longest, end - prev)
        if due is not None and end > due and row.closed_at is None:
            overdue += 1
    return Punctuality(
        incident=row.key,
        updates=len(ups),
        longest_silence_minutes=longest.total_seconds() / 60,
        overdue_count=overdue,
        reminders_sent=sent,
    )


# --- reminders --------------------------------------------------------------------------------


class ReminderKind(StrEnum):
    UPDATE_DUE = "update_due"  # listed, not sent: amber
    UPDATE_OVERDUE = "update_overdue"  # the commander is reminded
    UPDATE_ESCALATION = "update_escalation"  # after grace: comms lead + escalation channel
    NO_COMMANDER = "no_commander"
    NO_SEVERITY = "no_severity"
    STALE_TASK = "stale_task"


@dataclass
class Reminder:
    incident: str
    incident_id: int
    kind: ReminderKind
    slot: str
    message: str
    severity: str | None
    to_people: list[str]
    audience: str  # which channels: internal or escalation
    hint: Hint | None = None  # the next step, rendered by each shell (a command, a link)
    sent: bool = False

    @property
    def sendable(self) -> bool:
        return self.kind is not ReminderKind.UPDATE_DUE

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "kind": self.kind.value,
            "slot": self.slot,
            "message": self.message,
            "hint": self.hint.to_dict() if self.hint else None,
            "to": self.to_people,
            "channels": self.audience,
            "sent": self.sent,
        }


def _period(elapsed: timedelta, every_minutes: int) -> int:
    return int(elapsed.total_seconds() // (every_minutes * 60))


def due_reminders(db: Database, *, config: CommsConfig | None = None) -> list[Reminder]:
    """Everything due or overdue right now, across open incidents (with whether it was sent)."""
    cfg = config or CommsConfig()
    now = utcnow()
    out: list[Reminder] = []
    with db.read() as conn:
        rows = conn.execute(
            sa.select(incidents_t)
            .where(incidents_t.c.stage.in_(OPEN_STAGES))
            .order_by(incidents_t.c.number)
        ).all()
        for row in rows:
            people = {
                r.role: r.person
                for r in conn.execute(sa.select(roles).where(roles.c.incident_id == row.id))
            }
            commander = row.commander
            comms_lead = people.get("comms_lead")
            sev = row.severity

            def add(
                kind: ReminderKind,
                slot: str,
                message: str,
                to: list[str | None],
                hint: Hint,
                audience: str = "internal",
                *,
                _row: Any = row,
                _sev: str | None = sev,
            ) -> None:
                people = [p for p in to if p]
                out.append(
                    Reminder(_row.key, _row.id, kind, slot, message, _sev, people, audience, hint)
                )

            beat = _beat(row, last_counting(conn, row.id), cfg, now)
            if beat.due_at is not None:
                slot = beat.due_at.strftime("%Y-%m-%dT%H:%MZ")
                post = Hint(
                    "post_update",
                    "post the stakeholder update",
                    incident=row.key,
                    params={"audience": "stakeholder"},
                )
                if beat.state is Beat.DUE:
                    add(
                        ReminderKind.UPDATE_DUE,
                        slot,
                        f"{row.key}: stakeholder update due by {hm(beat.due_at)}",
                        [commander],
                        post,
                    )
                if beat.state in (Beat.OVERDUE, Beat.ESCALATED):
                    add(
                        ReminderKind.UPDATE_OVERDUE,
                        slot,
                        f"{row.key} ({sev}): the stakeholder update due {hm(beat.due_at)} is "
                        "overdue. Post one now, even if there is no progress.",
                        [commander],
                        post,
                    )
                if beat.state is Beat.ESCALATED:
                    add(
                        ReminderKind.UPDATE_ESCALATION,
                        slot,
                        f"{row.key} ({sev}): no stakeholder update since "
                        f"{hm(beat.last_update_at) or 'declaration'}; it was due "
                        f"{hm(beat.due_at)} and the commander ({commander or 'none named'}) "
                        f"has not posted it. Comms lead: please take it over.",
                        [comms_lead],
                        post,
                        "escalation",
                    )
            if sev in ("P0", "P1") and not commander:
                n = _period(now - row.detected_at, cfg.commander_every_minutes)
                if n >= 1:
                    add(
                        ReminderKind.NO_COMMANDER,
                        str(n),
                        f"{row.key} is {sev} and has NO COMMANDER: name one now",
                        [],
                        Hint(
                            "assign_role",
                            "name a commander",
                            incident=row.key,
                            params={"role": "commander"},
                        ),
                    )
            if sev is None:
                n = _period(now - row.detected_at, cfg.severity_every_minutes)
                if n >= 1:
                    add(
                        ReminderKind.NO_SEVERITY,
                        str(n),
                        f"{row.key} has no severity yet: set one",
                        [commander],
                        Hint("set_severity", "set a severity", incident=row.key),
                    )
            stale = timedelta(minutes=cfg.stale_task_minutes)
            for t in conn.execute(
                sa.select(tasks)
                .where(
                    tasks.c.incident_id == row.id,
                    tasks.c.status.in_(("open", "in_progress")),
                    tasks.c.updated_at <= now - stale,
                )
                .order_by(tasks.c.number)
            ):
                n = _period(now - t.updated_at, cfg.stale_task_minutes)
                add(
                    ReminderKind.STALE_TASK,
                    f"T{t.number}:{n}",
                    f"{row.key} task T{t.number} '{t.title}' has not moved for "
                    f"{int((now - t.updated_at).total_seconds() // 60)} min: update it or "
                    "close it",
                    [t.assignee or commander],
                    Hint(
                        "update_task",
                        "update or close the task",
                        incident=row.key,
                        params={"task": f"T{t.number}"},
                    ),
                )
        if out:
            done = {
                (r.incident_id, r.kind, r.slot)
                for r in conn.execute(
                    sa.select(
                        reminders_sent.c.incident_id, reminders_sent.c.kind, reminders_sent.c.slot
                    ).where(reminders_sent.c.incident_id.in_({r.incident_id for r in out}))
                )
            }
            for r in out:
                r.sent = (r.incident_id, r.kind.value, r.slot) in done
    return out


def send_reminders(
    db: Database, *, config: CommsConfig | None = None, worker: str = ""
) -> list[Reminder]:
    """Record and queue every sendable reminder not sent yet; returns those this call sent.

    Each reminder is inserted into `reminders_sent` (unique per incident, kind and slot) in the
    same transaction as its outbox rows: when two workers race, the second insert fails on the
    unique key and that worker sends nothing.
    """
    cfg = config or CommsConfig()
    sent: list[Reminder] = []
    for r in due_reminders(db, config=cfg):
        if r.sent or not r.sendable:
            continue
        targets: list[notify.Channel] = []
        for person in r.to_people:
            ch = cfg.notify.contact(person)
            if ch is not None:
                targets.append(ch)
        targets.extend(cfg.notify.channels_for(r.audience, r.severity))
        try:
            with db.transaction() as conn:
                conn.execute(
                    reminders_sent.insert().values(
                        incident_id=r.incident_id,
                        kind=r.kind.value,
                        slot=r.slot,
                        message=r.message,
                        recipients=[t.name for t in targets],
                        sent_at=utcnow(),
                        worker=worker[:100],
                    )
                )
                for ch in targets:
                    notify.enqueue(
                        conn,
                        key=f"reminder:{r.incident_id}:{r.kind.value}:{r.slot}:{ch.name}",
                        incident_id=r.incident_id,
                        channel=ch,
                        title=f"[{r.severity or 'no sev'}] {r.incident} reminder: "
                        f"{r.kind.value.replace('_', ' ')}",
                        body=r.message,
                    )
        except sa.exc.IntegrityError:
            continue  # another worker sent this one first
        r.sent = True
        sent.append(r)
    return sent


def reminders_log(db: Database, key: str) -> list[dict[str, Any]]:
    """Reminders already sent for one incident, oldest first."""
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        rows = conn.execute(
            sa.select(reminders_sent)
            .where(reminders_sent.c.incident_id == incident_id)
            .order_by(reminders_sent.c.id)
        ).all()
    return [
        {
            "kind": r.kind,
            "slot": r.slot,
            "message": r.message,
            "to": r.recipients,
            "sent_at": r.sent_at.isoformat(),
        }
        for r in rows
    ]


def desk_columns(db: Database, settings: Settings, entries: list[Any]) -> None:
    """The desk's heartbeat and punctuality columns, with a warning when an update is late.

    Four statements for any number of entries (rows, updates, reminder counts): the desk
    shows a page of incidents, and a query per incident made it cost seconds at 10,000."""
    config = CommsConfig.from_settings(settings)
    if not entries:
        return
    now = utcnow()
    ids = [e.incident.id for e in entries]
    with db.read() as conn:
        rows = {
            r.id: r for r in conn.execute(sa.select(incidents_t).where(incidents_t.c.id.in_(ids)))
        }
        ups: dict[int, list[Any]] = {i: [] for i in ids}
        for u in conn.execute(
            sa.select(status_updates)
            .where(status_updates.c.incident_id.in_(ids), status_updates.c.audience.in_(COUNTING))
            .order_by(status_updates.c.incident_id, status_updates.c.number)
        ):
            ups[u.incident_id].append(u)
        sent: dict[int, int] = dict(
            conn.execute(
                sa.select(reminders_sent.c.incident_id, sa.func.count())
                .where(reminders_sent.c.incident_id.in_(ids))
                .group_by(reminders_sent.c.incident_id)
            ).all()
        )
    for entry in entries:
        inc = entry.incident
        row = rows[inc.id]
        history = ups[inc.id]
        beat = None
        if inc.is_open:
            beat = _beat(row, history[-1] if history else None, config, now)
            if beat.state in (Beat.OVERDUE, Beat.ESCALATED):
                entry.warnings.append(f"status update {beat.text}")
        entry.columns["heartbeat"] = beat
        entry.columns["punctuality"] = (
            _punctuality(row, history, int(sent.get(inc.id, 0)), config, now)
            if inc.severity is not None and inc.stage_times.get("fixed") is not None
            else None
        )
