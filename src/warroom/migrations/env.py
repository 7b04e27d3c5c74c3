"""Alembic environment: runs warroom's migrations on the connection it is handed.

The target metadata is every registered area's tables (what `alembic revision --autogenerate`
compares with, and what tests/test_migrations.py checks the migrations against).
"""

from __future__ import annotations

from alembic import context

from warroom.core import registry
from warroom.incidents.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - warroom always passes a connection
    raise RuntimeError("warroom migrations run through `warroom db upgrade`")
registry.active().tables()  # each area's tables module adds its tables to `metadata`
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
