"""Status updates and the heartbeat that keeps them coming.

    post_update(db, "INC-1", audience="stakeholder", kind="progress", actor="ana",
                conditions="Checkout fails for 30% of users", actions="Rolling back 4.2")
    heartbeat(db, "INC-1")          # when the next update is due, and whether it is late
    due_reminders(db)               # what the desk nags about right now

Updates are structured (conditions / actions / needs, business impact, ETA, next update time)
and rendered from one template per moment of the method: initial assessment, progress, ETA
revision, resolution confirmation, follow-up with prevention. Each is a timeline event, and
its notifications go into the outbox in the same transaction.

Cadence (minutes between stakeholder/public updates) is per severity, from `[comms.cadence]`:
P0 15, P1 30, P2 60, none below. Internal updates do not reset the heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.comms import notify
from warroom.comms.catalog import ComponentState
from warroom.comms.tables import incident_services, services, status_updates
from warroom.core.choices import Choice
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.config import Settings, load_settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.core.severity import Severity
from warroom.incidents import timeline
from warroom.incidents.tables import incidents as incidents_t

UPDATE_POSTED = "update.posted"
MAX_FIELD = 5_000


class Audience(Choice):
    INTERNAL = "internal"
    STAKEHOLDER = "stakeholder"
    PUBLIC = "public"


class UpdateKind(Choice):
    INITIAL = "initial"
    PROGRESS = "progress"
    ETA = "eta"
    RESOLUTION = "resolution"
    FOLLOWUP = "followup"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {
            "initial_assessment": "initial",
            "eta_revision": "eta",
            "resolved": "resolution",
            "follow_up": "followup",
            "update": "progress",
        }

    @classmethod
    def field_name(cls) -> str:
        return "kind"


KIND_LABELS = {
    UpdateKind.INITIAL: "Initial assessment",
    UpdateKind.PROGRESS: "Progress update",
    UpdateKind.ETA: "ETA revision",
    UpdateKind.RESOLUTION: "Resolved",
    UpdateKind.FOLLOWUP: "Follow-up",
}
# After these the heartbeat stops until another update restarts it.
FINAL_KINDS = (UpdateKind.RESOLUTION, UpdateKind.FOLLOWUP)
COUNTING = (Audience.STAKEHOLDER.value, Audience.PUBLIC.value)
DEFAULT_STATE = {
    Severity.P0: ComponentState.MAJOR_OUTAGE,
    Severity.P1: ComponentState.PARTIAL_OUTAGE,
    Severity.P2: ComponentState.DEGRADED_PERFORMANCE,
    Severity.P3: ComponentState.DEGRADED_PERFORMANCE,
    Severity.P4: ComponentState.DEGRADED_PERFORMANCE,
}


@dataclass(frozen=True)
class CommsConfig:
    """`[comms]` of warroom.toml: cadence per severity and reminder timings (minutes)."""

    cadence: dict[str, int] = field(default_factory=lambda: {"P0": 15, "P1": 30, "P2": 60})
    due_soon_minutes: int = 5
    grace_minutes: int = 10
    commander_every_minutes: int = 5
    severity_every_minutes: int = 15
    stale_task_minutes: int = 30
    notify: notify.NotifyConfig = field(default_factory=notify.NotifyConfig)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> CommsConfig:
        settings = settings or load_settings()
        raw = settings.section("comms")
        cadence = {"P0": 15, "P1": 30, "P2": 60}
        for k, v in (raw.get("cadence", {}) or {}).items():
            sev = Severity.parse(k).value
            if v in (None, 0, False, "none"):
                cadence.pop(sev, None)
            else:
                if int(v) <= 0:
                    raise InvalidInput(f"[comms.cadence] {k} must be minutes > 0 (or 0 for none)")
                cadence[sev] = int(v)

        def minutes(name: str, default: int) -> int:
            value = int(raw.get(name, default))
            if value <= 0:
                raise InvalidInput(f"[comms] {name} must be a positive number of minutes")
            return value

        return cls(
            cadence=cadence,
            due_soon_minutes=minutes("due_soon_minutes", 5),
            grace_minutes=minutes("grace_minutes", 10),
            commander_every_minutes=minutes("commander_every_minutes", 5),
            severity_every_minutes=minutes("severity_every_minutes", 15),
            stale_task_minutes=minutes("stale_task_minutes", 30),
            notify=notify.NotifyConfig.from_settings(settings),
        )

    def cadence_for(self, severity: Severity | str | None) -> timedelta | None:
        if severity is None:
            return None
        minutes = self.cadence.get(Severity.parse(severity).value)
        return timedelta(minutes=minutes) if minutes else None


@dataclass
class StatusUpdate:
    incident: str
    number: int
    audience: str
    kind: str
    headline: str
    conditions: str
    actions: str
    needs: str
    business_impact: str
    prevention: str
    component_state: str | None
    eta: datetime | None
    next_update_at: datetime | None
    text: str
    author: str
    posted_at: datetime
    incident_id: int = 0

    @property
    def kind_label(self) -> str:
        return UpdateKind(self.kind).label

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "number": self.number,
            "audience": self.audience,
            "kind": self.kind,
            "headline": self.headline,
            "conditions": self.conditions,
            "actions": self.actions,
            "needs": self.needs,
            "business_impact": self.business_impact,
            "prevention": self.prevention,
            "component_state": self.component_state,
            "eta": self.eta.isoformat() if self.eta else None,
            "next_update_at": self.next_update_at.isoformat() if self.next_update_at else None,
            "text": self.text,
            "author": self.author,
            "posted_at": self.posted_at.isoformat(),
        }

    def public_dict(self) -> dict[str, Any]:
        """Only what the status page may show."""
        return {
            "kind": self.kind,
            "label": self.kind_label,
            "text": self.text,
            "posted_at": self.posted_at.isoformat(),
            "eta": self.eta.isoformat() if self.eta else None,
            "next_update_at": self.next_update_at.isoformat() if self.next_update_at else None,
        }


def _hm(when: datetime | None) -> str:
    return f"{when:%H:%M} UTC" if when else ""


def render(
    kind: UpdateKind,
    *,
    headline: str,
    conditions: str,
    actions: str,
    needs: str,
    business_impact: str,
    prevention: str,
    eta: datetime | None,
    next_update_at: datetime | None,
) -> str:
    """The update in business language, from the template of its moment."""
    intro = {
        UpdateKind.INITIAL: f"We are investigating: {headline}.",
        UpdateKind.PROGRESS: f"Update on {headline}.",
        UpdateKind.ETA: f"Revised estimate for {headline}.",
        UpdateKind.RESOLUTION: f"Resolved: {headline}.",
        UpdateKind.FOLLOWUP: f"Follow-up on {headline}.",
    }[kind]
    lines = [intro]
    if business_impact:
        lines.append(f"Business impact: {business_impact}")
    if conditions:
        label = "What happened" if kind in FINAL_KINDS else "Current situation"
        lines.append(f"{label}: {conditions}")
    if actions:
        label = "What we did" if kind in FINAL_KINDS else "What we are doing"
        lines.append(f"{label}: {actions}")
    if needs:
        lines.append(f"What we need: {needs}")
    if prevention:
        lines.append(f"Preventing a recurrence: {prevention}")
    if kind not in FINAL_KINDS:
        lines.append(
            f"Expected resolution: {eta:%Y-%m-%d %H:%M} UTC."
            if eta
            else "Expected resolution: not known yet."
        )
    if next_update_at:
        lines.append(f"Next update by {_hm(next_update_at)}, or sooner if anything changes.")
    return "\n".join(lines)


def _field(name: str, value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > MAX_FIELD:
        raise InvalidInput(
            f"{name.replace('_', ' ')} is {len(value):,} characters; keep an update under "
            f"{MAX_FIELD:,} per field",
            field=name,
        )
    return value


def _row_to_update(r: Any, key: str) -> StatusUpdate:
    return StatusUpdate(
        incident=key,
        number=r.number,
        audience=r.audience,
        kind=r.kind,
        headline=r.headline,
        conditions=r.conditions,
        actions=r.actions,
        needs=r.needs,
        business_impact=r.business_impact,
        prevention=r.prevention,
        component_state=r.component_state,
        eta=r.eta,
        next_update_at=r.next_update_at,
        text=r.text,
        author=r.author,
        posted_at=r.posted_at,
        incident_id=r.incident_id,
    )


def _last_counting(conn: Connection, incident_id: int) -> Any:
    return conn.execute(
        sa.select(status_updates)
        .where(
            status_updates.c.incident_id == incident_id,
            status_updates.c.audience.in_(COUNTING),
        )
        .order_by(status_updates.c.number.desc())
        .limit(1)
    ).first()


def post_update(
    db: Database,
    key: str,
    *,
    audience: Audience | str,
    actor: str,
    kind: UpdateKind | str = UpdateKind.PROGRESS,
    conditions: str = "",
    actions: str = "",
    needs: str = "",
    business_impact: str | None = None,
    prevention: str = "",
    headline: str = "",
    eta: datetime | None = None,
    next_update_at: datetime | None = None,
    next_update_minutes: int | None = None,
    component_state: ComponentState | str | None = None,
    config: CommsConfig | None = None,
) -> StatusUpdate:
    """Post a status update: a timeline event, a row, and outbox messages, in one transaction.

    The next update time defaults to now + the cadence of the severity; a later promise than
    the cadence allows is refused.
    """
    cfg = config or CommsConfig.from_settings()
    aud = Audience.parse(audience)
    k = UpdateKind.parse(kind)
    fields = {
        "conditions": _field("conditions", conditions),
        "actions": _field("actions", actions),
        "needs": _field("needs", needs),
        "prevention": _field("prevention", prevention),
        "headline": _field("headline", headline)[:200],
    }
    if not (fields["conditions"] or fields["actions"] or k is UpdateKind.RESOLUTION):
        raise InvalidInput(
            "an update says at least what is happening (--conditions) or what is being done "
            "(--actions)",
            field="conditions",
        )
    if k is UpdateKind.ETA and eta is None:
        raise InvalidInput("an ETA revision needs the new --eta (ISO time)", field="eta")
    if k is UpdateKind.FOLLOWUP and not fields["prevention"]:
        raise InvalidInput(
            "a follow-up carries the prevention recommendations (--prevention)",
            field="prevention",
        )
    state = ComponentState.parse(component_state) if component_state else None
    if state is not None and aud is not Audience.PUBLIC:
        raise InvalidInput(
            "a component state only applies to public updates (--audience public)",
            field="component_state",
        )
    now = utcnow()
    eta = ensure_utc(eta) if eta else None
    if next_update_at is not None and next_update_minutes is not None:
        raise InvalidInput("give either --next-update or --next-in, not both", field="next")

    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        cadence = cfg.cadence_for(row.severity)
        if k in FINAL_KINDS:
            nxt = ensure_utc(next_update_at) if next_update_at else None
        elif next_update_at is not None or next_update_minutes is not None:
            nxt = (
                ensure_utc(next_update_at)
                if next_update_at is not None
                else now + timedelta(minutes=int(next_update_minutes or 0))
            )
            if nxt <= now:
                raise InvalidInput(
                    f"the next update time {_hm(nxt)} is not in the future", field="next"
                )
            if cadence is not None and nxt > now + cadence:
                raise InvalidInput(
                    f"{row.key} is {row.severity}: updates are due every "
                    f"{int(cadence.total_seconds() // 60)} min, so promise the next one by "
                    f"{_hm(now + cadence)} at the latest",
                    field="next",
                )
        else:
            nxt = now + cadence if cadence is not None else None
        # The incident's own impact line is internal wording: public updates state theirs.
        default_impact = "" if aud is Audience.PUBLIC else row.business_impact
        impact = _field(
            "business_impact", business_impact if business_impact is not None else default_impact
        )
        if aud is Audience.PUBLIC:
            previous = conn.execute(
                sa.select(status_updates.c.headline)
                .where(
                    status_updates.c.incident_id == row.id,
                    status_updates.c.audience == Audience.PUBLIC.value,
                    status_updates.c.headline != "",
                )
                .order_by(status_updates.c.number.desc())
                .limit(1)
            ).scalar()
            # The incident title is internal wording; the public sees only public headlines.
            headline_text = fields["headline"] or previous or "a service disruption"
            fields["headline"] = headline_text
            if state is None and k is UpdateKind.RESOLUTION:
                state = ComponentState.OPERATIONAL
        else:
            headline_text = fields["headline"] or row.title
        text = render(
            k,
            headline=headline_text,
            conditions=fields["conditions"],
            actions=fields["actions"],
            needs=fields["needs"],
            business_impact=impact,
            prevention=fields["prevention"],
            eta=eta,
            next_update_at=nxt,
        )
        number = (
            conn.execute(
                sa.select(sa.func.max(status_updates.c.number)).where(
                    status_updates.c.incident_id == row.id
                )
            ).scalar()
            or 0
        ) + 1
        conn.execute(
            status_updates.insert().values(
                incident_id=row.id,
                number=number,
                audience=aud.value,
                kind=k.value,
                business_impact=impact,
                component_state=state.value if state else None,
                eta=eta,
                next_update_at=nxt,
                text=text,
                author=actor,
                posted_at=now,
                **fields,
            )
        )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=UPDATE_POSTED,
            at=now,
            data={
                "number": number,
                "audience": aud.value,
                "update_kind": k.value,
                "next_update_at": nxt.isoformat() if nxt else None,
                "eta": eta.isoformat() if eta else None,
                "summary": f"{k.label} to {aud.value}" + (f", next by {_hm(nxt)}" if nxt else ""),
            },
        )
        _enqueue_update(conn, cfg, row, number, aud, k, text)
        r = conn.execute(
            sa.select(status_updates).where(
                status_updates.c.incident_id == row.id, status_updates.c.number == number
            )
        ).one()
        return _row_to_update(r, row.key)


def _enqueue_update(
    conn: Connection,
    cfg: CommsConfig,
    row: Any,
    number: int,
    aud: Audience,
    k: UpdateKind,
    text: str,
) -> None:
    title = f"[{row.severity or 'no sev'}] {row.key} {k.label}"
    if aud is Audience.PUBLIC:
        title = f"{k.label}"
    targets = list(cfg.notify.channels_for(aud.value, row.severity))
    if aud is not Audience.PUBLIC:
        # Owners of affected services hear about their incidents (stakeholder and internal).
        owners = conn.execute(
            sa.select(services.c.name, services.c.contact)
            .select_from(
                incident_services.join(services, services.c.id == incident_services.c.service_id)
            )
            .where(incident_services.c.incident_id == row.id, services.c.contact != "")
        ).all()
        for o in owners:
            targets.append(
                notify.Channel(name=f"owner:{o.name}", url=o.contact, audiences=(aud.value,))
            )
    seen = set()
    for ch in targets:
        if ch.url in seen:
            continue
        seen.add(ch.url)
        notify.enqueue(
            conn,
            key=f"update:{row.id}:{number}:{ch.name}",
            incident_id=row.id,
            channel=ch,
            title=title,
            body=text,
        )


def list_updates(
    db: Database, key: str, *, audience: Audience | str | None = None
) -> list[StatusUpdate]:
    """The incident's updates, oldest first (optionally of one audience)."""
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        number = incidents.parse_key(key)
        stmt = (
            sa.select(status_updates)
            .where(status_updates.c.incident_id == incident_id)
            .order_by(status_updates.c.number)
        )
        if audience is not None:
            stmt = stmt.where(status_updates.c.audience == Audience.parse(audience).value)
        return [_row_to_update(r, f"INC-{number}") for r in conn.execute(stmt)]


def public_updates(db: Database) -> dict[int, list[StatusUpdate]]:
    """incident id -> its public updates (oldest first); nothing internal is read."""
    out: dict[int, list[StatusUpdate]] = {}
    with db.read() as conn:
        rows = conn.execute(
            sa.select(status_updates, incidents_t.c.key)
            .select_from(
                status_updates.join(incidents_t, incidents_t.c.id == status_updates.c.incident_id)
            )
            .where(status_updates.c.audience == Audience.PUBLIC.value)
            .order_by(status_updates.c.incident_id, status_updates.c.number)
        )
        for r in rows:
            out.setdefault(r.incident_id, []).append(_row_to_update(r, r.key))
    return out


def default_component_state(severity: str | None) -> ComponentState:
    return (
        DEFAULT_STATE.get(Severity(severity), ComponentState.DEGRADED_PERFORMANCE)
        if severity
        else ComponentState.DEGRADED_PERFORMANCE
    )
