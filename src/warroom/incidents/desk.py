"""The desk overview: every incident with what the team must not forget about it.

One row per incident, in priority order. The incident itself comes from this package; the
areas add their columns and warnings through the registry's `desk` providers (comms: the
heartbeat and update punctuality; learn: the postmortem). The CLI `warroom list` and the
page `/` both render this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from warroom import incidents
from warroom.core import registry
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.incidents.lifecycle import Incident


@dataclass
class Entry:
    incident: Incident
    columns: dict[str, Any] = field(default_factory=dict)  # filled by the areas' providers
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = self.incident.to_dict()
        for name, value in self.columns.items():
            out[name] = value.to_dict() if hasattr(value, "to_dict") else value
        out["warnings"] = self.warnings
        return out


def overview(
    db: Database, *, settings: Settings | None = None, include_closed: bool = True
) -> list[Entry]:
    """Incidents in priority order, each with the columns and warnings every area adds.

    `settings`: this deployment's (cadences, postmortem due times); the defaults when None.
    """
    settings = settings or Settings()
    items = incidents.list_incidents(db, include_closed=include_closed)
    entries = [Entry(incident=inc, warnings=list(inc.warnings)) for inc in items]
    for provider in registry.active().desk():
        provider(db, settings, entries)
    return entries
