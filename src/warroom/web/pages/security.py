"""Pages of security incidents: the incident page's Security panel (type, privacy, evidence,
regulatory clocks) and its forms, evidence downloads and the bundle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from warroom import incidents
from warroom.core.clock import parse_time, utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import incident_types, privacy
from warroom.incidents.lifecycle import Incident
from warroom.security import access_log, bundle, clocks, evidence
from warroom.web import forms
from warroom.web.api.security import MAX_UPLOAD
from warroom.web.deps import ActorDep, DbDep, SettingsDep
from warroom.web.guard import require

router = APIRouter(include_in_schema=False)


def security_panel(
    db: Database, inc: Incident, settings: Settings
) -> tuple[str, dict[str, Any]] | None:
    """On every incident page: its type and privacy, the evidence locker, the clocks (any
    incident may hold evidence; the hints about them link here)."""
    try:
        kind = incident_types.resolve(inc.type, settings)
    except InvalidInput:  # a type warroom.toml no longer defines
        kind = incident_types.IncidentType(inc.type, inc.type)
    items = evidence.list_for(db, inc.key)
    found = clocks.list_for(db, inc.key)
    now = utcnow()
    return (
        "security_panel.html",
        {
            "key": inc.key,
            "type": kind,
            "private": inc.private,
            "evidence": items,
            "original": evidence.permitted(inc),
            "clocks": [(c, c.state(now)) for c in found],
            "regimes": list(clocks.regimes(settings)),
        },
    )


def access_panel(
    db: Database, inc: Incident, settings: Settings
) -> tuple[str, dict[str, Any]] | None:
    """On a private incident's page, for admins only: its access log, refusals first."""
    reader = privacy.current()
    if not inc.private or (reader is not None and not reader.sees_all):
        return None
    reads = sorted(access_log.log_for(db, inc.key), key=lambda r: (r.allowed, r.first_at))
    return "access_log_panel.html", {"key": inc.key, "reads": reads[:200]}


def _back(key: str) -> str:
    return f"/incidents/{key.upper()}#security"


@router.post("/incidents/{key}/evidence", dependencies=[require("evidence.add")])
async def seal_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    description: Annotated[str, Form()] = "",
) -> Response:
    content = await file.read(MAX_UPLOAD + 1)
    return forms.act(
        _back(key),
        lambda: evidence.seal(
            db,
            key,
            name=file.filename or "evidence",
            content=content,
            media_type=file.content_type or "application/octet-stream",
            description=description,
            actor=actor,
            settings=settings,
        ),
    )


@router.get("/incidents/{key}/evidence/{ref}", dependencies=[require("evidence.read")])
def download(key: str, ref: str, db: DbDep, actor: ActorDep) -> Response:
    item, data, copy = evidence.read(db, key, ref, actor=actor)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "X-Evidence-Copy": copy,
            "Content-Disposition": f'attachment; filename="{item.ref}-{copy}-evidence"',
        },
    )


@router.get("/incidents/{key}/evidence.tar", dependencies=[require("evidence.export")])
def bundle_download(key: str, db: DbDep, actor: ActorDep) -> Response:
    data = bundle.export(db, key, actor=actor)
    return Response(
        data,
        media_type="application/x-tar",
        headers={"Content-Disposition": 'attachment; filename="evidence-bundle.tar"'},
    )


@router.post("/incidents/{key}/clocks", dependencies=[require("evidence.add")])
def clock_submit(
    key: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    name: Annotated[str, Form()] = "",
    aware_at: Annotated[str, Form()] = "",
) -> Response:
    return forms.act(
        _back(key),
        lambda: clocks.start(
            db,
            key,
            name=name or None,
            aware_at=parse_time(aware_at or None, field="aware_at"),
            actor=actor,
            settings=settings,
        ),
    )


@router.post("/incidents/{key}/clocks/{name}/notified", dependencies=[require("evidence.add")])
def notified_submit(
    key: str, name: str, db: DbDep, actor: ActorDep, to: Annotated[str, Form()] = ""
) -> Response:
    return forms.act(_back(key), lambda: clocks.notified(db, key, name=name, to=to, actor=actor))


@router.post("/incidents/{key}/private", dependencies=[require("incident.private")])
def private_submit(
    key: str, db: DbDep, actor: ActorDep, private: Annotated[str, Form()] = "on"
) -> Response:
    return forms.act(
        _back(key), lambda: incidents.set_private(db, key, private=private == "on", actor=actor)
    )
