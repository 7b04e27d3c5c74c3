"""The desk overview: every incident with what the team must not forget about it.

One row per incident, in priority order. The incident itself comes from this package; the
areas add their columns and warnings through the registry's `desk` providers (comms: the
heartbeat and update punctuality; learn: the postmortem). The CLI's incident list and the
page `/` both render this.

    shown = page(db, settings=settings, filters=Filters(severity=("P1",)), cursor="")
    for e in shown.entries:
        e.incident.key, e.columns.get("heartbeat"), [n.text for n in e.all_nags()]
    shown.next_cursor   # the next closed ones (see `listing`: keyset, never OFFSET)
    notices(db, settings=settings)   # warnings about no one incident (an on-call gap)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from warroom.core import registry
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Hint
from warroom.incidents import listing
from warroom.incidents.listing import Filters
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


@dataclass
class DeskPage:
    """One page of the desk: open entries (first page only), closed ones, the next cursor."""

    open: list[Entry]
    closed: list[Entry]
    next_cursor: str | None

    @property
    def entries(self) -> list[Entry]:
        return self.open + self.closed


def page(
    db: Database,
    *,
    settings: Settings | None = None,
    filters: Filters | None = None,
    cursor: str = "",
    limit: int = listing.DEFAULT_LIMIT,
) -> DeskPage:
    """A page of incidents in priority order, each with the columns and warnings every area
    adds. Providers get the page's entries only and read what they need for all of them at
    once, so a page costs the same number of statements whatever it shows.

    `settings`: this deployment's (cadences, postmortem due times); the defaults when None.
    """
    settings = settings or Settings()
    found = listing.page(db, filters, cursor=cursor, limit=limit)

    def entry(inc: Incident) -> Entry:
        return Entry(incident=inc, warnings=list(inc.warnings), nags=list(inc.nags))

    out = DeskPage([entry(i) for i in found.open], [entry(i) for i in found.closed], None)
    out.next_cursor = found.next_cursor
    entries = out.entries
    for provider in registry.active().desk():
        provider(db, settings, entries)
    return out


def notices(db: Database, *, settings: Settings | None = None) -> list[Nag]:
    """Warnings about no one incident, from every area's `notices` (a gap in an on-call
    schedule): shown above the incidents."""
    settings = settings or Settings()
    out: list[Nag] = []
    for provider in registry.active().notices():
        out.extend(provider(db, settings))
    return out
