"""Which runbooks fit an incident: by alert, service, route or keyword, best first.

Alert 3 points, service or route 2, each keyword 1; two points or more is a suggestion. What
is known about the incident: its text fields, its `alert.firing` events, its recorded root
cause (category and summary) and its latest triage report (affected routes, suspect services
and change kinds, headline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from warroom import incidents
from warroom.contain.runbooks.parsing import Runbook, load_all
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.incidents import artifacts, incident_types, timeline


@dataclass
class Match:
    runbook: Runbook
    score: int
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.runbook.name,
            "title": self.runbook.title,
            "score": self.score,
            "reasons": self.reasons,
        }


def _context(db: Database, inc: incidents.Incident) -> tuple[str, set[str], set[str], set[str]]:
    """(lower-case text, alert names, services, routes) known about an incident."""
    text = " ".join(
        [
            inc.title,
            inc.description,
            inc.error_messages,
            inc.suspected_changes,
            inc.impact_scope,
            inc.business_impact,
        ]
    ).lower()
    alerts: set[str] = set()
    services: set[str] = set()
    routes: set[str] = set()
    for e in timeline.read(db, inc.key, kinds=["alert.firing", "rootcause.recorded"]):
        if e.kind == "rootcause.recorded":  # its category says what broke: data_corruption, ...
            category = str(e.data.get("category") or "").replace("_", " ")
            text += f" {category} {e.data.get('summary_text') or ''}".lower()
            continue
        for a in e.data.get("alerts", []):
            if a.get("name"):
                alerts.add(str(a["name"]).lower())
            labels = a.get("labels") or {}
            for k in ("service", "job", "app"):
                if labels.get(k):
                    services.add(str(labels[k]).lower())
            if labels.get("route"):
                routes.add(str(labels["route"]).lower())
    report = artifacts.latest_triage_report(db, inc.key)
    if report is not None:
        for r in report.get("routes") or []:
            if isinstance(r, dict) and r.get("affected") and r.get("route"):
                routes.add(str(r["route"]).lower())
        for s in report.get("suspects") or []:
            change = s.get("change") if isinstance(s, dict) else None
            if isinstance(change, dict) and change.get("service"):
                services.add(str(change["service"]).lower())
            if isinstance(change, dict) and change.get("kind"):
                text += f" {change['kind']}".lower()
        for k in ("headline", "symptom"):
            if report.get(k):
                text += f" {report[k]}".lower()
    return text, alerts, services, routes


def _word_in(word: str, text: str) -> bool:
    return re.search(r"(?<![\w/])" + re.escape(word.lower()) + r"(?![\w])", text) is not None


def suggest(
    db: Database,
    key: str,
    *,
    settings: Settings | None = None,
    runbooks: dict[str, Runbook] | None = None,
    limit: int = 3,
) -> list[Match]:
    """Runbooks that fit the incident by alert, service, route or keyword, best first."""
    books = runbooks if runbooks is not None else load_all(settings or Settings())
    inc = incidents.get(db, key)
    text, alerts, services, routes = _context(db, inc)
    typed = incident_types.resolve(inc.type, settings).runbooks  # e.g. security-incident
    out: list[Match] = []
    for rb in books.values():
        score, reasons = 0, []
        if rb.name in typed:
            score += 3
            reasons.append(f"a {inc.type.replace('_', ' ')} incident")
        for a in rb.alerts:
            if a.lower() in alerts or _word_in(a, text):
                score += 3
                reasons.append(f"alert {a}")
        for s in rb.services:
            if s.lower() in services or _word_in(s, text):
                score += 2
                reasons.append(f"service {s}")
        for r in rb.routes:
            if (
                any(x == r.lower() or x.startswith(r.lower().rstrip("/") + "/") for x in routes)
                or r.lower() in text
            ):
                score += 2
                reasons.append(f"route {r}")
        hits = [k for k in rb.keywords if _word_in(k, text)]
        if hits:
            score += len(hits)
            reasons.append("mentions " + ", ".join(hits))
        if score >= 2:
            out.append(Match(rb, score, reasons))
    out.sort(key=lambda m: (-m.score, m.runbook.name))
    return out[:limit]
