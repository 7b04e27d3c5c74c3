"""The triage page of an incident: run triage on uploaded logs (or logs on the server), attach
the report, and show the latest one with its chart and the severity it suggests.

Triage runs in the request (a worker thread): logs of a few hundred megabytes take seconds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from warroom import incidents
from warroom.contain import drills
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, WarroomError
from warroom.incidents import artifacts
from warroom.learn import charts
from warroom.triage.report import triage
from warroom.web import files, forms
from warroom.web.deps import ActorDep, DbDep, SettingsDep, templates
from warroom.web.guard import require
from warroom.web.views import triage_severity

router = APIRouter(include_in_schema=False)


def _run(
    db: Database,
    key: str,
    access: list[str],
    *,
    app_log: str | None,
    changes: str | None,
    actor: str,
    settings: Settings,
) -> artifacts.Artifact:
    """Triage the logs and attach the report to the incident."""
    if not access:
        raise InvalidInput("give an access log to triage", field="access_log")
    incidents.get(db, key)  # a missing incident is a 404 before the long read
    report = triage(access, app_logs=[app_log] if app_log else None, changes=changes)
    return artifacts.attach_triage_report(db, key, report.to_dict(), actor=actor, settings=settings)


@router.get(
    "/incidents/{key}/triage",
    response_class=HTMLResponse,
    dependencies=[require("incident.read")],
)
def triage_page(request: Request, key: str, db: DbDep) -> Response:
    """The latest triage report with its chart, and the forms that make a new one."""
    inc = incidents.get(db, key)
    report = artifacts.latest_triage_report(db, inc.key)
    drill_files: dict[str, str] = {}
    if inc.drill:
        try:
            drill_files = drills.get(db, inc.key).files
        except WarroomError:
            drill_files = {}
    context: dict[str, Any] = {
        "inc": inc,
        "report": report,
        "chart": charts.incident_chart(report, onset=inc.started_at) if report else None,
        "tri": triage_severity(inc, report),
        "drill_files": drill_files,
    }
    return templates.TemplateResponse(request, "triage.html", context)


@router.post("/incidents/{key}/triage", dependencies=[require("incident.evidence")])
def triage_upload(
    key: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    access_log: Annotated[UploadFile | None, File()] = None,
    app_log: Annotated[UploadFile | None, File()] = None,
    changes: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Triage uploaded logs (the access log; the app log and the changes if given)."""
    back = f"/incidents/{key.upper()}/triage"

    def run() -> artifacts.Artifact:
        with files.uploads([access_log, app_log, changes]) as (access, app, chg):
            return _run(
                db,
                key,
                [str(access)] if access else [],
                app_log=str(app) if app else None,
                changes=str(chg) if chg else None,
                actor=actor,
                settings=settings,
            )

    return forms.act(back, run)


@router.post("/incidents/{key}/triage/path", dependencies=[require("server.files")])
def triage_path(
    key: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    access_log: Annotated[str, Form()] = "",
    app_log: Annotated[str, Form()] = "",
    changes: Annotated[str, Form()] = "",
) -> Response:
    """Triage logs already on the server (a drill's, or under the readable directories)."""
    back = f"/incidents/{key.upper()}/triage"

    def one(text: str, field: str) -> str | None:
        return files.server_paths(text, db, settings, field=field)[0] if text.strip() else None

    return forms.act(
        back,
        lambda: _run(
            db,
            key,
            files.server_paths(access_log, db, settings, field="access_log"),
            app_log=one(app_log, "app_log"),
            changes=one(changes, "changes"),
            actor=actor,
            settings=settings,
        ),
    )
