"""Web sessions: a random id in a cookie, stored only as its sha256, for SESSION_LIFETIME.

cookie = create_session(db, account)
session_identity(db, cookie)     # Identity(via="session") | None
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa

from warroom.access.accounts import Account, digest
from warroom.access.identity import Identity, Role
from warroom.access.tables import accounts, sessions
from warroom.core.clock import utcnow
from warroom.core.db import Database

SESSION_LIFETIME = timedelta(hours=12)
MAX_SECRET = 200


def create_session(db: Database, account: Account, *, lifetime: timedelta | None = None) -> str:
    """A new web session for `account`; returns the secret cookie value (stored hashed)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.transaction() as conn:
        conn.execute(sessions.delete().where(sessions.c.expires_at < now))
        conn.execute(
            sessions.insert().values(
                token_hash=digest(token),
                account=account.name,
                created_at=now,
                expires_at=now + (lifetime or SESSION_LIFETIME),
            )
        )
    return token


def session_identity(db: Database, token: str) -> Identity | None:
    """The identity of a live session of an enabled account, else None."""
    if not token or len(token) > MAX_SECRET:
        return None
    with db.read() as conn:
        row = conn.execute(
            sa.select(accounts.c.name, accounts.c.role, accounts.c.disabled, sessions.c.expires_at)
            .select_from(sessions.join(accounts, accounts.c.name == sessions.c.account))
            .where(sessions.c.token_hash == digest(token))
        ).first()
    if row is None or row.disabled or row.expires_at <= utcnow():
        return None
    return Identity(name=row.name, role=Role(row.role), via="session", session_token=token)


def end_session(db: Database, token: str) -> None:
    with db.transaction() as conn:
        conn.execute(sessions.delete().where(sessions.c.token_hash == digest(token)))
