"""The incident model: stages, roles, task statuses, and the Incident and Task records.

Plain data, read from the rows by `warroom.incidents.store`; the verbs that change them are in
`lifecycle`, `roles` and `tasks`.

    inc.stage is Stage.DETECTED and inc.next_stage is Stage.CONTAINED
    [n.text for n in inc.nags] == ["NO COMMANDER on a P1: name one now"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warroom.core import scrub
from warroom.core.choices import Choice
from warroom.core.errors import Hint, InvalidInput
from warroom.core.severity import Factors, Severity

MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_NAME = 200
MAX_REASON = 2000


class Stage(Choice):
    DETECTED = "detected"
    CONTAINED = "contained"
    ROOT_CAUSED = "root_caused"
    FIXED = "fixed"
    VERIFIED = "verified"
    CLOSED = "closed"

    @property
    def index(self) -> int:  # type: ignore[override]  # position in the lifecycle, not str.index
        return list(Stage).index(self)

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]

    @property
    def reopenable(self) -> bool:
        """Resolved (fixed, verified or closed): the problem may come back and reopen it."""
        return self.index >= Stage.FIXED.index

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"root_cause": "root_caused", "rca": "root_caused", "resolved": "fixed"}


# the stages of open incidents, for `stage IN (...)`: an index range where `stage != 'closed'`
# reads every closed incident of years of history
OPEN_STAGES = [s.value for s in Stage if s is not Stage.CLOSED]

STAGE_LABELS = {
    Stage.DETECTED: "Detect",
    Stage.CONTAINED: "Contain",
    Stage.ROOT_CAUSED: "Root cause",
    Stage.FIXED: "Fix",
    Stage.VERIFIED: "Verify",
    Stage.CLOSED: "Handover",
}

NEXT_STEP = {
    Stage.DETECTED: "Stop the bleeding: contain the impact (rollback, flag off, rate-limit).",
    Stage.CONTAINED: "Find the root cause: what changed, what is saturated, what fails first.",
    Stage.ROOT_CAUSED: "Ship a durable fix for the root cause.",
    Stage.FIXED: "Verify recovery from the numbers before calling it done.",
    Stage.VERIFIED: "Hand over: close, write the postmortem, track the action items.",
    Stage.CLOSED: "Closed. Follow the action items to closure.",
}


class Role(Choice):
    COMMANDER = "commander"
    OPS_LEAD = "ops_lead"
    COMMS_LEAD = "comms_lead"
    SCRIBE = "scribe"
    LIAISON = "liaison"
    SECURITY_LEAD = "security_lead"  # reads a security incident's sealed evidence
    PARTICIPANT = "participant"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"ic": "commander", "incident_commander": "commander"}


class TaskStatus(Choice):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @classmethod
    def field_name(cls) -> str:
        return "status"


@dataclass
class Task:
    number: int
    title: str
    assignee: str | None
    status: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "id": f"T{self.number}",
            "title": self.title,
            "assignee": self.assignee,
            "status": self.status,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Nag:
    """A warning the desk shows until it is dealt with: words, and the step that ends it."""

    text: str
    hint: Hint | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "hint": self.hint.to_dict() if self.hint else None}


@dataclass
class Incident:
    id: int
    key: str
    title: str
    description: str
    severity: Severity | None
    factors: Factors
    stage: Stage
    started_at: datetime
    detected_at: datetime
    stage_times: dict[str, datetime | None]
    skipped_stages: list[str]
    impact_scope: str
    business_impact: str
    error_messages: str
    suspected_changes: str
    reporter: str
    reporter_contact: str
    security: bool
    drill: bool
    commander: str | None
    commander_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_seq: int
    last_hash: str = ""  # with last_seq, the head of the timeline's hash chain
    type: str = "availability"  # see incident_types
    private: bool = False  # only participants and admins see it (see privacy)
    roles: dict[str, str] = field(default_factory=dict)
    participants: list[str] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)

    @property
    def people(self) -> set[str]:
        """Who takes part: the declarer, the people named for roles, the participants."""
        named = {self.created_by, self.commander, *self.roles.values(), *self.participants}
        return {p for p in named if p}

    @property
    def is_open(self) -> bool:
        return self.stage is not Stage.CLOSED

    @property
    def next_stage(self) -> Stage | None:
        if self.stage is Stage.CLOSED:
            return None
        return list(Stage)[self.stage.index + 1]

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.stage]

    @property
    def nags(self) -> list[Nag]:
        """What the desk nags about on every list and show, each with its next step."""
        out: list[Nag] = []
        if self.is_open and self.severity in (Severity.P0, Severity.P1) and not self.commander:
            out.append(
                Nag(
                    f"NO COMMANDER on a {self.severity.value}: name one now",
                    Hint(
                        "assign_role",
                        "name a commander",
                        incident=self.key,
                        params={"role": Role.COMMANDER.value},
                    ),
                )
            )
        if self.is_open and self.severity is None:
            out.append(
                Nag(
                    "no severity yet: set one",
                    Hint("set_severity", "set a severity", incident=self.key),
                )
            )
        return out

    @property
    def warnings(self) -> list[str]:
        """The nags as text (the JSON field `warnings`, kept for scripts)."""
        return [n.text for n in self.nags]

    def priority_key(self) -> tuple[Any, ...]:
        """Open first; then severity, the six factors, then the oldest first."""
        sev_rank = self.severity.rank if self.severity else 5
        return (
            0 if self.is_open else 1,
            sev_rank,
            self.factors.urgency_key(),
            self.started_at,
            self.id,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "severity": self.severity.value if self.severity else None,
            "factors": self.factors.to_dict(),
            "stage": self.stage.value,
            "next_stage": self.next_stage.value if self.next_stage else None,
            "next_step": self.next_step,
            "started_at": self.started_at.isoformat(),
            "detected_at": self.detected_at.isoformat(),
            "stage_times": {k: (v.isoformat() if v else None) for k, v in self.stage_times.items()},
            "skipped_stages": self.skipped_stages,
            "impact_scope": self.impact_scope,
            "business_impact": self.business_impact,
            "error_messages": self.error_messages,
            "suspected_changes": self.suspected_changes,
            "reporter": self.reporter,
            "reporter_contact": self.reporter_contact,
            "security": self.security,
            "type": self.type,
            "private": self.private,
            "drill": self.drill,
            "commander": self.commander,
            "roles": self.roles,
            "participants": self.participants,
            "tasks": [t.to_dict() for t in self.tasks],
            "warnings": self.warnings,
            "nags": [n.to_dict() for n in self.nags],
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "events": self.last_seq,
        }


def clean_text(
    name: str,
    value: str | None,
    *,
    limit: int = MAX_TEXT,
    required: bool = False,
    hint: Hint | None = None,
    secrets: bool = True,
) -> str:
    """`value` stripped; refused when empty (if `required`) or longer than `limit`; secrets
    in it redacted (`warroom.core.scrub`) unless `secrets` is False (names, keys)."""
    value = (value or "").strip()
    words = name.replace("_", " ")
    if required and not value:
        raise InvalidInput(f"{words} must not be empty", field=name, hint=hint)
    if len(value) > limit:
        raise InvalidInput(
            f"{words} is {len(value):,} characters; the limit is {limit:,} "
            "(attach long text as a file instead)",
            field=name,
        )
    if secrets and name not in _NAME_FIELDS:
        value = scrub.scrub_text(value)[0][:limit]
    return value


# Names of people and the actor: never scrubbed (a name is not a secret, and a name that
# looks like one must stay the name it is).
_NAME_FIELDS = frozenset({"actor", "reporter", "commander", "assignee", "person", "name"})
