"""Signing in with a password, throttled per account and client.

authenticate(db, "ana", "...", client="10.0.0.7")   # Account; AuthFailed, TooManyAttempts
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2.exceptions import InvalidHashError, VerificationError

from warroom.access.accounts import Account, hasher
from warroom.access.tables import accounts, login_failures
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import AuthFailed, Hint, TooManyAttempts

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=5)
FAILURES_KEPT = timedelta(days=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so a wrong name costs as much as a
    wrong password and response times do not reveal which names exist."""
    return hasher.hash("warroom-no-such-account")


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


def _record_failure(db: Database, name: str, client: str) -> None:
    now = utcnow()
    with db.transaction() as conn:
        conn.execute(login_failures.insert().values(account=name, client=client, at=now))
        conn.execute(login_failures.delete().where(login_failures.c.at < now - FAILURES_KEPT))


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
    ok: bool
    try:
        ok = hasher.verify(row.password_hash if row is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    if row is None or not ok or row.disabled:
        _record_failure(db, name, client)
        raise AuthFailed(
            "wrong account name or password (or the account is disabled)",
            hint=Hint("sign_in", "sign in again with the right name and password"),
        )
    if hasher.check_needs_rehash(row.password_hash):
        with db.transaction() as conn:
            conn.execute(
                accounts.update()
                .where(accounts.c.id == row.id)
                .values(password_hash=hasher.hash(password))
            )
    return Account.from_row(row)
