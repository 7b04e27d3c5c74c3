"""CLI of the contain area: levers (contain, undo), flags, runbooks, verify, drills."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from warroom.cli.common import (
    AsOpt,
    DbOpt,
    JsonOpt,
    actor,
    console,
    emit_json,
    handle_errors,
    open_db,
)
from warroom.contain import mitigations
from warroom.core.config import Settings, load_settings
from warroom.core.errors import InvalidInput, WarroomError

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", envvar="WARROOM_CONFIG", help="warroom.toml with the levers."),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Run without asking (scripts).")]
DryOpt = Annotated[
    bool, typer.Option("--dry-run", help="Only show what would be done; change nothing.")
]


def _settings(config: Path | None) -> Settings:
    return load_settings(config_path=config)


def _confirm(question: str, *, yes: bool, dry_run: bool) -> bool:
    """Ask before acting; without an answer (no terminal) nothing is done."""
    if dry_run:
        return False
    if yes:
        return True
    try:
        return bool(typer.confirm(question, default=False))
    except (typer.Abort, EOFError):
        return False


def _print_mitigation(m: mitigations.Mitigation) -> None:
    style = {"applied": "green", "undone": "green"}.get(m.status, "bold red")
    console.print(f"[{style}]{m.id} {m.summary}[/]", highlight=False)
    for s in m.steps if m.status in ("applied", "failed") else m.undo_steps:
        what = s.get("action") or s.get("request") or " ".join(s.get("argv", []))
        line = f"  step {s['step']}: {s['status']:8} {what}"
        console.print(line, highlight=False, markup=False, soft_wrap=True)
        if s["status"] == "failed":
            err = (s.get("stderr") or s.get("body") or "").strip()
            if err:
                console.print(
                    "    " + err.splitlines()[-1][:300],
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
    if m.status == "failed":
        console.print(
            f"State: the steps marked done are in effect. Undo them with "
            f"`warroom undo {m.incident_key} {m.id}`, or fix the failed step and pull the "
            "lever again.",
            highlight=False,
        )


def contain_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    lever: Annotated[str | None, typer.Argument(help="Lever name (omit to list levers).")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE, repeatable.")
    ] = None,
    yes: YesOpt = False,
    dry_run: DryOpt = False,
    config: ConfigOpt = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Pull a lever on an incident: shows the plan, asks, runs, records; `warroom undo` reverses.

    Without --yes it asks for confirmation; with no answer (or --dry-run) nothing runs.
    """
    settings = _settings(config)
    database = open_db(db)
    levers = mitigations.load_levers(settings)
    if lever is None:
        _list_levers(database, key, levers, json_)
        return
    plan = mitigations.make_plan(
        mitigations.get_lever(levers, lever), mitigations.parse_param_args(param)
    )
    if not json_:
        console.print(
            f"[bold]Lever {plan.lever.name}[/] ({plan.lever.kind}) on {key.upper()}: "
            f"{plan.lever.description}",
            highlight=False,
        )
        for a in plan.actions:
            console.print(f"  will: {a}", highlight=False, markup=False, soft_wrap=True)
        for u in plan.undo:
            console.print(f"  undo: {u}", highlight=False, markup=False, soft_wrap=True)
    if not _confirm("Run it?", yes=yes, dry_run=dry_run):
        if json_:
            emit_json({"dry_run": True, "plan": plan.to_dict()})
        else:
            console.print("Dry run: nothing was changed (add --yes to run).")
        return
    m = mitigations.apply(database, key, lever, actor=actor(as_), params=plan.params, levers=levers)
    if json_:
        emit_json(m.to_dict())
    else:
        _print_mitigation(m)
    if m.status != "applied":
        raise typer.Exit(1)


def _list_levers(
    database: Any, key: str, levers: dict[str, mitigations.Lever], json_: bool
) -> None:
    items = mitigations.suggestions(database, key, levers=levers)
    if json_:
        emit_json([s.to_dict() for s in items])
        return
    if not items:
        console.print(
            "No levers declared: add [levers.NAME] tables to warroom.toml (see docs/contain.md)."
        )
    for s in items:
        mark = "[bold]suggested[/] " if s.suggested else ""
        params = " ".join(f"--param {k}={v}" for k, v in s.params.items())
        console.print(
            f"{mark}{s.lever.name} ({s.lever.kind}) {s.reason}"
            + (
                f"  [dim]warroom contain {key.upper()} {s.lever.name} {params}[/]"
                if s.suggested
                else ""
            ),
            highlight=False,
        )


def undo_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    action: Annotated[str, typer.Argument(help="Mitigation id, e.g. M1.")],
    yes: YesOpt = False,
    dry_run: DryOpt = False,
    config: ConfigOpt = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Reverse a mitigation (the steps that were done, newest first)."""
    settings = _settings(config)
    database = open_db(db)
    levers = mitigations.load_levers(settings)
    m = mitigations.get(database, key, action)
    steps = mitigations.undo_plan(m, levers.get(m.lever))
    if not json_:
        console.print(f"Undo {m.id} ({m.lever}) on {m.incident_key}:", highlight=False)
        for s in steps:
            console.print(f"  will: {s}", highlight=False, markup=False, soft_wrap=True)
    if not _confirm("Undo it?", yes=yes, dry_run=dry_run):
        if json_:
            emit_json({"dry_run": True, "undo": steps})
        else:
            console.print("Dry run: nothing was changed (add --yes to run).")
        return
    m = mitigations.undo(database, key, action, actor=actor(as_), levers=levers)
    if json_:
        emit_json(m.to_dict())
    else:
        _print_mitigation(m)
    if m.status != "undone":
        raise typer.Exit(1)


def mitigations_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The levers pulled on an incident and their state."""
    items = mitigations.list_for(open_db(db), key)
    if json_:
        emit_json([m.to_dict() for m in items])
        return
    if not items:
        console.print(f"No mitigations on {key.upper()} yet (warroom contain {key.upper()}).")
    for m in items:
        console.print(
            f"{m.id} [{m.status}] {m.summary} by {m.created_by} {m.created_at:%H:%M}",
            highlight=False,
        )


def flags_cmd(
    file: Annotated[Path | None, typer.Option("--file", help="flagd JSON file.")] = None,
    config: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Current flag values of the flagd file (flag -> default variant value)."""
    from warroom.contain import flags

    path = file or flag_file(_settings(config))
    values = flags.resolved(flags.load(path))
    if json_:
        emit_json(values)
        return
    for name, value in values.items():
        console.print(f"{name} = {value!r}", highlight=False, markup=False, soft_wrap=True)


def flag_file(settings: Settings) -> Path:
    """The flag file of [contain] flag_file, relative to warroom.toml."""
    raw = settings.section("contain").get("flag_file", "flags.json")
    p = Path(str(raw)).expanduser()
    if not p.is_absolute() and settings.config_path is not None:
        p = settings.config_path.parent / p
    return p


runbook_app = typer.Typer(help="Runbooks: list, show, run on an incident.", no_args_is_help=True)


@runbook_app.command("list")
@handle_errors
def runbook_list(
    incident: Annotated[
        str | None, typer.Option("--incident", "-i", help="Only those that fit this incident.")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The runbooks, or the ones suggested for an incident (by alert, service, route)."""
    from warroom.contain import runbooks

    settings = _settings(config)
    books = runbooks.load_all(settings)
    if incident:
        matches = runbooks.suggest(open_db(db), incident, runbooks=books, limit=len(books))
        if json_:
            emit_json([m.to_dict() for m in matches])
            return
        if not matches:
            console.print(
                f"No runbook matches {incident.upper()}; `warroom runbook list` shows them all."
            )
        for m in matches:
            console.print(
                f"{m.runbook.name}: {m.runbook.title} ({'; '.join(m.reasons)})", highlight=False
            )
        return
    if json_:
        emit_json(
            [{"name": b.name, "title": b.title, "steps": len(b.steps)} for b in books.values()]
        )
        return
    for b in books.values():
        console.print(f"{b.name}: {b.title} ({len(b.steps)} steps)", highlight=False)


@runbook_app.command("show")
@handle_errors
def runbook_show(
    name: Annotated[str, typer.Argument(help="Runbook name.")],
    config: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A runbook's steps."""
    from warroom.contain import runbooks

    rb = runbooks.get(name, settings=_settings(config))
    if json_:
        emit_json(rb.to_dict())
        return
    console.print(f"[bold]{rb.title}[/] ({rb.name})", highlight=False)
    section = None
    for s in rb.steps:
        if s.section != section:
            section = s.section
            console.print(f"[bold]{section}[/]", highlight=False)
        auto = f"  [{s.kind}: {s.target}]" if s.automated else ""
        console.print(
            f"  {s.number}. {s.text}{auto}", highlight=False, markup=False, soft_wrap=True
        )


@runbook_app.command("run")
@handle_errors
def runbook_run(
    name: Annotated[str, typer.Argument(help="Runbook name.")],
    incident: Annotated[str, typer.Option("--incident", "-i", help="Incident key.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Run automated steps without asking.")
    ] = False,
    config: ConfigOpt = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Walk a runbook in the terminal; each step's outcome and who did it go on the timeline.

    Answer d (done), s (skip, optionally with a reason: `s not relevant`), f (failed), r (run
    an automated step) or q (stop; run the command again to resume).
    """
    from warroom.contain import runbooks
    from warroom.core.clock import utcnow

    settings = _settings(config)
    database = open_db(db)
    who = actor(as_)
    books = runbooks.load_all(settings)
    rb = runbooks.get(name, runbooks=books)
    run = runbooks.start(database, incident, name, actor=who, runbooks=books)
    console.print(
        f"[bold]{rb.title}[/] on {run.incident_key} ({run.id}, {len(rb.steps)} steps)",
        highlight=False,
    )
    levers: dict[str, mitigations.Lever] | None = None
    while run.status == "open" and run.next_step is not None:
        pending = [s["step"] for s in run.steps if s["status"] in ("pending", "failed")]
        number = pending[0]
        step = rb.step(number)
        begun = utcnow()
        console.print(
            f"\n[bold]{number}/{len(rb.steps)}[/] {step.section + ': ' if step.section else ''}"
            f"{step.text}",
            highlight=False,
            soft_wrap=True,
        )
        choices = "d/s/f/q"
        if step.automated:
            if levers is None:
                levers = mitigations.load_levers(settings)
            try:
                for line in runbooks.describe_step(step, levers=levers):
                    console.print(f"  will: {line}", highlight=False, markup=False, soft_wrap=True)
                choices = "r/d/s/f/q"
            except WarroomError as exc:
                console.print(
                    f"  cannot run automatically: {exc.message}; do it by hand",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
        if step.automated and yes and choices.startswith("r"):
            answer = "r"
        else:
            try:
                answer = str(typer.prompt(f"  [{choices}]", default="", show_default=False))
            except (typer.Abort, EOFError):
                answer = "q"
        letter, _, rest = answer.strip().partition(" ")
        letter = letter.lower()[:1]
        if letter == "q" or not letter:
            if not letter:
                console.print("  (no answer: stopping)")
            break
        if letter == "r" and choices.startswith("r"):
            run = runbooks.execute_step(
                database,
                incident,
                run.number,
                number,
                actor=who,
                settings=settings,
                runbooks=books,
                levers=levers,
                started_at=begun,
            )
        elif letter in ("d", "s", "f"):
            outcome = {"d": "done", "s": "skipped", "f": "failed"}[letter]
            run = runbooks.record_step(
                database,
                incident,
                run.number,
                number,
                actor=who,
                outcome=outcome,
                note=rest,
                started_at=begun,
            )
        else:
            console.print(f"  answer one of {choices}")
            continue
        state = run.steps[number - 1]
        console.print(
            f"  -> {state['status']}" + (f" ({state['note']})" if state.get("note") else ""),
            highlight=False,
            markup=False,
        )
        if state["status"] == "failed":
            console.print("  The step failed; fix it and answer again, or skip it.")
    if json_:
        emit_json(run.to_dict())
    elif run.status == "finished":
        console.print(f"Runbook {rb.name} finished on {run.incident_key}.")
    else:
        left = sum(1 for s in run.steps if s["status"] in ("pending", "failed"))
        console.print(
            f"Stopped with {left} step(s) open; resume with `warroom runbook run "
            f"{rb.name} --incident {run.incident_key}`.",
            highlight=False,
        )


def verify_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    log: Annotated[list[str], typer.Option("--log", "-l", help="Access log(s), repeatable.")],
    baseline: Annotated[
        str | None, typer.Option(help="Baseline window START..END (default: hour before onset).")
    ] = None,
    after: Annotated[
        str | None,
        typer.Option(help="When the fix took effect (default: last mitigation/contain/fix)."),
    ] = None,
    soak: Annotated[str, typer.Option(help="Wait this long after the fix: 30s, 10m, 1h.")] = "10m",
    route: Annotated[
        list[str] | None, typer.Option("--route", help="Only these routes, repeatable.")
    ] = None,
    min_requests: Annotated[
        int, typer.Option(help="Fewer requests in a window is inconclusive.")
    ] = 200,
    log_format: Annotated[
        str | None, typer.Option("--format", help="combined, common or json (default: detect).")
    ] = None,
    move: Annotated[
        bool, typer.Option("--move", help="Move the incident to verified when recovered.")
    ] = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Judge recovery from access logs: after the fix vs the baseline and the incident window.

    Records the verdict (recovered / not_recovered / inconclusive) with its numbers on the
    timeline; `warroom stage INC verified` needs a recovered one (or --reason).
    """
    from warroom import incidents
    from warroom.contain import verify
    from warroom.core.clock import parse_time

    for path in log:
        if path != "-" and not Path(path).is_file():
            raise InvalidInput(f"access log {path} does not exist", field="log")
    database = open_db(db)
    who = actor(as_)
    v = verify.verify(
        database,
        key,
        log,
        actor=who,
        baseline=verify.parse_range(baseline) if baseline else None,
        after=parse_time(after, field="after"),
        soak=verify.parse_duration(soak),
        routes=route or None,
        min_requests=min_requests,
        log_format=log_format,
    )
    moved = None
    if move and v.verdict == verify.RECOVERED:
        moved = incidents.move(database, key, to="verified", actor=who)
    if json_:
        emit_json({**v.to_dict(), "stage": moved.stage.value if moved else None})
        return
    style = {"recovered": "bold green", "not_recovered": "bold red"}.get(v.verdict, "bold yellow")
    console.print(
        f"[{style}]{v.verdict.replace('_', ' ')}[/]: {v.summary}", highlight=False, soft_wrap=True
    )
    for r in v.reasons:
        console.print(f"  - {r}", highlight=False, markup=False, soft_wrap=True)
    for name, w in v.windows.items():
        console.print(
            f"  {name:9} {w.start:%Y-%m-%d %H:%M:%S} .. {w.end:%H:%M:%S} UTC", highlight=False
        )
    if moved is not None:
        console.print(f"{moved.key} is now verified.")
    elif v.verdict == verify.RECOVERED:
        console.print(f"Move it on: warroom stage {key.upper()} verified")


def drill_cmd(
    scenario: Annotated[
        str,
        typer.Argument(
            help="Scenario: deploy_5xx, migration_latency, retry_storm, "
            "upstream_timeout, latency_creep, healthy."
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for the generated evidence.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (same seed, same logs).")] = None,
    severity: Annotated[str | None, typer.Option(help="Severity of the drill incident.")] = None,
    commander: Annotated[str | None, typer.Option(help="Commander for the drill.")] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Start a drill: generate a realistic incident's logs and declare it, marked as a drill."""
    from warroom.contain import drills
    from warroom.core.clock import utcnow

    directory = out or Path(f"drill-{scenario}-{utcnow():%Y%m%d-%H%M%S}")
    d = drills.start(
        open_db(db),
        scenario,
        actor=actor(as_),
        out_dir=directory,
        seed=seed,
        severity=severity,
        commander=commander,
    )
    if json_:
        emit_json(d.to_dict())
        return
    console.print(
        f"[bold]Drill {d.incident_key}[/] ({scenario}, seed {d.seed}) declared. "
        "The clock is running.",
        highlight=False,
    )
    for name, path in d.files.items():
        console.print(f"  {name.replace('_', ' ')}: {path}", highlight=False, markup=False)
    log = d.files.get("access_log", "ACCESS_LOG")
    console.print(
        f"Start with: warroom triage {log} --app-log {d.files.get('app_log', '')} "
        f"--changes {d.files.get('changes', '')} --incident {d.incident_key}\n"
        f"End and score it with: warroom drills {d.incident_key} --end",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def drills_cmd(
    key: Annotated[str | None, typer.Argument(help="A drill incident (omit to list).")] = None,
    end: Annotated[bool, typer.Option("--end", help="End the drill and score it.")] = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List drills, show a drill's timings, or end it (--end) for the scorecard and truth."""
    from warroom.contain import drills

    database = open_db(db)
    if key is None:
        items = drills.list_drills(database)
        if json_:
            emit_json([d.to_dict() for d in items])
            return
        if not items:
            console.print("No drills yet (warroom drill deploy_5xx).")
        for d in items:
            state = "ended" if d.ended_at else "running"
            console.print(
                f"{d.incident_key} {d.scenario} {state} started "
                f"{d.started_at:%Y-%m-%d %H:%M} by {d.started_by}",
                highlight=False,
            )
        return
    if end:
        d = drills.end(database, key, actor=actor(as_))
        card = d.score or {}
    else:
        d = drills.get(database, key)
        card = d.score or drills.timings(database, key)
    if json_:
        emit_json({**d.to_dict(), "timings": card})
        return
    console.print(
        f"[bold]Drill {d.incident_key}[/] {d.scenario}: {card.get('elapsed_minutes')} min",
        highlight=False,
    )
    for stage in ("contained", "root_caused", "fixed", "verified", "closed"):
        t = card.get(stage)
        console.print(f"  {stage:12} " + ("-" if t is None else f"+{t} min"), highlight=False)
    for k in ("triage_report", "suspect_found", "route_found"):
        if k in card:
            console.print(
                f"  {k.replace('_', ' '):12} {'yes' if card[k] else 'no'}", highlight=False
            )
    if d.ended_at:
        t = d.truth
        console.print(
            f"Truth: onset {t.get('onset')}, route {t.get('top_route')}, "
            f"suspect {t.get('top_suspect')}",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.command("drill")(handle_errors(drill_cmd))
    app.command("drills")(handle_errors(drills_cmd))
    app.command("verify")(handle_errors(verify_cmd))
    app.add_typer(runbook_app, name="runbook")
    app.command("contain")(handle_errors(contain_cmd))
    app.command("undo")(handle_errors(undo_cmd))
    app.command("mitigations")(handle_errors(mitigations_cmd))
    app.command("flags")(handle_errors(flags_cmd))
