"""Recurrence: is this the same crisis again? Compare an incident with past ones.

    matches = find_similar(db, "INC-14")
    matches[0].message   # "looks like INC-12 (root cause: unindexed query: ...), whose
                         #  action item AI-33 is still open"

An incident's fingerprint is its affected routes and services, error signatures, kinds of
suspect change (from the attached triage report), root-cause category and the words of its
title, description and error messages. Similarity is a weighted Jaccard over the parts both
incidents have. `check` records `recurrence.detected` and escalates open action items; it runs
by itself after a declaration and after a triage report is attached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from warroom import incidents
from warroom.core.db import Database
from warroom.incidents import artifacts, timeline
from warroom.incidents.lifecycle import Incident
from warroom.incidents.tables import events as events_t
from warroom.incidents.tables import incidents as incidents_t
from warroom.incidents.tables import roles as roles_t
from warroom.learn import actions, facts
from warroom.learn.rootcause import RootCause, get_root_cause, root_causes_by_incident

THRESHOLD = 0.45
WEIGHTS = {
    "routes": 3.0,
    "services": 2.0,
    "signatures": 3.0,
    "suspects": 1.0,
    "category": 2.0,
    "words": 2.0,
}
STOPWORDS = {
    "the",
    "a",
    "an",
    "and",
    "or",
    "of",
    "on",
    "in",
    "to",
    "for",
    "with",
    "is",
    "are",
    "was",
    "were",
    "be",
    "at",
    "by",
    "from",
    "it",
    "its",
    "this",
    "that",
    "after",
    "before",
    "when",
    "again",
    "some",
    "all",
    "no",
    "not",
    "users",
    "user",
    "error",
    "errors",
    "incident",
    "p0",
    "p1",
    "p2",
    "p3",
    "p4",
    "high",
    "low",
    "slow",
    "down",
}
_WORD_RE = re.compile(r"[a-z0-9_/{}.-]+")


def _words(text: str) -> set[str]:
    out = set()
    for w in _WORD_RE.findall(text.lower()):
        w = w.strip(".-")
        if len(w) < 3 or w in STOPWORDS:
            continue
        if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.add(w)
    return out


def _signature(text: str) -> str:
    return re.sub(r"\d+", "#", text.strip().lower())[:200]


def _route_service(route: str) -> str | None:
    parts = [
        p
        for p in route.split("/")
        if p and not p.startswith("{") and p not in ("api", "v1", "v2", "v3")
    ]
    return parts[0] if parts else None


@dataclass
class Fingerprint:
    routes: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)
    signatures: set[str] = field(default_factory=set)
    suspects: set[str] = field(default_factory=set)
    category: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)

    def parts(self) -> dict[str, set[str]]:
        return {k: getattr(self, k) for k in WEIGHTS}


def _elevated(routes: list[dict[str, Any]]) -> list[str]:
    """Routes whose error rate or p95 rose during the incident (all when none says so)."""
    if any("affected" in r for r in routes):  # the triage engine says which
        return [str(r.get("route")) for r in routes if r.get("affected") and r.get("route")]
    out = []
    for r in routes:
        try:
            before = float(r.get("error_rate_before") or 0)
            during = float(r.get("error_rate_during") or 0)
            p95b = float(r.get("p95_before_ms") or 0)
            p95d = float(r.get("p95_during_ms") or 0)
        except (TypeError, ValueError):
            continue
        if during > max(before * 2, before + 0.01) or (p95b and p95d > 2 * p95b):
            out.append(str(r.get("route")))
    return out or [str(r.get("route")) for r in routes[:3] if r.get("route")]


# The report part of past incidents' fingerprints, by (database, incident, last_seq): every
# change to an incident (a new report included) is a timeline event, so a new last_seq. Each
# declaration compares against the recent closed incidents; without this it re-read and
# re-parsed all their triage reports each time.
_REPORT_PARTS_MAX = 20_000
_report_parts: dict[tuple[str, int, int], Fingerprint] = {}

# How many past incidents a declaration is compared with: the most recently closed ones
# (by the list's index). Comparing with every closed incident made declaring cost 0.9-1.3 s
# at 10,000 incidents; this keeps it constant. Older ones: `warroom recurrence KEY --all`.
RECENT = 500


def _remember(db: Database, inc: Any, part: Fingerprint) -> Fingerprint:
    # The words too: a change to the title or description is an event, so a new last_seq.
    part.words = _words(
        " ".join((inc.title, inc.description, inc.error_messages, inc.impact_scope))
    )
    if len(_report_parts) >= _REPORT_PARTS_MAX:
        _report_parts.clear()
    _report_parts[(db.url, inc.id, inc.last_seq)] = part
    return part


def _report_part(db: Database, inc: Any) -> Fingerprint:
    cached = _report_parts.get((db.url, inc.id, inc.last_seq))
    if cached is None:
        cached = _remember(db, inc, _from_report(artifacts.latest_triage_report(db, inc.key)))
    return cached


def _warm(db: Database, items: list[Any]) -> None:
    """Fill the report-part cache for `items` in two statements (not one per incident)."""
    missing = [i for i in items if (db.url, i.id, i.last_seq) not in _report_parts]
    reports = artifacts.latest_triage_reports(db, [i.id for i in missing])
    for inc in missing:
        _remember(db, inc, _from_report(reports.get(inc.id)))


def fingerprint(
    db: Database, inc: Incident | Any, *, causes: dict[int, RootCause] | None = None
) -> Fingerprint:
    """`inc`: an Incident, or a row with its id, key, last_seq and texts (_PAST_COLUMNS)."""
    part = _report_part(db, inc)
    fp = Fingerprint(
        routes=set(part.routes),
        services=set(part.services),
        signatures=set(part.signatures),
        suspects=set(part.suspects),
    )
    rc = causes.get(inc.id) if causes is not None else get_root_cause(db, inc.key)
    if rc is not None:
        fp.category = {rc.category.value}
    fp.words = set(part.words)
    return fp


def _from_report(report: dict[str, Any] | None) -> Fingerprint:
    fp = Fingerprint()
    if report:
        routes = [r for r in report.get("routes") or [] if isinstance(r, dict)]
        fp.routes = set(_elevated(routes))
        fp.services = {s for s in (_route_service(r) for r in fp.routes) if s}
        fp.services |= {s.lower() for s in facts.services(report)}
        fp.signatures = {_signature(s) for s in facts.signatures(report)}
        suspects = [x for x in (report.get("suspects") or [])[:3] if isinstance(x, dict)]
        fp.suspects = {k for k in (facts.suspect_kind(x) for x in suspects) if k}
        fp.services |= {
            str(x["change"]["service"]).lower()
            for x in suspects
            if isinstance(x.get("change"), dict) and x["change"].get("service")
        }
    return fp


def report_services(report: dict[str, Any] | None) -> set[str]:
    """The services an incident touched as its triage report names them (routes' and
    suspects'): what the reports count."""
    return _from_report(report).services


def similarity(a: Fingerprint, b: Fingerprint) -> tuple[float, list[str]]:
    """Weighted Jaccard over the parts both have, and the reasons (shared parts)."""
    total = weight = 0.0
    reasons: list[str] = []
    pa, pb = a.parts(), b.parts()
    for name, w in WEIGHTS.items():
        x, y = pa[name], pb[name]
        if not x or not y:
            continue
        j = len(x & y) / len(x | y)
        total += w * j
        weight += w
        shared = sorted(x & y)
        if shared:
            label = {
                "category": "same root-cause category",
                "words": "shared words",
                "suspects": "same kind of suspect change",
            }.get(name, f"same {name}")
            reasons.append(f"{label}: {', '.join(shared[:5])}")
    return (total / weight if weight else 0.0), reasons


@dataclass(frozen=True)
class Match:
    key: str
    title: str
    score: float
    reasons: list[str]
    root_cause: RootCause | None
    open_actions: list[actions.ActionItem]

    @property
    def message(self) -> str:
        text = f"looks like {self.key}"
        if self.root_cause:
            text += f" (root cause: {self.root_cause.category.label}: {self.root_cause.summary})"
        else:
            text += f" ({self.title})"
        if self.open_actions:
            refs = ", ".join(a.ref for a in self.open_actions)
            text += (
                f", whose action item{'s' if len(self.open_actions) > 1 else ''} {refs} "
                f"{'are' if len(self.open_actions) > 1 else 'is'} still open"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.key,
            "title": self.title,
            "score": round(self.score, 3),
            "reasons": self.reasons,
            "message": self.message,
            "root_cause": self.root_cause.to_dict() if self.root_cause else None,
            "open_actions": [a.ref for a in self.open_actions],
        }


def find_similar(
    db: Database,
    key: str | int,
    *,
    threshold: float = THRESHOLD,
    limit: int = 3,
    everything: bool = False,
) -> list[Match]:
    """Closed past incidents (started earlier, not drills) that look like this one, best
    first: among the RECENT most recently closed, or all of them with `everything`."""
    return _similar(
        db, incidents.get(db, key), threshold=threshold, limit=limit, everything=everything
    )


# What a fingerprint and a match read of a past incident: plain columns, no JSON or times to
# convert (building 500 whole Incident records was most of a declaration's time).
_PAST_COLUMNS = (
    "id",
    "key",
    "title",
    "description",
    "error_messages",
    "impact_scope",
    "last_seq",
    "private",
    "created_by",
    "commander",
)


def _past(db: Database, inc: Incident, *, everything: bool = False) -> list[Any]:
    """Closed incidents (not drills) that started no later than `inc`: the RECENT most
    recently closed ones, or every one with `everything`; rows of _PAST_COLUMNS."""
    c = incidents_t.c
    stmt = (
        sa.select(*(c[name] for name in _PAST_COLUMNS))
        .where(
            c.stage == incidents.Stage.CLOSED.value,
            c.drill.is_(False),
            c.id != inc.id,
            c.started_at <= inc.started_at,
        )
        .order_by(c.closed_at.desc(), c.id.desc())
    )
    if not everything:
        stmt = stmt.limit(RECENT)
    with db.read() as conn:
        rows = list(conn.execute(stmt))
        private = [r.id for r in rows if r.private]
        named: dict[int, set[str]] = {i: set() for i in private}
        if private:
            for r in conn.execute(
                sa.select(roles_t.c.incident_id, roles_t.c.person).where(
                    roles_t.c.incident_id.in_(private)
                )
            ):
                named[r.incident_id].add(r.person)
    # A private incident's title never lands on another's timeline (issue 20): only one whose
    # people are all in this (private) incident is compared.
    return [
        r
        for r in rows
        if not r.private
        or (
            inc.private
            and {p for p in (r.created_by, r.commander, *named[r.id]) if p} <= inc.people
        )
    ]


def _similar(
    db: Database,
    inc: Incident,
    *,
    threshold: float = THRESHOLD,
    limit: int = 3,
    everything: bool = False,
) -> list[Match]:
    if inc.drill:
        return []
    # Only handed-over incidents: one still open that comes back is a reopen, not a
    # recurrence.
    past = _past(db, inc, everything=everything)
    if not past:
        return []
    _warm(db, past)
    causes = root_causes_by_incident(db, [inc.id] + [p.id for p in past])
    mine = fingerprint(db, inc, causes=causes)
    scored: list[tuple[float, list[str], Any]] = []
    for other in past:
        score, reasons = similarity(mine, fingerprint(db, other, causes=causes))
        if score >= threshold:
            scored.append((score, reasons, other))
    scored.sort(key=lambda s: (-s[0], s[2].key))
    # The open action items of the best `limit` only: a query each, not one per candidate.
    return [
        Match(
            other.key,
            other.title,
            score,
            reasons,
            causes.get(other.id),
            actions.list_items(db, incident=other.key, open_only=True),
        )
        for score, reasons, other in scored[:limit]
    ]


def _already(db: Database, inc: Incident) -> set[str]:
    """Incident keys already reported as recurrences of this one."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(events_t.c.data).where(
                events_t.c.incident_id == inc.id, events_t.c.kind == "recurrence.detected"
            )
        ).all()
    return {m.get("incident") for r in rows for m in (r.data.get("matches") or [])}


def check(db: Database, key: str | int, *, actor: str, everything: bool = False) -> list[Match]:
    """Find recurrences; record new ones (`recurrence.detected`) and escalate the open
    action items of the incident it repeats (`action.escalated`). Returns every match.
    `everything`: compare with every closed incident, not only the RECENT latest."""
    return _check(db, incidents.get(db, key), actor=actor, everything=everything)


def _check(db: Database, inc: Incident, *, actor: str, everything: bool = False) -> list[Match]:
    matches = _similar(db, inc, everything=everything)
    new = [m for m in matches if m.key not in _already(db, inc)]
    if not new:
        return matches
    incidents.record(
        db,
        inc.key,
        kind="recurrence.detected",
        actor=actor,
        data={
            "matches": [m.to_dict() for m in new],
            "summary": "Recurrence: " + "; ".join(m.message for m in new),
        },
    )
    for m in new:
        for item in m.open_actions:
            actions.escalate(
                db, item.ref, actor=actor, because_of=inc.key, reason=f"{inc.key} {m.message}"
            )
    return matches


def recorded(db: Database, key: str | int) -> list[dict[str, Any]]:
    """The recurrences recorded on an incident's timeline (for pages), newest last."""
    return [
        m
        for e in timeline.read(db, str(key), kinds=["recurrence.detected"])
        for m in e.data.get("matches") or []
    ]


def on_declared(db: Database, inc: Incident, actor: str) -> None:
    _check(db, inc, actor=actor)  # the incident as just committed: no need to read it again


def on_attached(db: Database, art: artifacts.Artifact, actor: str) -> None:
    if art.kind == "triage-report":
        check(db, art.incident_key, actor=actor)
