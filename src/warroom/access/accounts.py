"""Accounts, roles, API tokens, web sessions and login rate limiting.

    add_user(db, "ana", role="responder", password="...", actor="admin")
    authenticate(db, "ana", "...", client="10.0.0.7")  # Account; AuthFailed, TooManyAttempts
    secret, tok = create_token(db, "ci", role="responder", actor="admin")   # secret shown once
    token_identity(db, secret)                             # -> Identity | None

Passwords are argon2id hashes (argon2-cffi); API tokens and session ids are 32 random bytes,
stored only as sha256. While no account exists warroom runs in *loopback mode* (identity
from X-Warroom-User or the OS user, loopback binds only); the first account switches the web
server to *accounts mode*, where every request except the public status page needs one.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from warroom.access.tables import accounts, api_tokens, login_failures, sessions
from warroom.core.choices import Choice
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import (
    AuthFailed,
    Conflict,
    InvalidInput,
    NotFound,
    TooManyAttempts,
)

TOKEN_PREFIX = "wr_"
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=5)
SESSION_LIFETIME = timedelta(hours=12)
LAST_USED_EVERY = timedelta(minutes=1)
MIN_PASSWORD = 10

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_SOURCE_RE = re.compile(r"^(alertmanager|generic:[A-Za-z0-9][A-Za-z0-9._-]{0,99})$")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so a wrong name costs as much as a
    wrong password and response times do not reveal which names exist."""
    return _hasher.hash("warroom-no-such-account")


# Bumped whenever this process adds an account or changes tokens, so a web app in the same
# process sees the change at once (other processes see it within `access_state`'s TTL).
generation = 0


class Role(Choice):
    VIEWER = "viewer"
    RESPONDER = "responder"
    COMMANDER = "commander"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Identity:
    """Who a request acts as: an account (session), an API token, or loopback mode's user."""

    name: str
    role: Role
    via: str  # "session" | "token" | "loopback"
    source: str | None = None  # webhook source of a token
    session_token: str | None = None

    @property
    def csrf_token(self) -> str | None:
        """The per-session form token (derived from the session id, which it does not reveal)."""
        if self.session_token is None:
            return None
        return hmac.new(self.session_token.encode(), b"warroom-csrf", hashlib.sha256).hexdigest()


@dataclass
class Account:
    name: str
    role: Role
    disabled: bool
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "disabled": self.disabled,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


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


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _name(value: str, what: str) -> str:
    value = (value or "").strip()
    if not _NAME_RE.match(value):
        raise InvalidInput(
            f"{what} name {value!r} is not allowed: use 1-100 letters, digits, '.', '_', '-', '@'",
            field="name",
        )
    return value


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the password is too short: use at least {MIN_PASSWORD} characters "
            "(a passphrase of a few words is good)",
            field="password",
        )
    if len(password) > 1024:
        raise InvalidInput("the password is longer than 1024 characters", field="password")
    return password


def _bump() -> None:
    global generation
    generation += 1


# --- accounts ----------------------------------------------------------------------------------


def _account(row: Any) -> Account:
    return Account(
        name=row.name,
        role=Role(row.role),
        disabled=bool(row.disabled),
        created_by=row.created_by,
        created_at=row.created_at,
    )


def any_accounts(db: Database) -> bool:
    """True once at least one account exists (accounts mode)."""
    with db.read() as conn:
        return conn.execute(sa.select(accounts.c.id).limit(1)).first() is not None


def add_user(db: Database, name: str, *, role: Role | str, password: str, actor: str) -> Account:
    """Create an account with an argon2id password hash."""
    name = _name(name, "account")
    r = Role.parse(role)
    encoded = _hasher.hash(_check_password(password))
    now = utcnow()
    try:
        with db.transaction() as conn:
            conn.execute(
                accounts.insert().values(
                    name=name,
                    role=r.value,
                    password_hash=encoded,
                    disabled=False,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
            )
    except sa.exc.IntegrityError:
        raise Conflict(
            f"an account named {name!r} exists already: change its role with "
            f"`warroom user role {name} ROLE`"
        ) from None
    _bump()
    return get_user(db, name)


def get_user(db: Database, name: str) -> Account:
    with db.read() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.name == name)).first()
    if row is None:
        raise NotFound(f"no account named {name!r}: see `warroom user list`")
    return _account(row)


def list_users(db: Database) -> list[Account]:
    with db.read() as conn:
        rows = conn.execute(sa.select(accounts).order_by(accounts.c.name)).all()
    return [_account(r) for r in rows]


def _update_user(db: Database, name: str, **values: Any) -> Account:
    with db.transaction() as conn:
        done = conn.execute(
            accounts.update().where(accounts.c.name == name).values(updated_at=utcnow(), **values)
        )
        if done.rowcount == 0:
            raise NotFound(f"no account named {name!r}: see `warroom user list`")
        if values.get("disabled"):
            conn.execute(sessions.delete().where(sessions.c.account == name))
    _bump()
    return get_user(db, name)


def set_role(db: Database, name: str, *, role: Role | str, actor: str) -> Account:
    """Change an account's role (takes effect on its next request)."""
    return _update_user(db, name, role=Role.parse(role).value)


def set_password(db: Database, name: str, *, password: str, actor: str) -> Account:
    """Replace an account's password; its open sessions end."""
    encoded = _hasher.hash(_check_password(password))
    account = _update_user(db, name, password_hash=encoded)
    with db.transaction() as conn:
        conn.execute(sessions.delete().where(sessions.c.account == name))
    return account


def disable_user(db: Database, name: str, *, actor: str, disabled: bool = True) -> Account:
    """Disable (or enable again) an account; a disabled one cannot log in and its sessions end."""
    return _update_user(db, name, disabled=disabled)


# --- login ------------------------------------------------------------------------------------


def _recent_failures(db: Database, name: str, client: str) -> list[datetime]:
    since = utcnow() - FAILURE_WINDOW
    with db.read() as conn:
        rows = conn.execute(
            sa.select(login_failures.c.at)
            .where(
                login_failures.c.account == name,
                login_failures.c.client == client,
                login_failures.c.at > since,
            )
            .order_by(login_failures.c.at)
        ).all()
    return [r.at for r in rows]


def authenticate(db: Database, name: str, password: str, *, client: str) -> Account:
    """The account when `password` is right; every failure is recorded.

    After MAX_FAILURES failures for one account from one client within FAILURE_WINDOW,
    further attempts are refused with TooManyAttempts (carrying the wait in seconds) without
    checking the password.
    """
    name = (name or "").strip()[:200]
    client = (client or "unknown")[:100]
    failures = _recent_failures(db, name, client)
    if len(failures) >= MAX_FAILURES:
        wait = failures[-MAX_FAILURES] + FAILURE_WINDOW - utcnow()
        seconds = max(1, int(wait.total_seconds()) + 1)
        raise TooManyAttempts(
            f"too many failed logins for {name!r} from this address: try again in "
            f"{seconds} seconds",
            retry_after=seconds,
        )
    with db.read() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.name == name)).first()
    ok = False
    try:
        ok = _hasher.verify(row.password_hash if row is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    if row is None or not ok or row.disabled:
        now = utcnow()
        with db.transaction() as conn:
            conn.execute(login_failures.insert().values(account=name, client=client, at=now))
            conn.execute(
                login_failures.delete().where(login_failures.c.at < now - timedelta(days=1))
            )
        raise AuthFailed("wrong account name or password (or the account is disabled)")
    if _hasher.check_needs_rehash(row.password_hash):
        with db.transaction() as conn:
            conn.execute(
                accounts.update()
                .where(accounts.c.id == row.id)
                .values(password_hash=_hasher.hash(password))
            )
    return _account(row)


def create_session(db: Database, account: Account, *, lifetime: timedelta | None = None) -> str:
    """A new web session for `account`; returns the secret cookie value (stored hashed)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.transaction() as conn:
        conn.execute(sessions.delete().where(sessions.c.expires_at < now))
        conn.execute(
            sessions.insert().values(
                token_hash=_sha256(token),
                account=account.name,
                created_at=now,
                expires_at=now + (lifetime or SESSION_LIFETIME),
            )
        )
    return token


def session_identity(db: Database, token: str) -> Identity | None:
    """The identity of a live session of an enabled account, else None."""
    if not token or len(token) > 200:
        return None
    with db.read() as conn:
        row = conn.execute(
            sa.select(accounts.c.name, accounts.c.role, accounts.c.disabled, sessions.c.expires_at)
            .select_from(sessions.join(accounts, accounts.c.name == sessions.c.account))
            .where(sessions.c.token_hash == _sha256(token))
        ).first()
    if row is None or row.disabled or row.expires_at <= utcnow():
        return None
    return Identity(name=row.name, role=Role(row.role), via="session", session_token=token)


def end_session(db: Database, token: str) -> None:
    with db.transaction() as conn:
        conn.execute(sessions.delete().where(sessions.c.token_hash == _sha256(token)))


# --- API tokens -------------------------------------------------------------------------------


def parse_source(source: str | None) -> str | None:
    """`alertmanager` or `generic:<name>` (a webhook intake source), or None."""
    if source is None or not source.strip():
        return None
    text = source.strip()
    if not _SOURCE_RE.match(text):
        raise InvalidInput(
            f"unknown webhook source {source!r}: use alertmanager or generic:<name> "
            "(the <name> of /api/v1/alerts/webhook/<name>)",
            field="source",
        )
    return text


def _token(row: Any) -> Token:
    return Token(
        name=row.name,
        role=Role(row.role),
        source=row.source,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def create_token(
    db: Database,
    name: str,
    *,
    role: Role | str = Role.RESPONDER,
    source: str | None = None,
    actor: str,
) -> tuple[str, Token]:
    """A new API token; returns (secret, token). The secret is not stored and not shown again."""
    name = _name(name, "token")
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
                    token_hash=_sha256(secret),
                    created_by=actor,
                    created_at=utcnow(),
                )
            )
    except sa.exc.IntegrityError:
        raise Conflict(
            f"a token named {name!r} exists already (revoked tokens keep their name): "
            "pick another name"
        ) from None
    _bump()
    return secret, get_token(db, name)


def get_token(db: Database, name: str) -> Token:
    with db.read() as conn:
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.name == name)).first()
    if row is None:
        raise NotFound(f"no token named {name!r}: see `warroom token list`")
    return _token(row)


def list_tokens(db: Database) -> list[Token]:
    with db.read() as conn:
        rows = conn.execute(sa.select(api_tokens).order_by(api_tokens.c.name)).all()
    return [_token(r) for r in rows]


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
        raise Conflict(f"token {name!r} was already revoked at {token.revoked_at:%Y-%m-%d %H:%M}")
    _bump()
    return get_token(db, name)


def token_identity(db: Database, secret: str) -> Identity | None:
    """The identity of a live token (its name, as `token:<name>`), else None.

    Records the time of use, at most once a minute per token.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    digest = _sha256(secret)
    with db.read() as conn:
        row = conn.execute(
            sa.select(
                api_tokens.c.id,
                api_tokens.c.name,
                api_tokens.c.role,
                api_tokens.c.source,
                api_tokens.c.last_used_at,
                api_tokens.c.revoked_at,
            ).where(api_tokens.c.token_hash == digest)
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


# --- serve ------------------------------------------------------------------------------------

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def check_bind(host: str, *, accounts_exist: bool, insecure_bind: bool) -> str | None:
    """Whether `warroom serve` may bind `host`; returns a warning to print, or None.

    Loopback is always allowed; any address once an account exists (every request then needs
    an identity); without accounts only with --insecure-bind (and a warning).
    """
    if is_loopback(host) or accounts_exist:
        return None
    if insecure_bind:
        return f"serving on {host} without authentication (no account exists)."
    raise InvalidInput(
        f"refusing to bind {host}: warroom has no accounts yet, so anyone who can reach "
        "the port could change incidents. Create one (warroom user add NAME --role admin), "
        "bind 127.0.0.1, or pass --insecure-bind",
        field="host",
    )
