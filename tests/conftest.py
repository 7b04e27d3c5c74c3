"""Fixtures: a fresh migrated database per test, on SQLite and on PostgreSQL.

`db` is parametrised over both backends. PostgreSQL tests use the server on 127.0.0.1:5432
(database `test`, trust auth), each test in its own schema so parallel runs never meet.
Without that server they skip locally and fail under CI (CI=true).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from warroom.core import clock as clockmod
from warroom.core import migrate
from warroom.core.db import Database

PG_ADMIN_URL = os.environ.get(
    "WARROOM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition: bool, reason: str) -> None:
    """Skip locally when a component is missing; fail under CI, where it must be there."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


_pg_state: dict[str, str | None] = {}


def pg_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    if "reason" not in _pg_state:
        try:
            engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            _pg_state["reason"] = (
                f"PostgreSQL at {PG_ADMIN_URL} is not available "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
            )
    return _pg_state["reason"]


def make_pg_url() -> tuple[str, str]:
    """A URL whose search_path is a brand-new schema, and that schema's name."""
    reason = pg_available()
    need(reason is None, reason or "")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}", schema


def drop_pg_schema(schema: str) -> None:
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test is slower)."""
    path = tmp_path_factory.mktemp("template") / "warroom.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    database.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "warroom.db"
    shutil.copy(sqlite_template, path)
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{sqlite_template}{suffix}")
        if extra.exists():
            shutil.copy(extra, Path(f"{path}{suffix}"))
    return f"sqlite:///{path}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    url, schema = make_pg_url()
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    try:
        yield url
    finally:
        drop_pg_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    try:
        yield database
    finally:
        database.dispose()


class Clock:
    """A controllable clock: `clock.advance(minutes=15)`."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@pytest.fixture
def clock() -> Iterator[Clock]:
    c = Clock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    clockmod.set_clock(c)
    try:
        yield c
    finally:
        clockmod.set_clock(None)
