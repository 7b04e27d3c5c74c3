"""REST API of the comms area: status updates, heartbeat, reminders, deliveries, services,
maintenance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from warroom.comms import catalog, heartbeat, notify, statuspage, updates
from warroom.comms.config import CommsConfig
from warroom.web.api.schemas import HintOut
from warroom.web.deps import ActorDep, DbDep, SettingsDep
from warroom.web.guard import SERVICE_JSON, require

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


# --- answers (times are ISO-8601 strings in UTC, as the domain's to_dict writes them) ---------


class UpdateOut(BaseModel):
    incident: str
    number: int
    audience: str
    kind: str
    headline: str
    conditions: str
    actions: str
    needs: str
    business_impact: str
    prevention: str
    component_state: str | None
    eta: str | None
    next_update_at: str | None
    text: str
    author: str
    posted_at: str


class HeartbeatOut(BaseModel):
    incident: str
    state: str = Field(description="none, ok, due, overdue or escalated")
    due_at: str | None
    seconds_left: int | None
    last_update_at: str | None
    cadence_minutes: int | None
    text: str


class PunctualityOut(BaseModel):
    incident: str
    updates: int
    longest_silence_minutes: float
    overdue_count: int
    reminders_sent: int


class SentReminderOut(BaseModel):
    kind: str
    slot: str
    message: str
    to: list[str]
    sent_at: str


class HeartbeatStateOut(BaseModel):
    heartbeat: HeartbeatOut
    punctuality: PunctualityOut
    reminders_sent: list[SentReminderOut]


class ReminderOut(BaseModel):
    incident: str
    kind: str
    slot: str
    message: str
    hint: HintOut | None
    to: list[str]
    channels: str = Field(description="internal or escalation")
    sent: bool


class DeliveryOut(BaseModel):
    id: int
    key: str
    incident: str | None
    channel: str
    title: str
    status: str = Field(description="pending, sending, sent or failed")
    attempts: int
    next_attempt_at: str
    last_error: str
    created_at: str
    sent_at: str | None


class RetriedOut(BaseModel):
    retried: int


class ServiceOut(BaseModel):
    name: str
    display_name: str
    description: str
    owner: str
    has_contact: bool
    tier: int
    public: bool
    depends_on: list[str]


class ImpactOut(BaseModel):
    affected: list[ServiceOut]
    downstream: list[ServiceOut]


class MaintenanceOut(BaseModel):
    id: int
    title: str
    description: str
    components: list[str]
    starts_at: str
    ends_at: str
    in_progress: bool


@router.post(
    "/incidents/{key}/updates",
    status_code=201,
    response_model=UpdateOut,
    dependencies=[require("incident.update")],
)
def post_update(
    key: str, body: UpdateIn, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> dict[str, Any]:
    """Post a status update; its notifications are queued in the same transaction."""
    u = updates.post_update(
        db, key, actor=actor, config=CommsConfig.from_settings(settings), **body.model_dump()
    )
    return u.to_dict()


@router.get(
    "/incidents/{key}/updates",
    response_model=list[UpdateOut],
    dependencies=[require("incident.read")],
)
def list_updates(key: str, db: DbDep, audience: str | None = None) -> list[dict[str, Any]]:
    return [u.to_dict() for u in updates.list_updates(db, key, audience=audience)]


@router.get(
    "/incidents/{key}/heartbeat",
    response_model=HeartbeatStateOut,
    dependencies=[require("incident.read")],
)
def heartbeat_state(key: str, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """The countdown to the next update and the punctuality so far."""
    cfg = CommsConfig.from_settings(settings)
    return {
        "heartbeat": heartbeat.heartbeat(db, key, config=cfg).to_dict(),
        "punctuality": heartbeat.punctuality(db, key, config=cfg).to_dict(),
        "reminders_sent": heartbeat.reminders_log(db, key),
    }


@router.get(
    "/incidents/{key}/deliveries",
    response_model=list[DeliveryOut],
    dependencies=[require("incident.read")],
)
def deliveries(key: str, db: DbDep) -> list[dict[str, Any]]:
    """Notifications of this incident and their delivery state."""
    return [d.to_dict() for d in notify.deliveries(db, key)]


@router.get("/reminders", response_model=list[ReminderOut], dependencies=[require("desk.read")])
def reminders(db: DbDep, settings: SettingsDep) -> list[dict[str, Any]]:
    """What is due or overdue now across open incidents."""
    cfg = CommsConfig.from_settings(settings)
    return [r.to_dict() for r in heartbeat.due_reminders(db, config=cfg)]


@router.post(
    "/outbox/{row_id}/retry", response_model=RetriedOut, dependencies=[require("notify.retry")]
)
def retry(row_id: int, db: DbDep) -> dict[str, Any]:
    notify.retry_now(db, row_id)
    return {"retried": row_id}


@router.get("/services", response_model=list[ServiceOut], dependencies=[require("desk.read")])
def services(db: DbDep) -> list[dict[str, Any]]:
    return [s.to_dict() for s in catalog.list_services(db)]


@router.post("/services", status_code=201, response_model=ServiceOut, dependencies=[SERVICE_JSON])
def add_service(body: ServiceIn, db: DbDep) -> dict[str, Any]:
    return catalog.add_service(db, **body.model_dump()).to_dict()


@router.post(
    "/incidents/{key}/services", response_model=ImpactOut, dependencies=[require("incident.impact")]
)
def affect(key: str, body: AffectIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Mark services affected; answers with the affected and downstream services."""
    catalog.affect(db, key, names=body.services, actor=actor)
    return catalog.impact(db, key).to_dict()


@router.get(
    "/incidents/{key}/impact", response_model=ImpactOut, dependencies=[require("incident.read")]
)
def impact(key: str, db: DbDep) -> dict[str, Any]:
    return catalog.impact(db, key).to_dict()


@router.post(
    "/maintenance",
    status_code=201,
    response_model=MaintenanceOut,
    dependencies=[require("status.maintenance")],
)
def add_maintenance(body: MaintenanceIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return statuspage.add_maintenance(db, actor=actor, **body.model_dump()).to_dict()
