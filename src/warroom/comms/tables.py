"""Tables of the comms area: status updates, the service catalog, maintenance, the outbox,
and the record of reminders sent (whose unique key makes each reminder go out once)."""

from __future__ import annotations

import sqlalchemy as sa

from warroom.core.db import UTCDateTime
from warroom.incidents.tables import metadata

status_updates = sa.Table(
    "status_updates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("audience", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("headline", sa.String(200), nullable=False, default=""),
    sa.Column("conditions", sa.Text, nullable=False, default=""),
    sa.Column("actions", sa.Text, nullable=False, default=""),
    sa.Column("needs", sa.Text, nullable=False, default=""),
    sa.Column("business_impact", sa.Text, nullable=False, default=""),
    sa.Column("prevention", sa.Text, nullable=False, default=""),
    sa.Column("component_state", sa.String(30)),
    sa.Column("eta", UTCDateTime),
    sa.Column("next_update_at", UTCDateTime),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("posted_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("incident_id", "number", name="uq_status_updates_incident_number"),
    # The status page: public updates of its history window (migration 0015_scale).
    sa.Index("ix_status_updates_audience_posted", "audience", "posted_at"),
)

services = sa.Table(
    "services",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("owner", sa.String(200), nullable=False, default=""),
    sa.Column("contact", sa.Text, nullable=False, default=""),
    sa.Column("tier", sa.Integer, nullable=False, default=2),
    sa.Column("public", sa.Boolean, nullable=False, default=False),
    sa.Column("depends_on", sa.JSON, nullable=False, default=list),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

incident_services = sa.Table(
    "incident_services",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("service_id", sa.Integer, sa.ForeignKey("services.id"), nullable=False),
    sa.Column("added_by", sa.String(200), nullable=False),
    sa.Column("added_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("incident_id", "service_id", name="uq_incident_services_pair"),
)

maintenances = sa.Table(
    "maintenances",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("services", sa.JSON, nullable=False, default=list),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), index=True),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("lease_token", sa.String(40)),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
)

reminders_sent = sa.Table(
    "reminders_sent",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("slot", sa.String(80), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("recipients", sa.JSON, nullable=False, default=list),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("worker", sa.String(100), nullable=False, default=""),
    sa.UniqueConstraint("incident_id", "kind", "slot", name="uq_reminders_sent_slot"),
)
