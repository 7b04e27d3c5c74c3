"""Accounts: add, list, change role or password, disable; and whether any exist.

    add_user(db, "ana", role="responder", password="...", actor="admin")
    set_role(db, "ana", role="commander", actor="admin")

Passwords are argon2id hashes (argon2-cffi). While no account exists warroom runs in
*loopback mode* (identity from X-Warroom-User or the OS user, loopback binds only); the first
account switches the web server to *accounts mode*, where every request except the public
status page needs one. Logins are in `login`, sessions in `sessions`, API tokens in `tokens`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher

from warroom.access.identity import Role
from warroom.access.tables import accounts, sessions
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Conflict, Hint, InvalidInput, NotFound

MIN_PASSWORD = 10
MAX_PASSWORD = 1024

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
hasher = PasswordHasher()

# Bumped whenever this process adds an account or changes tokens, so a web app in the same
# process sees the change at once (other processes see it within the web's access-state TTL).
generation = 0


def bump() -> None:
    """Note a change of accounts or tokens (see `generation`)."""
    global generation
    generation += 1


def digest(secret: str) -> str:
    """How a token or session id is stored: its sha256, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def valid_name(value: str, what: str) -> str:
    """An account or token name, stripped; InvalidInput when it has other characters."""
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
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(
            f"the password is longer than {MAX_PASSWORD} characters", field="password"
        )
    return password


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

    @classmethod
    def from_row(cls, row: Any) -> Account:
        return cls(
            name=row.name,
            role=Role(row.role),
            disabled=bool(row.disabled),
            created_by=row.created_by,
            created_at=row.created_at,
        )


def _no_such_account(name: str) -> NotFound:
    return NotFound(f"no account named {name!r}", hint=Hint("list_users", "see the accounts"))


def any_accounts(db: Database) -> bool:
    """True once at least one account exists (accounts mode)."""
    with db.read() as conn:
        return conn.execute(sa.select(accounts.c.id).limit(1)).first() is not None


def add_user(db: Database, name: str, *, role: Role | str, password: str, actor: str) -> Account:
    """Create an account with an argon2id password hash."""
    name = valid_name(name, "account")
    r = Role.parse(role)
    encoded = hasher.hash(_check_password(password))
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
            f"an account named {name!r} exists already",
            field="name",
            hint=Hint("set_user_role", "change its role instead", params={"name": name}),
        ) from None
    bump()
    return get_user(db, name)


def get_user(db: Database, name: str) -> Account:
    with db.read() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.name == name)).first()
    if row is None:
        raise _no_such_account(name)
    return Account.from_row(row)


def list_users(db: Database) -> list[Account]:
    with db.read() as conn:
        rows = conn.execute(sa.select(accounts).order_by(accounts.c.name)).all()
    return [Account.from_row(r) for r in rows]


def _update_user(db: Database, name: str, **values: Any) -> Account:
    with db.transaction() as conn:
        done = conn.execute(
            accounts.update().where(accounts.c.name == name).values(updated_at=utcnow(), **values)
        )
        if done.rowcount == 0:
            raise _no_such_account(name)
        if values.get("disabled") or "password_hash" in values:
            conn.execute(sessions.delete().where(sessions.c.account == name))
    bump()
    return get_user(db, name)


def set_role(db: Database, name: str, *, role: Role | str, actor: str) -> Account:
    """Change an account's role (takes effect on its next request)."""
    return _update_user(db, name, role=Role.parse(role).value)


def set_password(db: Database, name: str, *, password: str, actor: str) -> Account:
    """Replace an account's password; its open sessions end."""
    return _update_user(db, name, password_hash=hasher.hash(_check_password(password)))


def disable_user(db: Database, name: str, *, actor: str, disabled: bool = True) -> Account:
    """Disable (or enable again) an account; a disabled one cannot log in and its sessions end."""
    return _update_user(db, name, disabled=disabled)


# --- serve ------------------------------------------------------------------------------------

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def check_bind(host: str, *, accounts_exist: bool, insecure_bind: bool) -> str | None:
    """Whether the web server may bind `host`; returns a warning to print, or None.

    Loopback is always allowed; any address once an account exists (every request then needs
    an identity); without accounts only when the insecure bind is asked for (with a warning).
    """
    if is_loopback(host) or accounts_exist:
        return None
    if insecure_bind:
        return f"serving on {host} without authentication (no account exists)."
    raise InvalidInput(
        f"refusing to bind {host}: warroom has no accounts yet, so anyone who can reach "
        "the port could change incidents. Create an account, bind 127.0.0.1, or ask for an "
        "insecure bind explicitly",
        field="host",
        hint=Hint(
            "public_bind",
            "create an admin account first, or accept that anyone reaching the port can act",
            params={"host": host},
        ),
    )
