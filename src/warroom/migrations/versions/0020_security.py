"""Security incidents: incident type and privacy, sealed evidence, regulatory clocks.

Revision ID: 0020_security
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warroom.core.db import UTCDateTime

revision = "0020_security"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("type", sa.String(40), nullable=False, server_default="availability")
        )
        batch.add_column(
            sa.Column("private", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("blobs.sha256"), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("scrubbed_sha256", sa.String(64), sa.ForeignKey("blobs.sha256")),
        sa.Column("redacted", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("sealed_by", sa.String(200), nullable=False),
        sa.Column("sealed_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("incident_id", "number", name="uq_evidence_incident_number"),
    )
    op.create_index("ix_evidence_incident_id", "evidence", ["incident_id"])
    op.create_table(
        "reg_clocks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("authority", sa.String(200), nullable=False),
        sa.Column("aware_at", UTCDateTime, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("remind_at", UTCDateTime, nullable=False),
        sa.Column("reminded_at", UTCDateTime),
        sa.Column("missed_at", UTCDateTime),
        sa.Column("notified_at", UTCDateTime),
        sa.Column("notified_to", sa.String(200), nullable=False),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("incident_id", "name", name="uq_reg_clocks_incident_name"),
    )
    op.create_index("ix_reg_clocks_incident_id", "reg_clocks", ["incident_id"])


def downgrade() -> None:
    op.drop_table("reg_clocks")
    op.drop_table("evidence")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("private")
        batch.drop_column("type")
