"""Regulatory clocks: a deadline to notify an authority, from the moment of awareness.

    start(db, "INC-7", name="gdpr", actor="ana", settings=settings)   # due 72 h after awareness
    notified(db, "INC-7", name="gdpr", to="ICO", actor="ana")         # the clock stops
    tick(db, settings, "worker-1")   # the worker: remind before the deadline, flag after

GDPR (72 hours to notify the supervisory authority, art. 33) is built in; warroom.toml adds
or changes regimes:

    [regulatory_clocks.sec8k]
    label = "SEC 8-K: material cybersecurity incident"
    authority = "SEC"
    hours = 96
    remind_before_hours = 24

Reminders and missed deadlines go through the notification outbox (the internal channels)
and onto the incident's timeline; the desk and the incident page flag a missed one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.comms import notify
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, NotFound
from warroom.incidents import incident_types, store, timeline
from warroom.incidents.desk import Entry
from warroom.incidents.lifecycle import TYPE_CHANGED
from warroom.incidents.model import Incident, Nag
from warroom.incidents.tables import incidents as incidents_t
from warroom.security.tables import reg_clocks

STARTED, NOTIFIED, REMINDED, MISSED = (
    "clock.started",
    "clock.notified",
    "clock.reminder",
    "clock.missed",
)
SYSTEM = "warroom"


@dataclass(frozen=True)
class Regime:
    name: str
    label: str
    authority: str
    hours: float
    remind_before_hours: float


BUILTIN = {
    "gdpr": Regime(
        "gdpr", "GDPR art. 33: notify the supervisory authority", "supervisory authority", 72, 12
    )
}


def regimes(settings: Settings | None = None) -> dict[str, Regime]:
    """The built-in regimes plus warroom.toml's `[regulatory_clocks.<name>]`."""
    out = dict(BUILTIN)
    for name, t in (settings or Settings()).section("regulatory_clocks").items():
        if not isinstance(t, dict):
            raise InvalidInput(f"[regulatory_clocks.{name}] must be a table", field=name)
        base = out.get(name)
        try:
            hours = float(t.get("hours", base.hours if base else 0))
            before = float(
                t.get("remind_before_hours", base.remind_before_hours if base else hours / 6)
            )
        except (TypeError, ValueError):
            raise InvalidInput(
                f"[regulatory_clocks.{name}] hours must be numbers", field=name
            ) from None
        if hours <= 0 or before < 0:
            raise InvalidInput(f"[regulatory_clocks.{name}] needs hours > 0", field=name)
        out[name] = Regime(
            name,
            str(t.get("label", base.label if base else name)),
            str(t.get("authority", base.authority if base else "the authority")),
            hours,
            before,
        )
    return out


@dataclass(frozen=True)
class Clock:
    incident_key: str
    name: str
    label: str
    authority: str
    aware_at: datetime
    due_at: datetime
    remind_at: datetime
    reminded_at: datetime | None
    missed_at: datetime | None
    notified_at: datetime | None
    notified_to: str

    def state(self, now: datetime) -> str:
        """notified, late (notified after the deadline), missed, due soon, running."""
        if self.notified_at is not None:
            return "late" if self.notified_at > self.due_at else "notified"
        if now >= self.due_at:
            return "missed"
        return "due soon" if now >= self.remind_at else "running"

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        when = {
            k: (v.isoformat() if v else None)
            for k, v in (
                ("aware_at", self.aware_at),
                ("due_at", self.due_at),
                ("remind_at", self.remind_at),
                ("reminded_at", self.reminded_at),
                ("missed_at", self.missed_at),
                ("notified_at", self.notified_at),
            )
        }
        return {
            "incident": self.incident_key,
            "name": self.name,
            "label": self.label,
            "authority": self.authority,
            **when,
            "notified_to": self.notified_to,
            "state": self.state(now),
            "seconds_left": int((self.due_at - now).total_seconds()),
        }


def _clock(key: str, r: Any) -> Clock:
    return Clock(
        key,
        r.name,
        r.label,
        r.authority,
        r.aware_at,
        r.due_at,
        r.remind_at,
        r.reminded_at,
        r.missed_at,
        r.notified_at,
        r.notified_to,
    )


def start(
    db: Database,
    key: str | int,
    *,
    actor: str,
    name: str | None = None,
    aware_at: datetime | None = None,
    settings: Settings | None = None,
    names: Sequence[str] | None = None,
    why: str = "",
) -> list[Clock]:
    """Start clock `name` (or `names`, or every clock of the incident's type) from `aware_at`
    (default: when the incident was detected). Idempotent: a clock the incident already has
    (running or notified) is left as it is, and nothing is written for it."""
    inc = incidents.get(db, key)
    known = regimes(settings)
    if names is None:
        names = [name] if name else list(incident_types.resolve(inc.type, settings).clocks)
    names = [n.strip().lower() for n in names]
    if not names:
        raise InvalidInput(
            f"a {inc.type} incident starts no clock by default: name one of {', '.join(known)}",
            field="name",
        )
    for n in names:
        if n not in known:
            raise InvalidInput(
                f"unknown regulatory clock {n!r}: one of {', '.join(known)} (add others "
                "under [regulatory_clocks] in warroom.toml)",
                field="name",
            )
    aware = ensure_utc(aware_at) if aware_at else inc.detected_at
    if aware > utcnow() + timedelta(minutes=5):
        raise InvalidInput("the moment of awareness is in the future", field="aware_at")
    with db.transaction() as conn:
        row = store.lock(db, conn, inc.key)
        for n in names:
            regime = known[n]
            exists = conn.execute(
                sa.select(reg_clocks.c.id).where(
                    reg_clocks.c.incident_id == row.id, reg_clocks.c.name == n
                )
            ).first()
            if exists is not None:
                continue
            due = aware + timedelta(hours=regime.hours)
            values = {
                "name": n,
                "label": regime.label,
                "authority": regime.authority,
                "aware_at": aware,
                "due_at": due,
                "remind_at": due - timedelta(hours=regime.remind_before_hours),
            }
            conn.execute(
                reg_clocks.insert().values(
                    incident_id=row.id, notified_to="", started_by=actor, **values
                )
            )
            data = {**values, "why": why} if why else values
            timeline.append(conn, row.id, actor=actor, kind=STARTED, data=data)
    return list_for(db, inc.key)


def list_for(db: Database, key: str | int) -> list[Clock]:
    with db.read() as conn:
        incident_id = store.get_id(conn, key)
        rows = conn.execute(
            sa.select(reg_clocks)
            .where(reg_clocks.c.incident_id == incident_id)
            .order_by(reg_clocks.c.due_at)
        ).all()
    k = f"INC-{store.parse_key(key)}"
    return [_clock(k, r) for r in rows]


def notified(
    db: Database,
    key: str | int,
    *,
    name: str,
    to: str,
    actor: str,
    at: datetime | None = None,
) -> Clock:
    """Record that the authority was notified: the clock stops (late if after its deadline)."""
    to = (to or "").strip()[:200]
    if not to:
        raise InvalidInput("say who was notified (the authority)", field="to")
    when = ensure_utc(at) if at else utcnow()
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        found = conn.execute(
            sa.select(reg_clocks).where(
                reg_clocks.c.incident_id == row.id, reg_clocks.c.name == name.strip().lower()
            )
        ).first()
        if found is None:
            raise NotFound(
                f"{row.key} has no {name} clock",
                field="name",
                hint=Hint("start_clock", "start the clock", incident=row.key),
            )
        if found.notified_at is not None:
            raise InvalidInput(
                f"the {found.name} notification was already recorded at "
                f"{found.notified_at.isoformat()}",
                field="name",
            )
        conn.execute(
            reg_clocks.update()
            .where(reg_clocks.c.id == found.id)
            .values(notified_at=when, notified_to=to)
        )
        late = when > found.due_at
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=NOTIFIED,
            data={"name": found.name, "to": to, "at": when.isoformat(), "late": late},
        )
    return next(c for c in list_for(db, key) if c.name == found.name)


def _tell(conn: Connection, config: notify.NotifyConfig, r: Any, inc: Any, kind: str) -> None:
    """Queue the reminder (or the missed flag) on the internal channels and record it."""
    if kind == MISSED:
        text = (
            f"MISSED: the deadline to notify the {r.authority} passed at "
            f"{r.due_at:%Y-%m-%d %H:%M} UTC"
        )
    else:
        hours = int((r.due_at - utcnow()).total_seconds() // 3600)
        text = f"notify the {r.authority} by {r.due_at:%Y-%m-%d %H:%M} UTC ({hours} h left)"
    for ch in config.channels_for("internal", inc.severity):
        notify.enqueue(
            conn,
            key=f"{kind}:{r.id}:{ch.name}",
            incident_id=r.incident_id,
            channel=ch,
            title=f"{inc.key}: {r.label}",
            body=text,
        )
    timeline.append(
        conn, inc.id, actor=SYSTEM, kind=kind, data={"name": r.name, "due_at": r.due_at}
    )


def tick(db: Database, settings: Settings, worker: str) -> dict[str, Any]:
    """The worker job: remind before each open clock's deadline, flag it once missed.

    Each clock in its own transaction, the incident row locked first (as every verb does)."""
    config = notify.NotifyConfig.from_settings(settings)
    counts = {"reminded": 0, "missed": 0}
    now = utcnow()
    pending = sa.and_(
        reg_clocks.c.notified_at.is_(None),
        sa.or_(
            sa.and_(reg_clocks.c.reminded_at.is_(None), reg_clocks.c.remind_at <= now),
            sa.and_(reg_clocks.c.missed_at.is_(None), reg_clocks.c.due_at <= now),
        ),
    )
    with db.read() as conn:
        ids = list(conn.execute(sa.select(reg_clocks.c.id).where(pending)).scalars())
    for clock_id in ids:
        with db.transaction() as conn:
            r = conn.execute(
                sa.select(reg_clocks).where(reg_clocks.c.id == clock_id, pending)
            ).first()
            if r is None:
                continue
            inc = conn.execute(
                db.lock_row(sa.select(incidents_t).where(incidents_t.c.id == r.incident_id))
            ).one()
            if r.missed_at is None and r.due_at <= now:
                kind, values = MISSED, {"missed_at": now, "reminded_at": r.reminded_at or now}
                counts["missed"] += 1
            else:
                kind, values = REMINDED, {"reminded_at": now}
                counts["reminded"] += 1
            _tell(conn, config, r, inc, kind)
            conn.execute(reg_clocks.update().where(reg_clocks.c.id == r.id).values(**values))
    return counts


def desk_columns(db: Database, settings: Settings, entries: list[Entry]) -> None:
    """A missed or soon-due clock is a warning on the desk, and so is a clock the incident's
    type expects but that is not running (two queries for every entry)."""
    now = utcnow()
    by_id = {e.incident.id: e for e in entries}
    if not by_id:
        return
    for incident_id, nag in gaps(db, [e.incident for e in entries], settings).items():
        by_id[incident_id].warn(nag.text, nag.hint)
    with db.read() as conn:
        rows = conn.execute(
            sa.select(reg_clocks)
            .where(
                reg_clocks.c.incident_id.in_(list(by_id)),
                reg_clocks.c.notified_at.is_(None),
                reg_clocks.c.remind_at <= now,
            )
            .order_by(reg_clocks.c.due_at)
        ).all()
    for r in rows:
        e = by_id[r.incident_id]
        c = _clock(e.incident.key, r)
        missed = c.state(now) == "missed"
        e.warn(
            f"{c.name.upper()} deadline {'MISSED' if missed else 'soon'}: notify the "
            f"{c.authority} (due {c.due_at:%Y-%m-%d %H:%M} UTC)",
            Hint(
                "record_notification",
                "record the notification",
                incident=c.incident_key,
                params={"name": c.name},
            ),
        )


# --- the type's clocks start by themselves -------------------------------------------------


def on_declared(db: Database, incident: Incident, actor: str) -> None:
    """After-declare hook: a type that names clocks (security, data loss: GDPR) starts them at
    the declaration, by the declarer. Hooks get no settings: a type or regime known only to
    warroom.toml is started by hand (`warroom clock start`); the desk says it is missing."""
    wanted = expected(incident.type)
    if wanted:
        start(
            db,
            incident.key,
            actor=actor,
            names=wanted,
            aware_at=incident.detected_at,
            why=f"declared as a {incident.type} incident",
        )


def on_event(db: Database, key: str, kind: str, data: dict[str, Any], actor: str) -> None:
    """After-event hook: an incident changed to a type that names clocks starts them from the
    change (those it already has are left as they are)."""
    if kind != TYPE_CHANGED or not data.get("clocks"):
        return
    known = regimes()
    names = [str(n) for n in data["clocks"] if str(n) in known]
    if names:
        at = data.get("at")
        start(
            db,
            key,
            actor=actor,
            names=names,
            aware_at=at if isinstance(at, datetime) else None,
            why=f"changed to a {data.get('to')} incident",
        )


def expected(type_name: str, settings: Settings | None = None) -> tuple[str, ...]:
    """The clocks an incident of this type should have (none for a type no longer known)."""
    try:
        wanted = incident_types.resolve(type_name, settings).clocks
    except InvalidInput:
        return ()
    known = regimes(settings)
    return tuple(n for n in wanted if n in known)


def gaps(db: Database, found: list[Incident], settings: Settings | None = None) -> dict[int, Nag]:
    """Incident id -> a warning for each incident whose type expects a clock it does not
    have (never started, or the type's configuration changed since)."""
    want = {i.id: expected(i.type, settings) for i in found}
    want = {k: v for k, v in want.items() if v}
    if not want:
        return {}
    with db.read() as conn:
        rows = conn.execute(
            sa.select(reg_clocks.c.incident_id, reg_clocks.c.name).where(
                reg_clocks.c.incident_id.in_(list(want))
            )
        ).all()
    have: dict[int, set[str]] = {}
    for r in rows:
        have.setdefault(int(r.incident_id), set()).add(str(r.name))
    out: dict[int, Nag] = {}
    for i in found:
        missing = [n for n in want.get(i.id, ()) if n not in have.get(i.id, set())]
        if missing:
            names = ", ".join(n.upper() for n in missing)
            out[i.id] = Nag(
                f"a {i.type} incident expects the {names} clock, which is not running",
                Hint("start_clock", "start the clock", incident=i.key),
            )
    return out
