"""API of security incidents: types, privacy, the evidence locker, bundles, regulatory clocks.

A private incident the caller may not see answers 404 here as everywhere (the store decides).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from warroom import incidents
from warroom.core.errors import InvalidInput
from warroom.incidents import incident_types
from warroom.security import bundle, clocks, evidence
from warroom.web.api.schemas_incidents import IncidentOut
from warroom.web.deps import ActorDep, DbDep, SettingsDep
from warroom.web.guard import require

router = APIRouter(prefix="/api/v1", tags=["security"])

MAX_UPLOAD = 50 * 1024 * 1024


class IncidentTypeOut(BaseModel):
    name: str = Field(examples=["security"])
    label: str
    private: bool
    required: list[str]
    runbooks: list[str]
    clocks: list[str]
    sections: list[str]


class EvidenceOut(BaseModel):
    ref: str = Field(examples=["E1"])
    number: int
    incident: str
    name: str
    media_type: str
    sha256: str = Field(description="sha256 of the sealed original.")
    size: int
    scrubbed_sha256: str | None = Field(description="The working copy's; null: none (binary).")
    redacted: int
    description: str
    sealed_by: str
    sealed_at: str


class ClockOut(BaseModel):
    incident: str
    name: str = Field(examples=["gdpr"])
    label: str
    authority: str
    aware_at: str
    due_at: str
    remind_at: str
    reminded_at: str | None
    missed_at: str | None
    notified_at: str | None
    notified_to: str
    state: str = Field(examples=["running"], description="running, due soon, missed, notified")
    seconds_left: int


class VerificationOut(BaseModel):
    ok: bool
    incident: str
    head: dict[str, Any]
    items: int
    events: int
    problems: list[str]


class PrivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    private: bool


class ClockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=40, description="Default: the type's clocks.")
    aware_at: datetime | None = Field(None, description="Default: when it was detected.")


class NotifiedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1, max_length=200)
    at: datetime | None = None


@router.get(
    "/incident-types", response_model=list[IncidentTypeOut], dependencies=[require("desk.read")]
)
def list_types(settings: SettingsDep) -> list[dict[str, Any]]:
    """The incident types of this deployment."""
    return [t.to_dict() for t in incident_types.configured(settings).values()]


@router.post(
    "/incidents/{key}/private",
    response_model=IncidentOut,
    dependencies=[require("incident.private")],
)
def set_private(key: str, body: PrivateIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Make an incident private (participants and admins only) or not."""
    return incidents.set_private(db, key, private=body.private, actor=actor).to_dict()


@router.get(
    "/incidents/{key}/evidence",
    response_model=list[EvidenceOut],
    dependencies=[require("incident.read")],
)
def list_evidence(key: str, db: DbDep) -> list[dict[str, Any]]:
    """The incident's evidence: names and hashes."""
    return [i.to_dict() for i in evidence.list_for(db, key)]


@router.post(
    "/incidents/{key}/evidence",
    status_code=201,
    response_model=EvidenceOut,
    dependencies=[require("evidence.add")],
    operation_id="seal_evidence",  # names its form body model Body_seal_evidence
)
async def seal_evidence(
    key: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The file to seal.")],
    description: Annotated[str, Form(max_length=2000)] = "",
) -> dict[str, Any]:
    """Seal an uploaded file as evidence (multipart form, field `file`)."""
    content = await file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise InvalidInput("the file is over 50 MB", field="file")
    return evidence.seal(
        db,
        key,
        name=file.filename or "evidence",
        content=content,
        media_type=file.content_type or "application/octet-stream",
        description=description,
        actor=actor,
        settings=settings,
    ).to_dict()


@router.get(
    "/incidents/{key}/evidence/{ref}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
    dependencies=[require("evidence.read")],
)
def read_evidence(
    key: str, ref: str, db: DbDep, actor: ActorDep, scrubbed: bool = False
) -> Response:
    """The evidence's bytes: the original for admins, the commander and the security lead,
    else the scrubbed copy (header X-Evidence-Copy); the read is on the timeline."""
    item, data, copy = evidence.read(db, key, ref, actor=actor, scrubbed=scrubbed)
    return Response(
        data,
        media_type=item.media_type if copy == evidence.ORIGINAL else "text/plain",
        headers={
            "X-Evidence-Copy": copy,
            "X-Evidence-Sha256": item.sha256
            if copy == evidence.ORIGINAL
            else str(item.scrubbed_sha256),
            "Content-Disposition": f'attachment; filename="{item.ref}-{copy}"',
        },
    )


@router.get(
    "/incidents/{key}/evidence-bundle",
    response_class=Response,
    responses={200: {"content": {"application/x-tar": {}}}},
    dependencies=[require("evidence.export")],
)
def export_bundle(key: str, db: DbDep, actor: ActorDep) -> Response:
    """The evidence bundle (tar): originals, manifest of hashes, custody, the timeline."""
    data = bundle.export(db, key, actor=actor)
    name = f"{incidents.parse_key(key)}-evidence.tar"
    return Response(
        data,
        media_type="application/x-tar",
        headers={"Content-Disposition": f'attachment; filename="INC-{name}"'},
    )


@router.get(
    "/incidents/{key}/clocks",
    response_model=list[ClockOut],
    dependencies=[require("incident.read")],
)
def list_clocks(key: str, db: DbDep) -> list[dict[str, Any]]:
    """The incident's regulatory clocks."""
    return [c.to_dict() for c in clocks.list_for(db, key)]


@router.post(
    "/incidents/{key}/clocks",
    status_code=201,
    response_model=list[ClockOut],
    dependencies=[require("evidence.add")],
)
def start_clock(
    key: str, body: ClockIn, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> list[dict[str, Any]]:
    """Start a clock (or the type's clocks) from the moment of awareness."""
    found = clocks.start(
        db, key, name=body.name, aware_at=body.aware_at, actor=actor, settings=settings
    )
    return [c.to_dict() for c in found]


@router.post(
    "/incidents/{key}/clocks/{name}/notified",
    response_model=ClockOut,
    dependencies=[require("evidence.add")],
)
def record_notified(
    key: str, name: str, body: NotifiedIn, db: DbDep, actor: ActorDep
) -> dict[str, Any]:
    """Record the notification to the authority: the clock stops."""
    return clocks.notified(db, key, name=name, to=body.to, at=body.at, actor=actor).to_dict()


@router.post(
    "/evidence/verify", response_model=VerificationOut, dependencies=[require("evidence.read")]
)
async def verify_bundle(
    db: DbDep, file: Annotated[UploadFile, File(description="An evidence bundle (.tar).")]
) -> dict[str, Any]:
    """Check an uploaded bundle, against this server's timeline too."""
    return bundle.verify(await file.read(MAX_UPLOAD + 1), db=db).to_dict()
