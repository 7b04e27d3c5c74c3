"""Pages of drills: the list with each drill's clock and scorecard, starting one, writing its
traffic after the fix (for verify), ending one.

A drill's logs are written on the server, in `[drills] dir` of warroom.toml (relative to that
file; default its directory, else the server's working directory), one new directory each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from warroom.contain import config, drills
from warroom.core.clock import utcnow
from warroom.core.config import Settings
from warroom.web import forms
from warroom.web.deps import ActorDep, DbDep, SettingsDep, templates
from warroom.web.guard import require

router = APIRouter(include_in_schema=False)


def drills_dir(settings: Settings) -> Path:
    """Where new drills write their logs."""
    return config.resolve(settings, str(settings.section("drills").get("dir", ".")))


@router.get("/drills", response_class=HTMLResponse, dependencies=[require("desk.read")])
def drills_page(request: Request, db: DbDep) -> Response:
    """Every drill, newest first: its clock (minutes to each stage), scorecard and truth."""
    items: list[dict[str, Any]] = []
    for d in reversed(drills.list_drills(db)):
        card = d.score or drills.timings(db, d.incident_key)
        items.append({"d": d, "card": card})
    return templates.TemplateResponse(
        request,
        "drills.html",
        {"items": items, "scenarios": list(drills.BRIEFS.items())},
    )


@router.post("/drills", dependencies=[require("drill.run")])
def drill_start(
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    scenario: Annotated[str, Form()] = "",
    severity: Annotated[str, Form()] = "",
    commander: Annotated[str, Form()] = "",
) -> Response:
    """Generate a scenario's logs on the server and declare the drill incident."""
    out = drills_dir(settings) / f"drill-{scenario}-{utcnow():%Y%m%d-%H%M%S}"
    return forms.act(
        "/drills",
        lambda: drills.start(
            db,
            scenario,
            actor=actor,
            out_dir=out,
            severity=severity or None,
            commander=commander.strip() or None,
        ),
        ok="/incidents/{result.incident_key}",
    )


@router.post("/incidents/{key}/drill/after-fix", dependencies=[require("drill.run")])
def drill_after_fix(key: str, db: DbDep) -> Response:
    """Write the drill's 30 minutes after the fix next to its logs, then judge them below."""
    return forms.act(f"/incidents/{key.upper()}#verify", lambda: drills.after_fix(db, key))


@router.post("/incidents/{key}/drill/end", dependencies=[require("drill.run")])
def drill_end(key: str, db: DbDep, actor: ActorDep) -> Response:
    """Stop the drill's clock: the scorecard, and the truth revealed."""
    return forms.act(f"/incidents/{key.upper()}#drill", lambda: drills.end(db, key, actor=actor))
