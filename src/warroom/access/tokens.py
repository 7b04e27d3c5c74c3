"""API and webhook tokens: 32 random bytes shown once, stored only as their sha256.

secret, tok = create_token(db, "ci", role="responder", actor="admin")   # secret shown once
token_identity(db, secret)                  # Identity(name="token:ci", via="token") | None
create_token(db, "am", source="alertmanager", actor="admin")   # opens that intake only
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from warroom.access import accounts
from warroom.access.identity import Identity, Role
from warroom.access.tables import api_tokens
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Conflict, Hint, InvalidInput, NotFound

TOKEN_PREFIX = "wr_"
LAST_USED_EVERY = timedelta(minutes=1)
MAX_SECRET = 200

_SOURCE_RE = re.compile(r"^(alertmanager|generic:[A-Za-z0-9][A-Za-z0-9._-]{0,99})$")


@dataclass
class Token:
    name: str
    role: Role
    source: str | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "source": self.source,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }

    @classmethod
    def from_row(cls, row: Any) -> Token:
        return cls(
            name=row.name,
            role=Role(row.role),
            source=row.source,
            created_by=row.created_by,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


def parse_source(source: str | None) -> str | None:
    """`alertmanager` or `generic:<name>` (a webhook intake source), or None."""
    if source is None or not source.strip():
        return None
    text = source.strip()
    if not _SOURCE_RE.match(text):
        raise InvalidInput(
            f"unknown webhook source {source!r}: use alertmanager, or generic:<name> where "
            "<name> is the source a generic monitor posts as",
            field="source",
        )
    return text


def create_token(
    db: Database,
    name: str,
    *,
    role: Role | str = Role.RESPONDER,
    source: str | None = None,
    actor: str,
) -> tuple[str, Token]:
    """A new API token; returns (secret, token). The secret is not stored and not shown again."""
    name = accounts.valid_name(name, "token")
    r = Role.parse(role)
    src = parse_source(source)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with db.transaction() as conn:
            conn.execute(
                api_tokens.insert().values(
                    name=name,
                    role=r.value,
                    source=src,
                    token_hash=accounts.digest(secret),
                    created_by=actor,
                    created_at=utcnow(),
                )
            )
    except sa.exc.IntegrityError:
        raise Conflict(
            f"a token named {name!r} exists already (revoked tokens keep their name): "
            "pick another name",
            field="name",
            hint=Hint("list_tokens", "see the names in use"),
        ) from None
    accounts.bump()
    return secret, get_token(db, name)


def get_token(db: Database, name: str) -> Token:
    with db.read() as conn:
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.name == name)).first()
    if row is None:
        raise NotFound(f"no token named {name!r}", hint=Hint("list_tokens", "see the tokens"))
    return Token.from_row(row)


def list_tokens(db: Database) -> list[Token]:
    with db.read() as conn:
        rows = conn.execute(sa.select(api_tokens).order_by(api_tokens.c.name)).all()
    return [Token.from_row(r) for r in rows]


def revoke_token(db: Database, name: str, *, actor: str) -> Token:
    """Revoke a token: it is refused from the next request on."""
    with db.transaction() as conn:
        done = conn.execute(
            api_tokens.update()
            .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_by=actor)
        )
    if done.rowcount == 0:
        token = get_token(db, name)  # NotFound when it does not exist
        raise Conflict(
            f"token {name!r} was already revoked at {token.revoked_at:%Y-%m-%d %H:%M}",
            hint=Hint("list_tokens", "see the live tokens"),
        )
    accounts.bump()
    return get_token(db, name)


def token_identity(db: Database, secret: str) -> Identity | None:
    """The identity of a live token (its name, as `token:<name>`), else None.

    Records the time of use, at most once a minute per token.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_SECRET:
        return None
    with db.read() as conn:
        row = conn.execute(
            sa.select(
                api_tokens.c.id,
                api_tokens.c.name,
                api_tokens.c.role,
                api_tokens.c.source,
                api_tokens.c.last_used_at,
                api_tokens.c.revoked_at,
            ).where(api_tokens.c.token_hash == accounts.digest(secret))
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        with db.transaction() as conn:
            conn.execute(
                api_tokens.update().where(api_tokens.c.id == row.id).values(last_used_at=now)
            )
    return Identity(name=f"token:{row.name}", role=Role(row.role), via="token", source=row.source)


def sources_with_tokens(db: Database) -> frozenset[str]:
    """Webhook sources that have at least one live token (their intake then requires one)."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(api_tokens.c.source)
            .where(api_tokens.c.source.is_not(None), api_tokens.c.revoked_at.is_(None))
            .distinct()
        ).all()
    return frozenset(r.source for r in rows)
