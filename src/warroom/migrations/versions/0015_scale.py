"""Scale: the indexes the incident list reads by (open incidents, closed ones by keyset), the
status page's (public updates of its history window), the reports' (a period) and the
panels' (some kinds of one incident's events).

Revision ID: 0015_scale
"""

from __future__ import annotations

from alembic import op

revision = "0015_scale"
down_revision = ("0001_core", "0002_comms")  # status_updates is created in 0002
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Open incidents: `stage IN (...)`; closed ones: `stage = 'closed'` ordered by
    # (closed_at, id) descending, resumed after the cursor: one index serves both.
    op.create_index(
        "ix_incidents_stage_closed", "incidents", ["stage", "closed_at", "id"], unique=False
    )
    op.create_index("ix_incidents_started_at", "incidents", ["started_at"], unique=False)
    op.create_index(
        "ix_events_incident_kind", "events", ["incident_id", "kind", "seq"], unique=False
    )
    op.create_index(
        "ix_status_updates_audience_posted",
        "status_updates",
        ["audience", "posted_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_status_updates_audience_posted", table_name="status_updates")
    op.drop_index("ix_events_incident_kind", table_name="events")
    op.drop_index("ix_incidents_started_at", table_name="incidents")
    op.drop_index("ix_incidents_stage_closed", table_name="incidents")
