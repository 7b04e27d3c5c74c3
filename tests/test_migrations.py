"""The hand-written Alembic migrations build exactly the tables the registered areas declare.

Alembic's autogenerate compares the migrated database with the metadata of every area in the
registry (`registry.active().tables()` imports each area's tables module onto one
`metadata`): a column, index, constraint, type or nullability that one side has and the other
lacks is a difference. Compared on SQLite and on PostgreSQL; nothing is ignored.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from warroom.core import migrate, registry
from warroom.core.db import Database
from warroom.incidents.tables import metadata


def area_metadata() -> sa.MetaData:
    """The tables of every registered area, on their shared metadata."""
    modules = registry.active().tables()
    assert modules, "no area declares tables"
    return metadata


def differences(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, area_metadata()))


def test_migrations_build_exactly_the_tables_of_every_area(db: Database) -> None:
    assert migrate.pending(db) == []
    assert differences(db) == []


def test_a_table_no_migration_creates_is_a_difference(
    db: Database, request: pytest.FixtureRequest
) -> None:
    """The comparison sees a drift (else the test above proves nothing)."""
    probe = sa.Table("probe_drift", area_metadata(), sa.Column("id", sa.Integer, primary_key=True))
    request.addfinalizer(lambda: metadata.remove(probe))
    found = differences(db)
    assert [(d[0], d[1].name) for d in found] == [("add_table", "probe_drift")]
