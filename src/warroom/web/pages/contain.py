"""Pages of the contain area: the incident panel (levers, mitigations, runbooks, verdict), the
lever confirmation page (the dry run), undo, and walking a runbook step by step.

Forms post and redirect; nothing runs without an explicit confirmation box ticked.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from warroom import incidents
from warroom.contain import mitigations, runbooks
from warroom.core.clock import ensure_utc
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import NotFound, WarroomError
from warroom.incidents import timeline
from warroom.incidents.lifecycle import Incident
from warroom.web.deps import ActorDep, DbDep, SettingsDep, templates
from warroom.web.guard import require

router = APIRouter(include_in_schema=False)
log = logging.getLogger("warroom")


def contain_panel(db: Database, inc: Incident, settings: Settings) -> tuple[str, dict[str, Any]]:
    """Levers (suggested first), mitigations, runbooks (suggested, runs) and the last verdict."""
    ctx: dict[str, Any] = {"key": inc.key, "errors": []}
    ctx["mitigations"] = mitigations.list_for(db, inc.key)
    ctx["runs"] = runbooks.runs_for(db, inc.key)
    ctx["levers"] = []
    ctx["suggested"] = []
    ctx["books"] = []
    try:
        ctx["levers"] = mitigations.suggestions(db, inc.key, settings=settings)
    except WarroomError as exc:
        ctx["errors"].append(exc.message)
    try:
        books = runbooks.load_all(settings)
        ctx["books"] = sorted(books.values(), key=lambda b: b.title)
        ctx["suggested"] = runbooks.suggest(db, inc.key, runbooks=books)
    except WarroomError as exc:
        ctx["errors"].append(exc.message)
    verdicts = timeline.read(
        db,
        inc.key,
        kinds=[timeline.Kind.VERIFICATION.value, timeline.Kind.VERIFICATION_OVERRIDDEN.value],
    )
    ctx["verdict"] = verdicts[-1] if verdicts else None
    return "contain_panel.html", ctx


def _see(url: str, error: str | None = None) -> Response:
    if error:
        url += ("&" if "?" in url else "?") + f"error={quote(error)}"
    return RedirectResponse(url, status_code=303)


def _do(back: str, fn: Callable[[], Any], *, ok: str | None = None) -> Response:
    try:
        result = fn()
    except WarroomError as exc:
        if isinstance(exc, NotFound):
            raise
        return _see(back, exc.message)
    return _see(ok.format(result=result) if ok else back)


def _params(form: Any) -> dict[str, str]:
    return {
        k[len("param.") :]: str(v).strip()
        for k, v in form.multi_items()
        if k.startswith("param.") and str(v).strip()
    }


@router.get(
    "/incidents/{key}/contain/{lever}",
    response_class=HTMLResponse,
    dependencies=[require("incident.read")],
)
def lever_page(
    request: Request, key: str, lever: str, db: DbDep, settings: SettingsDep
) -> Response:
    """The dry run: what the lever will do with these parameters, and the confirm form."""
    inc = incidents.get(db, key)
    lv = mitigations.get_lever(mitigations.load_levers(settings), lever)
    given = {
        k[len("param.") :]: v
        for k, v in request.query_params.items()
        if k.startswith("param.") and v
    }
    plan, problem = None, None
    try:
        plan = mitigations.make_plan(lv, given)
    except WarroomError as exc:
        problem = exc.message
    return templates.TemplateResponse(
        request,
        "contain_lever.html",
        {
            "inc": inc,
            "lever": lv,
            "given": given,
            "plan": plan,
            "problem": problem or request.query_params.get("error"),
        },
    )


@router.post("/incidents/{key}/contain/{lever}", dependencies=[require("incident.mitigate")])
async def lever_submit(
    request: Request, key: str, lever: str, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    params = _params(form)
    back = f"/incidents/{key.upper()}/contain/{lever}?" + urlencode(
        {f"param.{k}": v for k, v in params.items()}
    )
    if form.get("confirm") != "yes":
        return _see(back, "tick the confirmation box to run the lever")
    return _do(
        back,
        lambda: mitigations.apply(db, key, lever, actor=actor, params=params, settings=settings),
        ok=f"/incidents/{key.upper()}#contain",
    )


@router.get(
    "/incidents/{key}/mitigations/{ident}/undo",
    response_class=HTMLResponse,
    dependencies=[require("incident.read")],
)
def undo_page(request: Request, key: str, ident: str, db: DbDep, settings: SettingsDep) -> Response:
    inc = incidents.get(db, key)
    m = mitigations.get(db, key, ident)
    steps, problem = [], None
    try:
        steps = mitigations.undo_plan(m, mitigations.load_levers(settings).get(m.lever))
    except WarroomError as exc:
        problem = exc.message
    return templates.TemplateResponse(
        request,
        "contain_undo.html",
        {
            "inc": inc,
            "m": m,
            "steps": steps,
            "problem": problem or request.query_params.get("error"),
        },
    )


@router.post(
    "/incidents/{key}/mitigations/{ident}/undo", dependencies=[require("incident.mitigate")]
)
async def undo_submit(
    request: Request, key: str, ident: str, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    back = f"/incidents/{key.upper()}/mitigations/{ident}/undo"
    if form.get("confirm") != "yes":
        return _see(back, "tick the confirmation box to undo")
    return _do(
        back,
        lambda: mitigations.undo(db, key, ident, actor=actor, settings=settings),
        ok=f"/incidents/{key.upper()}#contain",
    )


@router.post("/incidents/{key}/runbooks", dependencies=[require("incident.runbook")])
async def run_start(
    request: Request, key: str, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    name = str(form.get("name", ""))
    return _do(
        f"/incidents/{key.upper()}",
        lambda: runbooks.start(db, key, name, actor=actor, settings=settings),
        ok=f"/incidents/{key.upper()}/runbooks/R{{result.number}}",
    )


@router.get(
    "/incidents/{key}/runbooks/{run}",
    response_class=HTMLResponse,
    dependencies=[require("incident.read")],
)
def run_page(request: Request, key: str, run: str, db: DbDep, settings: SettingsDep) -> Response:
    """Walk a runbook: each step with its state, who did it, and forms for the open ones."""
    from warroom.core.clock import utcnow

    inc = incidents.get(db, key)
    the_run = runbooks.get_run(db, key, run)
    rb = None
    # When the file is gone, the run's own copy of the step texts still shows.
    with contextlib.suppress(WarroomError):
        rb = runbooks.get(the_run.runbook, settings=settings)
    plans: dict[int, list[str]] = {}
    if rb is not None:
        levers: dict[str, mitigations.Lever] = {}
        with contextlib.suppress(WarroomError):
            levers = mitigations.load_levers(settings)
        for s in rb.steps:
            if s.automated:
                try:
                    plans[s.number] = runbooks.describe_step(s, levers=levers)
                except WarroomError as exc:
                    plans[s.number] = [f"cannot run automatically: {exc.message}"]
    return templates.TemplateResponse(
        request,
        "contain_run.html",
        {
            "inc": inc,
            "run": the_run,
            "rb": rb,
            "plans": plans,
            "changed": rb is not None and rb.sha256 != the_run.sha256,
            "now": utcnow().isoformat(),
            "error": request.query_params.get("error"),
        },
    )


@router.post(
    "/incidents/{key}/runbooks/{run}/steps/{step}", dependencies=[require("incident.runbook")]
)
async def step_submit(
    request: Request,
    key: str,
    run: str,
    step: int,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
) -> Response:
    form = await request.form()
    action = str(form.get("action", ""))
    note = str(form.get("note", ""))
    started = str(form.get("started_at", "")).strip()
    back = f"/incidents/{key.upper()}/runbooks/{run.upper()}"
    try:
        from datetime import datetime

        begun = ensure_utc(datetime.fromisoformat(started)) if started else None
    except ValueError:
        begun = None
    if action == "execute":
        if form.get("confirm") != "yes":
            return _see(back, f"tick the confirmation box to run step {step}")
        return _do(
            back,
            lambda: runbooks.execute_step(
                db, key, run, step, actor=actor, settings=settings, started_at=begun
            ),
        )
    return _do(
        back,
        lambda: runbooks.record_step(
            db, key, run, step, actor=actor, outcome=action, note=note, started_at=begun
        ),
    )
