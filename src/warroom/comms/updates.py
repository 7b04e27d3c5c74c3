"""Status updates: post one (a row, a timeline event and its notifications, in one
transaction), list them, read the public ones.

    post_update(db, "INC-1", audience="stakeholder", kind="progress", actor="ana",
                conditions="Checkout fails for 30% of users", actions="Rolling back 4.2",
                config=CommsConfig.from_settings(settings))

Updates are structured (conditions / actions / needs, business impact, ETA, next update time)
and rendered from one template per moment of the method (`warroom.comms.drafting`): initial
assessment, progress, ETA revision, resolution confirmation, follow-up with prevention.

Cadence (minutes between stakeholder/public updates) is per severity, from `[comms.cadence]`
(`warroom.comms.config`): P0 15, P1 30, P2 60, none below. Internal updates do not reset the
heartbeat (`warroom.comms.heartbeat`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.comms import notify
from warroom.comms.catalog import ComponentState
from warroom.comms.config import CommsConfig
from warroom.comms.drafting import (
    COUNTING,
    FINAL_KINDS,
    KIND_LABELS,
    Audience,
    StatusUpdate,
    UpdateKind,
    default_component_state,
    hm,
    render,
)
from warroom.comms.tables import incident_services, services, status_updates
from warroom.core import scrub
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import timeline
from warroom.incidents.listing import OPEN_STAGES
from warroom.incidents.tables import incidents as incidents_t

# What other modules have always imported from here (the comms API, pages and the desk).
__all__ = [
    "COUNTING",
    "FINAL_KINDS",
    "KIND_LABELS",
    "MAX_FIELD",
    "UPDATE_POSTED",
    "Audience",
    "CommsConfig",
    "StatusUpdate",
    "UpdateKind",
    "default_component_state",
    "last_counting",
    "latest_update",
    "list_updates",
    "post_update",
    "public_updates",
    "render",
]

UPDATE_POSTED = "update.posted"
MAX_FIELD = 5_000
MAX_NEXT_MINUTES = 30 * 24 * 60  # a promise further out is a typo, and past it dates overflow


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


def last_counting(conn: Connection, incident_id: int) -> Any:
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
    cfg = config or CommsConfig()
    aud = Audience.parse(audience)
    k = UpdateKind.parse(kind)
    fields = {
        "conditions": _field("conditions", conditions),
        "actions": _field("actions", actions),
        "needs": _field("needs", needs),
        "prevention": _field("prevention", prevention),
        "headline": _field("headline", headline)[:200],
    }
    # Secrets never reach the update's row, its outbox messages or the timeline.
    fields, redacted = scrub.scrub_data(fields)
    if not (fields["conditions"] or fields["actions"] or k is UpdateKind.RESOLUTION):
        raise InvalidInput(
            "an update says at least what is happening (conditions) or what is being done "
            "(actions)",
            field="conditions",
        )
    if k is UpdateKind.ETA and eta is None:
        raise InvalidInput("an ETA revision needs the new ETA (a time)", field="eta")
    if k is UpdateKind.FOLLOWUP and not fields["prevention"]:
        raise InvalidInput(
            "a follow-up carries the prevention recommendations",
            field="prevention",
        )
    state = ComponentState.parse(component_state) if component_state else None
    if state is not None and aud is not Audience.PUBLIC:
        raise InvalidInput(
            "a component state only applies to public updates",
            field="component_state",
        )
    now = utcnow()
    eta = ensure_utc(eta) if eta else None
    if next_update_minutes is not None and next_update_minutes > MAX_NEXT_MINUTES:
        raise InvalidInput(
            f"the next update in {next_update_minutes:,} minutes is too far away: promise one "
            f"within {MAX_NEXT_MINUTES // 1440} days",
            field="next",
        )
    if next_update_at is not None and next_update_minutes is not None:
        raise InvalidInput(
            "give either the next update time or the minutes until it, not both", field="next"
        )

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
                    f"the next update time {hm(nxt)} is not in the future", field="next"
                )
            if cadence is not None and nxt > now + cadence:
                raise InvalidInput(
                    f"{row.key} is {row.severity}: updates are due every "
                    f"{int(cadence.total_seconds() // 60)} min, so promise the next one by "
                    f"{hm(now + cadence)} at the latest",
                    field="next",
                )
        else:
            nxt = now + cadence if cadence is not None else None
        # The incident's own impact line is internal wording: public updates state theirs.
        default_impact = "" if aud is Audience.PUBLIC else row.business_impact
        impact, more = scrub.scrub_text(
            _field(
                "business_impact",
                business_impact if business_impact is not None else default_impact,
            )
        )
        redacted += more
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
                "summary": f"{k.label} to {aud.value}" + (f", next by {hm(nxt)}" if nxt else ""),
                **({"redacted": redacted} if redacted else {}),
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


def latest_update(db: Database, key: str) -> StatusUpdate | None:
    """The incident's newest update of any audience (the desk's band shows it), or None."""
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        r = conn.execute(
            sa.select(status_updates)
            .where(status_updates.c.incident_id == incident_id)
            .order_by(status_updates.c.number.desc())
            .limit(1)
        ).first()
    return _row_to_update(r, f"INC-{incidents.parse_key(key)}") if r is not None else None


def public_updates(db: Database, *, since: datetime | None = None) -> dict[int, list[StatusUpdate]]:
    """incident id -> its public updates (oldest first); nothing internal is read.

    `since`: only incidents that are open or had a public update since then (the status
    page's current incidents and its history window), found on the index
    `ix_status_updates_audience_posted`: the page does not grow with years of history."""
    out: dict[int, list[StatusUpdate]] = {}
    stmt = (
        sa.select(status_updates, incidents_t.c.key)
        .select_from(
            status_updates.join(incidents_t, incidents_t.c.id == status_updates.c.incident_id)
        )
        .where(status_updates.c.audience == Audience.PUBLIC.value)
        .order_by(status_updates.c.incident_id, status_updates.c.number)
    )
    if since is not None:
        recent = sa.select(status_updates.c.incident_id).where(
            status_updates.c.audience == Audience.PUBLIC.value,
            status_updates.c.posted_at >= since,
        )
        stmt = stmt.where(
            sa.or_(status_updates.c.incident_id.in_(recent), incidents_t.c.stage.in_(OPEN_STAGES))
        )
    with db.read() as conn:
        for r in conn.execute(stmt):
            out.setdefault(r.incident_id, []).append(_row_to_update(r, r.key))
    return out
