"""Database handle: one connection for a read and then a write transaction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from warroom.core.db import Database
from warroom.incidents.tables import counters

PROBE = sa.select(counters.c.value).where(counters.c.name == "probe")


def test_a_transaction_after_read_once_on_the_same_connection_rolls_back(db: Database) -> None:
    with db.connection() as conn:
        assert db.read_once(conn, PROBE, {}) is None
        # the read's settings (autocommit, SQLite's deferred BEGIN) are gone again
        assert not conn.get_execution_options().get("warroom_read")
        with pytest.raises(RuntimeError), db.transaction(on=conn):
            conn.execute(counters.insert().values(name="probe", value=1))
            raise RuntimeError("undo")
        assert db.read_once(conn, PROBE, {}) is None
        with db.transaction(on=conn):
            conn.execute(counters.insert().values(name="probe", value=2))
    with db.read() as conn:
        assert conn.execute(PROBE).scalar_one() == 2


def _backend_pid(database: Database) -> int:
    with database.read() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(url: str, pid: int) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    finally:
        engine.dispose()


def test_a_postgresql_connection_that_died_while_idle_is_replaced_unnoticed(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle past IDLE_PING_SECONDS, a pooled connection is pinged on checkout; a dead one is
    replaced before the request uses it."""
    from warroom.core import db as db_module

    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)
    database = Database(pg_url)
    try:
        pid = _backend_pid(database)
        _terminate(pg_url, pid)
        assert _backend_pid(database) != pid  # a new connection, and no error
    finally:
        database.dispose()


def test_a_postgresql_connection_that_died_while_busy_fails_once_then_reconnects(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Used within IDLE_PING_SECONDS, a connection is not pinged: if it died, that request
    fails with StorageUnavailable saying the database is back, and the next one reconnects."""
    from warroom.core import db as db_module
    from warroom.core.errors import StorageUnavailable

    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 3600.0)
    database = Database(pg_url)
    try:
        pid = _backend_pid(database)
        _terminate(pg_url, pid)
        with pytest.raises(StorageUnavailable, match="connection was lost; it is back: retry"):
            _backend_pid(database)
        assert _backend_pid(database) != pid
    finally:
        database.dispose()


def test_postgresql_pool_size_follows_the_cores_or_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from warroom.core import db as db_module
    from warroom.core.errors import InvalidInput

    monkeypatch.delenv(db_module.POOL_SIZE_ENV, raising=False)
    for cores, size in ((1, 4), (2, 4), (4, 8), (8, 15), (64, 15)):
        monkeypatch.setattr(db_module.os, "cpu_count", lambda c=cores: c)
        assert db_module.pool_size() == size
    monkeypatch.setenv(db_module.POOL_SIZE_ENV, "6")
    assert db_module.pool_size() == 6
    for bad in ("1", "0", "-2", "many"):
        monkeypatch.setenv(db_module.POOL_SIZE_ENV, bad)
        with pytest.raises(InvalidInput, match="WARROOM_DB_POOL_SIZE"):
            db_module.pool_size()
