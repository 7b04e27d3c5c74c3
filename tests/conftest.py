"""Fixtures: a migrated, empty database per test on SQLite and on PostgreSQL; the web app;
a browser.

`db` / `db_url` are parametrised over both backends. Both migrate once per test session,
never per test:

* SQLite: one migrated file, copied for each test.
* PostgreSQL (the server on 127.0.0.1:5432, database `test`, trust auth): one migrated
  schema per session (per xdist worker), emptied before each test: every row deleted and every
  sequence restarted, in one round trip, with the triggers off for that statement only
  (`session_replication_role = replica`: the append-only guard refuses DELETE on events, and
  it must stay on for the test). A test that changed the schema itself (dropped a table,
  disabled a trigger: the catalog's fingerprint differs) gets a freshly migrated schema, and
  so does one after a test that left a lock behind. Each test sees its own URL (a distinct
  `application_name`), so in-process caches keyed by URL never carry over. Schemas are
  `t_<hex>`, so parallel runs from several worktrees never meet.

Without PostgreSQL, its tests skip locally and fail under CI (CI=true). Tests that use it
are marked `postgres`, those that use the browser `chromium`, so `make test-fast` can leave
them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from warroom.core import clock as clockmod
from warroom.core import migrate
from warroom.core.config import load_settings
from warroom.core.db import Database
from warroom.web.app import create_app

# The test client's Host is "testserver": allowed beside the loopback names (the default).
os.environ.setdefault("WARROOM_ALLOWED_HOSTS", "localhost,127.0.0.1,::1,testserver")

PG_ADMIN_URL = os.environ.get(
    "WARROOM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def _own_user_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test its own per-user data directory: a command without --db (the per-user
    database, docs/configuration.md) never touches the real ~/.local/share/warroom."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.delenv("WARROOM_CONFIG", raising=False)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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


def schema_url(schema: str, **params: str) -> str:
    """The admin URL with `schema` as its search_path (and any other libpq parameters)."""
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}{extra}"


def make_pg_url() -> tuple[str, str]:
    """A URL whose search_path is a brand-new, empty schema, and that schema's name."""
    reason = pg_available()
    need(reason is None, reason or "")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return schema_url(schema), schema


def drop_pg_schema(schema: str) -> None:
    engine = sa.create_engine(PG_ADMIN_URL)
    with engine.begin() as conn:
        conn.execute(sa.text("SET lock_timeout = '10s'"))
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# The catalog rows of the migrated schema, looked up by oid (an index lookup: the shared test
# database's catalogs are large). A test that drops a table or a column, adds a column,
# disables or drops a trigger, drops a constraint or rewrites a function changes the answer.
FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, '|' ORDER BY item), '')) FROM (
  SELECT 'r' || oid || relname || relkind::text || relnatts FROM pg_class WHERE oid = ANY({rels})
  UNION ALL
  SELECT 'a' || attrelid || attname || attisdropped::text FROM pg_attribute
   WHERE attrelid = ANY({tables}) AND attnum > 0
  UNION ALL
  SELECT 't' || oid || tgname || tgenabled::text FROM pg_trigger WHERE oid = ANY({triggers})
  UNION ALL
  SELECT 'k' || oid || conname FROM pg_constraint WHERE oid = ANY({constraints})
  UNION ALL
  SELECT 'f' || oid || md5(prosrc) FROM pg_proc WHERE oid = ANY({functions})
  UNION ALL
  SELECT 'v' || version_num FROM alembic_version
) AS catalog(item)
"""

OIDS = {
    "rels": "SELECT oid FROM pg_class WHERE relnamespace = %s::regnamespace",
    "tables": "SELECT oid FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'",
    "triggers": "SELECT t.oid FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
    " WHERE c.relnamespace = %s::regnamespace",
    "constraints": "SELECT oid FROM pg_constraint WHERE connamespace = %s::regnamespace",
    "functions": "SELECT oid FROM pg_proc WHERE pronamespace = %s::regnamespace",
    "sequences": "SELECT oid FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'S'",
}


def _oid_array(conn: psycopg.Connection[Any], query: str, schema: str) -> str:
    """The oids `query` finds in `schema`, as an SQL array literal."""
    found = ",".join(str(row[0]) for row in conn.execute(query, (schema,)))  # type: ignore[arg-type]
    return f"'{{{found}}}'::oid[]"


class PgSchema:
    """One migrated PostgreSQL schema for the session, emptied before each test."""

    def __init__(self) -> None:
        self.name = ""
        self.reset_sql = ""
        self._tags = itertools.count(1)

    def migrate(self) -> None:
        """A new schema at the newest revision (the one slow step; once per session, normally)."""
        url, self.name = make_pg_url()
        database = Database(url)
        try:
            migrate.upgrade(database)
        finally:
            database.dispose()
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            oids = {key: _oid_array(conn, q, self.name) for key, q in OIDS.items()}
            tables = [
                str(r[0])
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", (self.name,)
                )
            ]
            # Deleting would lose rows a migration put there; restoring them is not written.
            seeded = [
                t
                for t in tables
                if t != "alembic_version"
                and conn.execute(f'SELECT EXISTS (SELECT FROM "{t}")').fetchone() == (True,)
            ]
            assert seeded == [], f"migrations seed rows in {seeded}: teach PgSchema to restore them"
            fingerprint = FINGERPRINT.format(**oids)
            row = conn.execute(fingerprint).fetchone()
            assert row is not None
        # One round trip: refuse if the schema changed (P0001), else empty every table with the
        # triggers off (append-only events refuse DELETE) and restart the sequences in use.
        self.reset_sql = "".join(
            [
                "SET lock_timeout = '3s';",
                f"DO $$ BEGIN IF ({fingerprint}) <> '{row[0]}' THEN"
                " RAISE EXCEPTION 'the schema changed'; END IF; END $$;",
                "SET LOCAL session_replication_role = replica;",
                *(f'DELETE FROM "{t}";' for t in tables if t != "alembic_version"),
                f"SELECT setval(s, 1, false) FROM unnest({oids['sequences']}) AS s",
                " WHERE pg_sequence_last_value(s) IS NOT NULL;",
            ]
        )

    def url(self) -> str:
        """The schema emptied for the next test (or a new one), under a URL of its own."""
        if not self.name or not self._reset():
            if self.name:
                self.drop()
            self.migrate()
        tag = f"warroom-test-{os.getpid()}-{next(self._tags)}"
        return schema_url(self.name, application_name=tag)

    def _reset(self) -> bool:
        try:
            with psycopg.connect(_libpq(schema_url(self.name))) as conn:
                conn.execute(self.reset_sql)  # one transaction, committed on leaving the block
        except psycopg.errors.RaiseException:
            return False  # the last test changed the schema itself
        except psycopg.errors.LockNotAvailable:
            return False  # a connection of an earlier test still holds a lock
        return True

    def drop(self) -> None:
        # still locked by a stray connection: left behind (its name starts with t_)
        with contextlib.suppress(sa.exc.OperationalError):
            drop_pg_schema(self.name)
        self.name = ""


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[PgSchema]:
    reason = pg_available()
    need(reason is None, reason or "")
    schema = PgSchema()
    try:
        yield schema
    finally:
        if schema.name:
            schema.drop()


@pytest.fixture
def pg_url(pg_schema: PgSchema) -> str:
    """A migrated, empty PostgreSQL database (the session's schema, emptied)."""
    return pg_schema.url()


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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
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


@pytest.fixture
def web_client(db: Database) -> TestClient:
    """The web app over `db`, without its lifespan (no background scheduler)."""
    return TestClient(create_app(load_settings(database_url=db.url), database=db))


class Pages:
    """`new_page(viewport=...)` on the session's Chromium: each page in a fresh context (no
    cookies, no storage from another test), all closed when the test ends."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self._pages: list[Any] = []

    def new_page(self, **options: Any) -> Any:
        page = self._browser.new_page(**options)  # a page of its own context
        self._pages.append(page)
        return page

    def close(self) -> None:
        for page in self._pages:
            page.close()  # closes its context too


@pytest.fixture(scope="session")
def chromium() -> Iterator[tuple[Any, asyncio.AbstractEventLoop]]:
    """Debian's Chromium driven by Playwright, launched once for the session, and the event
    loop of Playwright's sync API.

    That API marks its loop as the thread's running loop between calls. Here the mark is
    taken off except while a test uses the browser (see `browser`), so other tests in this
    thread never find a foreign loop running (asyncio.run, anyio, apprise would refuse).
    """
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    playwright = manager.start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    loop = asyncio.get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield browser, loop
    finally:
        asyncio._set_running_loop(loop)
        browser.close()
        playwright.stop()


@pytest.fixture
def browser(chromium: tuple[Any, asyncio.AbstractEventLoop]) -> Iterator[Pages]:
    """Pages in fresh contexts on the shared Chromium: `browser.new_page(viewport=...)`."""
    shared, loop = chromium
    asyncio._set_running_loop(loop)
    pages = Pages(shared)
    try:
        yield pages
    finally:
        try:
            pages.close()
        finally:
            asyncio._set_running_loop(None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs PostgreSQL or Chromium, whichever way a test asks for it."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "pg_url" in names or "pg_schema" in names:
            item.add_marker(pytest.mark.postgres)
        if "chromium" in names or "browser" in names:
            item.add_marker(pytest.mark.chromium)


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
