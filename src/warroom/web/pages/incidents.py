"""Server-rendered pages of the desk: incident list, incident page, declare form.

Forms post and redirect (works without JavaScript); every handler calls one domain function
through `forms.act`, so a refused change comes back once as a flash with its next step.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from warroom import incidents
from warroom.comms import heartbeat, updates
from warroom.comms.updates import CommsConfig
from warroom.core.clock import parse_time, utcnow
from warroom.core.errors import InvalidInput
from warroom.incidents import artifacts, desk, incident_types, timeline
from warroom.web import errors, forms, panels
from warroom.web.deps import ActorDep, DbDep, SettingsDep, templates
from warroom.web.guard import ROLE_FORM, STAGE_FORM, require
from warroom.web.listquery import ListQueryDep, next_href
from warroom.web.views import DEFINITIONS, SEVERITY_NAMES, triage_severity

router = APIRouter(include_in_schema=False)

STAGES = list(incidents.Stage)
ROLES = [r.value for r in incidents.Role]
PAGE_EVENTS = 100  # timeline events on the incident page; "Earlier events" shows the rest


def _names_commander(nag: incidents.Nag) -> bool:
    return nag.hint is not None and nag.hint.params.get("role") == incidents.Role.COMMANDER.value


def nag_view(nag: incidents.Nag) -> dict[str, Any]:
    """A nag as the templates show it: its words and, when it has one, its step as a link."""
    return {"text": nag.text, "link": errors.link(nag.hint) if nag.hint else None}


@router.get("/", response_class=HTMLResponse, dependencies=[require("incident.read")])
def incident_list(
    request: Request, db: DbDep, settings: SettingsDep, query: ListQueryDep
) -> Response:
    """Open incidents, then closed ones a page at a time (keyset: `cursor`), filtered."""
    filters, cursor, limit = query
    shown = desk.page(db, settings=settings, filters=filters, cursor=cursor, limit=limit)
    entries = shown.entries
    return templates.TemplateResponse(
        request,
        "list.html",
        {
            "open": shown.open,
            "closed": shown.closed,
            "first_page": not cursor,
            "filters": filters.params()
            | (
                {"service": request.query_params["service"]}
                if request.query_params.get("service")
                else {}
            ),
            "next_href": next_href("/", request, shown.next_cursor),
            "nags": {e.incident.key: [nag_view(n) for n in e.all_nags()] for e in entries},
            "notices": [nag_view(n) for n in desk.notices(db, settings=settings)],
            "now": utcnow(),
            "STAGES": STAGES,
        },
    )


def _declare_page(
    request: Request, values: dict[str, str], error: InvalidInput | None = None
) -> Response:
    return templates.TemplateResponse(
        request,
        "declare.html",
        {
            "values": values,
            "error": errors.page_context(error) if error else None,
            "DEFINITIONS": DEFINITIONS,
            "SEVERITY_NAMES": SEVERITY_NAMES,
            "types": incident_types.configured(request.app.state.settings).values(),
        },
        status_code=422 if error else 200,
    )


@router.get("/incidents/new", response_class=HTMLResponse, dependencies=[require("desk.read")])
def declare_form(request: Request) -> Response:
    return _declare_page(request, {})


@router.post(
    "/incidents/new", response_class=HTMLResponse, dependencies=[require("incident.declare")]
)
def declare_submit(
    request: Request,
    db: DbDep,
    actor: ActorDep,
    title: Annotated[str, Form()] = "",
    severity_: Annotated[str, Form(alias="severity")] = "",
    description: Annotated[str, Form()] = "",
    started_at: Annotated[str, Form()] = "",
    impact_scope: Annotated[str, Form()] = "",
    business_impact: Annotated[str, Form()] = "",
    error_messages: Annotated[str, Form()] = "",
    suspected_changes: Annotated[str, Form()] = "",
    reporter: Annotated[str, Form()] = "",
    reporter_contact: Annotated[str, Form()] = "",
    security: Annotated[str, Form()] = "",
    commander: Annotated[str, Form()] = "",
    type_: Annotated[str, Form(alias="type")] = "",
) -> Response:
    values = {
        "title": title,
        "severity": severity_,
        "description": description,
        "started_at": started_at,
        "impact_scope": impact_scope,
        "business_impact": business_impact,
        "error_messages": error_messages,
        "suspected_changes": suspected_changes,
        "reporter": reporter,
        "reporter_contact": reporter_contact,
        "security": security,
        "commander": commander,
        "type": type_,
    }
    try:
        inc = incidents.declare(
            db,
            title=title,
            actor=actor,
            severity=severity_ or None,
            description=description,
            started_at=parse_time(started_at, field="started_at"),
            impact_scope=impact_scope,
            business_impact=business_impact,
            error_messages=error_messages,
            suspected_changes=suspected_changes,
            reporter=reporter or None,
            reporter_contact=reporter_contact,
            security=bool(security),
            commander=commander or None,
            type=type_ or None,
            settings=request.app.state.settings,
        )
    except InvalidInput as exc:
        # The form comes back filled in, with the problem above it (nothing to redirect to).
        return _declare_page(request, values, exc)
    return forms.see_other(f"/incidents/{inc.key}")


@router.get(
    "/incidents/{key}", response_class=HTMLResponse, dependencies=[require("incident.read")]
)
def incident_page(
    request: Request,
    key: str,
    db: DbDep,
    settings: SettingsDep,
    before: Annotated[int | None, Query(ge=1)] = None,
    since: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """The incident, its panels and the latest events of its timeline (`before`/`since`:
    an earlier or later run of PAGE_EVENTS events)."""
    inc = incidents.get(db, key)
    if inc.key != key:
        return forms.see_other(f"/incidents/{inc.key}")
    run = timeline.window(
        db,
        inc.key,
        since=since or 0,
        before=before,
        latest=since is None,
        limit=PAGE_EVENTS,
    )
    beat = heartbeat.heartbeat(db, inc.key, config=CommsConfig.from_settings(settings))
    shown = panels.render_context(db, inc, settings)
    return templates.TemplateResponse(
        request,
        "incident.html",
        {
            "inc": inc,
            # The commander's nag is said in the band's commander box, next to its form.
            "nags": [nag_view(n) for n in inc.nags if not _names_commander(n)],
            "commander_nag": next((nag_view(n) for n in inc.nags if _names_commander(n)), None),
            "beat": beat if beat.due_at is not None else None,
            "latest": updates.latest_update(db, inc.key),
            "tri": triage_severity(inc, artifacts.latest_triage_report(db, inc.key)),
            "events": run.events,
            "earlier": run.earlier,
            "later": run.later,
            # The panels that act on the incident now (contain, comms) sit next to the
            # timeline, above the fold; the others in the side column.
            "act_panels": sorted(
                (p for p in shown if p[1].get("slot") == "act"), key=lambda p: p[1].get("rank", 9)
            ),
            "panels": [p for p in shown if p[1].get("slot") != "act"],
            "STAGES": STAGES,
            "DEFINITIONS": DEFINITIONS,
            "SEVERITY_NAMES": SEVERITY_NAMES,
            "ROLES": ROLES,
        },
    )


def _page(key: str) -> str:
    """Where a form on the incident page goes back to."""
    return f"/incidents/{key.upper()}"


@router.post("/incidents/{key}/stage", dependencies=[STAGE_FORM])
def stage_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    to: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return forms.act(
        _page(key), lambda: incidents.move(db, key, to=to, actor=actor, reason=reason or None)
    )


@router.post("/incidents/{key}/reopen", dependencies=[require("incident.reopen")])
def reopen_submit(
    key: str, db: DbDep, actor: ActorDep, reason: Annotated[str, Form()] = ""
) -> Response:
    return forms.act(_page(key), lambda: incidents.reopen(db, key, actor=actor, reason=reason))


@router.post("/incidents/{key}/notes", dependencies=[require("incident.note")])
def note_submit(
    key: str, db: DbDep, actor: ActorDep, text: Annotated[str, Form()] = ""
) -> Response:
    return forms.act(_page(key), lambda: incidents.add_note(db, key, text=text, actor=actor))


@router.post("/incidents/{key}/roles", dependencies=[ROLE_FORM])
def role_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    role: Annotated[str, Form()] = "",
    person: Annotated[str, Form()] = "",
) -> Response:
    return forms.act(
        _page(key), lambda: incidents.assign_role(db, key, role=role, person=person, actor=actor)
    )


@router.post("/incidents/{key}/tasks", dependencies=[require("incident.task")])
def task_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    title: Annotated[str, Form()] = "",
    assignee: Annotated[str, Form()] = "",
) -> Response:
    return forms.act(
        _page(key),
        lambda: incidents.add_task(db, key, title=title, assignee=assignee or None, actor=actor),
    )


@router.post("/incidents/{key}/tasks/{number}", dependencies=[require("incident.task")])
def task_status_submit(
    key: str,
    number: str,
    db: DbDep,
    actor: ActorDep,
    status: Annotated[str, Form()] = "",
) -> Response:
    return forms.act(
        _page(key), lambda: incidents.update_task(db, key, number, status=status, actor=actor)
    )


@router.post("/incidents/{key}/severity", dependencies=[require("incident.severity")])
def severity_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    severity_: Annotated[str, Form(alias="severity")] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return forms.act(
        _page(key),
        lambda: incidents.set_severity(
            db, key, severity=severity_, actor=actor, reason=reason or None
        ),
    )
