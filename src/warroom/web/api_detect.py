"""Detect API: Alertmanager and generic webhooks that open incidents; alerts of an incident."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from warroom import alerts
from warroom.web.deps import DbDep, SettingsDep

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
    """Alertmanager webhook body, version 4."""

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


def _routing(settings: Any) -> alerts.Routing:
    return alerts.Routing.from_config(settings.section("detect"))


@router.post("/alerts/alertmanager")
def alertmanager_webhook(body: AlertmanagerIn, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """Take an Alertmanager delivery: open or attach to an incident; re-delivery is a no-op."""
    payload = body.model_dump(exclude_unset=True)
    return alerts.receive_alertmanager(db, payload, routing=_routing(settings)).to_dict()


@router.post("/alerts/webhook/{source}")
def generic_webhook(
    source: str, db: DbDep, settings: SettingsDep, body: Any = Body(...)
) -> dict[str, Any]:
    """Take a generic monitor's JSON through its [detect.webhooks.<source>] field mapping."""
    section = settings.section("detect")
    mapping = alerts.FieldMapping.from_config(source, section)
    return alerts.receive_generic(
        db, body, mapping=mapping, routing=alerts.Routing.from_config(section)
    ).to_dict()


@router.get("/incidents/{key}/alerts")
def incident_alerts(key: str, db: DbDep) -> list[dict[str, Any]]:
    """The alerts that opened or attached to an incident, with their current status."""
    return alerts.list_alerts(db, key)
