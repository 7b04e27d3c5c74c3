"""The public status page: components and their state, current incidents with their public
updates, 90 days of history, and scheduled maintenance, as one model rendered to HTML, JSON
and Atom.

Only public things are read: public services, public updates (their own headline and text),
and maintenance windows. Incident titles, descriptions, internal and stakeholder updates are
never loaded here, so they cannot leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import sqlalchemy as sa

from warroom.comms import catalog
from warroom.comms import updates as status_updates
from warroom.comms.catalog import ComponentState
from warroom.comms.tables import maintenances
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput
from warroom.incidents.tables import incidents as incidents_t

HISTORY_DAYS = 90
SITE = "site"  # the whole-site component: every incident and maintenance naming no component
SITE_NAME = "All services"


@dataclass
class Component:
    name: str
    display_name: str
    description: str
    state: ComponentState

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "description": self.description,
            "state": self.state.value,
            "state_label": self.state.label,
        }


@dataclass
class PublicIncident:
    id: str
    headline: str
    status: str
    resolved: bool
    started_at: datetime
    resolved_at: datetime | None
    components: list[str]
    updates: list[status_updates.StatusUpdate]  # newest first

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "headline": self.headline,
            "status": self.status,
            "resolved": self.resolved,
            "started_at": self.started_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "components": self.components,
            "updates": [u.public_dict() for u in self.updates],
        }


@dataclass
class Maintenance:
    id: int
    title: str
    description: str
    services: list[str]
    starts_at: datetime
    ends_at: datetime
    in_progress: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "components": self.services,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "in_progress": self.in_progress,
        }


@dataclass
class StatusPage:
    generated_at: datetime
    components: list[Component]
    current: list[PublicIncident]
    history: list[PublicIncident]
    maintenance: list[Maintenance]
    title: str = "Service status"
    overall: ComponentState = ComponentState.OPERATIONAL
    days: list[dict[str, Any]] = field(default_factory=list)

    @property
    def overall_text(self) -> str:
        if self.overall is ComponentState.OPERATIONAL and not self.current:
            return "All systems operational"
        if self.overall is ComponentState.OPERATIONAL:
            return "We are looking into an issue"
        return self.overall.label

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "generated_at": self.generated_at.isoformat(),
            "overall": {"state": self.overall.value, "text": self.overall_text},
            "components": [c.to_dict() for c in self.components],
            "incidents": [i.to_dict() for i in self.current],
            "scheduled_maintenance": [m.to_dict() for m in self.maintenance],
            "history": [i.to_dict() for i in self.history],
        }


STATUS_WORDS = {
    "initial": "Investigating",
    "progress": "Identified",
    "eta": "Identified",
    "resolution": "Resolved",
    "followup": "Resolved",
}


def add_maintenance(
    db: Database,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    actor: str,
    description: str = "",
    services: list[str] | None = None,
) -> Maintenance:
    """Schedule a maintenance window shown on the status page (public wording only)."""
    title = (title or "").strip()
    if not title:
        raise InvalidInput("a maintenance window needs a title", field="title")
    start, end = ensure_utc(starts_at), ensure_utc(ends_at)
    if end <= start:
        raise InvalidInput("the maintenance must end after it starts", field="ends_at")
    names = [catalog.check_name(s) for s in services or []]
    known = {s.name for s in catalog.list_services(db)}
    missing = [n for n in names if n not in known]
    if missing:
        raise InvalidInput(
            f"no service named {missing[0]}",
            field="services",
            hint=Hint("list_services", "see the services"),
        )
    with db.transaction() as conn:
        new_id = conn.execute(
            maintenances.insert()
            .values(
                title=title[:200],
                description=description.strip(),
                services=names,
                starts_at=start,
                ends_at=end,
                created_by=actor,
                created_at=utcnow(),
            )
            .returning(maintenances.c.id)
        ).scalar_one()
    now = utcnow()
    return Maintenance(
        new_id, title, description.strip(), names, start, end, start <= now < end, now
    )


def _maintenance(db: Database, now: datetime) -> list[Maintenance]:
    with db.read() as conn:
        rows = conn.execute(
            sa.select(maintenances)
            .where(maintenances.c.ends_at > now)
            .order_by(maintenances.c.starts_at)
        ).all()
    return [
        Maintenance(
            r.id,
            r.title,
            r.description,
            list(r.services or []),
            r.starts_at,
            r.ends_at,
            r.starts_at <= now < r.ends_at,
            r.created_at,
        )
        for r in rows
    ]


def build(db: Database, *, title: str = "Service status", site_name: str = SITE_NAME) -> StatusPage:
    """The status page as of now.

    Without public services the page has one component, the whole site (`site_name`); a
    current incident or maintenance that reaches no public component puts it on the page
    too, so an open public incident always shows its state.
    """
    now = utcnow()
    # Open incidents and those with a public update in the history window: a bounded set.
    public = status_updates.public_updates(db, since=now - timedelta(days=HISTORY_DAYS))
    affected = catalog.affected_by_incident(db, list(public))
    with db.read() as conn:
        # Only ids, stage and severity of incidents: never their internal wording.
        meta = {
            r.id: r
            for r in conn.execute(
                sa.select(
                    incidents_t.c.id,
                    incidents_t.c.number,
                    incidents_t.c.stage,
                    incidents_t.c.severity,
                    incidents_t.c.drill,
                    incidents_t.c.private,
                ).where(incidents_t.c.id.in_(list(public) or [0]))
            )
        }
    all_services = catalog.list_services(db)
    components = [s for s in all_services if s.public]
    display = {s.name: s.display_name for s in all_services}
    worst: dict[str, ComponentState] = {}
    site: list[ComponentState] = []  # states of what reaches no public component

    def worsen(name: str, state: ComponentState) -> None:
        if name not in worst or state.rank > worst[name].rank:
            worst[name] = state

    current: list[PublicIncident] = []
    history: list[PublicIncident] = []
    for incident_id, ups in public.items():
        m = meta.get(incident_id)
        if m is None or m.drill or m.private:  # a private incident is never on the page
            continue
        last = ups[-1]
        resolved = last.kind in ("resolution", "followup") or m.stage == "closed"
        headline = next((u.headline for u in reversed(ups) if u.headline), "Service disruption")
        # Public components hit directly, or downstream of an affected (internal) service.
        hit = affected.get(incident_id, [])
        reach = hit + catalog.downstream(all_services, [s.name for s in hit])
        names = sorted({s.name for s in reach if s.public})
        resolved_at = next(
            (u.posted_at for u in ups if u.kind == "resolution"),
            last.posted_at if resolved else None,
        )
        item = PublicIncident(
            id=f"incident-{m.number}",
            headline=headline,
            status=STATUS_WORDS.get(last.kind, "Update") if not resolved else "Resolved",
            resolved=resolved,
            started_at=ups[0].posted_at,
            resolved_at=resolved_at,
            components=[display[n] for n in names],
            updates=list(reversed(ups)),
        )
        if resolved:
            if last.posted_at >= now - timedelta(days=HISTORY_DAYS):
                history.append(item)
            continue
        current.append(item)
        state_value = next((u.component_state for u in reversed(ups) if u.component_state), None)
        state = (
            ComponentState(state_value)
            if state_value
            else status_updates.default_component_state(m.severity)
        )
        for n in names:
            worsen(n, state)
        if not names:
            site.append(state)
    windows = _maintenance(db, now)
    for w in windows:
        if w.in_progress:
            for n in w.services:
                worsen(n, ComponentState.UNDER_MAINTENANCE)
            if not w.services:
                site.append(ComponentState.UNDER_MAINTENANCE)
    comps = [
        Component(
            s.name, s.display_name, s.description, worst.get(s.name, ComponentState.OPERATIONAL)
        )
        for s in components
    ]
    if site or not comps:
        state = max(site, key=lambda s: s.rank, default=ComponentState.OPERATIONAL)
        comps.insert(0, Component(SITE, site_name, "Everything this page covers", state))
    overall = max(
        (c.state for c in comps), key=lambda s: s.rank, default=ComponentState.OPERATIONAL
    )
    current.sort(key=lambda i: i.started_at, reverse=True)
    history.sort(key=lambda i: i.started_at, reverse=True)
    return StatusPage(now, comps, current, history, windows, title=title, overall=overall)


def atom(page: StatusPage, *, base_url: str) -> str:
    """An Atom feed: one entry per public update (current and history) and per maintenance."""
    base = base_url.rstrip("/")
    entries: list[tuple[datetime, str]] = []
    for inc in page.current + page.history:
        for u in inc.updates:
            body = escape(u.text)
            entries.append(
                (
                    u.posted_at,
                    "<entry>"
                    f"<id>{escape(base)}/status#{inc.id}-update-{u.number}</id>"
                    f"<title>{escape(u.kind_label)}: {escape(inc.headline)}</title>"
                    f"<updated>{u.posted_at.isoformat()}</updated>"
                    f'<link href="{escape(base)}/status#{inc.id}"/>'
                    f'<content type="text">{body}</content>'
                    "</entry>",
                )
            )
    for w in page.maintenance:
        entries.append(
            (
                w.created_at,
                "<entry>"
                f"<id>{escape(base)}/status#maintenance-{w.id}</id>"
                f"<title>Scheduled maintenance: {escape(w.title)}</title>"
                f"<updated>{w.created_at.isoformat()}</updated>"
                f'<link href="{escape(base)}/status#maintenance-{w.id}"/>'
                f'<content type="text">{escape(w.description)} '
                f"({w.starts_at:%Y-%m-%d %H:%M} to {w.ends_at:%Y-%m-%d %H:%M} UTC)</content>"
                "</entry>",
            )
        )
    entries.sort(key=lambda e: e[0], reverse=True)
    updated = entries[0][0] if entries else page.generated_at
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(page.title)}</title>"
        f"<id>{escape(base)}/status</id>"
        f'<link href="{escape(base)}/status"/>'
        f'<link rel="self" href="{escape(base)}/status/feed.atom"/>'
        f"<updated>{updated.isoformat()}</updated>"
        "<author><name>Status</name></author>" + "".join(e[1] for e in entries) + "</feed>\n"
    )
