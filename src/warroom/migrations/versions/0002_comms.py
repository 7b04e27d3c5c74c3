"""Comms: status updates, services, maintenance, outbox, reminders sent.

Revision ID: 0002_comms
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warroom.core.db import UTCDateTime

revision = "0002_comms"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_updates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("audience", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("headline", sa.String(200), nullable=False),
        sa.Column("conditions", sa.Text, nullable=False),
        sa.Column("actions", sa.Text, nullable=False),
        sa.Column("needs", sa.Text, nullable=False),
        sa.Column("business_impact", sa.Text, nullable=False),
        sa.Column("prevention", sa.Text, nullable=False),
        sa.Column("component_state", sa.String(30)),
        sa.Column("eta", UTCDateTime),
        sa.Column("next_update_at", UTCDateTime),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("posted_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("incident_id", "number", name="uq_status_updates_incident_number"),
    )
    op.create_index("ix_status_updates_incident_id", "status_updates", ["incident_id"])
    op.create_table(
        "services",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("depends_on", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("name", name="uq_services_name"),
    )
    op.create_table(
        "incident_services",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("service_id", sa.Integer, sa.ForeignKey("services.id"), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("incident_id", "service_id", name="uq_incident_services_pair"),
    )
    op.create_index("ix_incident_services_incident_id", "incident_services", ["incident_id"])
    op.create_table(
        "maintenances",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id")),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("lease_token", sa.String(40)),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_incident_id", "outbox", ["incident_id"])
    op.create_index("ix_outbox_status", "outbox", ["status"])
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("slot", sa.String(80), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("worker", sa.String(100), nullable=False),
        sa.UniqueConstraint("incident_id", "kind", "slot", name="uq_reminders_sent_slot"),
    )
    op.create_index("ix_reminders_sent_incident_id", "reminders_sent", ["incident_id"])


def downgrade() -> None:
    for name in (
        "reminders_sent",
        "outbox",
        "maintenances",
        "incident_services",
        "services",
        "status_updates",
    ):
        op.drop_table(name)
