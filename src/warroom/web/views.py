"""How the desk words what it shows: severities, event kinds, triage's suggestion.

Template helpers and small views shared by several pages (no routes here).
"""

from __future__ import annotations

from typing import Any

from warroom import incidents
from warroom.core import severity
from warroom.core.errors import InvalidInput
from warroom.incidents import timeline
from warroom.web.deps import templates

DEFINITIONS = {k.value: v for k, v in severity.DEFINITIONS.items()}
# "P1 · Major": the word before the definition's first colon, whole (never cut mid-sentence).
SEVERITY_NAMES = {k: v.split(":", 1)[0] for k, v in DEFINITIONS.items()}


def event_view(e: timeline.Event) -> dict[str, str]:
    """What the timeline shows for an event: its kind in words as a tag (when the summary
    does not already say it) and the one-line summary, never the raw `kind: ...` form."""
    tag, text = timeline.kind_and_text(e.kind, e.summary())
    return {"tag": tag, "text": text}


def triage_severity(
    inc: incidents.Incident, report: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The severity the attached triage report suggests, why, and whether the incident's own
    severity differs from it; None without a suggestion."""
    found = (report or {}).get("severity")
    if not isinstance(found, dict) or not found.get("severity"):
        return None
    try:
        suggested = severity.Severity.parse(str(found["severity"]))
    except InvalidInput:
        return None
    why = str(found.get("evidence") or found.get("reason") or "")
    return {"severity": suggested.value, "why": why, "differs": inc.severity is not suggested}


templates.env.globals["event_view"] = event_view
