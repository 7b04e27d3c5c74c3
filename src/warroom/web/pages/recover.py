"""The incident page's data-recovery panel: what the data commands recorded, read-only.

The commands themselves run where the product database's backups are (`warroom data ...`);
the page shows their readiness verdict, side copy, damage counts and repairs.
"""

from __future__ import annotations

from typing import Any

from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.incidents.lifecycle import Incident
from warroom.recover import verbs


def recover_panel(
    db: Database, inc: Incident, settings: Settings
) -> tuple[str, dict[str, Any]] | None:
    """The panel when a data command was recorded on the incident, else nothing."""
    journal = verbs.journal(db, inc.key)
    return None if journal is None else ("recover_panel.html", journal)
