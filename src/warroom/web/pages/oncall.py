"""Pages of the on-call area: who is on call now and next (and the gaps), a schedule with
its overrides, people, the YAML document; the paging panel of the incident page; the page's
acknowledgement link; the calendar feeds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from warroom.core.clock import utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import WarroomError
from warroom.incidents.lifecycle import Incident
from warroom.oncall import acks, documents, feeds, links, pager, people, policies, schedules
from warroom.oncall.config import OncallConfig
from warroom.web import errors, forms
from warroom.web.deps import ActorDep, DbDep, SettingsDep, templates
from warroom.web.guard import PUBLIC, require

router = APIRouter(include_in_schema=False)


def oncall_panel(
    db: Database, incident: Incident, settings: Settings
) -> tuple[str, dict[str, Any]] | None:
    """Who was paged for the incident, where escalation stands, the acknowledge button."""
    found = pager.pagers(db, incident.key)
    if not found and not policies.list_routes(db):
        return None  # no paging set up: nothing to say
    return (
        "oncall_panel.html",
        {"pagers": found, "active": any(p.status == "active" for p in found)},
    )


@router.post("/incidents/{key}/acknowledge", dependencies=[require("incident.acknowledge")])
def acknowledge_submit(key: str, db: DbDep, actor: ActorDep) -> Response:
    back = f"/incidents/{key.upper()}#oncall"
    return forms.act(back, lambda: acks.acknowledge(db, key, actor=actor, via="web"))


# --- the on-call pages ------------------------------------------------------------------------


@router.get("/oncall", response_class=HTMLResponse, dependencies=[require("desk.read")])
def overview(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    base = OncallConfig.from_settings(settings).url
    now_list = schedules.who(db)
    found = people.list_people(db)
    return templates.TemplateResponse(
        request,
        "oncall.html",
        {
            "now": now_list,
            "feeds": {
                n.schedule: links.feed_url(db, base, "schedule", n.schedule) for n in now_list
            },
            "person_feeds": {p.name: links.feed_url(db, base, "person", p.name) for p in found},
            "policies": policies.list_policies(db),
            "routes": policies.list_routes(db),
            "people": found,
            "document": documents.to_yaml(documents.export(db)),
        },
    )


@router.get(
    "/oncall/schedules/{name}", response_class=HTMLResponse, dependencies=[require("desk.read")]
)
def schedule_page(request: Request, name: str, db: DbDep) -> Response:
    s = schedules.get_schedule(db, name)
    now = utcnow()
    return templates.TemplateResponse(
        request,
        "oncall_schedule.html",
        {
            "s": s,
            "now": schedules.now_of(s, now),
            "segments": s.segments(now, now + schedules.GAP_HORIZON * 2),
            "people": [p.name for p in people.list_people(db)],
        },
    )


@router.post("/oncall/schedules/{name}/overrides", dependencies=[require("oncall.override")])
def override_submit(
    name: str,
    db: DbDep,
    actor: ActorDep,
    person: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return forms.act(
        f"/oncall/schedules/{name}",
        lambda: schedules.add_override(
            db, name, person=person, start=start, end=end, actor=actor, reason=reason
        ),
    )


@router.post(
    "/oncall/schedules/{name}/overrides/{override_id}/remove",
    dependencies=[require("oncall.override")],
)
def override_remove(name: str, override_id: int, db: DbDep) -> Response:
    return forms.act(
        f"/oncall/schedules/{name}", lambda: schedules.remove_override(db, name, override_id)
    )


@router.post("/oncall/document", dependencies=[require("oncall.edit")])
def document_submit(db: DbDep, actor: ActorDep, text: Annotated[str, Form()] = "") -> Response:
    return forms.act("/oncall#document", lambda: documents.import_text(db, text, actor=actor))


@router.post("/oncall/people", dependencies=[require("oncall.edit")])
def person_submit(
    db: DbDep,
    name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    urgency: Annotated[str, Form()] = "both",
) -> Response:
    def run() -> None:
        people.set_person(db, name, timezone=timezone or None)
        if url.strip():
            wanted = ["high", "low"] if urgency == "both" else [urgency]
            people.add_contact(db, name, url=url, urgencies=wanted)

    return forms.act("/oncall#people", run)


@router.post(
    "/oncall/people/{name}/contacts/{position}/remove", dependencies=[require("oncall.edit")]
)
def contact_remove(name: str, position: int, db: DbDep) -> Response:
    return forms.act("/oncall#people", lambda: people.remove_contact(db, name, position))


# --- public, verified by their signatures -----------------------------------------------------


def _ack_page(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, "oncall_ack.html", context, status_code=status)


@router.get("/ack/{key}/{token}", response_class=HTMLResponse, dependencies=[PUBLIC])
def ack_link(request: Request, key: str, token: str, db: DbDep) -> Response:
    """What the link acknowledges, with the button that does it (a GET changes nothing: mail
    scanners open links)."""
    try:
        state = acks.link_state(db, key, token)
    except WarroomError as exc:
        return _ack_page(request, {"error": errors.page_context(exc)}, errors.http_status(exc))
    return _ack_page(request, {"state": state, "action": request.url.path})


@router.post("/ack/{key}/{token}", response_class=HTMLResponse, dependencies=[PUBLIC])
def ack_link_submit(request: Request, key: str, token: str, db: DbDep) -> Response:
    try:
        done = acks.acknowledge_link(db, key, token)
    except WarroomError as exc:
        return _ack_page(request, {"error": errors.page_context(exc)}, errors.http_status(exc))
    return _ack_page(request, {"done": done})


@router.get("/oncall/calendar/schedule/{name}.ics", dependencies=[PUBLIC])
def schedule_calendar(name: str, db: DbDep, key: str = "") -> Response:
    links.verify_feed(links.secret(db), "schedule", name, key)
    body = feeds.schedule_feed(schedules.get_schedule(db, name), now=utcnow())
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get("/oncall/calendar/person/{name}.ics", dependencies=[PUBLIC])
def person_calendar(name: str, db: DbDep, key: str = "") -> Response:
    links.verify_feed(links.secret(db), "person", name, key)
    person = people.get_person(db, name)
    body = feeds.person_feed(person.name, schedules.list_schedules(db), now=utcnow())
    return Response(body, media_type="text/calendar; charset=utf-8")
