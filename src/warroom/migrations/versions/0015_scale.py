"""Scale: the indexes the incident list reads by (open incidents, closed ones by keyset).

Revision ID: 0015_scale
"""

from __future__ import annotations

from alembic import op

revision = "0015_scale"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Open incidents: `stage IN (...)`; closed ones: `stage = 'closed'` ordered by
    # (closed_at, id) descending, resumed after the cursor: one index serves both.
    op.create_index(
        "ix_incidents_stage_closed", "incidents", ["stage", "closed_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_stage_closed", table_name="incidents")
