"""Pages of the comms area: the comms panel on the incident page (countdown, composer,
updates, deliveries, affected services), the service catalog (`/services`) and the public
status page (`/status`, JSON, Atom).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from warroom.comms import catalog, heartbeat, notify, statuspage, updates
from warroom.comms.catalog import ComponentState
from warroom.comms.config import CommsConfig
from warroom.comms.drafting import Audience, UpdateKind
from warroom.core.clock import parse_time
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents.lifecycle import Incident
from warroom.web import forms
from warroom.web.deps import ActorDep, DbDep, SettingsDep, templates
from warroom.web.guard import PUBLIC, SERVICE_FORM, require
from warroom.web.limits import public_url

router = APIRouter(include_in_schema=False)


def comms_panel(
    db: Database, incident: Incident, settings: Settings
) -> tuple[str, dict[str, Any]] | None:
    """Countdown, composer, recent updates, delivery state, affected and downstream services."""
    cfg = CommsConfig.from_settings(settings)
    imp = catalog.impact(db, incident.key)
    affected = {s.name for s in imp.affected}
    return (
        "comms_panel.html",
        {
            "slot": "act",  # next to the timeline, above the fold, after the contain panel
            "rank": 1,
            "key": incident.key,
            "beat": heartbeat.heartbeat(db, incident.key, config=cfg),
            "punctuality": heartbeat.punctuality(db, incident.key, config=cfg),
            "updates": list(reversed(updates.list_updates(db, incident.key)))[:5],
            "deliveries": notify.deliveries(db, incident.key, limit=10),
            "impact": imp,
            "other_services": [s for s in catalog.list_services(db) if s.name not in affected],
            "audiences": [a.value for a in Audience],
            "kinds": [(k.value, k.label) for k in UpdateKind],
            "states": [(s.value, s.label) for s in ComponentState],
        },
    )


def _panel(key: str) -> str:
    """Where a comms form returns: the comms panel of the incident page."""
    return f"/incidents/{key.upper()}#comms"


@router.post("/incidents/{key}/updates", dependencies=[require("incident.update")])
def update_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    audience: Annotated[str, Form()] = "stakeholder",
    kind: Annotated[str, Form()] = "progress",
    conditions: Annotated[str, Form()] = "",
    actions: Annotated[str, Form()] = "",
    needs: Annotated[str, Form()] = "",
    business_impact: Annotated[str, Form()] = "",
    prevention: Annotated[str, Form()] = "",
    headline: Annotated[str, Form()] = "",
    eta: Annotated[str, Form()] = "",
    next_in: Annotated[str, Form()] = "",
    component_state: Annotated[str, Form()] = "",
) -> Response:
    def run() -> None:
        minutes = None
        text = next_in.strip()
        if text:
            # ASCII only: str.isdigit() also says yes to "²", which int() refuses
            if not (text.isascii() and text.isdigit()) or len(text) > 9:
                raise InvalidInput("next update: give whole minutes", field="next_in")
            minutes = int(text)
        updates.post_update(
            db,
            key,
            audience=audience,
            kind=kind,
            actor=actor,
            conditions=conditions,
            actions=actions,
            needs=needs,
            business_impact=business_impact or None,
            prevention=prevention,
            headline=headline,
            eta=parse_time(eta, field="eta"),
            next_update_minutes=minutes,
            component_state=component_state or None,
            config=CommsConfig.from_settings(settings),
        )

    return forms.act(_panel(key), run)


@router.post("/incidents/{key}/services", dependencies=[require("incident.impact")])
def affect_submit(
    key: str, db: DbDep, actor: ActorDep, service: Annotated[str, Form()] = ""
) -> Response:
    return forms.act(_panel(key), lambda: catalog.affect(db, key, names=[service], actor=actor))


@router.get("/services", response_class=HTMLResponse, dependencies=[require("desk.read")])
def services_page(request: Request, db: DbDep) -> Response:
    """The catalog: owners, tiers, dependencies, which are public components; add one."""
    return templates.TemplateResponse(
        request, "comms_services.html", {"services": catalog.list_services(db)}
    )


@router.post("/services", dependencies=[SERVICE_FORM])
def service_submit(
    db: DbDep,
    name: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    tier: Annotated[str, Form()] = "2",
    depends_on: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    public: Annotated[str, Form()] = "",
    replace: Annotated[str, Form()] = "",
) -> Response:
    """Add a service to the catalog (or, with `replace`, rewrite its entry)."""

    def run() -> catalog.Service:
        if tier.strip() not in ("1", "2", "3"):
            raise InvalidInput("tier is 1, 2 or 3 (1 = most critical)", field="tier")
        return catalog.add_service(
            db,
            name=name,
            display_name=display_name or None,
            owner=owner,
            contact=contact,
            tier=int(tier.strip()),
            depends_on=[d for d in depends_on.replace(",", " ").split() if d],
            description=description,
            public=bool(public),
            replace=bool(replace),
        )

    return forms.act("/services#add", run, ok="/services#service-{result.name}")


@router.post("/services/{name}/public", dependencies=[require("service.admin")])
def service_public_submit(name: str, db: DbDep, public: Annotated[str, Form()] = "") -> Response:
    """Make a service a component of the public status page, or take it off."""
    return forms.act(
        f"/services#service-{name}",
        lambda: catalog.set_public(db, name, public=public == "yes"),
    )


def _status_page(db: Database, settings: Settings) -> statuspage.StatusPage:
    """The status page with this deployment's title and name for the whole site."""
    section = settings.section("status")
    return statuspage.build(
        db,
        title=str(section.get("title", "Service status")),
        site_name=str(section.get("site_component", statuspage.SITE_NAME)),
    )


@router.get("/status", response_class=HTMLResponse, dependencies=[PUBLIC])
def status_page(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    page = _status_page(db, settings)
    return templates.TemplateResponse(request, "status.html", {"page": page})


@router.get("/status.json", dependencies=[PUBLIC])
def status_json(db: DbDep, settings: SettingsDep) -> Response:
    return JSONResponse(_status_page(db, settings).to_dict())


@router.get("/status/feed.atom", dependencies=[PUBLIC])
def status_atom(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    page = _status_page(db, settings)
    return Response(
        statuspage.atom(page, base_url=public_url(settings)),  # never the request's Host
        media_type="application/atom+xml",
    )
