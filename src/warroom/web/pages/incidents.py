"""Server-rendered pages of the desk: incident list, incident page, declare form.

Forms post and redirect (works without JavaScript); every handler calls one domain function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from warroom import incidents
from warroom.comms import heartbeat
from warroom.comms.updates import CommsConfig
from warroom.core import severity
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.errors import InvalidInput, NotFound
from warroom.incidents import desk, timeline
from warroom.incidents.lifecycle import Stage
from warroom.web import panels
from warroom.web.deps import ActorDep, DbDep, SettingsDep, templates
from warroom.web.guard import ROLE_FORM, STAGE_FORM, require

router = APIRouter(include_in_schema=False)


def ago(when: datetime | None) -> str:
    """'3m', '2h05m', '4d' since `when`."""
    if when is None:
        return ""
    seconds = max(0, int((utcnow() - when).total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400}d"
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"


templates.env.globals["ago"] = ago
templates.env.globals["STAGES"] = list(Stage)
templates.env.globals["DEFINITIONS"] = {k.value: v for k, v in severity.DEFINITIONS.items()}


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@router.get("/", response_class=HTMLResponse, dependencies=[require("incident.read")])
def incident_list(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    entries = desk.overview(db, settings=settings)
    return templates.TemplateResponse(
        request,
        "list.html",
        {
            "open": [e for e in entries if e.incident.is_open],
            "closed": [e for e in entries if not e.incident.is_open],
            "now": utcnow(),
        },
    )


@router.get("/incidents/new", response_class=HTMLResponse, dependencies=[require("desk.read")])
def declare_form(request: Request) -> Response:
    return templates.TemplateResponse(request, "declare.html", {"values": {}, "error": None})


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
    }
    try:
        start = _parse_form_time(started_at)
        inc = incidents.declare(
            db,
            title=title,
            actor=actor,
            severity=severity_ or None,
            description=description,
            started_at=start,
            impact_scope=impact_scope,
            business_impact=business_impact,
            error_messages=error_messages,
            suspected_changes=suspected_changes,
            reporter=reporter or None,
            reporter_contact=reporter_contact,
            security=bool(security),
            commander=commander or None,
        )
    except InvalidInput as exc:
        return templates.TemplateResponse(
            request, "declare.html", {"values": values, "error": exc.message}, status_code=422
        )
    return _see_other(f"/incidents/{inc.key}")


def _parse_form_time(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        return ensure_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a time: use 2026-11-24T14:03 (UTC)", field="started_at"
        ) from None


@router.get(
    "/incidents/{key}", response_class=HTMLResponse, dependencies=[require("incident.read")]
)
def incident_page(request: Request, key: str, db: DbDep, settings: SettingsDep) -> Response:
    inc = incidents.get(db, key)
    if inc.key != key:
        return _see_other(f"/incidents/{inc.key}")
    events = timeline.read(db, inc.key)
    beat = heartbeat.heartbeat(db, inc.key, config=CommsConfig.from_settings(settings))
    return templates.TemplateResponse(
        request,
        "incident.html",
        {
            "inc": inc,
            "beat": beat if beat.due_at is not None else None,
            "events": events,
            "panels": panels.render_context(db, inc, settings),
            "error": request.query_params.get("error"),
        },
    )


def _act(key: str, fn: Any) -> Response:
    """Run a form action; on a refused change come back with the message shown."""
    from urllib.parse import quote

    from warroom.core.errors import WarroomError

    try:
        fn()
    except WarroomError as exc:
        if isinstance(exc, NotFound):
            raise
        return _see_other(f"/incidents/{key.upper()}?error={quote(exc.message)}")
    return _see_other(f"/incidents/{key.upper()}")


@router.post("/incidents/{key}/stage", dependencies=[STAGE_FORM])
def stage_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    to: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _act(key, lambda: incidents.move(db, key, to=to, actor=actor, reason=reason or None))


@router.post("/incidents/{key}/notes", dependencies=[require("incident.note")])
def note_submit(
    key: str, db: DbDep, actor: ActorDep, text: Annotated[str, Form()] = ""
) -> Response:
    return _act(key, lambda: incidents.add_note(db, key, text=text, actor=actor))


@router.post("/incidents/{key}/roles", dependencies=[ROLE_FORM])
def role_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    role: Annotated[str, Form()] = "",
    person: Annotated[str, Form()] = "",
) -> Response:
    return _act(key, lambda: incidents.assign_role(db, key, role=role, person=person, actor=actor))


@router.post("/incidents/{key}/tasks", dependencies=[require("incident.task")])
def task_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    title: Annotated[str, Form()] = "",
    assignee: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        key,
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
    return _act(key, lambda: incidents.update_task(db, key, number, status=status, actor=actor))


@router.post("/incidents/{key}/severity", dependencies=[require("incident.severity")])
def severity_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    severity_: Annotated[str, Form(alias="severity")] = "",
) -> Response:
    return _act(key, lambda: incidents.set_severity(db, key, severity=severity_, actor=actor))
