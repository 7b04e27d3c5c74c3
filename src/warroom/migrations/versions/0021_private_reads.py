"""Reads of private incidents: who opened one, when, by which route, allowed or refused.

Revision ID: 0021_private_reads
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warroom.core.db import UTCDateTime

revision = "0021_private_reads"
down_revision = "0020_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "private_reads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("hour", UTCDateTime, nullable=False),
        sa.Column("first_at", UTCDateTime, nullable=False),
        sa.Column("last_at", UTCDateTime, nullable=False),
        sa.Column("reads", sa.Integer, nullable=False),
    )
    op.create_index("ix_private_reads_incident_id", "private_reads", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_private_reads_incident_id", table_name="private_reads")
    op.drop_table("private_reads")
