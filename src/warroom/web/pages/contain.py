"""Pages of the contain area: the incident panel (levers, mitigations, verify, runbooks, the
drill's clock), the lever confirmation page (the dry run), undo, verifying recovery from an
uploaded log or one on the server, the declared levers, and walking a runbook step by step.

Forms post and redirect (`warroom.web.forms`); nothing runs without an explicit confirmation
box ticked, and a refusal comes back as a one-time flash message, never in the URL.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from warroom import incidents
from warroom.contain import drills, levers, mitigations, runbooks, verify
from warroom.core.clock import parse_time, utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, WarroomError
from warroom.incidents import timeline
from warroom.incidents.lifecycle import Incident
from warroom.web import errors, files, forms
from warroom.web.deps import ActorDep, DbDep, SettingsDep, templates
from warroom.web.guard import require

router = APIRouter(include_in_schema=False)

VERDICT_KINDS = [timeline.Kind.VERIFICATION.value, timeline.Kind.VERIFICATION_OVERRIDDEN.value]


def contain_panel(db: Database, inc: Incident, settings: Settings) -> tuple[str, dict[str, Any]]:
    """Levers (suggested first), mitigations, the last verdict and the verify forms, runbooks
    (suggested, runs) and, on a drill, its clock. In the page's "act" column."""
    ctx: dict[str, Any] = {"key": inc.key, "errors": [], "slot": "act", "rank": 0, "drill": None}
    if inc.drill:
        with contextlib.suppress(WarroomError):  # a drill incident whose record is gone
            d = drills.get(db, inc.key)
            ctx["drill"] = {"d": d, "card": d.score or drills.timings(db, inc.key)}
    ctx["mitigations"] = mitigations.list_for(db, inc.key)
    ctx["runs"] = runbooks.runs_for(db, inc.key)
    ctx["levers"] = []
    ctx["suggested"] = []
    ctx["books"] = []
    try:
        ctx["levers"] = mitigations.suggestions(db, inc.key, settings=settings)
    except WarroomError as exc:
        ctx["errors"].append(errors.page_context(exc))
    try:
        books = runbooks.load_all(settings)
        ctx["books"] = sorted(books.values(), key=lambda b: b.title)
        ctx["suggested"] = runbooks.suggest(db, inc.key, runbooks=books)
    except WarroomError as exc:
        ctx["errors"].append(errors.page_context(exc))
    verdicts = timeline.read(db, inc.key, kinds=VERDICT_KINDS)
    ctx["verdict"] = verdicts[-1] if verdicts else None
    # A drill's logs on the server, one a line: its evidence and, once written, the traffic
    # after the fix (the verify form is filled in with them).
    files = ctx["drill"]["d"].files if ctx["drill"] else {}
    ctx["drill_logs"] = "\n".join(files[k] for k in ("access_log", "after_fix_log") if k in files)
    return "contain_panel.html", ctx


@router.get("/levers", response_class=HTMLResponse, dependencies=[require("desk.read")])
def levers_page(request: Request, settings: SettingsDep) -> Response:
    """The levers declared in warroom.toml, and how to declare one."""
    declared: dict[str, levers.Lever] = {}
    problem = None
    try:
        declared = levers.load_levers(settings)
    except WarroomError as exc:
        problem = errors.page_context(exc)
    return templates.TemplateResponse(
        request,
        "contain_levers.html",
        {"levers": list(declared.values()), "problem": problem, "config": settings.config_path},
    )


def _verdict(key: str) -> str:
    return f"/incidents/{key.upper()}#verify"


@router.post("/incidents/{key}/verify", dependencies=[require("incident.evidence")])
def verify_upload(
    key: str,
    db: DbDep,
    actor: ActorDep,
    log: Annotated[UploadFile | None, File()] = None,
    soak: Annotated[str, Form()] = "10m",
) -> Response:
    """Judge recovery from an uploaded access log; the verdict goes on the timeline."""

    def run() -> verify.Verdict:
        with files.uploads([log]) as paths:
            given = [str(p) for p in paths if p]
            if not given or log is None:
                raise InvalidInput("choose an access log to upload", field="log")
            return verify.verify(
                db,
                key,
                given,
                actor=actor,
                soak=verify.parse_duration(soak),
                names=[str(log.filename)],
            )

    return forms.act(_verdict(key), run)


@router.post("/incidents/{key}/verify/path", dependencies=[require("server.files")])
def verify_path(
    key: str,
    db: DbDep,
    actor: ActorDep,
    settings: SettingsDep,
    path: Annotated[str, Form()] = "",
    soak: Annotated[str, Form()] = "10m",
) -> Response:
    """Judge recovery from access logs already on the server (one path a line)."""
    return forms.act(
        _verdict(key),
        lambda: verify.verify(
            db,
            key,
            files.server_paths(path, db, settings, field="path"),
            actor=actor,
            soak=verify.parse_duration(soak),
        ),
    )


def _params(items: Any) -> dict[str, str]:
    """The `param.NAME` fields of a form or a query string."""
    return {
        k[len("param.") :]: str(v).strip()
        for k, v in items
        if k.startswith("param.") and str(v).strip()
    }


def _unconfirmed(back: str, what: str) -> Response:
    return forms.refused(
        back, InvalidInput(f"tick the confirmation box to {what}", field="confirm")
    )


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
    lv = levers.get_lever(levers.load_levers(settings), lever, incident=inc.key)
    given = _params(request.query_params.multi_items())
    plan, problem = None, None
    try:
        plan = levers.make_plan(lv, given)
    except WarroomError as exc:
        problem = exc.message
    return templates.TemplateResponse(
        request,
        "contain_lever.html",
        {"inc": inc, "lever": lv, "given": given, "plan": plan, "problem": problem},
    )


@router.post("/incidents/{key}/contain/{lever}", dependencies=[require("incident.mitigate")])
async def lever_submit(
    request: Request, key: str, lever: str, db: DbDep, actor: ActorDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    params = _params(form.multi_items())
    back = f"/incidents/{key.upper()}/contain/{lever}?" + urlencode(
        {f"param.{k}": v for k, v in params.items()}
    )
    if form.get("confirm") != "yes":
        return _unconfirmed(back, "run the lever")
    return forms.act(
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
        steps = mitigations.undo_plan(m, levers.load_levers(settings).get(m.lever))
    except WarroomError as exc:
        problem = exc.message
    return templates.TemplateResponse(
        request, "contain_undo.html", {"inc": inc, "m": m, "steps": steps, "problem": problem}
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
        return _unconfirmed(back, "undo")
    return forms.act(
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
    return forms.act(
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
    inc = incidents.get(db, key)
    the_run = runbooks.get_run(db, key, run)
    rb = None
    # When the file is gone, the run's own copy of the step texts still shows.
    with contextlib.suppress(WarroomError):
        rb = runbooks.get(the_run.runbook, settings=settings)
    plans: dict[int, list[str]] = {}
    if rb is not None:
        declared: dict[str, levers.Lever] = {}
        with contextlib.suppress(WarroomError):
            declared = levers.load_levers(settings)
        for s in rb.steps:
            if s.automated:
                try:
                    plans[s.number] = runbooks.describe_step(s, levers=declared)
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
    back = f"/incidents/{key.upper()}/runbooks/{run.upper()}"
    # When the page was shown: a missing or mangled time just means "now".
    begun = None
    with contextlib.suppress(InvalidInput):
        begun = parse_time(str(form.get("started_at", "")), field="started_at")
    if action == "execute":
        if form.get("confirm") != "yes":
            return _unconfirmed(back, f"run step {step}")
        return forms.act(
            back,
            lambda: runbooks.execute_step(
                db, key, run, step, actor=actor, settings=settings, started_at=begun
            ),
        )
    return forms.act(
        back,
        lambda: runbooks.record_step(
            db, key, run, step, actor=actor, outcome=action, note=note, started_at=begun
        ),
    )
