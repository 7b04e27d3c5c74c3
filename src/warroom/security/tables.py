"""The security area's tables: sealed evidence and regulatory clocks (migration 0020_security)."""

from __future__ import annotations

import sqlalchemy as sa

from warroom.core.db import UTCDateTime
from warroom.incidents.tables import metadata

evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    # The original, sealed: its bytes are the blob of this hash, never changed.
    sa.Column("sha256", sa.String(64), sa.ForeignKey("blobs.sha256"), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    # The working copy for everyone else (scrubbed text); NULL when it cannot be scrubbed.
    sa.Column("scrubbed_sha256", sa.String(64), sa.ForeignKey("blobs.sha256")),
    sa.Column("redacted", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("sealed_by", sa.String(200), nullable=False),
    sa.Column("sealed_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("incident_id", "number", name="uq_evidence_incident_number"),
)

reg_clocks = sa.Table(
    "reg_clocks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
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
