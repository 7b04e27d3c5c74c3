"""Signing in with a password, throttled per account and client (counted atomically).

authenticate(db, "ana", "...", client="10.0.0.7")   # Account; AuthFailed, TooManyAttempts
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from warroom.access.accounts import Account, hasher
from warroom.access.tables import accounts, login_failures, login_throttle
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


# The least number of failures that locks a scope: one account from one client, one account
# from anywhere (guesses spread over many addresses), one client on any account (spraying).
LIMITS = {"pair": MAX_FAILURES, "account": 4 * MAX_FAILURES, "client": 4 * MAX_FAILURES}


def _scopes(name: str, client: str) -> list[str]:
    """The counters an attempt touches, always in the same (sorted) order, so that parallel
    attempts lock their rows in one order and never deadlock (PostgreSQL)."""
    return sorted([f"pair:{name}|{client}", f"account:{name}", f"client:{client}"])


def _upsert(db: Database) -> Any:
    return sqlite_insert if db.is_sqlite else pg_insert


def _claim(db: Database, name: str, client: str) -> tuple[int, datetime] | None:
    """Count this attempt as a failure in every scope before the password is checked, each
    in one `INSERT ... ON CONFLICT DO UPDATE SET failures = failures + 1 RETURNING` (a row
    update, never a read then a write: parallel guesses each see their own count). None when
    every scope is under its limit; else the count and window start of the one over it."""
    now = utcnow()
    since = now - FAILURE_WINDOW
    t = login_throttle
    expired = t.c.window_start <= since
    over: tuple[int, datetime] | None = None
    with db.transaction() as conn:
        for scope in _scopes(name, client):
            stmt = (
                _upsert(db)(t)
                .values(scope=scope, failures=1, window_start=now)
                .on_conflict_do_update(
                    index_elements=[t.c.scope],
                    set_={
                        "failures": sa.case((expired, 1), else_=t.c.failures + 1),
                        "window_start": sa.case((expired, now), else_=t.c.window_start),
                    },
                )
                .returning(t.c.failures, t.c.window_start)
            )
            failures, start = conn.execute(stmt).one()
            if failures > LIMITS[scope.split(":", 1)[0]] and over is None:
                over = (failures, start)
    return over


def _release(db: Database, name: str, client: str) -> None:
    """The attempt was right after all: it is not a failure."""
    t = login_throttle
    with db.transaction() as conn:
        for scope in _scopes(name, client):  # one by one, in the order _claim locks them
            conn.execute(
                t.update()
                .where(t.c.scope == scope, t.c.failures > 0)
                .values(failures=t.c.failures - 1)
            )


def _record_failure(db: Database, name: str, client: str) -> None:
    """Keep a log of failed logins (a day of them) for whoever investigates."""
    now = utcnow()
    with db.transaction() as conn:
        conn.execute(login_failures.insert().values(account=name, client=client, at=now))
        conn.execute(login_failures.delete().where(login_failures.c.at < now - FAILURES_KEPT))


def authenticate(db: Database, name: str, password: str, *, client: str) -> Account:
    """The account when `password` is right; every failure is recorded.

    After MAX_FAILURES failures for one account from one client within FAILURE_WINDOW (or
    LIMITS' wider counts for one account, or one client), further attempts are refused with
    TooManyAttempts (carrying the wait in seconds) without checking the password. Each
    attempt is counted before its password is checked, so parallel guesses cannot all pass.
    """
    name = (name or "").strip()[:200]
    client = (client or "unknown")[:100]
    over = _claim(db, name, client)
    if over is not None:
        wait = over[1] + FAILURE_WINDOW - utcnow()
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
    _release(db, name, client)
    if hasher.check_needs_rehash(row.password_hash):
        with db.transaction() as conn:
            conn.execute(
                accounts.update()
                .where(accounts.c.id == row.id)
                .values(password_hash=hasher.hash(password))
            )
    return Account.from_row(row)
