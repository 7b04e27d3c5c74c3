"""After-commit hooks: what other areas do once a change to an incident is committed.

    announce_event(db, "INC-7", Kind.SEVERITY_CHANGED, {"from": "P2", "to": "P1"}, "ana")

Each hook runs after the change committed; an error in one is logged and never undoes the
change or stops the others (the registry's `after_declare`, `after_attach`, `after_event`).
"""

from __future__ import annotations

import logging
from typing import Any

from warroom.core import registry
from warroom.core.db import Database

log = logging.getLogger("warroom")


def run_hooks(hooks: list[Any], *args: Any) -> None:
    """Run after-commit hooks; an error in one is logged, not raised."""
    for hook in list(hooks):
        try:
            hook(*args)
        except Exception:  # noqa: BLE001 - the change is committed; a hook must not undo it
            log.exception("hook %r failed", hook)


def announce_event(db: Database, key: str, kind: str, data: dict[str, Any], actor: str) -> None:
    """Run every area's after-event hooks for a committed event other areas react to (a
    severity raised, a commander named, a task assigned: paging and telling people)."""
    run_hooks(registry.active().after_event(), db, key, kind, data, actor)
