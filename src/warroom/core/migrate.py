"""Schema migrations (Alembic), run by `warroom db upgrade` and on `warroom serve` start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from warroom.core.db import Database

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database) -> list[str]:
    """Bring the schema to the newest revision of every branch; returns the heads now applied."""
    cfg = _config()
    with db.mapped_errors(), db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
    return current(db)


def current(db: Database) -> list[str]:
    """Revisions the database is at (empty before the first upgrade)."""
    with db.mapped_errors(), db.engine.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


def pending(db: Database) -> list[str]:
    """Heads of the code that the database has not reached."""
    heads = set(ScriptDirectory.from_config(_config()).get_heads())
    return sorted(heads - set(current(db)))
