"""Database handle: one connection for a read and then a write transaction."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from warroom.db import Database
from warroom.tables import counters

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
