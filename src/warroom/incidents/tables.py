"""The core tables (SQLAlchemy Core), portable types only.

Other areas (comms, postmortems, alerts, mitigations) declare their tables in their own
modules on the same `metadata`; every schema change is an Alembic migration in
`warroom/migrations/versions/`.
"""

from __future__ import annotations

import sqlalchemy as sa

from warroom.core.db import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.Integer, nullable=False, unique=True),
    sa.Column("key", sa.String(20), nullable=False, unique=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("severity", sa.String(2), nullable=True),
    sa.Column("factors", sa.JSON, nullable=False, default=dict),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("detected_at", UTCDateTime, nullable=False),
    sa.Column("contained_at", UTCDateTime),
    sa.Column("root_caused_at", UTCDateTime),
    sa.Column("fixed_at", UTCDateTime),
    sa.Column("verified_at", UTCDateTime),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("commander_at", UTCDateTime),
    sa.Column("skipped_stages", sa.JSON, nullable=False, default=list),
    sa.Column("impact_scope", sa.Text, nullable=False, default=""),
    sa.Column("business_impact", sa.Text, nullable=False, default=""),
    sa.Column("error_messages", sa.Text, nullable=False, default=""),
    sa.Column("suspected_changes", sa.Text, nullable=False, default=""),
    sa.Column("reporter", sa.String(200), nullable=False, default=""),
    sa.Column("reporter_contact", sa.String(200), nullable=False, default=""),
    sa.Column("security", sa.Boolean, nullable=False, default=False),
    sa.Column("drill", sa.Boolean, nullable=False, default=False),
    # Security incidents (migration 0020_security): the type and who may see it.
    sa.Column("type", sa.String(40), nullable=False, server_default="availability"),
    sa.Column("private", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("commander", sa.String(200)),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_seq", sa.Integer, nullable=False, default=0),
    sa.Column("last_hash", sa.String(64), nullable=False, default=""),
    # The incident list (listing.py): open ones by stage, closed ones by keyset.
    sa.Index("ix_incidents_stage_closed", "stage", "closed_at", "id"),
    # Reports of a period (learn/reports.py).
    sa.Index("ix_incidents_started_at", "started_at"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # no index on incident_id alone: the two below start with it (migration 0022)
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("incident_id", "seq", name="uq_events_incident_seq"),
    # Reads of some kinds of one incident's events (the panels: verdicts, mitigations,
    # recurrences): without it they scan the incident's whole timeline.
    sa.Index("ix_events_incident_kind", "incident_id", "kind", "seq"),
)

roles = sa.Table(
    "roles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("person", sa.String(200), nullable=False),
    sa.Column("assigned_at", UTCDateTime, nullable=False),
    sa.Column("assigned_by", sa.String(200), nullable=False),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("assignee", sa.String(200)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("incident_id", "number", name="uq_tasks_incident_number"),
)

blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("blobs.sha256"), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# One hash chain over every incident's head (warroom.incidents.ledger): deleting or rolling
# back a whole incident shows in `warroom audit`.
incident_ledger = sa.Table(
    "incident_ledger",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("incident_id", sa.Integer, nullable=False),
    sa.Column("incident_key", sa.String(20), nullable=False),
    sa.Column("incident_seq", sa.Integer, nullable=False),
    sa.Column("incident_hash", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Who read a private incident (warroom.incidents.privacy): one row per incident, person,
# route, outcome and hour, counting the reads in it, so a page reloaded all day is one row an
# hour, and the append-only timeline stays the incident's story (migration 0021_private_reads).
private_reads = sa.Table(
    "private_reads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("person", sa.String(200), nullable=False),
    sa.Column("via", sa.String(20), nullable=False),  # api, page, export, evidence
    sa.Column("allowed", sa.Boolean, nullable=False),
    sa.Column("hour", UTCDateTime, nullable=False),
    sa.Column("first_at", UTCDateTime, nullable=False),
    sa.Column("last_at", UTCDateTime, nullable=False),
    sa.Column("reads", sa.Integer, nullable=False),
)
