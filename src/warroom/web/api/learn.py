"""REST API of the learning area: root cause, postmortems, action items, recurrence, reports.

Every JSON answer has a response model, so /api/v1/openapi.json documents it. Times are the
ISO-8601 strings the domain's `to_dict` writes (`2026-11-24T12:00:00+00:00`), typed `str` so
the answers stay byte-for-byte what they were.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, RootModel

from warroom.core.clock import utcnow
from warroom.core.errors import InvalidInput
from warroom.learn import actions, export, postmortems, recurrence, reports, rootcause
from warroom.web.deps import ActorDep, DbDep, SettingsDep
from warroom.web.guard import require

router = APIRouter(prefix="/api/v1", tags=["learn"])


# --- input --------------------------------------------------------------------------------------


class RootCauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(description="A root-cause category, e.g. unindexed_query.")
    summary: str = Field(min_length=1, max_length=5000)
    factors: list[str] = Field(default_factory=list, description="Contributing factors.")
    move_stage: bool = Field(True, description="Also move the incident to root_caused.")


class SectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=50_000)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="draft, in_review or published")


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    type: str = Field("preventive", description="detective, preventive, corrective, mitigation")
    owner: str | None = Field(None, max_length=200)
    due_at: datetime | None = None
    priority: str = "P2"
    ticket_url: str | None = Field(None, max_length=500)


class ActionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    status: str | None = None
    owner: str | None = Field(None, max_length=200)
    due_at: datetime | None = None
    priority: str | None = None
    ticket_url: str | None = Field(None, max_length=500)


# --- output -------------------------------------------------------------------------------------


class RootCauseOut(BaseModel):
    category: str = Field(description="The category's value, e.g. unindexed_query.")
    category_label: str
    summary: str
    factors: list[str]
    recorded_by: str
    recorded_at: str


class CategoriesOut(RootModel[dict[str, str]]):
    """Root-cause category value -> label."""


class SectionOut(BaseModel):
    name: str
    title: str
    text: str = Field(description="Markdown.")


class FindingOut(BaseModel):
    """A sentence that reads as blaming a person, with a system-focused rewording."""

    sentence: str
    phrase: str
    person: str
    suggestion: str
    offset: int


class PostmortemOut(BaseModel):
    incident: str
    title: str
    status: str = Field(description="draft, in_review or published")
    due_at: str | None
    overdue: bool
    sections: list[SectionOut]
    root_cause: RootCauseOut | None
    blameless_warnings: dict[str, list[FindingOut]] = Field(description="By section name.")
    created_by: str
    created_at: str
    updated_at: str
    published_at: str | None


class DueOut(BaseModel):
    incident: str
    title: str
    severity: str | None
    status: str = Field(description='draft, in_review, or "missing" when none is drafted')
    due_at: str
    overdue: bool


class ActionOut(BaseModel):
    id: str = Field(description="AI-<n>")
    incident: str
    title: str
    type: str
    owner: str | None
    due_at: str | None
    priority: str
    status: str
    overdue: bool
    ticket_url: str
    created_by: str
    created_at: str
    updated_at: str
    closed_at: str | None


class MatchOut(BaseModel):
    """A closed past incident that looks like this one."""

    incident: str
    title: str
    score: float
    reasons: list[str]
    message: str
    root_cause: RootCauseOut | None
    open_actions: list[str]


class StatsOut(BaseModel):
    n: int
    median: float | None = Field(description="Seconds.")
    p90: float | None = Field(description="Seconds.")


class UpdatePunctualityOut(BaseModel):
    on_time: int
    expected: int
    rate: float | None


class ActionSummaryOut(BaseModel):
    total: int
    done: int
    open: int
    overdue: int
    completion_rate: float | None


class RecurrenceOut(BaseModel):
    incident: str
    looks_like: list[str | None]


class ReportOut(BaseModel):
    since: str
    until: str
    incidents: list[str]
    count: int
    by_severity: dict[str, int]
    by_service: dict[str, int]
    by_root_cause: dict[str, int]
    durations_seconds: dict[str, dict[str, StatsOut]] = Field(
        description="metric (mttd, mtta, mttc, mttr) -> group (all, severity P1, month ...)"
    )
    update_punctuality: UpdatePunctualityOut
    action_items: ActionSummaryOut
    recurrences: list[RecurrenceOut]
    missed_deadlines: list[dict[str, Any]] = Field(
        description="Regulatory clocks that passed their deadline: incident, clock, due_at."
    )


# The documents some endpoints answer instead of JSON, for the OpenAPI description.
TEXT: dict[str, Any] = {"schema": {"type": "string"}}
MARKDOWN: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": TEXT}}}
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": TEXT}}}
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": TEXT}}}
DOCUMENTS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": TEXT, "text/html": TEXT}}
}


# --- root cause ---------------------------------------------------------------------------------


@router.post(
    "/incidents/{key}/rootcause",
    status_code=201,
    response_model=RootCauseOut,
    dependencies=[require("incident.learn")],
)
def record_root_cause(key: str, body: RootCauseIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    rc = rootcause.record_root_cause(
        db,
        key,
        category=body.category,
        summary=body.summary,
        factors=body.factors,
        actor=actor,
        move_stage=body.move_stage,
    )
    return rc.to_dict()


@router.get(
    "/root-cause-categories", response_model=CategoriesOut, dependencies=[require("desk.read")]
)
def categories() -> dict[str, str]:
    """Category value -> label."""
    return {c.value: c.label for c in rootcause.Category}


# --- postmortems --------------------------------------------------------------------------------


@router.post(
    "/incidents/{key}/postmortem",
    status_code=201,
    response_model=PostmortemOut,
    dependencies=[require("incident.learn")],
)
def draft_postmortem(
    key: str, db: DbDep, actor: ActorDep, settings: SettingsDep, redraft: bool = False
) -> dict[str, Any]:
    return postmortems.draft(db, key, actor=actor, redraft=redraft, settings=settings).to_dict()


@router.get(
    "/incidents/{key}/postmortem",
    response_model=PostmortemOut,
    dependencies=[require("incident.read")],
)
def get_postmortem(key: str, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    return postmortems.get(db, key, settings=settings).to_dict()


@router.get(
    "/incidents/{key}/postmortem.md",
    response_class=PlainTextResponse,
    response_model=None,
    responses=MARKDOWN,
    dependencies=[require("incident.read")],
)
def postmortem_markdown(key: str, db: DbDep, settings: SettingsDep) -> str:
    """The postmortem as Markdown."""
    return export.render_markdown(postmortems.get(db, key, settings=settings))


@router.get(
    "/incidents/{key}/postmortem.html",
    response_class=HTMLResponse,
    response_model=None,
    responses=HTML,
    dependencies=[require("incident.read")],
)
def postmortem_html(key: str, db: DbDep, settings: SettingsDep) -> str:
    """The postmortem as a standalone HTML document, with the chart when there is a series."""
    return export.render_html(db, postmortems.get(db, key, settings=settings))


@router.put(
    "/incidents/{key}/postmortem/sections/{section}",
    response_model=PostmortemOut,
    dependencies=[require("incident.learn")],
)
def edit_section(
    key: str, section: str, body: SectionIn, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> dict[str, Any]:
    return postmortems.update_section(
        db, key, section=section, text=body.text, actor=actor, settings=settings
    ).to_dict()


@router.post(
    "/incidents/{key}/postmortem/status",
    response_model=PostmortemOut,
    dependencies=[require("incident.learn")],
)
def postmortem_status(
    key: str, body: StatusIn, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> dict[str, Any]:
    return postmortems.set_status(
        db, key, status=body.status, actor=actor, settings=settings
    ).to_dict()


@router.get("/postmortems/due", response_model=list[DueOut], dependencies=[require("desk.read")])
def postmortems_due(
    db: DbDep, settings: SettingsDep, overdue: bool = False
) -> list[dict[str, Any]]:
    return [d.to_dict() for d in postmortems.due_list(db, overdue_only=overdue, settings=settings)]


# --- action items -------------------------------------------------------------------------------


@router.post(
    "/incidents/{key}/actions",
    status_code=201,
    response_model=ActionOut,
    dependencies=[require("action.write")],
)
def add_action(key: str, body: ActionIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return actions.add(
        db,
        key,
        title=body.title,
        type=body.type,
        owner=body.owner,
        due_at=body.due_at,
        priority=body.priority,
        ticket_url=body.ticket_url,
        actor=actor,
    ).to_dict()


@router.get(
    "/incidents/{key}/actions",
    response_model=list[ActionOut],
    dependencies=[require("incident.read")],
)
def incident_actions(key: str, db: DbDep) -> list[dict[str, Any]]:
    return [i.to_dict() for i in actions.list_items(db, incident=key)]


@router.patch("/actions/{ref}", response_model=ActionOut, dependencies=[require("action.write")])
def update_action(ref: str, body: ActionPatch, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return actions.update(db, ref, actor=actor, **body.model_dump(exclude_none=True)).to_dict()


@router.get(
    "/actions", response_model=list[ActionOut], responses=CSV, dependencies=[require("desk.read")]
)
def list_actions(
    db: DbDep, all: bool = False, overdue: bool = False, format: str = "json"
) -> Response | list[dict[str, Any]]:
    """Open (or `all`) action items, overdue first; `format=csv` for Jira / GitHub import."""
    now = utcnow()
    items = actions.list_items(db, open_only=not all, overdue_only=overdue, now=now)
    if format == "csv":
        return PlainTextResponse(actions.export_csv(items, now), media_type="text/csv")
    if format != "json":
        raise InvalidInput(f"unknown format {format!r}: use json or csv", field="format")
    return [i.to_dict(now) for i in items]


# --- recurrence and reports ---------------------------------------------------------------------


@router.get(
    "/incidents/{key}/recurrence",
    response_model=list[MatchOut],
    dependencies=[require("incident.read")],
)
def find_recurrence(
    key: str, db: DbDep, all_: bool = Query(False, alias="all")
) -> list[dict[str, Any]]:
    """Past incidents that look like this one: among the most recently closed (as on
    declaring), or every closed incident with `all=true` (slower: it reads them all)."""
    return [m.to_dict() for m in recurrence.find_similar(db, key, everything=all_)]


@router.post(
    "/incidents/{key}/recurrence",
    response_model=list[MatchOut],
    dependencies=[require("incident.learn")],
)
def check_recurrence(key: str, db: DbDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [m.to_dict() for m in recurrence.check(db, key, actor=actor)]


@router.get(
    "/reports", response_model=ReportOut, responses=DOCUMENTS, dependencies=[require("desk.read")]
)
def report(
    db: DbDep, since: str = "90d", until: datetime | None = None, format: str = "json"
) -> Response | dict[str, Any]:
    """Figures over a period; `format=markdown` or `html` for a document."""
    rep = reports.build(db, since=reports.parse_since(since), until=until)
    if format == "markdown":
        return PlainTextResponse(reports.render_markdown(rep))
    if format == "html":
        return HTMLResponse(reports.render_html(rep))
    if format != "json":
        raise InvalidInput(f"unknown format {format!r}: use json, markdown or html", field="format")
    return rep.to_dict()
