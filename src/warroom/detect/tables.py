"""Tables of the detect area: alert groups, alert states, and deliveries (idempotency)."""

from __future__ import annotations

import sqlalchemy as sa

from warroom.core.db import UTCDateTime
from warroom.incidents.tables import metadata

# One row per notification group (Alertmanager groupKey, or a generic monitor's key); the
# row is locked while a delivery for the group is processed, and points at the incident the
# group currently feeds.
alert_groups = sa.Table(
    "alert_groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("group_key", sa.String(500), nullable=False),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("source", "group_key", name="uq_alert_groups_source_group_key"),
)

# The last known state of each alert (fingerprint + startsAt) on an incident.
alert_states = sa.Table(
    "alert_states",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("annotations", sa.JSON, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint(
        "incident_id", "fingerprint", "starts_at", name="uq_alert_states_incident_fp_start"
    ),
    sa.Index("ix_alert_states_fingerprint", "fingerprint", "status"),
)

# Every delivery ever received, keyed by a hash of its payload: the same payload twice is
# recognised and changes nothing.
alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("payload_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("group_key", sa.String(500), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("alerts", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
)
