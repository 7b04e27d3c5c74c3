"""REST API of the comms area: status updates, heartbeat, reminders, deliveries, services,
maintenance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from warroom.comms import catalog, heartbeat, notify, statuspage, updates
from warroom.comms.updates import CommsConfig
from warroom.web.deps import ActorDep, DbDep, SettingsDep
from warroom.web.guard import require

router = APIRouter(prefix="/api/v1", tags=["comms"])


class UpdateIn(BaseModel):
    audience: str = Field("stakeholder", description="internal, stakeholder or public")
    kind: str = Field("progress", description="initial, progress, eta, resolution, followup")
    conditions: str = ""
    actions: str = ""
    needs: str = ""
    business_impact: str | None = None
    prevention: str = ""
    headline: str = ""
    eta: datetime | None = None
    next_update_at: datetime | None = None
    next_update_minutes: int | None = Field(None, gt=0)
    component_state: str | None = None


class ServiceIn(BaseModel):
    name: str
    display_name: str | None = None
    description: str = ""
    owner: str = ""
    contact: str = ""
    tier: int = 2
    public: bool = False
    depends_on: list[str] = []
    replace: bool = False


class AffectIn(BaseModel):
    services: list[str]


class MaintenanceIn(BaseModel):
    title: str
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    services: list[str] = []


@router.post("/incidents/{key}/updates", status_code=201, dependencies=[require("incident.update")])
def post_update(
    key: str, body: UpdateIn, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> dict[str, Any]:
    """Post a status update; its notifications are queued in the same transaction."""
    u = updates.post_update(
        db, key, actor=actor, config=CommsConfig.from_settings(settings), **body.model_dump()
    )
    return u.to_dict()


@router.get("/incidents/{key}/updates", dependencies=[require("incident.read")])
def list_updates(key: str, db: DbDep, audience: str | None = None) -> list[dict[str, Any]]:
    return [u.to_dict() for u in updates.list_updates(db, key, audience=audience)]


@router.get("/incidents/{key}/heartbeat", dependencies=[require("incident.read")])
def heartbeat_state(key: str, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """The countdown to the next update and the punctuality so far."""
    cfg = CommsConfig.from_settings(settings)
    return {
        "heartbeat": heartbeat.heartbeat(db, key, config=cfg).to_dict(),
        "punctuality": heartbeat.punctuality(db, key, config=cfg).to_dict(),
        "reminders_sent": heartbeat.reminders_log(db, key),
    }


@router.get("/incidents/{key}/deliveries", dependencies=[require("incident.read")])
def deliveries(key: str, db: DbDep) -> list[dict[str, Any]]:
    """Notifications of this incident and their delivery state."""
    return [d.to_dict() for d in notify.deliveries(db, key)]


@router.get("/reminders", dependencies=[require("desk.read")])
def reminders(db: DbDep, settings: SettingsDep) -> list[dict[str, Any]]:
    """What is due or overdue now across open incidents."""
    cfg = CommsConfig.from_settings(settings)
    return [r.to_dict() for r in heartbeat.due_reminders(db, config=cfg)]


@router.post("/outbox/{row_id}/retry", dependencies=[require("notify.retry")])
def retry(row_id: int, db: DbDep) -> dict[str, Any]:
    notify.retry_now(db, row_id)
    return {"retried": row_id}


@router.get("/services", dependencies=[require("desk.read")])
def services(db: DbDep) -> list[dict[str, Any]]:
    return [s.to_dict() for s in catalog.list_services(db)]


@router.post("/services", status_code=201, dependencies=[require("service.edit")])
def add_service(body: ServiceIn, db: DbDep) -> dict[str, Any]:
    return catalog.add_service(db, **body.model_dump()).to_dict()


@router.post("/incidents/{key}/services", dependencies=[require("incident.impact")])
def affect(key: str, body: AffectIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Mark services affected; answers with the affected and downstream services."""
    catalog.affect(db, key, names=body.services, actor=actor)
    return catalog.impact(db, key).to_dict()


@router.get("/incidents/{key}/impact", dependencies=[require("incident.read")])
def impact(key: str, db: DbDep) -> dict[str, Any]:
    return catalog.impact(db, key).to_dict()


@router.post("/maintenance", status_code=201, dependencies=[require("status.maintenance")])
def add_maintenance(body: MaintenanceIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return statuspage.add_maintenance(db, actor=actor, **body.model_dump()).to_dict()
