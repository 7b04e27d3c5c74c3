"""The desk overview: every incident with what the team must not forget about it.

One row per incident, in priority order. The incident itself comes from this package; the
areas add their columns and warnings through the registry's `desk` providers (comms: the
heartbeat and update punctuality; learn: the postmortem). The CLI's incident list and the
page `/` both render this.

    for e in overview(db, settings=settings):
        e.incident.key, e.columns.get("heartbeat"), [n.text for n in e.all_nags()]
    notices(db, settings=settings)   # warnings about no one incident (an on-call gap)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from warroom.core import registry
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Hint
from warroom.incidents import store
from warroom.incidents.model import Incident, Nag


@dataclass
class Entry:
    """One incident on the desk. Providers add a warning with `warn(text, hint)`; a plain
    `warnings.append(text)` still shows, without a next step."""

    incident: Incident
    columns: dict[str, Any] = field(default_factory=dict)  # filled by the areas' providers
    warnings: list[str] = field(default_factory=list)
    nags: list[Nag] = field(default_factory=list)

    def warn(self, text: str, hint: Hint | None = None) -> None:
        """Add a warning in words, with the step that deals with it."""
        self.nags.append(Nag(text, hint))
        self.warnings.append(text)

    def all_nags(self) -> list[Nag]:
        """Every warning as a Nag: those with hints, then text-only ones from `warnings`."""
        known = {n.text for n in self.nags}
        return self.nags + [Nag(w) for w in self.warnings if w not in known]

    def to_dict(self) -> dict[str, Any]:
        out = self.incident.to_dict()
        for name, value in self.columns.items():
            out[name] = value.to_dict() if hasattr(value, "to_dict") else value
        out["warnings"] = self.warnings
        out["nags"] = [n.to_dict() for n in self.all_nags()]
        return out


def overview(
    db: Database, *, settings: Settings | None = None, include_closed: bool = True
) -> list[Entry]:
    """Incidents in priority order, each with the columns and warnings every area adds.

    `settings`: this deployment's (cadences, postmortem due times); the defaults when None.
    """
    settings = settings or Settings()
    entries = [
        Entry(incident=inc, warnings=list(inc.warnings), nags=list(inc.nags))
        for inc in store.list_incidents(db, include_closed=include_closed)
    ]
    for provider in registry.active().desk():
        provider(db, settings, entries)
    return entries


def notices(db: Database, *, settings: Settings | None = None) -> list[Nag]:
    """Warnings about no one incident, from every area's `notices` (a gap in an on-call
    schedule): shown above the incidents."""
    settings = settings or Settings()
    out: list[Nag] = []
    for provider in registry.active().notices():
        out.extend(provider(db, settings))
    return out
