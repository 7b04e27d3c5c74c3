"""Tables of the contain area: mitigations (levers pulled), runbook runs, drills."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from warroom.core.db import UTCDateTime
from warroom.incidents.tables import metadata

mitigations = sa.Table(
    "mitigations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("lever", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    # applied | failed | undone | undo_failed
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("plan", sa.JSON, nullable=False),
    sa.Column("before", sa.JSON, nullable=False),
    sa.Column("after", sa.JSON, nullable=False),
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("undo_steps", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("undone_by", sa.String(200)),
    sa.Column("undone_at", UTCDateTime),
    sa.UniqueConstraint("incident_id", "number", name="uq_mitigations_incident_number"),
)

runbook_runs = sa.Table(
    "runbook_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("runbook", sa.String(100), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    # open | finished | abandoned
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("started_by", sa.String(200), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.UniqueConstraint("incident_id", "number", name="uq_runbook_runs_incident_number"),
)

drills = sa.Table(
    "drills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, unique=True
    ),
    sa.Column("scenario", sa.String(60), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("directory", sa.Text, nullable=False),
    sa.Column("truth", sa.JSON, nullable=False),
    sa.Column("started_by", sa.String(200), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.Column("score", sa.JSON),
)


def next_number(conn: Any, table: sa.Table, incident_id: int) -> int:
    """The next per-incident number of a numbered table (M1, M2 ...; R1, R2 ...).

    Called with the incident row locked, so two writers never take the same number.
    """
    top = conn.execute(
        sa.select(sa.func.max(table.c.number)).where(table.c.incident_id == incident_id)
    ).scalar()
    return int(top or 0) + 1
