"""REST API of the learning area: root cause, postmortems, action items, recurrence, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from warroom.core.clock import utcnow
from warroom.core.errors import InvalidInput
from warroom.learn import actions, postmortems, recurrence, reports
from warroom.web.deps import ActorDep, DbDep
from warroom.web.guard import require

router = APIRouter(prefix="/api/v1", tags=["learn"])


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


@router.post(
    "/incidents/{key}/rootcause", status_code=201, dependencies=[require("incident.learn")]
)
def record_root_cause(key: str, body: RootCauseIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    rc = postmortems.record_root_cause(
        db,
        key,
        category=body.category,
        summary=body.summary,
        factors=body.factors,
        actor=actor,
        move_stage=body.move_stage,
    )
    return rc.to_dict()


@router.get("/root-cause-categories", dependencies=[require("desk.read")])
def categories() -> dict[str, str]:
    return {c.value: c.label for c in postmortems.Category}


@router.post(
    "/incidents/{key}/postmortem", status_code=201, dependencies=[require("incident.learn")]
)
def draft_postmortem(key: str, db: DbDep, actor: ActorDep, redraft: bool = False) -> dict[str, Any]:
    return postmortems.draft(db, key, actor=actor, redraft=redraft).to_dict()


@router.get("/incidents/{key}/postmortem", dependencies=[require("incident.read")])
def get_postmortem(key: str, db: DbDep) -> dict[str, Any]:
    return postmortems.get(db, key).to_dict()


@router.get(
    "/incidents/{key}/postmortem.md",
    response_class=PlainTextResponse,
    dependencies=[require("incident.read")],
)
def postmortem_markdown(key: str, db: DbDep) -> str:
    return postmortems.render_markdown(postmortems.get(db, key))


@router.get(
    "/incidents/{key}/postmortem.html",
    response_class=HTMLResponse,
    dependencies=[require("incident.read")],
)
def postmortem_html(key: str, db: DbDep) -> str:
    return postmortems.render_html(db, postmortems.get(db, key))


@router.put(
    "/incidents/{key}/postmortem/sections/{section}", dependencies=[require("incident.learn")]
)
def edit_section(
    key: str, section: str, body: SectionIn, db: DbDep, actor: ActorDep
) -> dict[str, Any]:
    return postmortems.update_section(
        db, key, section=section, text=body.text, actor=actor
    ).to_dict()


@router.post("/incidents/{key}/postmortem/status", dependencies=[require("incident.learn")])
def postmortem_status(key: str, body: StatusIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return postmortems.set_status(db, key, status=body.status, actor=actor).to_dict()


@router.get("/postmortems/due", dependencies=[require("desk.read")])
def postmortems_due(db: DbDep, overdue: bool = False) -> list[dict[str, Any]]:
    return [d.to_dict() for d in postmortems.due_list(db, overdue_only=overdue)]


@router.post("/incidents/{key}/actions", status_code=201, dependencies=[require("action.write")])
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


@router.get("/incidents/{key}/actions", dependencies=[require("incident.read")])
def incident_actions(key: str, db: DbDep) -> list[dict[str, Any]]:
    return [i.to_dict() for i in actions.list_items(db, incident=key)]


@router.patch("/actions/{ref}", dependencies=[require("action.write")])
def update_action(ref: str, body: ActionPatch, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return actions.update(db, ref, actor=actor, **body.model_dump(exclude_none=True)).to_dict()


@router.get("/actions", response_model=None, dependencies=[require("desk.read")])
def list_actions(
    db: DbDep, all: bool = False, overdue: bool = False, format: str = "json"
) -> Response | list[dict[str, Any]]:
    now = utcnow()
    items = actions.list_items(db, open_only=not all, overdue_only=overdue, now=now)
    if format == "csv":
        return PlainTextResponse(actions.export_csv(items, now), media_type="text/csv")
    if format != "json":
        raise InvalidInput(f"unknown format {format!r}: use json or csv", field="format")
    return [i.to_dict(now) for i in items]


@router.get("/incidents/{key}/recurrence", dependencies=[require("incident.read")])
def find_recurrence(key: str, db: DbDep) -> list[dict[str, Any]]:
    return [m.to_dict() for m in recurrence.find_similar(db, key)]


@router.post("/incidents/{key}/recurrence", dependencies=[require("incident.learn")])
def check_recurrence(key: str, db: DbDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [m.to_dict() for m in recurrence.check(db, key, actor=actor)]


@router.get("/reports", response_model=None, dependencies=[require("desk.read")])
def report(
    db: DbDep, since: str = "90d", until: datetime | None = None, format: str = "json"
) -> Response | dict[str, Any]:
    rep = reports.build(db, since=reports.parse_since(since), until=until)
    if format == "markdown":
        return PlainTextResponse(reports.render_markdown(rep))
    if format == "html":
        return HTMLResponse(reports.render_html(rep))
    if format != "json":
        raise InvalidInput(f"unknown format {format!r}: use json, markdown or html", field="format")
    return rep.to_dict()
