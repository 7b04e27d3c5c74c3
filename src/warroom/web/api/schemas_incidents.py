"""Response models of the incidents API: what /api/v1/openapi.json documents.

They describe the dictionaries the domain's `to_dict()` methods return (the CLI's --json
prints the same), field for field: times are ISO-8601 strings as `isoformat()` writes them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from warroom.web.api.schemas import HintOut


class NagOut(BaseModel):
    """A warning the desk shows until it is dealt with, and the step that deals with it."""

    text: str = Field(examples=["NO COMMANDER on a P1: name one now"])
    hint: HintOut | None = None


class FactorsOut(BaseModel):
    """The six prioritisation factors."""

    business_impact: str = Field(examples=["high"])
    affected_users: str = Field(examples=["many"])
    data_loss_risk: str = Field(examples=["none"])
    security: str = Field(examples=["none"])
    workaround: bool
    recovery_complexity: str = Field(examples=["low"])


class TaskOut(BaseModel):
    number: int
    id: str = Field(examples=["T1"])
    title: str
    assignee: str | None
    status: str = Field(examples=["open", "in_progress", "done", "cancelled"])
    created_by: str
    created_at: str
    updated_at: str


class IncidentOut(BaseModel):
    """An incident with its roles, tasks and what the desk nags about."""

    key: str = Field(examples=["INC-7"])
    title: str
    description: str
    severity: str | None = Field(examples=["P1"])
    factors: FactorsOut
    stage: str = Field(examples=["detected"])
    next_stage: str | None = Field(examples=["contained"])
    next_step: str
    started_at: str
    detected_at: str
    stage_times: dict[str, str | None] = Field(description="When each stage was reached.")
    skipped_stages: list[str]
    impact_scope: str
    business_impact: str
    error_messages: str
    suspected_changes: str
    reporter: str
    reporter_contact: str
    security: bool
    type: str = Field(examples=["security"])
    private: bool = Field(description="Only its participants and admins see it.")
    drill: bool
    commander: str | None
    roles: dict[str, str] = Field(description="role -> person (participants are separate).")
    participants: list[str]
    tasks: list[TaskOut]
    warnings: list[str] = Field(description="The nags as text.")
    nags: list[NagOut]
    created_by: str
    created_at: str
    updated_at: str
    events: int = Field(description="How many events its timeline holds.")


class NoteOut(BaseModel):
    incident: str = Field(examples=["INC-7"])
    seq: int = Field(description="The note's place on the timeline.")
    redacted: int = Field(0, description="How many secrets were redacted from the text.")


class ArtifactOut(BaseModel):
    id: int
    incident: str
    sha256: str
    kind: str = Field(examples=["triage-report"])
    name: str
    media_type: str
    size: int
    created_by: str
    created_at: str
    redacted: int = Field(0, description="Secrets redacted from the content before storing it.")


class SeveritySuggestionOut(BaseModel):
    """A proposed severity and the factor that decided it."""

    severity: str = Field(examples=["P1"])
    deciding_factor: str = Field(examples=["affected_users"])
    reason: str
    definition: str
    considered: list[str]


class SeverityDefinitionsOut(BaseModel):
    """The written definitions of P0-P4."""

    P0: str
    P1: str
    P2: str
    P3: str
    P4: str
