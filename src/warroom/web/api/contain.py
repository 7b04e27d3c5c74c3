"""REST API of the contain area: flags, levers and mitigations, runbooks, verifications, drills.

Pulling a lever or undoing one is a dry run unless the body says `"dry_run": false`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from warroom.contain import drills, flags, mitigations, runbooks
from warroom.core.config import Settings
from warroom.incidents import timeline
from warroom.web.deps import ActorDep, DbDep, SettingsDep
from warroom.web.guard import require

router = APIRouter(prefix="/api/v1", tags=["contain"])


def flag_path(settings: Settings) -> Path:
    raw = settings.section("contain").get("flag_file", "flags.json")
    p = Path(str(raw)).expanduser()
    if not p.is_absolute() and settings.config_path is not None:
        p = settings.config_path.parent / p
    return p


@router.get("/flags", dependencies=[require("desk.read")])
def get_flags(settings: SettingsDep) -> dict[str, Any]:
    """Current flag values: flag name -> the value of its default variant (null if disabled)."""
    return flags.resolved(flags.load(flag_path(settings)))


@router.get("/levers", dependencies=[require("desk.read")])
def list_levers(settings: SettingsDep) -> list[dict[str, Any]]:
    return [lv.to_dict() for lv in mitigations.load_levers(settings).values()]


@router.get("/incidents/{key}/levers", dependencies=[require("incident.read")])
def incident_levers(key: str, db: DbDep, settings: SettingsDep) -> list[dict[str, Any]]:
    """Levers for this incident, the ones its triage report points at first."""
    return [s.to_dict() for s in mitigations.suggestions(db, key, settings=settings)]


class PullIn(BaseModel):
    lever: str = Field(min_length=1, max_length=100)
    params: dict[str, str] = Field(default_factory=dict)
    dry_run: bool = True


@router.post("/incidents/{key}/mitigations", dependencies=[require("incident.mitigate")])
def pull_lever(
    key: str, body: PullIn, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> dict[str, Any]:
    """Dry run (the plan) by default; `dry_run: false` runs the lever and records it."""
    levers = mitigations.load_levers(settings)
    plan = mitigations.make_plan(mitigations.get_lever(levers, body.lever), body.params)
    if body.dry_run:
        return {"dry_run": True, "plan": plan.to_dict()}
    m = mitigations.apply(db, key, body.lever, actor=actor, params=plan.params, levers=levers)
    return {"dry_run": False, "mitigation": m.to_dict()}


@router.get("/incidents/{key}/mitigations", dependencies=[require("incident.read")])
def list_mitigations(key: str, db: DbDep) -> list[dict[str, Any]]:
    return [m.to_dict() for m in mitigations.list_for(db, key)]


class UndoIn(BaseModel):
    dry_run: bool = True


@router.post(
    "/incidents/{key}/mitigations/{ident}/undo", dependencies=[require("incident.mitigate")]
)
def undo_mitigation(
    key: str, ident: str, body: UndoIn, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> dict[str, Any]:
    levers = mitigations.load_levers(settings)
    m = mitigations.get(db, key, ident)
    steps = mitigations.undo_plan(m, levers.get(m.lever))
    if body.dry_run:
        return {"dry_run": True, "undo": steps}
    return {
        "dry_run": False,
        "mitigation": mitigations.undo(db, key, ident, actor=actor, levers=levers).to_dict(),
    }


@router.get("/runbooks", dependencies=[require("desk.read")])
def list_runbooks(settings: SettingsDep) -> list[dict[str, Any]]:
    return [rb.to_dict() for rb in runbooks.load_all(settings).values()]


@router.get("/runbooks/{name}", dependencies=[require("desk.read")])
def get_runbook(name: str, settings: SettingsDep) -> dict[str, Any]:
    return runbooks.get(name, settings=settings).to_dict()


@router.get("/incidents/{key}/runbooks", dependencies=[require("incident.read")])
def incident_runbooks(key: str, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """Runbooks suggested for the incident, and its runs."""
    return {
        "suggested": [m.to_dict() for m in runbooks.suggest(db, key, settings=settings)],
        "runs": [r.to_dict() for r in runbooks.runs_for(db, key)],
    }


@router.post(
    "/incidents/{key}/runbooks/{name}/runs",
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
    "/incidents/{key}/runbook-runs/{run}/steps/{step}", dependencies=[require("incident.runbook")]
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


@router.get("/incidents/{key}/verifications", dependencies=[require("incident.read")])
def verifications(key: str, db: DbDep) -> list[dict[str, Any]]:
    """Recorded verdicts and overrides, oldest first."""
    kinds = [timeline.Kind.VERIFICATION.value, timeline.Kind.VERIFICATION_OVERRIDDEN.value]
    return [e.to_dict() for e in timeline.read(db, key, kinds=kinds)]


@router.get("/drills", dependencies=[require("desk.read")])
def list_drills(db: DbDep) -> list[dict[str, Any]]:
    return [d.to_dict() for d in drills.list_drills(db)]


@router.get("/incidents/{key}/drill", dependencies=[require("incident.read")])
def drill_timings(key: str, db: DbDep) -> dict[str, Any]:
    d = drills.get(db, key)
    return {**d.to_dict(), "timings": d.score or drills.timings(db, key)}
