"""The root cause of an incident: its category, a summary and the contributing factors.

    record_root_cause(db, "INC-1", category="unindexed_query", summary="...", actor="ana")
    get_root_cause(db, "INC-1").category.label      # 'unindexed query'

Categories come from the method's catalogue of failures; each carries a lesson and the
follow-ups to consider (`LESSONS`), which the postmortem draft quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from warroom import incidents
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import timeline
from warroom.incidents.lifecycle import Stage
from warroom.learn.tables import root_causes

MAX_SUMMARY = 5000


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


@dataclass(frozen=True)
class RootCause:
    """What made the failure possible, as recorded by the team."""

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

    @classmethod
    def from_row(cls, r: Row[Any]) -> RootCause:
        return cls(
            Category(r.category), r.summary, list(r.factors or []), r.recorded_by, r.recorded_at
        )


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
        raise InvalidInput("describe the root cause in a sentence", field="summary")
    if len(summary) > MAX_SUMMARY:
        raise InvalidInput(
            f"the root-cause summary is longer than {MAX_SUMMARY:,} characters", field="summary"
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


def root_cause_of(conn: Connection, incident_id: int) -> RootCause | None:
    """The root cause recorded on an incident, read inside the caller's transaction."""
    r = conn.execute(sa.select(root_causes).where(root_causes.c.incident_id == incident_id)).first()
    return RootCause.from_row(r) if r is not None else None


def get_root_cause(db: Database, key: str | int) -> RootCause | None:
    """The incident's root cause, or None while none is recorded."""
    with db.read() as conn:
        return root_cause_of(conn, incidents.get_id(conn, key))


def root_causes_by_incident(db: Database, ids: list[int] | None = None) -> dict[int, RootCause]:
    """Recorded root causes by incident id (recurrence and reports): of `ids` when given,
    else every one."""
    stmt = sa.select(root_causes)
    if ids is not None:
        stmt = stmt.where(root_causes.c.incident_id.in_(ids))
    with db.read() as conn:
        return {r.incident_id: RootCause.from_row(r) for r in conn.execute(stmt)}
