"""REST API for the incident core, under /api/v1. Same operations as the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from warroom import incidents
from warroom.core import severity
from warroom.incidents import artifacts, listing, timeline
from warroom.web.api.schemas import EventOut
from warroom.web.api.schemas_incidents import (
    ArtifactOut,
    IncidentOut,
    NoteOut,
    SeverityDefinitionsOut,
    SeveritySuggestionOut,
    TaskOut,
)
from warroom.web.deps import ActorDep, DbDep, SettingsDep
from warroom.web.guard import ROLE_JSON, ROLE_PATH, STAGE_JSON, require
from warroom.web.listquery import ListQueryDep, next_href

router = APIRouter(prefix="/api/v1", tags=["incidents"])

# Pydantic limits mirror the domain's so oversized input is refused before any work.
TEXT = 20_000


class DeclareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, description="What is broken, for whom.")
    description: str = Field("", max_length=TEXT)
    severity: str | None = Field(None, description="P0-P4", examples=["P1"])
    factors: dict[str, Any] | None = Field(None, description="The six prioritisation factors.")
    started_at: datetime | None = Field(None, description="When the impact started (ISO-8601).")
    impact_scope: str = Field("", max_length=TEXT)
    business_impact: str = Field("", max_length=TEXT)
    error_messages: str = Field("", max_length=TEXT)
    suspected_changes: str = Field("", max_length=TEXT)
    reporter: str | None = Field(None, max_length=200)
    reporter_contact: str = Field("", max_length=200)
    security: bool = False
    commander: str | None = Field(None, max_length=200)
    type: str | None = Field(None, max_length=40, description="availability, security, ...")
    private: bool | None = Field(None, description="Default: the type's (security: private).")


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(description="contained, root_caused, fixed, verified or closed")
    reason: str | None = Field(None, max_length=2000)


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class SeverityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: str
    reason: str | None = Field(None, max_length=2000)
    factors: dict[str, Any] | None = None


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    person: str = Field(min_length=1, max_length=200)


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    assignee: str | None = Field(None, max_length=200)


class TaskPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = None
    assignee: str | None = Field(None, max_length=200)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=TEXT)


class FactorsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    business_impact: str = "low"
    affected_users: str = "few"
    data_loss_risk: str = "none"
    security: str = "none"
    workaround: bool = False
    recovery_complexity: str = "low"


@router.post(
    "/incidents",
    status_code=201,
    response_model=IncidentOut,
    dependencies=[require("incident.declare")],
)
def declare(body: DeclareIn, db: DbDep, actor: ActorDep, settings: SettingsDep) -> dict[str, Any]:
    """Declare an incident."""
    inc = incidents.declare(db, actor=actor, settings=settings, **body.model_dump())
    return inc.to_dict()


@router.get("/incidents", response_model=list[IncidentOut], dependencies=[require("incident.read")])
def list_incidents(
    request: Request, response: Response, db: DbDep, query: ListQueryDep
) -> list[dict[str, Any]]:
    """Open incidents in priority order (open first, severity, factors, age) on the first
    page, then `limit` closed ones, most recently closed first. When there are more, the
    `Link` header (rel="next") and `X-Next-Cursor` give the next page: pass `cursor=`."""
    filters, cursor, limit = query
    found = listing.page(db, filters, cursor=cursor, limit=limit)
    href = next_href("/api/v1/incidents", request, found.next_cursor)
    if href is not None and found.next_cursor is not None:
        response.headers["Link"] = f'<{href}>; rel="next"'
        response.headers["X-Next-Cursor"] = found.next_cursor
    return [i.to_dict() for i in found.items]


@router.get("/incidents/{key}", response_model=IncidentOut, dependencies=[require("incident.read")])
def get_incident(key: str, db: DbDep) -> dict[str, Any]:
    return incidents.get(db, key).to_dict()


@router.post("/incidents/{key}/stage", response_model=IncidentOut, dependencies=[STAGE_JSON])
def move_stage(key: str, body: StageIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Move forward to a stage; skipped stages are recorded."""
    return incidents.move(db, key, to=body.to, actor=actor, reason=body.reason).to_dict()


@router.post(
    "/incidents/{key}/reopen", response_model=IncidentOut, dependencies=[require("incident.reopen")]
)
def reopen(key: str, body: ReopenIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return incidents.reopen(db, key, actor=actor, reason=body.reason).to_dict()


@router.post(
    "/incidents/{key}/severity",
    response_model=IncidentOut,
    dependencies=[require("incident.severity")],
)
def set_severity(key: str, body: SeverityIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return incidents.set_severity(
        db, key, severity=body.severity, actor=actor, reason=body.reason, factors=body.factors
    ).to_dict()


@router.post("/incidents/{key}/roles", response_model=IncidentOut, dependencies=[ROLE_JSON])
def assign_role(key: str, body: RoleIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Assign a role; a new commander is a hand-off."""
    return incidents.assign_role(db, key, role=body.role, person=body.person, actor=actor).to_dict()


@router.delete(
    "/incidents/{key}/roles/{role}", response_model=IncidentOut, dependencies=[ROLE_PATH]
)
def remove_role(
    key: str, role: str, db: DbDep, actor: ActorDep, person: str | None = None
) -> dict[str, Any]:
    return incidents.remove_role(db, key, role=role, person=person, actor=actor).to_dict()


@router.post(
    "/incidents/{key}/tasks",
    status_code=201,
    response_model=TaskOut,
    dependencies=[require("incident.task")],
)
def add_task(key: str, body: TaskIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return incidents.add_task(
        db, key, title=body.title, assignee=body.assignee, actor=actor
    ).to_dict()


@router.patch(
    "/incidents/{key}/tasks/{number}",
    response_model=TaskOut,
    dependencies=[require("incident.task")],
)
def update_task(
    key: str, number: str, body: TaskPatch, db: DbDep, actor: ActorDep
) -> dict[str, Any]:
    return incidents.update_task(
        db, key, number, status=body.status, assignee=body.assignee, actor=actor
    ).to_dict()


@router.post(
    "/incidents/{key}/notes",
    status_code=201,
    response_model=NoteOut,
    dependencies=[require("incident.note")],
)
def add_note(key: str, body: NoteIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    seq = incidents.add_note(db, key, text=body.text, actor=actor)
    redacted = timeline.redacted_in(db, key, seq)
    return {"incident": f"INC-{incidents.parse_key(key)}", "seq": seq, "redacted": redacted}


@router.get(
    "/incidents/{key}/timeline",
    response_model=list[EventOut],
    dependencies=[require("incident.read")],
)
def get_timeline(
    key: str,
    response: Response,
    db: DbDep,
    since: Annotated[int, Query(ge=0, description="Events after this seq.")] = 0,
    before: Annotated[
        int | None, Query(ge=1, description="The events just before this seq instead.")
    ] = None,
    latest: Annotated[bool, Query(description="The newest `limit` events instead.")] = False,
    limit: Annotated[int, Query(ge=1, le=timeline.MAX_WINDOW)] = timeline.DEFAULT_WINDOW,
) -> list[dict[str, Any]]:
    """Events in seq order: the first `limit` after seq `since`, or the last before `before`
    (or the newest with `latest=true`). The `Link` header names the neighbouring pages
    (rel="next": later events, rel="prev": earlier ones)."""
    shown = timeline.window(db, key, since=since, before=before, latest=latest, limit=limit)
    base = f"/api/v1/incidents/{shown.events[0].incident_key if shown.events else key}/timeline"
    links = []
    if shown.later is not None:
        links.append(f'<{base}?since={shown.later}&limit={limit}>; rel="next"')
    if shown.earlier is not None:
        links.append(f'<{base}?before={shown.earlier}&limit={limit}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return [e.to_dict() for e in shown.events]


@router.get(
    "/incidents/{key}/timeline.md",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"example": "# INC-7: Checkout returns 500\n"}}}},
    dependencies=[require("incident.read")],
)
def get_timeline_markdown(key: str, db: DbDep) -> str:
    """The timeline as a Markdown document, one table row per event."""
    inc = incidents.get(db, key)
    return timeline.markdown(inc.key, inc.title, inc.severity, inc.stage, timeline.read(db, key))


@router.get(
    "/incidents/{key}/artifacts",
    response_model=list[ArtifactOut],
    dependencies=[require("incident.read")],
)
def list_artifacts(key: str, db: DbDep) -> list[dict[str, Any]]:
    return [a.to_dict() for a in artifacts.list_for(db, key)]


@router.post(
    "/severity/suggest",
    response_model=SeveritySuggestionOut,
    dependencies=[require("severity.suggest")],
)
def suggest_severity(body: FactorsIn) -> dict[str, Any]:
    """Propose a severity from the six prioritisation factors."""
    factors = severity.Factors.from_dict(body.model_dump())
    return severity.suggest(factors).to_dict()


@router.get("/severity", response_model=SeverityDefinitionsOut, dependencies=[require("desk.read")])
def severity_definitions() -> dict[str, str]:
    """The written definitions of P0-P4."""
    return {k.value: v for k, v in severity.DEFINITIONS.items()}
