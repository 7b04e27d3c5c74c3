"""Detect API: Alertmanager and generic webhooks that open incidents; alerts of an incident."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from warroom.core.errors import InvalidInput
from warroom.detect import alerts
from warroom.web.deps import DbDep, SettingsDep
from warroom.web.guard import intake, require

router = APIRouter(prefix="/api/v1", tags=["detect"])


class AMAlert(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str = Field(description="firing or resolved")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class AlertmanagerIn(BaseModel):
    """Alertmanager webhook body, version 4 (documents the API; intake validates it)."""

    model_config = ConfigDict(extra="allow")

    version: str = "4"
    groupKey: str = Field(min_length=1, max_length=2000)
    status: str = "firing"
    receiver: str | None = None
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    truncatedAlerts: int | None = None
    alerts: list[AMAlert] = Field(max_length=5000)


class IntakeOut(BaseModel):
    """What a delivery did (`duplicate`: taken before, nothing changed)."""

    outcome: Literal["opened", "attached", "unchanged", "duplicate", "ignored"]
    incident: str | None = Field(description="the incident opened or attached to, e.g. INC-4")
    firing: int = Field(description="alerts newly firing")
    resolved: int = Field(description="alerts newly resolved")


class AlertOut(BaseModel):
    name: str
    fingerprint: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str = Field(description="ISO-8601, UTC")
    ends_at: str | None
    first_seen: str
    updated_at: str


def _body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"the body is not JSON: {exc}", field="body") from None


def _inline_schema() -> dict[str, Any]:
    schema = AlertmanagerIn.model_json_schema()
    defs = schema.pop("$defs", {})
    schema["properties"]["alerts"]["items"] = defs.get("AMAlert", {})
    return schema


_AM_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline_schema()}},
    }
}


def _actor(request: Request, default: str) -> str:
    """The authenticated source (its webhook token) when there is one, else the source name."""
    identity = getattr(request.state, "identity", None)
    return str(identity.name) if identity is not None else default


# The answer is a JSONResponse built here: FastAPI skips the response model's validation for
# a Response, so the model documents the shape and costs the hot path nothing.
@router.post(
    "/alerts/alertmanager",
    openapi_extra=_AM_BODY,
    response_model=IntakeOut,
    dependencies=[intake("alertmanager")],
)
async def alertmanager_webhook(request: Request) -> JSONResponse:
    """Take an Alertmanager delivery (webhook version 4): open or attach to an incident.

    Re-deliveries this process has taken are answered on the event loop from memory (no
    thread hop: they are most of the traffic). Everything that needs the database runs in a
    worker thread: a query on the event loop would stall every other request while it waits
    for a pooled connection that the writers hold.
    """
    raw = await request.body()
    db = request.app.state.db
    # Alertmanager re-sends the same bytes: those are looked up before any JSON work
    same_bytes = alerts.body_key("alertmanager", raw)
    seen = alerts.remembered(db, same_bytes)
    if seen is None:
        payload = _body(raw)
        digest = alerts.payload_hash("alertmanager", payload)
        seen = alerts.remembered(db, digest)
        if seen is None:
            routing = alerts.Routing.from_settings(request.app.state.settings)
            seen = await run_in_threadpool(
                alerts.receive_alertmanager,
                db,
                payload,
                routing=routing,
                digest=digest,
                actor=_actor(request, alerts.DEFAULT_ACTOR),
            )
        alerts.remember_as(db, same_bytes, seen)
    return JSONResponse(seen.to_dict())


@router.post("/alerts/webhook/{source}", response_model=IntakeOut, dependencies=[intake()])
def generic_webhook(
    source: str, request: Request, db: DbDep, settings: SettingsDep, body: Any = Body(...)
) -> dict[str, Any]:
    """Take a generic monitor's JSON through its [detect.webhooks.<source>] field mapping."""
    section = settings.section("detect")
    mapping = alerts.FieldMapping.from_config(source, section)
    return alerts.receive_generic(
        db,
        body,
        mapping=mapping,
        routing=alerts.Routing.from_config(section),
        actor=_actor(request, mapping.source),
    ).to_dict()


@router.get(
    "/incidents/{key}/alerts",
    response_model=list[AlertOut],
    dependencies=[require("incident.read")],
)
def incident_alerts(key: str, db: DbDep) -> list[dict[str, Any]]:
    """The alerts that opened or attached to an incident, with their current status."""
    return alerts.list_alerts(db, key)
