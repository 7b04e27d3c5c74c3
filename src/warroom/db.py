"""Database access: engine, transactions, time, and every dialect difference in one place.

db = Database("sqlite:///./warroom.db")
with db.transaction() as conn:      # BEGIN IMMEDIATE on SQLite, READ COMMITTED on PG
    conn.execute(...)
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from warroom.errors import StorageUnavailable

_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (tests may replace the clock with `set_clock`)."""
    if _clock is not None:
        return _clock()
    return datetime.now(UTC)


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); `None` restores the real one."""
    global _clock
    _clock = clock


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A datetime stored as UTC and always read back timezone-aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return ensure_utc(value)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level; we issue BEGIN IMMEDIATE ourselves so that writers
    # queue on the busy timeout instead of failing with "database is locked" on upgrade.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Reads take a deferred transaction (a consistent snapshot, no write lock).
    if conn.get_execution_options().get("warroom_read"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str) -> Engine:
    """An engine with warroom's connection settings for SQLite or PostgreSQL."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if url.startswith("postgresql"):
        # Connections are kept rather than opened as overflow and closed on return: a new
        # one costs PostgreSQL a backend process, and a webhook burst used to open and close
        # ~150 of them per 4,000 deliveries. The ceiling (15 per process) is as before.
        return sa.create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 5},
            pool_size=15,
            max_overflow=0,
        )
    raise StorageUnavailable(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql+psycopg://HOST/DB"
    )


class Database:
    """A handle on warroom's store; domain functions take it as their first argument."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or create_db_engine(url)
        # SQLite has one writer at a time, and a connection waiting for the lock polls it
        # with growing sleeps (1, 2, 5, 10 ... ms): threads of this process queue here
        # instead and get the lock the moment the previous writer commits.
        self._sqlite_writer = threading.RLock() if self.is_sqlite else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def transaction(self, *, on: Connection | None = None) -> Iterator[Connection]:
        """One write transaction; commits on success, rolls back on any error.

        `on`: a connection from `connection()` to run it on (else one from the pool).
        """
        try:
            with self._sqlite_writer or contextlib.nullcontext():
                if on is None:
                    with self.engine.begin() as conn:
                        yield conn
                else:
                    with on.begin():
                        yield on
        except OperationalError as exc:
            raise StorageUnavailable(_describe(exc, self.url)) from exc

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """One pooled connection for a `read_once` and then perhaps a `transaction(on=...)`:
        one checkout (and, on PostgreSQL, one liveness ping) instead of two."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageUnavailable(_describe(exc, self.url)) from exc

    def read_once(self, conn: Connection, stmt: Any, params: dict[str, Any]) -> Any:
        """The first row of one read on `conn` (from `connection()`), outside any write
        transaction: on SQLite in a deferred transaction (no write lock), on PostgreSQL in
        autocommit (one round trip: no BEGIN or COMMIT)."""
        option: dict[str, Any] = (
            {"warroom_read": True} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"}
        )
        undo: dict[str, Any] = (
            {"warroom_read": False}
            if self.is_sqlite
            else {"isolation_level": conn.default_isolation_level}
        )
        try:
            conn.execution_options(**option)  # in place, for this checkout
            try:
                with conn.begin():
                    return conn.execute(stmt, params).first()
            finally:
                if not conn.invalidated:  # a lost connection goes back to the pool closed
                    conn.execution_options(**undo)
        except OperationalError as exc:
            raise StorageUnavailable(_describe(exc, self.url)) from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (SQLite: without taking the write lock)."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(warroom_read=True)
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise StorageUnavailable(_describe(exc, self.url)) from exc

    @contextlib.contextmanager
    def mapped_errors(self) -> Iterator[None]:
        """Raise StorageUnavailable when the database cannot be reached or written (for
        code that uses the engine directly, like migrations)."""
        try:
            yield
        except OperationalError as exc:
            raise StorageUnavailable(_describe(exc, self.url)) from exc

    def lock_row(self, stmt: sa.Select[Any]) -> sa.Select[Any]:
        """Add FOR UPDATE where the dialect has it (SQLite holds the whole-database lock)."""
        return stmt if self.is_sqlite else stmt.with_for_update()

    def retrying(self, fn: Callable[[], Any], *, attempts: int = 5) -> Any:
        """Run `fn`, retrying on serialization failures and deadlocks (PostgreSQL)."""
        for attempt in range(attempts):
            try:
                return fn()
            except DBAPIError as exc:
                code = getattr(getattr(exc, "orig", None), "sqlstate", None)
                if code in ("40001", "40P01", "23505") and attempt < attempts - 1:
                    time.sleep(0.01 * (2**attempt))
                    continue
                raise
        return None  # unreachable

    def dispose(self) -> None:
        self.engine.dispose()


def _describe(exc: OperationalError, url: str) -> str:
    safe = sa.engine.make_url(url).render_as_string(hide_password=True)
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    lowered = detail.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return (
            f"the database {safe} cannot be written ({detail}): nothing was changed; check "
            "the file's and its directory's permissions, or whether the disk is mounted "
            "read-only"
        )
    if "disk is full" in lowered or "no space" in lowered:
        return (
            f"the database {safe} cannot be written ({detail}): nothing was changed; free "
            "space on its disk and try again"
        )
    return f"the database {safe} is unavailable: {detail}"


def open_database(url: str | None = None) -> Database:
    """The database from an explicit URL or the settings (WARROOM_DATABASE_URL)."""
    from warroom.config import load_settings

    return Database(url or load_settings().database_url)
