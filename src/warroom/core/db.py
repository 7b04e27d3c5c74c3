"""Database access: engine, transactions, time, and every dialect difference in one place.

db = Database("sqlite:///./warroom.db")
with db.transaction() as conn:      # BEGIN IMMEDIATE on SQLite, READ COMMITTED on PG
    conn.execute(...)
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from warroom.core.clock import ensure_utc
from warroom.core.errors import InvalidInput, StorageUnavailable
from warroom.core.limits import check_value, field_name


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
        if path and path != ":memory:" and not Path(path).expanduser().parent.is_dir():
            # Never made up: a mistyped --db would otherwise create directories and an empty
            # database, and every command would answer "no incidents".
            raise InvalidInput(
                f"the directory of the database {path} does not exist: create it first, or "
                "give another --db",
                field="database_url",
            )
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        guard_engine(engine)
        return engine
    if url.startswith("postgresql"):
        # Connections are kept rather than opened as overflow and closed on return: a new
        # one costs PostgreSQL a backend process, and a webhook burst used to open and close
        # ~150 of them per 4,000 deliveries. How many: see pool_size().
        engine = sa.create_engine(
            url, connect_args={"connect_timeout": 5}, pool_size=pool_size(), max_overflow=0
        )
        _ping_when_idle(engine)
        guard_engine(engine)
        return engine
    raise StorageUnavailable(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql+psycopg://HOST/DB",
        field="database_url",
    )


POOL_SIZE_ENV = "WARROOM_DB_POOL_SIZE"


def pool_size() -> int:
    """PostgreSQL connections kept per process: WARROOM_DB_POOL_SIZE, else twice the cores
    (at least 4, at most 15). Short transactions gain nothing from more connections than the
    CPUs can run; more only queue on locks and cost PostgreSQL a backend each. On 2 cores,
    15 connections per worker gave 790-1160 alert deliveries/s and 4 gave 1190-1270.

    No request path holds two connections at once: every PostgreSQL test passes with a pool of
    one, except backup and export, which hold two."""
    text = os.environ.get(POOL_SIZE_ENV, "").strip()
    if text:
        try:
            size = int(text)
        except ValueError:
            size = 0
        if size < 2:
            raise InvalidInput(
                f"{POOL_SIZE_ENV}={text!r}: use a whole number of connections, at least 2 "
                "(backup and export hold two at once)",
                field=POOL_SIZE_ENV,
            )
        return size
    return min(15, max(4, 2 * (os.cpu_count() or 2)))


IDLE_PING_SECONDS = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled PostgreSQL connection before use only when it sat idle for a while.

    A ping on every checkout (`pool_pre_ping`) is one more round trip per request, a fifth of
    an alert delivery's. A connection used in the last two seconds is taken as alive; one that
    dies anyway fails its request with StorageUnavailable, the pool is invalidated and the
    next request reconnects.
    """

    def connected(dbapi_connection: Any, record: Any) -> None:
        record.info["warroom_used"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        used = record.info.get("warroom_used")
        if used is not None and time.monotonic() - used < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure means: reconnect
            raise sa.exc.DisconnectionError(str(exc)) from exc
        if not alive:
            raise sa.exc.DisconnectionError("the connection did not answer a ping")
        record.info["warroom_used"] = time.monotonic()

    def checkin(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["warroom_used"] = time.monotonic()

    event.listen(engine, "connect", connected)
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)


# --- every statement's parameters are checked before the driver sees them ------------------


def _length(bind: Any) -> int | None:
    kind = getattr(bind, "type", None)
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl
    return getattr(kind, "length", None) if isinstance(kind, sa.String) else None


def _check_parameters(
    conn: Any, cursor: Any, _statement: Any, params: Any, context: Any, _many: Any
) -> None:
    compiled = getattr(context, "compiled", None)
    rows: Iterable[dict[str, Any]] = getattr(context, "compiled_parameters", None) or ()
    binds = getattr(compiled, "binds", {}) if compiled is not None else {}
    if compiled is None:  # a textual statement: the raw parameters
        raw = params if isinstance(params, list | tuple) else [params]
        rows = [p for p in raw if isinstance(p, dict)]
    # Lengths only where text is written: a lookup by an over-long name just finds nothing.
    writes = bool(getattr(context, "isinsert", False) or getattr(context, "isupdate", False))
    for row in rows:
        for key, value in row.items():
            if value is None or isinstance(value, bool | float | bytes):
                continue
            length = _length(binds.get(key)) if writes else None
            check_value(field_name(str(key)), value, length=length)


def guard_engine(engine: Engine) -> None:
    """Check every statement `engine` runs: NUL characters, integers past 64 bits and text
    over its column's length are refused with InvalidInput naming the field, the same on
    SQLite and PostgreSQL (`warroom.core.limits.check_value`)."""
    event.listen(engine, "before_cursor_execute", _check_parameters)


Hook = Callable[[Connection], None]
_COMMIT_HOOKS: list[tuple[Hook, Hook]] = []


def on_commit(before: Hook, forget: Hook) -> None:
    """Run `before(conn)` at the end of every write transaction, after the caller's work and
    just before the commit (in the transaction: an error rolls it all back), and `forget(conn)`
    when the transaction fails instead. The incident ledger appends its entries this way."""
    if (before, forget) not in _COMMIT_HOOKS:
        _COMMIT_HOOKS.append((before, forget))


@contextlib.contextmanager
def _commit_hooks(conn: Connection) -> Iterator[None]:
    try:
        yield
        for before, _ in _COMMIT_HOOKS:
            before(conn)
    except BaseException:
        for _, forget in _COMMIT_HOOKS:
            forget(conn)
        raise


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
                    with self.engine.begin() as conn, _commit_hooks(conn):
                        yield conn
                else:
                    with on.begin(), _commit_hooks(on):
                        yield on
        except OperationalError as exc:
            raise self.unavailable(exc) from exc

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """One pooled connection for a `read_once` and then perhaps a `transaction(on=...)`:
        one checkout (and, on PostgreSQL, one liveness ping) instead of two."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise self.unavailable(exc) from exc

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
            raise self.unavailable(exc) from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (SQLite: without taking the write lock)."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(warroom_read=True)
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise self.unavailable(exc) from exc

    @contextlib.contextmanager
    def mapped_errors(self) -> Iterator[None]:
        """Raise StorageUnavailable when the database cannot be reached or written (for
        code that uses the engine directly, like migrations)."""
        try:
            yield
        except OperationalError as exc:
            raise self.unavailable(exc) from exc

    def unavailable(self, exc: OperationalError) -> StorageUnavailable:
        """The error to raise for `exc`. A pooled connection that turned out dead says little
        ("server closed the connection"): a fresh connection attempt tells what is wrong now
        (refused, timed out), or that the database is back and a retry will work."""
        if getattr(exc, "connection_invalidated", False) and not self.is_sqlite:
            try:
                with self.engine.connect():
                    pass
            except OperationalError as now:
                return StorageUnavailable(_describe(now, self.url))
            return StorageUnavailable(
                _describe(exc, self.url) + " (the connection was lost; it is back: retry)"
            )
        return StorageUnavailable(_describe(exc, self.url))

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

    def analyze(self, tables: list[str]) -> None:
        """Refresh PostgreSQL's planner statistics of `tables` after a bulk load: until
        autovacuum gets to them (or never, where it is off) it plans years of history as if
        the tables were empty. Not on SQLite: its statistics (sqlite_stat1, without STAT4) are
        averages, so 100,000 closed incidents and 20 open ones make `stage IN (open stages)`
        look like most of the table and the open incidents were read by a full scan (15 ms
        at 100,000); without statistics it seeks in the index."""
        names = [self.engine.dialect.identifier_preparer.quote(t) for t in tables]
        if not names or self.is_sqlite:
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"ANALYZE {', '.join(names)}")

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
