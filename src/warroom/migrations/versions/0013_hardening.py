"""Hardening: failed-login counters updated atomically.

Revision ID: 0013_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warroom.core.db import UTCDateTime

revision = "0013_hardening"
down_revision = "0006_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("scope", sa.String(320), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
