"""The desk overview: every incident with what the team must not forget about it.

One row per incident, in priority order, joining what the areas know: the heartbeat
(next status update due, overdue), update punctuality, and the postmortem (due, overdue,
published). The CLI `warroom list` and the page `/` both render this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from warroom import comms_heartbeat, incidents, postmortems
from warroom.comms import CommsConfig
from warroom.db import Database, utcnow
from warroom.incidents import Incident
from warroom.tables_learn import postmortems as postmortems_t


@dataclass
class Entry:
    incident: Incident
    heartbeat: comms_heartbeat.Heartbeat | None = None
    punctuality: comms_heartbeat.Punctuality | None = None
    postmortem_status: str | None = None  # missing, draft, review, published
    postmortem_due_at: Any = None
    postmortem_overdue: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = self.incident.to_dict()
        out["heartbeat"] = self.heartbeat.to_dict() if self.heartbeat else None
        out["punctuality"] = self.punctuality.to_dict() if self.punctuality else None
        out["postmortem"] = (
            {
                "status": self.postmortem_status,
                "due_at": self.postmortem_due_at.isoformat() if self.postmortem_due_at else None,
                "overdue": self.postmortem_overdue,
            }
            if self.postmortem_status
            else None
        )
        out["warnings"] = self.warnings
        return out


def overview(db: Database, *, include_closed: bool = True) -> list[Entry]:
    """Incidents in priority order with heartbeat, punctuality and postmortem state."""
    now = utcnow()
    items = incidents.list_incidents(db, include_closed=include_closed)
    with db.read() as conn:
        pm_status = {
            r.incident_id: r.status
            for r in conn.execute(sa.select(postmortems_t.c.incident_id, postmortems_t.c.status))
        }
    config = CommsConfig.from_settings()
    out: list[Entry] = []
    for inc in items:
        entry = Entry(incident=inc, warnings=list(inc.warnings))
        if inc.is_open:
            entry.heartbeat = comms_heartbeat.heartbeat(db, inc.key, config=config)
            if entry.heartbeat.state in (
                comms_heartbeat.Beat.OVERDUE,
                comms_heartbeat.Beat.ESCALATED,
            ):
                entry.warnings.append(f"status update {entry.heartbeat.text}")
        if inc.severity is not None and inc.stage_times.get("fixed") is not None:
            entry.punctuality = comms_heartbeat.punctuality(db, inc.key, config=config)
        due = postmortems.due_at(inc)
        status = pm_status.get(inc.id)
        if due is not None or status is not None:
            entry.postmortem_status = status or "missing"
            entry.postmortem_due_at = due
            entry.postmortem_overdue = bool(
                due is not None and status != postmortems.Status.PUBLISHED.value and due < now
            )
            if entry.postmortem_overdue:
                entry.warnings.append(
                    f"postmortem overdue since {due:%Y-%m-%d %H:%M} UTC "
                    f"(warroom postmortem {inc.key})"
                )
        out.append(entry)
    return out
