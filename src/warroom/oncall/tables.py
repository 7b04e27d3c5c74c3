"""Tables of the on-call area: people, schedules and their overrides, escalation policies, the
links from catalog services to policies, and the pager's state (triggers, pagers, pages).

Schedules keep their layers and policies their levels as JSON: they are defined and replaced
as a whole (a YAML file kept in git), while overrides change one at a time.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core.db import UTCDateTime
from warroom.incidents.tables import metadata

oncall_people = sa.Table(
    "oncall_people",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False, default=""),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("working_hours", sa.JSON, nullable=False),
    sa.Column("contacts", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

oncall_schedules = sa.Table(
    "oncall_schedules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("layers", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

oncall_overrides = sa.Table(
    "oncall_overrides",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "schedule_id", sa.Integer, sa.ForeignKey("oncall_schedules.id"), nullable=False, index=True
    ),
    sa.Column("person", sa.String(200), nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

oncall_policies = sa.Table(
    "oncall_policies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("repeat", sa.Integer, nullable=False, default=0),
    sa.Column("levels", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Which policy pages for a catalog service at a severity (keyed by the service's name).
oncall_routes = sa.Table(
    "oncall_routes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("severity", sa.String(2), nullable=False),
    sa.Column("policy_id", sa.Integer, sa.ForeignKey("oncall_policies.id"), nullable=False),
    sa.Column("urgency", sa.String(10), nullable=False),
    sa.UniqueConstraint("service", "severity", name="uq_oncall_routes_service_severity"),
)

# Server secrets (the key that signs acknowledgement links and calendar feeds).
oncall_keys = sa.Table(
    "oncall_keys",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Something happened that may page (declared, severity raised, services marked): the worker
# takes each once and opens the pagers it calls for.
oncall_triggers = sa.Table(
    "oncall_triggers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("handled_at", UTCDateTime, index=True),
)

# One escalation run of a policy for an incident: where it stands and when it acts next.
oncall_pagers = sa.Table(
    "oncall_pagers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("policy_id", sa.Integer, sa.ForeignKey("oncall_policies.id"), nullable=False),
    sa.Column("service", sa.String(100), nullable=False),
    sa.Column("urgency", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("next_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("acknowledged_at", UTCDateTime),
    sa.Column("acknowledged_by", sa.String(200)),
    sa.UniqueConstraint("incident_id", "policy_id", name="uq_oncall_pagers_incident_policy"),
)

# One page to one person; its acknowledgement link is single use (used_at).
oncall_pages = sa.Table(
    "oncall_pages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pager_id", sa.Integer, sa.ForeignKey("oncall_pagers.id"), nullable=False),
    sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
    sa.Column("person", sa.String(200), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("nonce_hash", sa.String(64), nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("deliver_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
    sa.UniqueConstraint("pager_id", "level", "round", "person", name="uq_oncall_pages_target"),
)


def save_by_name(conn: Connection, table: sa.Table, name: str, values: dict[str, Any]) -> None:
    """Insert the row named `name`, or replace its `values` if it exists (schedules, policies)."""
    found = conn.execute(sa.select(table.c.id).where(table.c.name == name)).first()
    if found is None:
        conn.execute(table.insert().values(name=name, **values))
    else:
        conn.execute(table.update().where(table.c.id == found.id).values(**values))
