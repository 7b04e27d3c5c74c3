"""Schedules in the database: save and read them, overrides, who is on call, and the gaps.

add_override(db, "payments-l1", person="bob", start=..., end=..., actor="ana",
             reason="I cover Tuesday night")
who(db, at=utcnow())                # every schedule: who now, until when, who next
coverage_warnings(db, now=utcnow()) # a schedule with nobody on call, now or soon
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core.clock import duration, utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, NotFound
from warroom.incidents import Nag
from warroom.oncall.model import Override, check_name, check_person, parse_local, zone
from warroom.oncall.people import missing_person, people_on
from warroom.oncall.rotation import OnCall, Schedule, Segment
from warroom.oncall.tables import oncall_overrides, oncall_schedules, save_by_name

GAP_HORIZON = timedelta(days=7)
HISTORY = timedelta(days=35)  # overrides kept in view (and in the calendar feeds)
MAX_OVERRIDE = timedelta(days=31)


def missing_schedule(name: str) -> NotFound:
    return NotFound(
        f"no on-call schedule named {name}",
        field="schedule",
        hint=Hint("show_oncall", "see the schedules"),
    )


def _overrides(conn: Connection, schedule_id: int, since: datetime) -> tuple[Override, ...]:
    rows = conn.execute(
        sa.select(oncall_overrides)
        .where(oncall_overrides.c.schedule_id == schedule_id, oncall_overrides.c.ends_at > since)
        .order_by(oncall_overrides.c.starts_at, oncall_overrides.c.id)
    )
    return tuple(
        Override(r.id, r.person, r.starts_at, r.ends_at, r.reason, r.created_by) for r in rows
    )


def _from_row(conn: Connection, r: Any, since: datetime) -> Schedule:
    base = Schedule.from_dict(
        {
            "name": r.name,
            "timezone": r.timezone,
            "layers": r.layers,
            "description": r.description,
        }
    )
    return Schedule(
        base.name, base.timezone, base.layers, _overrides(conn, r.id, since), base.description
    )


def schedules_on(conn: Connection, names: set[str] | None = None) -> dict[str, Schedule]:
    """Schedules (of `names`, when given) with their recent and coming overrides."""
    since = utcnow() - HISTORY
    stmt = sa.select(oncall_schedules).order_by(oncall_schedules.c.name)
    if names is not None:
        stmt = stmt.where(oncall_schedules.c.name.in_(sorted(names)))
    return {r.name: _from_row(conn, r, since) for r in conn.execute(stmt)}


def list_schedules(db: Database) -> list[Schedule]:
    with db.read() as conn:
        return list(schedules_on(conn).values())


def get_schedule(db: Database, name: str) -> Schedule:
    name = check_name(name, noun="schedule", field="schedule")
    with db.read() as conn:
        found = schedules_on(conn, {name}).get(name)
    if found is None:
        raise missing_schedule(name)
    return found


def check_people(conn: Connection, names: set[str], *, known: Collection[str] = ()) -> None:
    """Refuse names nobody registered (a page to them would reach no one)."""
    found = set(people_on(conn, names)) | set(known)
    for name in sorted(names - found):
        raise missing_person(name)


def save_in(conn: Connection, schedule: Schedule, *, known_people: Collection[str] = ()) -> None:
    """Add or replace a schedule's layers inside the caller's transaction (overrides stay)."""
    check_people(conn, {m for lv in schedule.layers for m in lv.members}, known=known_people)
    values = {
        "description": schedule.description,
        "timezone": schedule.timezone,
        "layers": [lv.to_dict() for lv in schedule.layers],
        "updated_at": utcnow(),
    }
    save_by_name(conn, oncall_schedules, schedule.name, values)


def _schedule_id(conn: Connection, name: str) -> int:
    found = conn.execute(
        sa.select(oncall_schedules.c.id).where(oncall_schedules.c.name == name)
    ).first()
    if found is None:
        raise missing_schedule(name)
    return int(found.id)


def add_override_in(
    conn: Connection,
    schedule: str,
    *,
    person: str,
    start: datetime | str,
    end: datetime | str,
    actor: str,
    reason: str = "",
) -> int:
    """Record an override inside the caller's transaction; the same one twice is kept once.
    Times without an offset are wall-clock times in the schedule's zone."""
    found = conn.execute(
        sa.select(oncall_schedules.c.id, oncall_schedules.c.timezone).where(
            oncall_schedules.c.name == schedule
        )
    ).first()
    if found is None:
        raise missing_schedule(schedule)
    sid = int(found.id)
    tz = zone(found.timezone, where=f"schedule {schedule}")
    where = f"override of {schedule}"
    start = parse_local(start, tz, where=where)
    end = parse_local(end, tz, where=where)
    if end <= start:
        raise InvalidInput("an override ends after it starts", field="end")
    if end - start > MAX_OVERRIDE:
        raise InvalidInput(
            f"an override covers at most {MAX_OVERRIDE.days} days: change the rotation instead",
            field="end",
        )
    check_people(conn, {person})
    same = conn.execute(
        sa.select(oncall_overrides.c.id).where(
            oncall_overrides.c.schedule_id == sid,
            oncall_overrides.c.person == person,
            oncall_overrides.c.starts_at == start,
            oncall_overrides.c.ends_at == end,
        )
    ).first()
    if same is not None:
        return int(same.id)
    return int(
        conn.execute(
            oncall_overrides.insert()
            .values(
                schedule_id=sid,
                person=person,
                starts_at=start,
                ends_at=end,
                reason=reason.strip()[:500],
                created_by=actor,
                created_at=utcnow(),
            )
            .returning(oncall_overrides.c.id)
        ).scalar_one()
    )


def add_override(
    db: Database,
    schedule: str,
    *,
    person: str,
    start: datetime | str,
    end: datetime | str,
    actor: str,
    reason: str = "",
) -> Override:
    """`person` covers `schedule` from `start` to `end` ("I cover Tuesday night"); times
    without an offset are the schedule's wall-clock times."""
    schedule = check_name(schedule, noun="schedule", field="schedule")
    person = check_person(person)
    with db.transaction() as conn:
        oid = add_override_in(
            conn, schedule, person=person, start=start, end=end, actor=actor, reason=reason
        )
        r = conn.execute(sa.select(oncall_overrides).where(oncall_overrides.c.id == oid)).one()
    return Override(r.id, r.person, r.starts_at, r.ends_at, r.reason, r.created_by)


def remove_override(db: Database, schedule: str, override_id: int) -> None:
    """Take an override back (the rotation applies again)."""
    schedule = check_name(schedule, noun="schedule", field="schedule")
    with db.transaction() as conn:
        sid = _schedule_id(conn, schedule)
        gone = conn.execute(
            oncall_overrides.delete().where(
                oncall_overrides.c.id == override_id, oncall_overrides.c.schedule_id == sid
            )
        )
        if not gone.rowcount:
            raise NotFound(
                f"schedule {schedule} has no override {override_id}",
                field="override",
                hint=Hint("show_oncall", "see the schedules"),
            )


# --- who is on call ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Now:
    """A schedule at one moment: who is on call, until when, who comes next, the gaps."""

    schedule: str
    timezone: str
    at: datetime
    current: OnCall
    until: datetime | None
    next: Segment | None
    gaps: list[Segment]

    @property
    def warning(self) -> str | None:
        """Nobody on call now, or a gap coming within the horizon, in words."""
        if self.current.person is None:
            when = f" until {self.until:%Y-%m-%d %H:%M} UTC" if self.until else ""
            return f"nobody is on call for schedule {self.schedule} now{when}"
        if self.gaps:
            g = self.gaps[0]
            return (
                f"schedule {self.schedule} has nobody on call from {g.start:%Y-%m-%d %H:%M} UTC "
                f"for {duration(g.end - g.start)}"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "timezone": self.timezone,
            "at": self.at.isoformat(),
            "person": self.current.person,
            "source": self.current.source,
            "until": self.until.isoformat() if self.until else None,
            "next": self.next.to_dict() if self.next else None,
            "gaps": [g.to_dict() for g in self.gaps],
            "warning": self.warning,
        }


def now_of(schedule: Schedule, at: datetime, horizon: timedelta = GAP_HORIZON) -> Now:
    segs = schedule.segments(at, at + horizon)
    first = segs[0] if segs else None
    return Now(
        schedule=schedule.name,
        timezone=schedule.timezone,
        at=at,
        current=schedule.who_at(at),
        until=first.end if first and len(segs) > 1 else None,
        next=segs[1] if len(segs) > 1 else None,
        gaps=[s for s in segs if s.person is None],
    )


def who(db: Database, *, at: datetime | None = None, schedule: str | None = None) -> list[Now]:
    """Who is on call at `at` (default now) for every schedule, or one."""
    when = at or utcnow()
    if schedule is not None:
        return [now_of(get_schedule(db, schedule), when)]
    return [now_of(s, when) for s in list_schedules(db)]


def coverage_warnings(db: Database, *, now: datetime | None = None) -> list[tuple[str, str]]:
    """(schedule, warning) for every schedule with nobody on call now or within a week."""
    return [(n.schedule, n.warning) for n in who(db, at=now) if n.warning]


def desk_notices(db: Database, settings: Settings) -> list[Nag]:
    """The registry's `notices`: a schedule with nobody on call is a warning on the desk."""
    return [
        Nag(text, Hint("show_oncall", "see who is on call"))
        for _schedule, text in coverage_warnings(db)
    ]
