"""Is the database at the code's schema? Answered without loading Alembic.

Every command that opens the database asks this first (`warroom list` and friends must start
in a fraction of a second; Alembic costs a third of one). The code's heads are read from the
migration files (`revision` / `down_revision`), the database's from `alembic_version`; only
when they differ does the caller load Alembic (`warroom.core.migrate`) and upgrade.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sqlalchemy as sa

from warroom.core.db import Database
from warroom.core.errors import StorageUnavailable

VERSIONS = Path(__file__).parent.parent / "migrations" / "versions"


def code_heads() -> set[str]:
    """The revisions no other migration builds on."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            target = node.targets[0]
            if not isinstance(target, ast.Name):
                continue
            value = ast.literal_eval(node.value)
            if target.id == "revision":
                revisions.add(str(value))
            elif target.id == "down_revision" and value:
                parents.update([value] if isinstance(value, str) else value)
    return revisions - parents


def is_current(db: Database) -> bool:
    """True when the database is at every head of the code (False also when it has no
    schema yet, or cannot say: the caller's Alembic run decides)."""
    try:
        with db.read() as conn:
            have = {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    except (sa.exc.DBAPIError, StorageUnavailable):  # no alembic_version yet: a new database
        return False
    return have == code_heads()
