"""CLI for runbooks: `warroom runbook list`, `show` and `run` (walk one in the terminal)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, handle_errors
from warroom.cli.contain import ConfigOpt, say
from warroom.contain import levers, runbooks
from warroom.core.clock import utcnow
from warroom.core.errors import WarroomError

runbook_app = typer.Typer(help="Runbooks: list, show, run on an incident.", no_args_is_help=True)

ANSWERS = {"d": "done", "s": "skipped", "f": "failed"}


@runbook_app.command("list")
@handle_errors
def runbook_list(
    incident: Annotated[
        str | None, typer.Option("--incident", "-i", help="Only those that fit this incident.")
    ] = None,
    config_path: ConfigOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The runbooks, or the ones suggested for an incident (by alert, service, route)."""
    sh = Shell(db, None, json_, config=config_path)
    books = runbooks.load_all(sh.settings)
    if incident:
        matches = runbooks.suggest(sh.db, incident, runbooks=books, limit=len(books))

        def render_matches() -> None:
            if not matches:
                say(
                    f"No runbook matches {incident.upper()}; `warroom runbook list` shows them all."
                )
            for m in matches:
                say(f"{m.runbook.name}: {m.runbook.title} ({'; '.join(m.reasons)})")

        sh.out([m.to_dict() for m in matches], render_matches)
        return

    def render() -> None:
        for b in books.values():
            say(f"{b.name}: {b.title} ({len(b.steps)} steps)")

    sh.out(
        [{"name": b.name, "title": b.title, "steps": len(b.steps)} for b in books.values()], render
    )


@runbook_app.command("show")
@handle_errors
def runbook_show(
    name: Annotated[str, typer.Argument(help="Runbook name.")],
    config_path: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A runbook's steps."""
    sh = Shell(None, None, json_, config=config_path)
    rb = runbooks.get(name, runbooks=runbooks.load_all(sh.settings))

    def render() -> None:
        console.print(f"[bold]{escape(rb.title)}[/] ({escape(rb.name)})", highlight=False)
        section = None
        for s in rb.steps:
            if s.section != section:
                section = s.section
                console.print(f"[bold]{escape(section)}[/]", highlight=False)
            auto = f"  [{s.kind}: {s.target}]" if s.automated else ""
            say(f"  {s.number}. {s.text}{auto}")

    sh.out(rb.to_dict(), render)


def _choices(step: runbooks.RunbookStep, declared: dict[str, levers.Lever]) -> str:
    """Show what an automated step will do; `r` is offered only when it can run."""
    if not step.automated:
        return "d/s/f/q"
    try:
        for line in runbooks.describe_step(step, levers=declared):
            say(f"  will: {line}")
    except WarroomError as exc:
        say(f"  cannot run automatically: {exc.message}; do it by hand")
        return "d/s/f/q"
    return "r/d/s/f/q"


def _answer(choices: str, *, yes: bool) -> str:
    if yes and choices.startswith("r"):
        return "r"
    try:
        return str(typer.prompt(f"  [{choices}]", default="", show_default=False))
    except (typer.Abort, EOFError):
        return "q"


@runbook_app.command("run")
@handle_errors
def runbook_run(
    name: Annotated[str, typer.Argument(help="Runbook name.")],
    incident: Annotated[str, typer.Option("--incident", "-i", help="Incident key.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Run automated steps without asking.")
    ] = False,
    config_path: ConfigOpt = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Walk a runbook in the terminal; each step's outcome and who did it go on the timeline.

    Answer d (done), s (skip, optionally with a reason: `s not relevant`), f (failed), r (run
    an automated step) or q (stop; run the command again to resume).
    """
    sh = Shell(db, as_, json_, config=config_path)
    books = runbooks.load_all(sh.settings)
    rb = runbooks.get(name, runbooks=books)
    run = runbooks.start(sh.db, incident, name, actor=sh.actor, runbooks=books)
    console.print(
        f"[bold]{escape(rb.title)}[/] on {run.incident_key} ({run.id}, {len(rb.steps)} steps)",
        highlight=False,
    )
    declared: dict[str, levers.Lever] | None = None
    while run.status == "open" and run.next_step is not None:
        number = run.next_step
        step = rb.step(number)
        begun = utcnow()
        console.print(
            f"\n[bold]{number}/{len(rb.steps)}[/] "
            + escape(f"{step.section + ': ' if step.section else ''}{step.text}"),
            highlight=False,
            soft_wrap=True,
        )
        if step.automated and declared is None:
            declared = levers.load_levers(sh.settings)
        choices = _choices(step, declared or {})
        letter, _, rest = _answer(choices, yes=yes).strip().partition(" ")
        letter = letter.lower()[:1]
        if letter == "q" or not letter:
            if not letter:
                say("  (no answer: stopping)")
            break
        if letter == "r" and choices.startswith("r"):
            run = runbooks.execute_step(
                sh.db,
                incident,
                run.number,
                number,
                actor=sh.actor,
                settings=sh.settings,
                runbooks=books,
                levers=declared,
                started_at=begun,
            )
        elif letter in ANSWERS:
            run = runbooks.record_step(
                sh.db,
                incident,
                run.number,
                number,
                actor=sh.actor,
                outcome=ANSWERS[letter],
                note=rest,
                started_at=begun,
            )
        else:
            say(f"  answer one of {choices}")
            continue
        state = run.steps[number - 1]
        say(f"  -> {state['status']}" + (f" ({state['note']})" if state.get("note") else ""))
        if state["status"] == "failed":
            say("  The step failed; fix it and answer again, or skip it.")

    def render() -> None:
        if run.status == "finished":
            say(f"Runbook {rb.name} finished on {run.incident_key}.")
            return
        left = sum(1 for s in run.steps if s["status"] in ("pending", "failed"))
        say(
            f"Stopped with {left} step(s) open; resume with `warroom runbook run "
            f"{rb.name} --incident {run.incident_key}`."
        )

    sh.out(run.to_dict(), render)


def register(app: typer.Typer) -> None:
    app.add_typer(runbook_app, name="runbook")
