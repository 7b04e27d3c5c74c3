"""Hardening: failed-login counters updated atomically; the ledger of incident heads.

Revision ID: 0013_hardening
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warroom.core.clock import utcnow
from warroom.core.db import UTCDateTime
from warroom.incidents.ledger import entry_hash

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

    op.create_table(
        "incident_ledger",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("incident_id", sa.Integer, nullable=False),
        sa.Column("incident_key", sa.String(20), nullable=False),
        sa.Column("incident_seq", sa.Integer, nullable=False),
        sa.Column("incident_hash", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # Incidents that exist already enter the ledger at their current heads.
    _seed_ledger()


def _seed_ledger() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, key, last_seq, last_hash FROM incidents ORDER BY id")
    ).all()
    prev, now = "", utcnow()
    for seq, r in enumerate(rows, start=1):
        digest = entry_hash(prev, seq, r.key, int(r.last_seq), str(r.last_hash), now)
        conn.execute(
            sa.text(
                "INSERT INTO incident_ledger (seq, incident_id, incident_key, incident_seq,"
                " incident_hash, at, prev_hash, hash) VALUES (:seq, :iid, :key, :iseq, :ihash,"
                " :at, :prev, :hash)"
            ),
            {
                "seq": seq,
                "iid": r.id,
                "key": r.key,
                "iseq": r.last_seq,
                "ihash": r.last_hash,
                "at": now if conn.dialect.name != "sqlite" else now.replace(tzinfo=None),
                "prev": prev,
                "hash": digest,
            },
        )
        prev = digest


def downgrade() -> None:
    op.drop_table("incident_ledger")
    op.drop_table("login_throttle")
