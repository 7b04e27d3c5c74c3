"""REST API of the on-call area: who is on call (with the gaps), schedules and overrides,
people, policies and paging routes, the YAML document, an incident's pagers, acknowledging."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from warroom.core.clock import utcnow
from warroom.oncall import acks, documents, pager, people, policies, schedules
from warroom.web.deps import ActorDep, DbDep
from warroom.web.guard import require

router = APIRouter(prefix="/api/v1", tags=["oncall"])


class SegmentOut(BaseModel):
    start: str
    end: str
    person: str | None = Field(description="None: nobody is on call (a gap)")
    source: str = Field(description="the layer or override that puts them there")


class WhoOut(BaseModel):
    schedule: str
    timezone: str
    at: str
    person: str | None
    source: str
    until: str | None
    next: SegmentOut | None
    gaps: list[SegmentOut] = Field(description="stretches with nobody on call, the next 7 days")
    warning: str | None = Field(description="nobody on call now, or a gap coming")


class OverrideIn(BaseModel):
    person: str
    start: str = Field(description="local time of the schedule (2026-11-24T18:00) or ISO-8601")
    end: str
    reason: str = ""


class OverrideOut(BaseModel):
    id: int
    person: str
    start: str
    end: str
    reason: str
    created_by: str


class ScheduleOut(BaseModel):
    name: str
    timezone: str
    description: str
    layers: list[dict[str, object]]
    overrides: list[OverrideOut]
    segments: list[SegmentOut] = Field(description="who is on call, the next 14 days")


class ContactOut(BaseModel):
    url: str = Field(description="scheme and host only: the rest may hold credentials")
    urgency: list[str]
    label: str | None = None


class PersonOut(BaseModel):
    name: str
    display_name: str
    timezone: str
    working_hours: dict[str, object]
    contacts: list[ContactOut]


class PagingOut(BaseModel):
    policies: list[dict[str, object]]
    paging: list[dict[str, object]] = Field(description="service + severities -> policy")


class DocumentIn(BaseModel):
    yaml: str = Field(description="people, schedules, policies, paging (see docs/oncall.md)")


class ImportOut(BaseModel):
    people: int
    schedules: int
    overrides: int
    policies: int
    paging: int


class DocumentOut(BaseModel):
    yaml: str = Field(description="schedules, policies and paging (people are left out)")


class PagerOut(BaseModel):
    policy: str
    service: str
    urgency: str
    status: str = Field(description="active, acknowledged, exhausted or stopped")
    level: int
    round: int
    next_escalation_at: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None


class AckOut(BaseModel):
    incident: str
    person: str
    via: str
    policies: list[str]
    at: str


@router.get("/oncall/who", response_model=list[WhoOut], dependencies=[require("desk.read")])
def who(db: DbDep, at: datetime | None = None, schedule: str | None = None) -> list[dict]:
    """Who is on call at `at` (default now) on every schedule or one, and the gaps."""
    return [n.to_dict() for n in schedules.who(db, at=at, schedule=schedule)]


@router.get(
    "/oncall/schedules/{name}", response_model=ScheduleOut, dependencies=[require("desk.read")]
)
def schedule_show(name: str, db: DbDep) -> dict:
    s = schedules.get_schedule(db, name)
    now = utcnow()
    return {
        **s.to_dict(),
        "description": s.description,
        "overrides": [o.to_dict() for o in s.overrides],
        "segments": [g.to_dict() for g in s.segments(now, now + schedules.GAP_HORIZON * 2)],
    }


@router.post(
    "/oncall/schedules/{name}/overrides",
    response_model=OverrideOut,
    status_code=201,
    dependencies=[require("oncall.override")],
)
def override_add(name: str, body: OverrideIn, db: DbDep, actor: ActorDep) -> dict:
    """Someone covers the schedule from `start` to `end` ("I cover Tuesday night")."""
    o = schedules.add_override(
        db,
        name,
        person=body.person,
        start=body.start,
        end=body.end,
        actor=actor,
        reason=body.reason,
    )
    return o.to_dict()


@router.delete(
    "/oncall/schedules/{name}/overrides/{override_id}",
    status_code=204,
    dependencies=[require("oncall.override")],
)
def override_remove(name: str, override_id: int, db: DbDep) -> None:
    schedules.remove_override(db, name, override_id)


@router.get("/oncall/people", response_model=list[PersonOut], dependencies=[require("desk.read")])
def people_list(db: DbDep) -> list[dict]:
    return [p.to_dict() for p in people.list_people(db)]


@router.get("/oncall/paging", response_model=PagingOut, dependencies=[require("desk.read")])
def paging(db: DbDep) -> dict:
    """Escalation policies, and which services and severities page each."""
    return {
        "policies": [p.to_dict() for p in policies.list_policies(db)],
        "paging": [r.to_dict() for r in policies.list_routes(db)],
    }


@router.get("/oncall/document", response_model=DocumentOut, dependencies=[require("desk.read")])
def document(db: DbDep) -> dict:
    return {"yaml": documents.to_yaml(documents.export(db))}


@router.post("/oncall/document", response_model=ImportOut, dependencies=[require("oncall.edit")])
def document_import(body: DocumentIn, db: DbDep, actor: ActorDep) -> dict:
    """Load a YAML document (all or nothing); names already there are replaced."""
    return documents.import_text(db, body.yaml, actor=actor)


@router.get(
    "/incidents/{key}/pagers",
    response_model=list[PagerOut],
    dependencies=[require("incident.read")],
)
def incident_pagers(key: str, db: DbDep) -> list[dict]:
    return [p.to_dict() for p in pager.pagers(db, key)]


@router.post(
    "/incidents/{key}/acknowledge",
    response_model=AckOut,
    dependencies=[require("incident.acknowledge")],
)
def acknowledge(key: str, db: DbDep, actor: ActorDep) -> dict:
    """Acknowledge the page for the incident: escalation stops."""
    return acks.acknowledge(db, key, actor=actor, via="api").to_dict()
