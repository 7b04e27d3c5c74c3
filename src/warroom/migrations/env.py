"""Alembic environment: runs warroom's migrations on the connection it is handed."""

from __future__ import annotations

from alembic import context

from warroom.incidents.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - warroom always passes a connection
    raise RuntimeError("warroom migrations run through `warroom db upgrade`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
