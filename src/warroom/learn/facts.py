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

from warroom.core.clock import ensure_utc, utcnow
from warroom.incidents import timeline
from warroom.incidents.model import Incident


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


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def route_changed(route: dict[str, Any]) -> bool:
    """Whether a route of a triage report was hit: the engine's own `affected` verdict when
    the report has one; else its error rate at least doubled (to 1% or more) or its p95 grew
    by half or more."""
    if "affected" in route:
        return bool(route["affected"])
    before, during = (
        _number(route.get("error_rate_before")),
        _number(route.get("error_rate_during")),
    )
    if during is not None and during >= 0.01 and during >= 2 * (before or 0.0):
        return True
    p95_before, p95_during = (
        _number(route.get("p95_before_ms")),
        _number(route.get("p95_during_ms")),
    )
    return bool(p95_before and p95_during and p95_during >= 1.5 * p95_before)


def top_routes(report: dict[str, Any] | None, limit: int = 5) -> list[dict[str, Any]]:
    """The routes the incident hit (error rate or latency changed), the highest error rate
    during the incident first; routes that did not change are not listed."""
    if not report:
        return []
    routes = [r for r in report.get("routes") or [] if isinstance(r, dict) and route_changed(r)]
    return sorted(routes, key=lambda r: -float(r.get("error_rate_during") or 0))[:limit]


def onset(report: dict[str, Any] | None) -> datetime | None:
    """The onset a triage report found (an ISO time), or None."""
    value = (report or {}).get("onset")
    if not isinstance(value, str):
        return None
    try:
        return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def impact_start(inc: Incident, report: dict[str, Any] | None) -> datetime:
    """When the impact began: the earlier of the incident's start and the onset its triage
    report found (an incident declared "now" started when the logs say it did)."""
    found = onset(report)
    return min(inc.started_at, found) if found is not None else inc.started_at


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
