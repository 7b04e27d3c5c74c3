"""Tables of access control: accounts, API tokens, web sessions, failed logins."""

from __future__ import annotations

import sqlalchemy as sa

from warroom.core.db import UTCDateTime
from warroom.incidents.tables import metadata

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    # viewer | responder | commander | admin
    sa.Column("role", sa.String(20), nullable=False),
    # argon2id encoded hash (salt and parameters inside)
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    # alertmanager | generic:<name> for webhook intake tokens; NULL for API tokens
    sa.Column("source", sa.String(120), nullable=True),
    # sha256 hex of the secret; the secret itself is shown once and never stored
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("revoked_by", sa.String(200)),
)

sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("account", sa.String(200), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account", sa.String(200), nullable=False),
    sa.Column("client", sa.String(100), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
)

# Failed-login counters, one row per scope ("pair:<account>|<client>", "account:<name>",
# "client:<address>"), incremented in one statement (see warroom.access.login).
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("scope", sa.String(320), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", UTCDateTime, nullable=False),
)
