"""Blameless postmortems drafted from the timeline, and the root-cause record.

    record_root_cause(db, "INC-1", category="unindexed_query", summary="...", actor="ana")
    pm = draft(db, "INC-1", actor="ana")          # deterministic, no language model
    set_status(db, "INC-1", status="in_review", actor="ana")

A postmortem moves draft -> in_review -> published and is due 48 hours after resolution for
P0/P1 (`[postmortems] due_hours`, `due_severities` in warroom.toml). `build_sections` is
the drafter; `render_markdown` and `render_html` export (the chart comes from
`warroom.reports`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.core.clock import utcnow
from warroom.core.config import Settings, load_settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound
from warroom.incidents import artifacts, timeline
from warroom.incidents.lifecycle import Incident, Stage
from warroom.incidents.tables import incidents as incidents_t
from warroom.learn import actions, blameless
from warroom.learn.tables import postmortems, root_causes


class Category(StrEnum):
    """Root-cause categories, seeded from the method's catalogue of failures."""

    QUEUE_RACE = "queue_race"
    MISSING_IDEMPOTENCY = "missing_idempotency"
    UNINDEXED_QUERY = "unindexed_query"
    MISCONFIGURED_TIMEOUT = "misconfigured_timeout"
    RETRY_STORM = "retry_storm"
    EXHAUSTION_CONNECTIONS = "exhaustion_connections"
    EXHAUSTION_CPU = "exhaustion_cpu"
    EXHAUSTION_MEMORY = "exhaustion_memory"
    EXHAUSTION_DISK = "exhaustion_disk"
    BAD_DEPLOY = "bad_deploy"
    BAD_CONFIG = "bad_config"
    DEPENDENCY_FAILURE = "dependency_failure"
    CAPACITY = "capacity"
    SECURITY = "security"
    DATA_CORRUPTION = "data_corruption"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]

    @classmethod
    def parse(cls, value: str | Category) -> Category:
        text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        for c in cls:
            if text in (c.value, c.label.replace(" ", "_").lower()):
                return c
        raise InvalidInput(
            f"unknown root-cause category {value!r}: use one of {', '.join(c.value for c in cls)}",
            field="category",
        )


CATEGORY_LABELS = {
    Category.QUEUE_RACE: "race condition in a queue",
    Category.MISSING_IDEMPOTENCY: "missing idempotency",
    Category.UNINDEXED_QUERY: "unindexed query",
    Category.MISCONFIGURED_TIMEOUT: "misconfigured timeout",
    Category.RETRY_STORM: "retry storm",
    Category.EXHAUSTION_CONNECTIONS: "resource exhaustion (connections)",
    Category.EXHAUSTION_CPU: "resource exhaustion (CPU)",
    Category.EXHAUSTION_MEMORY: "resource exhaustion (memory)",
    Category.EXHAUSTION_DISK: "resource exhaustion (disk)",
    Category.BAD_DEPLOY: "bad deploy",
    Category.BAD_CONFIG: "bad config",
    Category.DEPENDENCY_FAILURE: "dependency failure",
    Category.CAPACITY: "capacity",
    Category.SECURITY: "security",
    Category.DATA_CORRUPTION: "data corruption",
    Category.OTHER: "other",
}

# What the method teaches for each category: a lesson, and follow-ups to consider.
LESSONS: dict[Category, tuple[str, list[tuple[str, str]]]] = {
    Category.QUEUE_RACE: (
        "Consumers that share work need ordering or locking by key.",
        [
            ("preventive", "Partition or lock queue consumers by entity key"),
            ("detective", "Alert on duplicate or out-of-order processing"),
        ],
    ),
    Category.MISSING_IDEMPOTENCY: (
        "Every retried operation must be safe to run twice.",
        [
            ("preventive", "Add idempotency keys to the write path"),
            ("detective", "Alert on duplicate side effects"),
        ],
    ),
    Category.UNINDEXED_QUERY: (
        "New queries need a query plan check before data grows.",
        [
            ("corrective", "Add the missing index"),
            ("preventive", "Check query plans of new queries in review / CI"),
            ("detective", "Alert on slow queries and p95 latency per route"),
        ],
    ),
    Category.MISCONFIGURED_TIMEOUT: (
        "Timeouts must be set on every call and fit the budget.",
        [
            ("corrective", "Set timeouts that fit the caller's latency budget"),
            ("preventive", "Lint configuration for missing or unbounded timeouts"),
        ],
    ),
    Category.RETRY_STORM: (
        "Retries need backoff, jitter and a budget.",
        [
            ("preventive", "Add exponential backoff with jitter and a retry budget"),
            ("mitigation", "Add a circuit breaker on the dependency"),
        ],
    ),
    Category.EXHAUSTION_CONNECTIONS: (
        "Pools must be sized and saturation alerted on.",
        [
            ("detective", "Alert on connection pool saturation"),
            ("preventive", "Size pools against the database limit"),
        ],
    ),
    Category.EXHAUSTION_CPU: (
        "Saturation should page before users notice.",
        [("detective", "Alert on CPU saturation"), ("preventive", "Autoscale on CPU")],
    ),
    Category.EXHAUSTION_MEMORY: (
        "Memory growth needs limits and alerts.",
        [("detective", "Alert on memory growth"), ("preventive", "Set memory limits")],
    ),
    Category.EXHAUSTION_DISK: (
        "Disks fill slowly, then suddenly: alert on the trend.",
        [("detective", "Alert on disk fill rate"), ("preventive", "Rotate and cap logs")],
    ),
    Category.BAD_DEPLOY: (
        "Changes need a fast, rehearsed rollback and a canary.",
        [
            ("preventive", "Canary the release with automatic rollback"),
            ("detective", "Annotate deploys on the error-rate dashboard"),
        ],
    ),
    Category.BAD_CONFIG: (
        "Configuration is code: review, validate and stage it.",
        [("preventive", "Validate configuration in CI and roll it out gradually")],
    ),
    Category.DEPENDENCY_FAILURE: (
        "Every dependency fails: degrade gracefully.",
        [
            ("mitigation", "Add a fallback or cached response for the dependency"),
            ("detective", "Alert on dependency error rate"),
        ],
    ),
    Category.CAPACITY: (
        "Plan capacity from measured peaks, with headroom.",
        [("preventive", "Load test to the next expected peak")],
    ),
    Category.SECURITY: (
        "Assume breach: least privilege and audit trails.",
        [("corrective", "Rotate exposed credentials"), ("detective", "Alert on anomalous access")],
    ),
    Category.DATA_CORRUPTION: (
        "Validate writes and keep tested restores.",
        [
            ("corrective", "Repair the affected records from backups"),
            ("preventive", "Add integrity checks on the write path"),
        ],
    ),
    Category.OTHER: (
        "Write down what made this failure possible.",
        [("preventive", "Remove the condition that allowed it")],
    ),
}

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("timeline", "Timeline"),
    ("root_cause", "Root cause and contributing factors"),
    ("actions_taken", "Actions taken"),
    ("went_well", "What went well"),
    ("went_badly", "What didn't go well"),
    ("questions", "Retrospective questions"),
    ("lessons", "Lessons learned"),
    ("action_items", "Action items"),
)
SECTION_NAMES = tuple(name for name, _ in SECTIONS)

QUESTIONS = (
    "Which dark parts of the system did we not know?",
    "Where did the process fail?",
    "Which component must be refactored?",
    "Were logs missing?",
    "Were alerts missing?",
    "How quickly did we know?",
    "How fast did we understand it?",
    "Was the impact isolated?",
    "Where else can the same thing happen?",
)


class Status(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"

    @classmethod
    def parse(cls, value: str | Status) -> Status:
        text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        text = {"review": "in_review", "publish": "published"}.get(text, text)
        try:
            return cls(text)
        except ValueError:
            raise InvalidInput(
                f"unknown postmortem status {value!r}: use draft, in_review or published",
                field="status",
            ) from None


TRANSITIONS = {
    Status.DRAFT: {Status.IN_REVIEW},
    Status.IN_REVIEW: {Status.DRAFT, Status.PUBLISHED},
    Status.PUBLISHED: set(),
}


# --- root cause ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RootCause:
    category: Category
    summary: str
    factors: list[str]
    recorded_by: str
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "category_label": self.category.label,
            "summary": self.summary,
            "factors": self.factors,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


def record_root_cause(
    db: Database,
    key: str | int,
    *,
    category: Category | str,
    summary: str,
    actor: str,
    factors: list[str] | None = None,
    move_stage: bool = False,
) -> RootCause:
    """Record (or replace) the incident's root cause as a `rootcause.recorded` event;
    with `move_stage`, also move a contained incident to root_caused."""
    cat = Category.parse(category)
    summary = (summary or "").strip()
    if not summary:
        raise InvalidInput("describe the root cause in a sentence (--summary)", field="summary")
    if len(summary) > 5000:
        raise InvalidInput(
            "the root-cause summary is longer than 5,000 characters", field="summary"
        )
    facts = [f.strip() for f in (factors or []) if f and f.strip()]
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        now = utcnow()
        values = {
            "category": cat.value,
            "summary": summary,
            "factors": facts,
            "recorded_by": actor,
            "recorded_at": now,
        }
        exists = conn.execute(
            sa.select(root_causes.c.id).where(root_causes.c.incident_id == row.id)
        ).first()
        if exists:
            conn.execute(root_causes.update().where(root_causes.c.id == exists.id).values(**values))
        else:
            conn.execute(root_causes.insert().values(incident_id=row.id, **values))
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind="rootcause.recorded",
            at=now,
            data={
                "category": cat.value,
                "summary_text": summary,
                "factors": facts,
                "summary": f"Root cause ({cat.label}): {summary}",
            },
        )
        stage = Stage(row.stage)
    if move_stage and stage.index < Stage.ROOT_CAUSED.index:
        incidents.move(db, key, to=Stage.ROOT_CAUSED, actor=actor)
    return RootCause(cat, summary, facts, actor, now)


def _root_cause(conn: Connection, incident_id: int) -> RootCause | None:
    r = conn.execute(sa.select(root_causes).where(root_causes.c.incident_id == incident_id)).first()
    if r is None:
        return None
    return RootCause(
        Category(r.category), r.summary, list(r.factors or []), r.recorded_by, r.recorded_at
    )


def get_root_cause(db: Database, key: str | int) -> RootCause | None:
    with db.read() as conn:
        return _root_cause(conn, incidents.get_id(conn, key))


def root_causes_by_incident(db: Database) -> dict[int, RootCause]:
    """Every recorded root cause by incident id (recurrence and reports)."""
    with db.read() as conn:
        return {
            r.incident_id: RootCause(
                Category(r.category), r.summary, list(r.factors or []), r.recorded_by, r.recorded_at
            )
            for r in conn.execute(sa.select(root_causes))
        }


# --- triage report ------------------------------------------------------------------------------


TRIAGE_KINDS = ("triage-report", "triage")


def triage_report(db: Database, key: str | int) -> dict[str, Any] | None:
    """The newest attached triage report (artifact kind `triage-report` or `triage`) as a
    dict, or None (unreadable ones are ignored)."""
    found = [a for a in artifacts.list_for(db, key) if a.kind in TRIAGE_KINDS]
    if not found:
        return None
    try:
        data = json.loads(artifacts.content(db, found[-1].sha256).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def suspect_kind(suspect: dict[str, Any]) -> str | None:
    """The kind of a triage suspect (deploy, config, ...), top-level or in its change."""
    change = suspect.get("change")
    kind = suspect.get("kind") or (change.get("kind") if isinstance(change, dict) else None)
    return str(kind) if kind else None


# --- due dates ----------------------------------------------------------------------------------


def _due_settings() -> tuple[float, tuple[str, ...]]:
    section = load_settings().section("postmortems")
    try:
        hours = float(section.get("due_hours", 48))
    except (TypeError, ValueError):
        raise InvalidInput("[postmortems] due_hours must be a number of hours") from None
    sevs = tuple(str(s).upper() for s in section.get("due_severities", ["P0", "P1"]))
    return hours, sevs


def due_at(inc: Incident) -> datetime | None:
    """When the postmortem is due: `due_hours` after resolution for the due severities."""
    hours, sevs = _due_settings()
    resolved = inc.stage_times.get("fixed")
    if resolved is None or inc.severity is None or inc.severity.value not in sevs:
        return None
    return resolved + timedelta(hours=hours)


# --- the postmortem -----------------------------------------------------------------------------


@dataclass
class Postmortem:
    incident: Incident
    status: Status
    sections: dict[str, str]
    due_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    root_cause: RootCause | None
    findings: dict[str, list[blameless.Finding]]

    @property
    def key(self) -> str:
        return self.incident.key

    def is_overdue(self, now: datetime | None = None) -> bool:
        return (
            self.status is not Status.PUBLISHED
            and self.due_at is not None
            and self.due_at < (now or utcnow())
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.key,
            "title": self.incident.title,
            "status": self.status.value,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "overdue": self.is_overdue(),
            "sections": [
                {"name": n, "title": t, "text": self.sections.get(n, "")} for n, t in SECTIONS
            ],
            "root_cause": self.root_cause.to_dict() if self.root_cause else None,
            "blameless_warnings": {k: [f.to_dict() for f in v] for k, v in self.findings.items()},
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "published_at": self.published_at.isoformat() if self.published_at else None,
        }


def _people(inc: Incident) -> list[str]:
    return sorted({*inc.roles.values(), *inc.participants, inc.created_by, inc.reporter} - {""})


def _load(db: Database, key: str | int) -> Postmortem | None:
    inc = incidents.get(db, key)
    with db.read() as conn:
        r = conn.execute(sa.select(postmortems).where(postmortems.c.incident_id == inc.id)).first()
        rc = _root_cause(conn, inc.id)
    if r is None:
        return None
    sections = dict(r.sections or {})
    return Postmortem(
        inc,
        Status(r.status),
        sections,
        due_at(inc),
        r.created_by,
        r.created_at,
        r.updated_at,
        r.published_at,
        rc,
        blameless.check_sections(sections, people=_people(inc)),
    )


def get(db: Database, key: str | int) -> Postmortem:
    """The incident's postmortem; NotFound when none is drafted yet."""
    pm = _load(db, key)
    if pm is None:
        k = f"INC-{incidents.parse_key(key)}"
        raise NotFound(f"{k} has no postmortem yet: draft one (warroom postmortem {k})")
    return pm


def draft(db: Database, key: str | int, *, actor: str, redraft: bool = False) -> Postmortem:
    """Draft the postmortem from the timeline and artifacts (or return the existing one;
    `redraft` rebuilds the sections of a draft, discarding edits)."""
    existing = _load(db, key)
    if existing is not None and not redraft:
        return existing
    if existing is not None and existing.status is not Status.DRAFT:
        raise InvalidTransition(
            f"the postmortem of {existing.key} is {existing.status.value}: only a draft can be "
            f"redrafted (warroom postmortem-status {existing.key} draft)"
        )
    inc = incidents.get(db, key)
    sections = build_sections(db, inc)
    with db.transaction() as conn:
        row = incidents.lock(db, conn, inc.key)
        now = utcnow()
        due = due_at(inc)
        exists = conn.execute(
            sa.select(postmortems.c.id).where(postmortems.c.incident_id == row.id)
        ).first()
        if exists:
            conn.execute(
                postmortems.update()
                .where(postmortems.c.id == exists.id)
                .values(sections=sections, due_at=due, updated_at=now)
            )
        else:
            conn.execute(
                postmortems.insert().values(
                    incident_id=row.id,
                    status=Status.DRAFT.value,
                    sections=sections,
                    due_at=due,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                    published_at=None,
                )
            )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind="postmortem.drafted",
            at=now,
            data={
                "redraft": exists is not None,
                "summary": ("Postmortem redrafted" if exists else "Postmortem drafted")
                + " from the timeline",
            },
        )
    return get(db, key)


def update_section(
    db: Database, key: str | int, *, section: str, text: str, actor: str
) -> Postmortem:
    """Replace one section's text (draft or in review); blame warnings come back with it."""
    name = section.strip().lower().replace("-", "_").replace(" ", "_")
    if name not in SECTION_NAMES:
        raise InvalidInput(
            f"unknown section {section!r}: use one of {', '.join(SECTION_NAMES)}", field="section"
        )
    if len(text) > 50_000:
        raise InvalidInput("a section is limited to 50,000 characters", field="text")
    pm = get(db, key)
    if pm.status is Status.PUBLISHED:
        raise InvalidTransition(
            f"the postmortem of {pm.key} is published and can no longer be edited"
        )
    with db.transaction() as conn:
        row = incidents.lock(db, conn, pm.key)
        current = conn.execute(
            sa.select(postmortems).where(postmortems.c.incident_id == row.id)
        ).one()
        sections = dict(current.sections or {})
        sections[name] = text.strip()
        now = utcnow()
        conn.execute(
            postmortems.update()
            .where(postmortems.c.id == current.id)
            .values(sections=sections, updated_at=now)
        )
        found = blameless.check(text, people=_people(pm.incident))
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind="postmortem.section_edited",
            at=now,
            data={
                "section": name,
                "blameless_warnings": len(found),
                "summary": f"Postmortem section {name} edited",
            },
        )
    return get(db, key)


def set_status(db: Database, key: str | int, *, status: Status | str, actor: str) -> Postmortem:
    """Move the postmortem draft -> in_review -> published (in_review may go back to draft)."""
    target = Status.parse(status)
    pm = get(db, key)
    if target not in TRANSITIONS[pm.status]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[pm.status])) or "nothing"
        raise InvalidTransition(
            f"the postmortem of {pm.key} is {pm.status.value}: it can move "
            f"to {allowed}, not {target.value}"
        )
    with db.transaction() as conn:
        row = incidents.lock(db, conn, pm.key)
        now = utcnow()
        conn.execute(
            postmortems.update()
            .where(postmortems.c.incident_id == row.id)
            .values(
                status=target.value,
                updated_at=now,
                published_at=now if target is Status.PUBLISHED else None,
            )
        )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind="postmortem.status_changed",
            at=now,
            data={
                "from": pm.status.value,
                "to": target.value,
                "summary": f"Postmortem {pm.status.value} -> {target.value}",
            },
        )
    return get(db, key)


@dataclass(frozen=True)
class Due:
    """A postmortem that is due (drafted or not) and not yet published."""

    key: str
    title: str
    severity: str | None
    status: str
    due_at: datetime
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.key,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "due_at": self.due_at.isoformat(),
            "overdue": self.overdue,
        }


def due_list(db: Database, *, now: datetime | None = None, overdue_only: bool = False) -> list[Due]:
    """Resolved P0/P1 incidents whose postmortem is not published: soonest due first.
    `status` is "missing" when no draft exists yet."""
    now = now or utcnow()
    with db.read() as conn:
        status_by_id = {
            r.incident_id: r.status
            for r in conn.execute(sa.select(postmortems.c.incident_id, postmortems.c.status))
        }
        ids = [
            r.id
            for r in conn.execute(
                sa.select(incidents_t.c.id).where(incidents_t.c.fixed_at.is_not(None))
            )
        ]
    out: list[Due] = []
    for inc in incidents.list_incidents(db):
        if inc.id not in ids:
            continue
        due = due_at(inc)
        status = status_by_id.get(inc.id, "missing")
        if due is None or status == Status.PUBLISHED.value:
            continue
        if overdue_only and due >= now:
            continue
        out.append(
            Due(
                inc.key,
                inc.title,
                inc.severity.value if inc.severity else None,
                status,
                due,
                due < now,
            )
        )
    return sorted(out, key=lambda d: d.due_at)


def action_items_for(db: Database, key: str) -> list[actions.ActionItem]:
    return actions.list_items(db, incident=key)


# --- drafting -----------------------------------------------------------------------------------

# Timeline kinds that are bookkeeping, not part of the incident's story.
NOISE_KINDS = {
    "incident.updated",
    "role.removed",
    "task.updated",
    "postmortem.drafted",
    "postmortem.section_edited",
    "postmortem.status_changed",
    "action.updated",
    "action.escalated",
    "stage.skipped",
}
ACTION_PREFIXES = (
    "mitigation.",
    "containment.",
    "contain.",
    "runbook.",
    "rollback.",
    "flag.",
    "verification.",
    "rootcause.",
)
NOTE_TAGS = {
    "went_well": ("went well:", "good:", "well:"),
    "went_badly": ("went badly:", "went wrong:", "didn't go well:", "bad:", "problem:"),
    "lessons": ("lesson:", "learned:", "learning:"),
    "contributing": ("contributing:", "factor:"),
    "dark": ("unknown:", "surprise:", "didn't know:"),
}


def fmt_duration(delta: timedelta | None) -> str:
    """'45s', '12m', '1h05m', '2d03h'; '--' when unknown."""
    if delta is None:
        return "--"
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "-" + fmt_duration(timedelta(seconds=-seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600:02d}h"


def _span(a: datetime | None, b: datetime | None) -> timedelta | None:
    return b - a if a is not None and b is not None else None


def _tagged(events: list[timeline.Event], tag: str) -> list[str]:
    out = []
    for e in events:
        if e.kind != "note.added":
            continue
        text = str(e.data.get("text", "")).strip()
        for prefix in NOTE_TAGS[tag]:
            if text.lower().startswith(prefix):
                out.append(text[len(prefix) :].strip())
    return out


def _bullets(items: list[str], empty: str) -> str:
    return "\n".join(f"- {i}" for i in items) if items else empty


def _routes(report: dict[str, Any] | None, limit: int = 5) -> list[dict[str, Any]]:
    if not report:
        return []
    routes = [r for r in report.get("routes") or [] if isinstance(r, dict)]
    return sorted(routes, key=lambda r: -float(r.get("error_rate_during") or 0))[:limit]


def _names(values: Any, *keys: str) -> list[str]:
    out: list[str] = []
    if isinstance(values, dict):  # e.g. {"top": [...], ...}: names from its lists
        for v in values.values():
            if isinstance(v, list):
                out.extend(_names(v, *keys))
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


def _pct(value: Any) -> str:
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return "--"


def build_sections(db: Database, inc: Incident) -> dict[str, str]:
    """Every section of the postmortem, drafted deterministically from the record."""
    events = timeline.read(db, inc.key)
    report = triage_report(db, inc.key)
    rc = get_root_cause(db, inc.key)
    items = actions.list_items(db, incident=inc.key)
    t = inc.stage_times
    started, detected = inc.started_at, inc.detected_at
    contained, resolved = t.get("contained"), t.get("fixed")
    sev = inc.severity.value if inc.severity else "no severity"
    stamp = "%Y-%m-%d %H:%M UTC"

    # summary
    summary = [f"{inc.key} ({sev}): {inc.title}."]
    if inc.description:
        summary.append(inc.description.strip())
    summary.append(
        f"Impact began {started:{stamp}}, detected {detected:{stamp}}"
        + (f", contained {contained:{stamp}}" if contained else "")
        + (f", resolved {resolved:{stamp}}" if resolved else ", not yet resolved")
        + "."
    )
    if rc:
        summary.append(f"Root cause ({rc.category.label}): {rc.summary}")

    # impact
    impact = [
        f"- Time to detect (MTTD, start to detection): {fmt_duration(_span(started, detected))}",
        f"- Time to a commander: {fmt_duration(_span(detected, inc.commander_at))}",
        f"- Time to contain (start to containment): {fmt_duration(_span(started, contained))}",
        f"- Time to resolve (MTTR, start to resolution): {fmt_duration(_span(started, resolved))}",
    ]
    if inc.impact_scope:
        impact.append(f"- Affected: {inc.impact_scope}")
    if inc.business_impact:
        impact.append(f"- Business impact: {inc.business_impact}")
    routes = _routes(report)
    if routes:
        impact.append("")
        impact.append(
            "| route | requests | errors before | errors during | p95 before | p95 during |"
        )
        impact.append("|---|---|---|---|---|---|")
        for r in routes:
            impact.append(
                f"| {r.get('route')} | {r.get('requests', r.get('requests_during', '--'))} | "
                f"{_pct(r.get('error_rate_before'))} | {_pct(r.get('error_rate_during'))} | "
                f"{r.get('p95_before_ms', '--')} ms | {r.get('p95_during_ms', '--')} ms |"
            )
    if report:
        counts = report.get("clients")
        if isinstance(counts, dict) and counts.get("affected") is not None:
            impact.append(
                f"- Clients affected: {counts['affected']}"
                + (
                    f" of {counts['active_since_onset']} active"
                    if counts.get("active_since_onset")
                    else ""
                )
                + (f" ({_pct(counts['share'])})" if counts.get("share") is not None else "")
                + (f", {counts['basis']}" if counts.get("basis") else "")
            )
        clients = _names(counts, "client", "name", "ip", "user_agent", "key")
        if clients:
            impact.append(f"- Clients most affected: {', '.join(clients[:5])}")
        services = _names(report.get("services"), "service", "name")
        if services:
            impact.append(f"- Services: {', '.join(services[:10])}")

    # timeline
    lines = [
        f"- {e.at:%Y-%m-%d %H:%M} UTC - {e.summary()} ({e.actor})"
        for e in events
        if e.kind not in NOISE_KINDS
    ]
    if started < detected:
        lines.insert(0, f"- {started:%Y-%m-%d %H:%M} UTC - Impact began")

    # root cause
    rc_lines: list[str] = []
    if rc:
        rc_lines.append(f"**{rc.category.label}**: {rc.summary}")
        factors = rc.factors + _tagged(events, "contributing")
        if factors:
            rc_lines.append("")
            rc_lines.append("Contributing factors:")
            rc_lines.extend(f"- {f}" for f in factors)
    else:
        rc_lines.append(
            "_No root cause recorded yet (warroom rootcause "
            f"{inc.key} --category ... --summary ...)._"
        )
    if report and report.get("suspects"):
        rc_lines.append("")
        rc_lines.append("Suspects ranked by triage:")
        for s in (report.get("suspects") or [])[:3]:
            if isinstance(s, dict):
                rc_lines.append(
                    f"- {s.get('id')} ({suspect_kind(s)}, score {s.get('score')}): "
                    f"{s.get('reason', '')}".rstrip(": ")
                )
    if report and report.get("signatures"):
        sigs = _names(report.get("signatures"), "template", "signature", "pattern", "message")
        if sigs:
            rc_lines.append("")
            rc_lines.append("Error signatures: " + "; ".join(f"`{s}`" for s in sigs[:3]))

    # actions taken
    done: list[str] = []
    for e in events:
        if (
            e.kind == "stage.changed"
            or e.kind.startswith(ACTION_PREFIXES)
            or e.kind == "role.commander_handoff"
            or (e.kind == "task.updated" and (e.data.get("changes") or {}).get("status") == "done")
        ):
            done.append(f"{e.at:%H:%M} {e.summary()} ({e.actor})")
    done_text = (
        "\n".join(f"{n}. {line}" for n, line in enumerate(done, 1))
        or "_No actions recorded on the timeline._"
    )

    well, bad = _assess(inc, events, report)
    questions = _answers(inc, events, report, rc, routes)
    lessons = _tagged(events, "lessons")
    if rc:
        lessons.append(LESSONS[rc.category][0])

    if items:
        ai_text = "\n".join(
            f"- {i.ref} [{i.type.value}, {i.priority}, {i.status.value}] {i.title}"
            + (f" (owner {i.owner})" if i.owner else " (no owner)")
            + (f", due {i.due_at:%Y-%m-%d}" if i.due_at else "")
            + (f", {i.ticket_url}" if i.ticket_url else "")
            for i in items
        )
    elif rc:
        ai_text = (
            "_None yet. Suggested for "
            + rc.category.label
            + ":_\n"
            + "\n".join(f"- ({kind}) {title}" for kind, title in LESSONS[rc.category][1])
        )
    else:
        ai_text = f"_None yet: add them (warroom action add {inc.key} TITLE --type preventive)._"

    return {
        "summary": " ".join(summary),
        "impact": "\n".join(impact),
        "timeline": "\n".join(lines),
        "root_cause": "\n".join(rc_lines),
        "actions_taken": done_text,
        "went_well": _bullets(well, "_Nothing recorded; add it in review._"),
        "went_badly": _bullets(bad, "_Nothing recorded; add it in review._"),
        "questions": "\n".join(f"- **{q}** {a}" for q, a in questions),
        "lessons": _bullets(lessons, "_To write in review._"),
        "action_items": ai_text,
    }


def _assess(
    inc: Incident, events: list[timeline.Event], report: dict[str, Any] | None
) -> tuple[list[str], list[str]]:
    """What went well and what didn't, from the numbers and the events."""
    well, bad = _tagged(events, "went_well"), _tagged(events, "went_badly")
    ttd = _span(inc.started_at, inc.detected_at)
    if ttd is not None and ttd <= timedelta(minutes=15):
        well.append(f"Detected {fmt_duration(ttd)} after the impact began.")
    elif ttd is not None and ttd > timedelta(hours=1):
        bad.append(f"Took {fmt_duration(ttd)} to detect: nothing told us the impact had begun.")
    tta = _span(inc.detected_at, inc.commander_at)
    if tta is not None and tta <= timedelta(minutes=10):
        well.append(f"A commander ({inc.commander}) took charge within {fmt_duration(tta)}.")
    elif tta is None or tta > timedelta(minutes=30):
        bad.append(
            "No commander for the first 30 minutes." if tta else "No commander was ever named."
        )
    ttc = _span(inc.detected_at, inc.stage_times.get("contained"))
    if ttc is not None and ttc <= timedelta(hours=1):
        well.append(f"Impact contained {fmt_duration(ttc)} after detection.")
    elif ttc is not None and ttc > timedelta(hours=2):
        bad.append(f"Containment took {fmt_duration(ttc)} after detection.")
    if inc.skipped_stages:
        bad.append(f"Stages skipped: {', '.join(inc.skipped_stages)}.")
    for e in events:
        if e.kind == "incident.reopened":
            bad.append(f"Reopened: {e.data.get('reason', '')}")
        elif e.kind == "verification.overridden":
            bad.append(f"Recovery was not verified from the numbers: {e.data.get('reason')}")
        elif e.kind == "verification.recorded" and e.data.get("verdict") == "recovered":
            well.append("Recovery was verified from the numbers before closing.")
        elif (
            e.kind == "severity.changed"
            and e.data.get("from")
            and e.data.get("to")
            and str(e.data["to"]) < str(e.data["from"])
        ):
            bad.append(
                f"Severity was underestimated at first ({e.data['from']} -> {e.data['to']})."
            )
    punct = update_punctuality(events)
    if punct is not None:
        on_time, expected = punct
        if expected and on_time == expected:
            well.append(f"All {expected} promised status updates went out on time.")
        elif expected:
            bad.append(f"{expected - on_time} of {expected} status updates were late.")
    if report and report.get("suspects"):
        well.append("A triage report ranked the suspects from the logs and changes.")
    return list(dict.fromkeys(well)), list(dict.fromkeys(bad))


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


def _answers(
    inc: Incident,
    events: list[timeline.Event],
    report: dict[str, Any] | None,
    rc: RootCause | None,
    routes: list[dict[str, Any]],
) -> list[tuple[str, str]]:
    todo = "_To answer in review._"
    dark = _tagged(events, "dark") + (rc.factors if rc else [])
    process = [f"stage {s} skipped" for s in inc.skipped_stages]
    process += [
        f"reopened ({e.data.get('reason')})" for e in events if e.kind == "incident.reopened"
    ]
    if not inc.commander:
        process.append("no commander named")
    suspects = [s for s in (report or {}).get("suspects") or [] if isinstance(s, dict)]
    component = (
        rc.summary if rc else (f"{suspects[0].get('id')} (top triage suspect)" if suspects else "")
    )
    logs = (
        f"A triage report was built from the logs ({len((report or {}).get('routes') or [])}"
        " routes)."
        if report
        else "No log-based triage report is attached: were the logs needed available?"
    )
    ttd = _span(inc.started_at, inc.detected_at)
    alerts = f"Detection took {fmt_duration(ttd)}; reported by {inc.reporter or 'unknown'}." + (
        " An alert should have fired sooner." if ttd and ttd > timedelta(minutes=15) else ""
    )
    ttr = _span(
        inc.detected_at, inc.stage_times.get("root_caused") or (rc.recorded_at if rc else None)
    )
    isolated = (
        f"{len(routes)} route(s) showed errors: " + ", ".join(str(r.get("route")) for r in routes)
        if routes
        else inc.impact_scope or ""
    )
    where_else = _elsewhere(rc, routes)
    return [
        (QUESTIONS[0], "; ".join(dark) or todo),
        (QUESTIONS[1], "; ".join(process) or "No process step was skipped."),
        (QUESTIONS[2], component or todo),
        (QUESTIONS[3], logs),
        (QUESTIONS[4], alerts),
        (QUESTIONS[5], f"{fmt_duration(ttd)} from the start of the impact to detection."),
        (
            QUESTIONS[6],
            f"{fmt_duration(ttr)} from detection to the root cause." if ttr is not None else todo,
        ),
        (QUESTIONS[7], isolated or todo),
        (QUESTIONS[8], where_else or todo),
    ]


def _elsewhere(rc: RootCause | None, routes: list[dict[str, Any]]) -> str:
    if rc is None:
        return ""
    hints = {
        Category.UNINDEXED_QUERY: "any other query on the same tables without an index",
        Category.MISCONFIGURED_TIMEOUT: "every other client of the same dependency",
        Category.RETRY_STORM: "every caller that retries the same dependency",
        Category.MISSING_IDEMPOTENCY: "every other retried write path",
        Category.QUEUE_RACE: "every other consumer of the same queue",
    }
    return hints.get(rc.category, f"other places exposed to {rc.category.label}")


# --- export -------------------------------------------------------------------------------------


def render_markdown(pm: Postmortem) -> str:
    """The postmortem as a Markdown document."""
    inc = pm.incident
    sev = inc.severity.value if inc.severity else "no severity"
    out = [
        f"# Postmortem {inc.key}: {inc.title}",
        "",
        f"Severity {sev} · status {pm.status.value}"
        + (f" · due {pm.due_at:%Y-%m-%d %H:%M} UTC" if pm.due_at else "")
        + (" · **OVERDUE**" if pm.is_overdue() else ""),
        "",
        "_Blameless: this document describes systems and decisions, not people._",
        "",
    ]
    for name, title in SECTIONS:
        out += [f"## {title}", "", pm.sections.get(name, "").strip() or "_Empty._", ""]
    return "\n".join(out)


def render_html(db: Database, pm: Postmortem) -> str:
    """A standalone HTML document (with the error-rate / p95 chart when a triage report
    with a time series is attached)."""
    import html

    from warroom.learn import reports

    body = markdown_to_html(render_markdown(pm))
    report = triage_report(db, pm.key)
    chart = reports.incident_chart(report, onset=pm.incident.started_at) if report else None
    figure = (
        (
            f'<figure><img alt="Error rate and p95 latency around the incident" '
            f'src="{chart}"><figcaption>Error rate and p95 around the incident'
            "</figcaption></figure>"
        )
        if chart
        else ""
    )
    title = html.escape(f"Postmortem {pm.key}: {pm.incident.title}")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{EXPORT_CSS}</style></head><body>"
        f"{figure}{body}</body></html>"
    )


EXPORT_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:50rem;margin:1rem auto;padding:0 1rem;"
    "line-height:1.45;color:#111}table{border-collapse:collapse}td,th{border:1px solid #999;"
    "padding:.2rem .4rem}figure img{max-width:100%}code{background:#eee}"
)


def markdown_to_html(text: str) -> str:
    """The small Markdown subset the drafts use (headings, lists, tables, bold, italic,
    code), escaped."""
    import html
    import re

    def inline(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
        s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])_([^_]+)_(?![\w])", r"<em>\1</em>", s)
        return s

    out: list[str] = []
    mode = ""

    def close() -> None:
        nonlocal mode
        if mode:
            out.append(f"</{mode}>")
        mode = ""

    for raw in text.splitlines():
        line = raw.rstrip()
        m = re.match(r"^(#{1,3}) (.*)$", line)
        if m:
            close()
            n = len(m.group(1))
            out.append(f"<h{n}>{inline(m.group(2))}</h{n}>")
        elif re.match(r"^- ", line):
            if mode != "ul":
                close()
                out.append("<ul>")
                mode = "ul"
            out.append(f"<li>{inline(line[2:])}</li>")
        elif re.match(r"^\d+\. ", line):
            if mode != "ol":
                close()
                out.append("<ol>")
                mode = "ol"
            out.append(f"<li>{inline(line.split('. ', 1)[1])}</li>")
        elif line.startswith("|"):
            if re.match(r"^\|[-| ]+\|$", line):
                continue
            if mode != "table":
                close()
                out.append("<table>")
                mode = "table"
            cells = [c.strip() for c in line.strip("|").split("|")]
            out.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells) + "</tr>")
        elif not line:
            close()
        else:
            close()
            out.append(f"<p>{inline(line)}</p>")
    close()
    return "\n".join(out)


def desk_columns(db: Database, settings: Settings, entries: list[Any]) -> None:
    """The desk's postmortem column (status, due, overdue), with a warning when overdue."""
    now = utcnow()
    with db.read() as conn:
        status_of = {
            r.incident_id: r.status
            for r in conn.execute(sa.select(postmortems.c.incident_id, postmortems.c.status))
        }
    for entry in entries:
        inc = entry.incident
        due = due_at(inc)
        status = status_of.get(inc.id)
        if due is None and status is None:
            entry.columns["postmortem"] = None
            continue
        overdue = bool(due is not None and status != Status.PUBLISHED.value and due < now)
        entry.columns["postmortem"] = {
            "status": status or "missing",
            "due_at": due.isoformat() if due else None,
            "overdue": overdue,
        }
        if overdue and due is not None:
            entry.warnings.append(
                f"postmortem overdue since {due:%Y-%m-%d %H:%M} UTC (warroom postmortem {inc.key})"
            )
