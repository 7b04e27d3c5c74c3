"""Blameless postmortems: the record, its status, when it is due.

    pm = draft(db, "INC-1", actor="ana")          # drafted from the timeline (`drafting`)
    update_section(db, "INC-1", section="lessons", text="...", actor="ana")
    set_status(db, "INC-1", status="in_review", actor="ana")

A postmortem moves draft -> in_review -> published and is due 48 hours after resolution for
P0/P1 (`[postmortems] due_hours`, `due_severities` in warroom.toml, read by the shell and
passed in as `settings`). `warroom.learn.export` renders it as Markdown or HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from warroom import incidents
from warroom.core.clock import utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, InvalidTransition, NotFound
from warroom.incidents import privacy, timeline
from warroom.incidents.lifecycle import Incident
from warroom.incidents.store import from_row, load_details
from warroom.incidents.tables import incidents as incidents_t
from warroom.learn import blameless, compliance
from warroom.learn.drafting import ALL_SECTION_NAMES, SECTION_NAMES, SECTIONS, build_sections
from warroom.learn.rootcause import RootCause, root_cause_of
from warroom.learn.tables import postmortems

MAX_SECTION = 50_000


class Status(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"

    @classmethod
    def parse(cls, value: str | Status) -> Status:
        text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        text = {"review": "in_review", "publish": "published"}.get(text, text)
        try:
            return cls(text)
        except ValueError:
            raise InvalidInput(
                f"unknown postmortem status {value!r}: use draft, in_review or published",
                field="status",
            ) from None


TRANSITIONS = {
    Status.DRAFT: {Status.IN_REVIEW},
    Status.IN_REVIEW: {Status.DRAFT, Status.PUBLISHED},
    Status.PUBLISHED: set(),
}


# --- due dates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueRule:
    """When a postmortem is due: `hours` after resolution, for `severities`."""

    hours: float = 48.0
    severities: tuple[str, ...] = ("P0", "P1")

    @classmethod
    def from_settings(cls, settings: Settings | None) -> DueRule:
        """The `[postmortems]` table of warroom.toml (the defaults without one)."""
        section = (settings or Settings()).section("postmortems")
        try:
            hours = float(section.get("due_hours", cls.hours))
        except (TypeError, ValueError):
            raise InvalidInput(
                "[postmortems] due_hours must be a number of hours", field="due_hours"
            ) from None
        sevs = tuple(str(s).upper() for s in section.get("due_severities", cls.severities))
        return cls(hours, sevs)

    def due_at(self, inc: Incident) -> datetime | None:
        resolved = inc.stage_times.get("fixed")
        if resolved is None or inc.severity is None or inc.severity.value not in self.severities:
            return None
        return resolved + timedelta(hours=self.hours)


def due_at(inc: Incident, settings: Settings | None = None) -> datetime | None:
    """When the postmortem is due: `due_hours` after resolution for the due severities."""
    return DueRule.from_settings(settings).due_at(inc)


# --- the postmortem -----------------------------------------------------------------------------


@dataclass
class Postmortem:
    incident: Incident
    status: Status
    sections: dict[str, str]
    due_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    root_cause: RootCause | None
    findings: dict[str, list[blameless.Finding]]

    @property
    def key(self) -> str:
        return self.incident.key

    def is_overdue(self, now: datetime | None = None) -> bool:
        return (
            self.status is not Status.PUBLISHED
            and self.due_at is not None
            and self.due_at < (now or utcnow())
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.key,
            "title": self.incident.title,
            "status": self.status.value,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "overdue": self.is_overdue(),
            "sections": [
                {"name": n, "title": t, "text": self.sections.get(n, "")}
                for n, t in compliance.sections_for(self.incident, SECTIONS)
            ],
            "root_cause": self.root_cause.to_dict() if self.root_cause else None,
            "blameless_warnings": {k: [f.to_dict() for f in v] for k, v in self.findings.items()},
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "published_at": self.published_at.isoformat() if self.published_at else None,
        }


def _people(inc: Incident) -> list[str]:
    return sorted({*inc.roles.values(), *inc.participants, inc.created_by, inc.reporter} - {""})


def _load(db: Database, inc: Incident, rule: DueRule) -> Postmortem | None:
    with db.read() as conn:
        r = conn.execute(sa.select(postmortems).where(postmortems.c.incident_id == inc.id)).first()
        rc = root_cause_of(conn, inc.id)
    if r is None:
        return None
    sections = dict(r.sections or {})
    return Postmortem(
        inc,
        Status(r.status),
        sections,
        rule.due_at(inc),
        r.created_by,
        r.created_at,
        r.updated_at,
        r.published_at,
        rc,
        blameless.check_sections(sections, people=_people(inc)),
    )


def get(db: Database, key: str | int, *, settings: Settings | None = None) -> Postmortem:
    """The incident's postmortem; NotFound when none is drafted yet."""
    inc = incidents.get(db, key)
    pm = _load(db, inc, DueRule.from_settings(settings))
    if pm is None:
        raise NotFound(
            f"{inc.key} has no postmortem yet",
            hint=Hint("draft_postmortem", "draft it from the timeline", incident=inc.key),
        )
    return pm


def draft(
    db: Database,
    key: str | int,
    *,
    actor: str,
    redraft: bool = False,
    settings: Settings | None = None,
) -> Postmortem:
    """Draft the postmortem from the timeline and artifacts (or return the existing one;
    `redraft` rebuilds the sections of a draft, discarding edits)."""
    rule = DueRule.from_settings(settings)
    inc = incidents.get(db, key)
    existing = _load(db, inc, rule)
    if existing is not None and not redraft:
        return existing
    if existing is not None and existing.status is not Status.DRAFT:
        back = Status.DRAFT in TRANSITIONS[existing.status]
        raise InvalidTransition(
            f"the postmortem of {existing.key} is {existing.status.value}: only a draft can be "
            "redrafted" + (", so move it back to draft first" if back else ""),
            field="redraft",
            hint=Hint(
                "set_postmortem_status",
                "move it back to draft",
                incident=existing.key,
                params={"status": Status.DRAFT.value},
            )
            if back
            else None,
        )
    sections = build_sections(db, inc)
    with db.transaction() as conn:
        row = incidents.lock(db, conn, inc.key)
        now = utcnow()
        due = rule.due_at(inc)
        exists = conn.execute(
            sa.select(postmortems.c.id).where(postmortems.c.incident_id == row.id)
        ).first()
        if exists:
            conn.execute(
                postmortems.update()
                .where(postmortems.c.id == exists.id)
                .values(sections=sections, due_at=due, updated_at=now)
            )
        else:
            conn.execute(
                postmortems.insert().values(
                    incident_id=row.id,
                    status=Status.DRAFT.value,
                    sections=sections,
                    due_at=due,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                    published_at=None,
                )
            )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind="postmortem.drafted",
            at=now,
            data={
                "redraft": exists is not None,
                "summary": ("Postmortem redrafted" if exists else "Postmortem drafted")
                + " from the timeline",
            },
        )
    return get(db, inc.key, settings=settings)


def update_section(
    db: Database,
    key: str | int,
    *,
    section: str,
    text: str,
    actor: str,
    settings: Settings | None = None,
) -> Postmortem:
    """Replace one section's text (draft or in review); blame warnings come back with it."""
    name = section.strip().lower().replace("-", "_").replace(" ", "_")
    if name not in ALL_SECTION_NAMES:
        raise InvalidInput(
            f"unknown section {section!r}: use one of {', '.join(SECTION_NAMES)} (and "
            f"{compliance.NAME} for security and data-loss incidents)",
            field="section",
        )
    if len(text) > MAX_SECTION:
        raise InvalidInput(f"a section is limited to {MAX_SECTION:,} characters", field="text")
    pm = get(db, key, settings=settings)
    if pm.status is Status.PUBLISHED:
        raise InvalidTransition(
            f"the postmortem of {pm.key} is published and can no longer be edited"
        )
    with db.transaction() as conn:
        row = incidents.lock(db, conn, pm.key)
        current = conn.execute(
            sa.select(postmortems).where(postmortems.c.incident_id == row.id)
        ).one()
        sections = dict(current.sections or {})
        sections[name] = text.strip()
        now = utcnow()
        conn.execute(
            postmortems.update()
            .where(postmortems.c.id == current.id)
            .values(sections=sections, updated_at=now)
        )
        found = blameless.check(text, people=_people(pm.incident))
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind="postmortem.section_edited",
            at=now,
            data={
                "section": name,
                "blameless_warnings": len(found),
                "summary": f"Postmortem section {name} edited",
            },
        )
    return get(db, pm.key, settings=settings)


def set_status(
    db: Database,
    key: str | int,
    *,
    status: Status | str,
    actor: str,
    settings: Settings | None = None,
) -> Postmortem:
    """Move the postmortem draft -> in_review -> published (in_review may go back to draft)."""
    target = Status.parse(status)
    pm = get(db, key, settings=settings)
    allowed = TRANSITIONS[pm.status]
    if target not in allowed:
        via = [s for s in sorted(allowed) if target in TRANSITIONS[s]]
        raise InvalidTransition(
            f"the postmortem of {pm.key} is {pm.status.value}: it can move "
            f"to {', '.join(sorted(s.value for s in allowed)) or 'nothing'}, not {target.value}",
            field="status",
            hint=Hint(
                "set_postmortem_status",
                f"move it to {via[0].value} first",
                incident=pm.key,
                params={"status": via[0].value},
            )
            if via
            else None,
        )
    with db.transaction() as conn:
        row = incidents.lock(db, conn, pm.key)
        now = utcnow()
        conn.execute(
            postmortems.update()
            .where(postmortems.c.incident_id == row.id)
            .values(
                status=target.value,
                updated_at=now,
                published_at=now if target is Status.PUBLISHED else None,
            )
        )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind="postmortem.status_changed",
            at=now,
            data={
                "from": pm.status.value,
                "to": target.value,
                "summary": f"Postmortem {pm.status.value} -> {target.value}",
            },
        )
    return get(db, pm.key, settings=settings)


# --- what is due --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A postmortem that is due (drafted or not) and not yet published."""

    key: str
    title: str
    severity: str | None
    status: str
    due_at: datetime
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.key,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "due_at": self.due_at.isoformat(),
            "overdue": self.overdue,
        }


def _statuses(db: Database, ids: list[int] | None = None) -> dict[int, str]:
    """Postmortem status by incident id (incidents without one are absent); of `ids` only
    when given (the desk's page), else of every incident."""
    stmt = sa.select(postmortems.c.incident_id, postmortems.c.status)
    if ids is not None:
        stmt = stmt.where(postmortems.c.incident_id.in_(ids))
    with db.read() as conn:
        return {r.incident_id: r.status for r in conn.execute(stmt)}


def due_list(
    db: Database,
    *,
    now: datetime | None = None,
    overdue_only: bool = False,
    settings: Settings | None = None,
) -> list[Due]:
    """Resolved P0/P1 incidents whose postmortem is not published: soonest due first.
    `status` is "missing" when no draft exists yet."""
    now = now or utcnow()
    rule = DueRule.from_settings(settings)
    c = incidents_t.c
    published = sa.select(postmortems.c.incident_id).where(
        postmortems.c.status == Status.PUBLISHED.value
    )
    # Only resolved incidents of the due severities without a published postmortem: the
    # backlog, not every incident ever (this list is on the actions page).
    with db.read() as conn:
        pending = [
            from_row(r)
            for r in conn.execute(
                sa.select(incidents_t).where(
                    c.fixed_at.is_not(None),
                    c.severity.in_(list(rule.severities)),
                    c.id.not_in(published),
                )
            )
        ]
        load_details(conn, pending)
    reader = privacy.current()  # as every list: private ones for those who may see them
    pending = [i for i in pending if privacy.allowed(reader, private=i.private, people=i.people)]
    status_by_id = _statuses(db, [i.id for i in pending])
    out: list[Due] = []
    for inc in pending:
        due = rule.due_at(inc)
        status = status_by_id.get(inc.id, "missing")
        if due is None or status == Status.PUBLISHED.value:
            continue
        if overdue_only and due >= now:
            continue
        out.append(
            Due(
                inc.key,
                inc.title,
                inc.severity.value if inc.severity else None,
                status,
                due,
                due < now,
            )
        )
    return sorted(out, key=lambda d: d.due_at)


def _next_step(key: str, status: str | None) -> Hint:
    """What to do about a postmortem that is due: draft it, or move it towards published."""
    if status is None:
        return Hint("draft_postmortem", "draft the postmortem", incident=key)
    to = Status.PUBLISHED if status == Status.IN_REVIEW.value else Status.IN_REVIEW
    return Hint(
        "set_postmortem_status",
        f"finish the postmortem and move it to {to.value}",
        incident=key,
        params={"status": to.value},
    )


def desk_columns(db: Database, settings: Settings, entries: list[Any]) -> None:
    """The desk's postmortem column (status, due, overdue, and the next step as a hint when
    overdue), with a warning in words when overdue."""
    now = utcnow()
    rule = DueRule.from_settings(settings)
    status_of = _statuses(db, [e.incident.id for e in entries])
    for entry in entries:
        inc = entry.incident
        due = rule.due_at(inc)
        status = status_of.get(inc.id)
        if due is None and status is None:
            entry.columns["postmortem"] = None
            continue
        overdue = bool(due is not None and status != Status.PUBLISHED.value and due < now)
        entry.columns["postmortem"] = {
            "status": status or "missing",
            "due_at": due.isoformat() if due else None,
            "overdue": overdue,
            "hint": _next_step(inc.key, status).to_dict() if overdue else None,
        }
        if overdue and due is not None:
            entry.warnings.append(f"postmortem overdue since {due:%Y-%m-%d %H:%M} UTC")
