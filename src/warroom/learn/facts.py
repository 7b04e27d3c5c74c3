"""Facts the learning area reads from an incident's record, whatever shape they come in.

A triage report is JSON written by the engine or by hand; these readers take what is there
and skip what is not, so a half-filled report still feeds the postmortem, recurrence and
reports:

    names([{"template": "timeout <*>"}], "template")    # ['timeout <*>']
    suspect_kind({"change": {"kind": "deploy"}})         # 'deploy'
    update_punctuality(events)                            # (on time, expected) or None
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warroom.core.clock import utcnow
from warroom.incidents import timeline


def names(values: Any, *keys: str) -> list[str]:
    """The first present `keys` of each item of a list (or of each list in a dict), as text;
    plain items are taken as they are."""
    out: list[str] = []
    if isinstance(values, dict):  # e.g. {"top": [...], ...}: names from its lists
        for v in values.values():
            if isinstance(v, list):
                out.extend(names(v, *keys))
        return out
    for v in values or []:
        if isinstance(v, dict):
            for k in keys:
                if v.get(k):
                    out.append(str(v[k]))
                    break
        elif v:
            out.append(str(v))
    return out


def signatures(report: dict[str, Any]) -> list[str]:
    """The error signatures of a triage report, as text (templates, patterns or messages)."""
    return names(report.get("signatures"), "template", "signature", "pattern", "message")


def services(report: dict[str, Any]) -> list[str]:
    """The services a triage report names."""
    return names(report.get("services"), "service", "name")


def suspect_kind(suspect: dict[str, Any]) -> str | None:
    """The kind of a triage suspect (deploy, config, ...), top-level or in its change."""
    change = suspect.get("change")
    kind = suspect.get("kind") or (change.get("kind") if isinstance(change, dict) else None)
    return str(kind) if kind else None


def top_routes(report: dict[str, Any] | None, limit: int = 5) -> list[dict[str, Any]]:
    """The report's routes with the highest error rate during the incident first."""
    if not report:
        return []
    routes = [r for r in report.get("routes") or [] if isinstance(r, dict)]
    return sorted(routes, key=lambda r: -float(r.get("error_rate_during") or 0))[:limit]


def update_punctuality(events: list[timeline.Event]) -> tuple[int, int] | None:
    """(on time, expected) status updates: each `update.posted` that promised a next update
    expects one by then; None when no update was posted."""
    posted = [e for e in events if e.kind == "update.posted"]
    if not posted:
        return None
    on_time = expected = 0
    for prev, nxt in zip(posted, [*posted[1:], None], strict=True):
        promised = prev.data.get("next_update_at")
        if not promised:
            continue
        try:
            deadline = datetime.fromisoformat(str(promised).replace("Z", "+00:00"))
        except ValueError:
            continue
        if nxt is None and deadline > utcnow():
            continue  # not due yet
        expected += 1
        if nxt is not None and nxt.at <= deadline:
            on_time += 1
    return on_time, expected
