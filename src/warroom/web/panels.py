"""The panels areas add to the right-hand column of the incident page (see the registry)."""

from __future__ import annotations

from typing import Any

from warroom.core import registry
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.incidents.lifecycle import Incident

Panel = tuple[str, dict[str, Any]]  # (template, context)


def render_context(db: Database, incident: Incident, settings: Settings) -> list[Panel]:
    """(template, context) of each panel to show for one incident, in registry order."""
    out: list[Panel] = []
    for provider in registry.active().panels():
        panel = provider(db, incident, settings)
        if panel is not None:
            out.append(panel)
    return out
