"""Pages of the learning area: the postmortem (read and edit), action items, reports,
and the incident-page panel with recurrence, postmortem status and action items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from warroom import incidents
from warroom.core.clock import parse_time, utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import NotFound
from warroom.incidents.lifecycle import Incident
from warroom.learn import actions, compliance, postmortems, recurrence, reports, rootcause
from warroom.learn.drafting import ALL_SECTION_NAMES, SECTIONS
from warroom.learn.export import markdown_to_html
from warroom.web.deps import ActorDep, DbDep, SettingsDep, templates
from warroom.web.forms import act
from warroom.web.guard import require

router = APIRouter(include_in_schema=False)


@router.get(
    "/incidents/{key}/postmortem",
    response_class=HTMLResponse,
    dependencies=[require("incident.read")],
)
def postmortem_page(request: Request, key: str, db: DbDep, settings: SettingsDep) -> Response:
    inc = incidents.get(db, key)
    try:
        pm = postmortems.get(db, inc.key, settings=settings)
    except NotFound:
        return templates.TemplateResponse(
            request, "learn_postmortem.html", {"pm": None, "inc": inc}
        )
    rendered = {
        n: Markup(markdown_to_html(pm.sections.get(n, "")))  # noqa: S704 (escaped by it)
        for n in ALL_SECTION_NAMES
    }
    return templates.TemplateResponse(
        request,
        "learn_postmortem.html",
        {
            "pm": pm,
            "inc": pm.incident,
            "sections": compliance.sections_for(pm.incident, SECTIONS),
            "rendered": rendered,
            "next_status": sorted(s.value for s in postmortems.TRANSITIONS[pm.status]),
            "edit": request.query_params.get("edit"),
        },
    )


@router.post("/incidents/{key}/postmortem", dependencies=[require("incident.learn")])
def postmortem_draft_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    redraft: Annotated[str, Form()] = "",
) -> Response:
    return act(
        f"/incidents/{key.upper()}/postmortem",
        lambda: postmortems.draft(db, key, actor=actor, redraft=bool(redraft), settings=settings),
    )


@router.post(
    "/incidents/{key}/postmortem/sections/{section}", dependencies=[require("incident.learn")]
)
def postmortem_section_submit(
    key: str,
    section: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    text: Annotated[str, Form()] = "",
) -> Response:
    return act(
        f"/incidents/{key.upper()}/postmortem",
        lambda: postmortems.update_section(
            db, key, section=section, text=text, actor=actor, settings=settings
        ),
    )


@router.post("/incidents/{key}/postmortem/status", dependencies=[require("incident.learn")])
def postmortem_status_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    status: Annotated[str, Form()] = "",
) -> Response:
    return act(
        f"/incidents/{key.upper()}/postmortem",
        lambda: postmortems.set_status(db, key, status=status, actor=actor, settings=settings),
    )


@router.post("/incidents/{key}/rootcause", dependencies=[require("incident.learn")])
def rootcause_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    category: Annotated[str, Form()] = "",
    summary: Annotated[str, Form()] = "",
    factors: Annotated[str, Form()] = "",
) -> Response:
    return act(
        f"/incidents/{key.upper()}",
        lambda: rootcause.record_root_cause(
            db,
            key,
            category=category,
            summary=summary,
            actor=actor,
            factors=[f for f in factors.splitlines() if f.strip()],
            move_stage=True,
        ),
    )


@router.post("/incidents/{key}/actions", dependencies=[require("action.write")])
def action_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    title: Annotated[str, Form()] = "",
    type: Annotated[str, Form()] = "preventive",
    owner: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "P2",
    ticket_url: Annotated[str, Form()] = "",
) -> Response:
    return act(
        f"/incidents/{key.upper()}",
        lambda: actions.add(
            db,
            key,
            title=title,
            type=type,
            owner=owner or None,
            due_at=parse_time(due, field="due"),
            priority=priority,
            ticket_url=ticket_url or None,
            actor=actor,
        ),
    )


@router.post("/actions/{ref}", dependencies=[require("action.write")])
def action_status_submit(
    ref: str,
    db: DbDep,
    actor: ActorDep,
    status: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/actions",
) -> Response:
    # only a path on this desk: never an open redirect
    url = back if back.startswith("/") and not back.startswith("//") else "/actions"
    return act(url, lambda: actions.update(db, ref, status=status, actor=actor))


@router.get("/actions", response_class=HTMLResponse, dependencies=[require("desk.read")])
def actions_page(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    show_all = request.query_params.get("all") == "1"
    now = utcnow()
    return templates.TemplateResponse(
        request,
        "learn_actions.html",
        {
            "items": actions.list_items(db, open_only=not show_all, now=now),
            "now": now,
            "show_all": show_all,
            "due": postmortems.due_list(db, now=now, settings=settings),
        },
    )


@router.get("/reports", response_class=HTMLResponse, dependencies=[require("desk.read")])
def reports_page(request: Request, db: DbDep, since: str = "90d") -> Response:
    rep = reports.build(db, since=reports.parse_since(since))
    return templates.TemplateResponse(
        request,
        "learn_report.html",
        {
            "rep": rep,
            "since": since,
            "metrics": reports.METRICS,
            "charts": reports.report_charts(rep),
            "td": reports.fmt_seconds,
        },
    )


def learn_panel(
    db: Database, inc: Incident, settings: Settings
) -> tuple[str, dict[str, Any]] | None:
    try:
        pm = postmortems.get(db, inc.key, settings=settings)
    except NotFound:
        pm = None
    return "learn_panel.html", {
        "recurrences": recurrence.recorded(db, inc.key),
        "root_cause": rootcause.get_root_cause(db, inc.key),
        "action_items": actions.list_items(db, incident=inc.key),
        "pm": pm,
        "due_at": postmortems.due_at(inc, settings),
        "now": utcnow(),
        "categories": list(rootcause.Category),
        "types": [t.value for t in actions.ActionType],
    }
