"""REST API of the contain area: flags, levers and mitigations, runbooks, verifications, drills.

Pulling a lever or undoing one is a dry run unless the body says `"dry_run": false`. Every
answer has a response model (so /api/v1/openapi.json documents it); keys a domain object
leaves out (a drill's truth before it ends) stay out (`response_model_exclude_unset`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from warroom.contain import config, drills, flags, levers, mitigations, runbooks
from warroom.incidents import timeline
from warroom.web.api.schemas import EventOut
from warroom.web.deps import ActorDep, DbDep, SettingsDep
from warroom.web.guard import require

router = APIRouter(prefix="/api/v1", tags=["contain"])

# --- response models ------------------------------------------------------------------------


class LeverParamOut(BaseModel):
    default: str | None
    required: bool
    help: str


class LeverFields(BaseModel):
    name: str
    kind: str = Field(description="flag, command or http")
    description: str
    timeout: float = Field(description="seconds, per step")
    suggest_on: list[str]


class LeverOut(LeverFields):
    params: dict[str, LeverParamOut]


class LeverSuggestionOut(LeverFields):
    params: dict[str, str] = Field(description="values suggested from the triage report")
    reason: str
    suggested: bool


class PlanOut(BaseModel):
    lever: str
    kind: str
    description: str
    params: dict[str, str]
    actions: list[str]
    undo: list[str]
    timeout: float


class MitigationOut(BaseModel):
    id: str = Field(examples=["M1"])
    incident: str
    lever: str
    kind: str
    params: dict[str, str]
    status: str = Field(description="running, applied, failed, undone or undo_failed")
    summary: str
    plan: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    steps: list[dict[str, Any]]
    undo_steps: list[dict[str, Any]]
    created_by: str
    created_at: str
    undone_by: str | None
    undone_at: str | None


class PullOut(BaseModel):
    dry_run: bool
    plan: PlanOut | None = Field(default=None, description="with dry_run")
    mitigation: MitigationOut | None = Field(default=None, description="without dry_run")


class UndoOut(BaseModel):
    dry_run: bool
    undo: list[str] | None = Field(default=None, description="with dry_run")
    mitigation: MitigationOut | None = Field(default=None, description="without dry_run")


class RunbookStepOut(BaseModel):
    number: int
    text: str
    section: str
    kind: str = Field(description="manual, lever or command")
    target: str
    params: dict[str, str]


class RunbookOut(BaseModel):
    name: str
    title: str
    alerts: list[str]
    services: list[str]
    routes: list[str]
    keywords: list[str]
    intro: str
    steps: list[RunbookStepOut]
    path: str
    sha256: str


class RunbookMatchOut(BaseModel):
    name: str
    title: str
    score: int
    reasons: list[str]


class RunOut(BaseModel):
    id: str = Field(examples=["R1"])
    incident: str
    runbook: str
    sha256: str
    status: str = Field(description="open, finished or abandoned")
    steps: list[dict[str, Any]]
    next_step: int | None
    started_by: str
    started_at: str
    finished_at: str | None


class IncidentRunbooksOut(BaseModel):
    suggested: list[RunbookMatchOut]
    runs: list[RunOut]


class DrillOut(BaseModel):
    incident: str
    scenario: str
    seed: int
    directory: str
    files: dict[str, str]
    started_by: str
    started_at: str
    ended_at: str | None
    score: dict[str, Any] | None
    truth: dict[str, Any] | None = Field(default=None, description="only once the drill ended")


class DrillTimingsOut(DrillOut):
    timings: dict[str, Any]


# --- endpoints ------------------------------------------------------------------------------


@router.get(
    "/flags",
    response_model=dict[str, Any],
    response_model_exclude_unset=True,
    dependencies=[require("desk.read")],
)
def get_flags(settings: SettingsDep) -> dict[str, Any]:
    """Current flag values: flag name -> the value of its default variant (null if disabled)."""
    return flags.resolved(flags.load(config.flag_file(settings)))


@router.get(
    "/levers",
    response_model=list[LeverOut],
    response_model_exclude_unset=True,
    dependencies=[require("desk.read")],
)
def list_levers(settings: SettingsDep) -> list[dict[str, Any]]:
    return [lv.to_dict() for lv in levers.load_levers(settings).values()]


@router.get(
    "/incidents/{key}/levers",
    response_model=list[LeverSuggestionOut],
    response_model_exclude_unset=True,
    dependencies=[require("incident.read")],
)
def incident_levers(key: str, db: DbDep, settings: SettingsDep) -> list[dict[str, Any]]:
    """Levers for this incident, the ones its triage report points at first."""
    return [s.to_dict() for s in mitigations.suggestions(db, key, settings=settings)]


class PullIn(BaseModel):
    lever: str = Field(min_length=1, max_length=100)
    params: dict[str, str] = Field(default_factory=dict)
    dry_run: bool = True


@router.post(
    "/incidents/{key}/mitigations",
    response_model=PullOut,
    response_model_exclude_unset=True,
    dependencies=[require("incident.mitigate")],
)
def pull_lever(
    key: str, body: PullIn, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> dict[str, Any]:
    """Dry run (the plan) by default; `dry_run: false` runs the lever and records it."""
    declared = levers.load_levers(settings)
    lever = levers.get_lever(declared, body.lever, incident=key.upper())
    plan = levers.make_plan(lever, body.params)
    if body.dry_run:
        return {"dry_run": True, "plan": plan.to_dict()}
    m = mitigations.apply(db, key, body.lever, actor=actor, params=plan.params, levers=declared)
    return {"dry_run": False, "mitigation": m.to_dict()}


@router.get(
    "/incidents/{key}/mitigations",
    response_model=list[MitigationOut],
    response_model_exclude_unset=True,
    dependencies=[require("incident.read")],
)
def list_mitigations(key: str, db: DbDep) -> list[dict[str, Any]]:
    return [m.to_dict() for m in mitigations.list_for(db, key)]


class UndoIn(BaseModel):
    dry_run: bool = True


@router.post(
    "/incidents/{key}/mitigations/{ident}/undo",
    response_model=UndoOut,
    response_model_exclude_unset=True,
    dependencies=[require("incident.mitigate")],
)
def undo_mitigation(
    key: str, ident: str, body: UndoIn, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> dict[str, Any]:
    declared = levers.load_levers(settings)
    m = mitigations.get(db, key, ident)
    steps = mitigations.undo_plan(m, declared.get(m.lever))
    if body.dry_run:
        return {"dry_run": True, "undo": steps}
    return {
        "dry_run": False,
        "mitigation": mitigations.undo(db, key, ident, actor=actor, levers=declared).to_dict(),
    }


@router.get(
    "/runbooks",
    response_model=list[RunbookOut],
    response_model_exclude_unset=True,
    dependencies=[require("desk.read")],
)
def list_runbooks(settings: SettingsDep) -> list[dict[str, Any]]:
    return [rb.to_dict() for rb in runbooks.load_all(settings).values()]


@router.get(
    "/runbooks/{name}",
    response_model=RunbookOut,
    response_model_exclude_unset=True,
    dependencies=[require("desk.read")],
)
def get_runbook(name: str, settings: SettingsDep) -> dict[str, Any]:
    return runbooks.get(name, settings=settings).to_dict()


@router.get(
    "/incidents/{key}/runbooks",
    response_model=IncidentRunbooksOut,
    response_model_exclude_unset=True,
    dependencies=[require("incident.read")],
)
def incident_runbooks(key: str, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """Runbooks suggested for the incident, and its runs."""
    return {
        "suggested": [m.to_dict() for m in runbooks.suggest(db, key, settings=settings)],
        "runs": [r.to_dict() for r in runbooks.runs_for(db, key)],
    }


@router.post(
    "/incidents/{key}/runbooks/{name}/runs",
    response_model=RunOut,
    response_model_exclude_unset=True,
    status_code=201,
    dependencies=[require("incident.runbook")],
)
def start_run(
    key: str, name: str, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> dict[str, Any]:
    return runbooks.start(db, key, name, actor=actor, settings=settings).to_dict()


class StepIn(BaseModel):
    outcome: str | None = Field(default=None, description="done, skipped or failed")
    execute: bool = Field(default=False, description="Run an automated step.")
    note: str = Field(default="", max_length=2000)


@router.post(
    "/incidents/{key}/runbook-runs/{run}/steps/{step}",
    response_model=RunOut,
    response_model_exclude_unset=True,
    dependencies=[require("incident.runbook")],
)
def record_step(
    key: str,
    run: str,
    step: int,
    body: StepIn,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Record a step (done, skipped, failed) or run an automated one (`execute: true`)."""
    if body.execute:
        return runbooks.execute_step(db, key, run, step, actor=actor, settings=settings).to_dict()
    return runbooks.record_step(
        db, key, run, step, actor=actor, outcome=body.outcome or "", note=body.note
    ).to_dict()


@router.get(
    "/incidents/{key}/verifications",
    response_model=list[EventOut],
    response_model_exclude_unset=True,
    dependencies=[require("incident.read")],
)
def verifications(key: str, db: DbDep) -> list[dict[str, Any]]:
    """Recorded verdicts and overrides, oldest first."""
    kinds = [timeline.Kind.VERIFICATION.value, timeline.Kind.VERIFICATION_OVERRIDDEN.value]
    return [e.to_dict() for e in timeline.read(db, key, kinds=kinds)]


@router.get(
    "/drills",
    response_model=list[DrillOut],
    response_model_exclude_unset=True,
    dependencies=[require("desk.read")],
)
def list_drills(db: DbDep) -> list[dict[str, Any]]:
    return [d.to_dict() for d in drills.list_drills(db)]


@router.get(
    "/incidents/{key}/drill",
    response_model=DrillTimingsOut,
    response_model_exclude_unset=True,
    dependencies=[require("incident.read")],
)
def drill_timings(key: str, db: DbDep) -> dict[str, Any]:
    d = drills.get(db, key)
    return {**d.to_dict(), "timings": d.score or drills.timings(db, key)}
