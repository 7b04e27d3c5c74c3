"""What intake recorded: the alerts of an incident, and deliveries by outcome."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from warroom import incidents
from warroom.core.clock import ensure_utc
from warroom.core.db import Database
from warroom.detect.tables import alert_deliveries, alert_states


def list_alerts(db: Database, key: str) -> list[dict[str, Any]]:
    """The alerts known on an incident, newest first."""
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        rows = conn.execute(
            sa.select(alert_states)
            .where(alert_states.c.incident_id == incident_id)
            .order_by(alert_states.c.starts_at.desc(), alert_states.c.id.desc())
        ).all()
    return [
        {
            "name": r.name,
            "fingerprint": r.fingerprint,
            "status": r.status,
            "labels": r.labels,
            "annotations": r.annotations,
            "starts_at": ensure_utc(r.starts_at).isoformat(),
            "ends_at": ensure_utc(r.ends_at).isoformat() if r.ends_at else None,
            "first_seen": ensure_utc(r.first_seen).isoformat(),
            "updated_at": ensure_utc(r.updated_at).isoformat(),
        }
        for r in rows
    ]


def delivery_counts(db: Database) -> dict[str, int]:
    """How many deliveries ended in each outcome."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(alert_deliveries.c.outcome, sa.func.count()).group_by(
                alert_deliveries.c.outcome
            )
        ).all()
    return {str(r[0]): int(r[1]) for r in rows}
