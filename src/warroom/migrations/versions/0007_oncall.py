"""On call: people, schedules, overrides, escalation policies, paging routes, the pager.

Revision ID: 0007_oncall
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warroom.core.db import UTCDateTime

revision = "0007_oncall"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_people",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.UniqueConstraint("name", name="uq_oncall_people_name"),
        sa.Column("display_name", sa.String(200), nullable=False, default=""),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("working_hours", sa.JSON, nullable=False),
        sa.Column("contacts", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "oncall_schedules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.UniqueConstraint("name", name="uq_oncall_schedules_name"),
        sa.Column("description", sa.Text, nullable=False, default=""),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("layers", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("schedule_id", sa.Integer, sa.ForeignKey("oncall_schedules.id"), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, default=""),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_oncall_overrides_schedule_id", "oncall_overrides", ["schedule_id"])
    op.create_table(
        "oncall_policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.UniqueConstraint("name", name="uq_oncall_policies_name"),
        sa.Column("description", sa.Text, nullable=False, default=""),
        sa.Column("repeat", sa.Integer, nullable=False, default=0),
        sa.Column("levels", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "oncall_routes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(2), nullable=False),
        sa.Column("policy_id", sa.Integer, sa.ForeignKey("oncall_policies.id"), nullable=False),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.UniqueConstraint("service", "severity", name="uq_oncall_routes_service_severity"),
    )
    op.create_table(
        "oncall_keys",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "oncall_triggers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("handled_at", UTCDateTime),
    )
    op.create_index("ix_oncall_triggers_handled_at", "oncall_triggers", ["handled_at"])
    op.create_table(
        "oncall_pagers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("policy_id", sa.Integer, sa.ForeignKey("oncall_policies.id"), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("next_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("acknowledged_at", UTCDateTime),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.UniqueConstraint("incident_id", "policy_id", name="uq_oncall_pagers_incident_policy"),
    )
    op.create_index("ix_oncall_pagers_status", "oncall_pagers", ["status"])
    op.create_table(
        "oncall_pages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pager_id", sa.Integer, sa.ForeignKey("oncall_pagers.id"), nullable=False),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("nonce_hash", sa.String(64), nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("deliver_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime),
        sa.UniqueConstraint("pager_id", "level", "round", "person", name="uq_oncall_pages_target"),
    )
    op.create_index("ix_oncall_pages_incident_id", "oncall_pages", ["incident_id"])


def downgrade() -> None:
    op.drop_table("oncall_pages")
    op.drop_table("oncall_pagers")
    op.drop_table("oncall_triggers")
    op.drop_table("oncall_keys")
    op.drop_table("oncall_routes")
    op.drop_table("oncall_policies")
    op.drop_table("oncall_overrides")
    op.drop_table("oncall_schedules")
    op.drop_table("oncall_people")
