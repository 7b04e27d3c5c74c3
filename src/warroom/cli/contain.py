"""CLI of the contain area's levers: `warroom contain`, `undo`, `mitigations`, `flags`.

Runbooks, verify and drills have their own modules (`warroom.cli.runbooks`, `.verify`,
`.drills`); the levers come from the warroom.toml of `--config` / $WARROOM_CONFIG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from warroom.cli import hints
from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, handle_errors
from warroom.contain import config, flags, levers, mitigations
from warroom.core.errors import Hint

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", envvar="WARROOM_CONFIG", help="warroom.toml with the levers."),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Run without asking (scripts).")]
DryOpt = Annotated[
    bool, typer.Option("--dry-run", help="Only show what would be done; change nothing.")
]


def confirm(question: str, *, yes: bool, dry_run: bool) -> bool:
    """Ask before acting; without an answer (no terminal) nothing is done."""
    if dry_run:
        return False
    if yes:
        return True
    try:
        return bool(typer.confirm(question, default=False))
    except (typer.Abort, EOFError):
        return False


def say(text: str) -> None:
    """One line of text that came from outside (commands, files, parameters): no markup."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def _print_mitigation(m: mitigations.Mitigation) -> None:
    style = {"applied": "green", "undone": "green"}.get(m.status, "bold red")
    console.print(f"[{style}]{escape(m.id + ' ' + m.summary)}[/]", highlight=False)
    for s in m.steps if m.status in ("applied", "failed") else m.undo_steps:
        what = s.get("action") or s.get("request") or " ".join(s.get("argv", []))
        say(f"  step {s['step']}: {s['status']:8} {what}")
        if s["status"] == "failed":
            err = (s.get("stderr") or s.get("body") or "").strip()
            if err:
                say("    " + err.splitlines()[-1][:300])
    if m.status == "failed":
        say(
            f"State: the steps marked done are in effect. Undo them with "
            f"`warroom undo {m.incident_key} {m.id}`, or fix the failed step and pull the "
            "lever again."
        )


def _list_levers(sh: Shell, key: str, declared: dict[str, levers.Lever]) -> None:
    items = mitigations.suggestions(sh.db, key, levers=declared)

    def render() -> None:
        if not items:
            say(f"No levers declared. Next: {hints.render(Hint('declare_lever', 'declare one'))}")
        for s in items:
            params = " ".join(f"--param {k}={v}" for k, v in s.params.items())
            line = f"{s.lever.name} ({s.lever.kind}) {s.reason}"
            if not s.suggested:
                say(line)
                continue
            run = f"warroom contain {key.upper()} {s.lever.name} {params}"
            console.print(
                f"[bold]suggested[/] {escape(line)}  [dim]{escape(run)}[/]", highlight=False
            )

    sh.out([s.to_dict() for s in items], render)


def contain_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    lever: Annotated[str | None, typer.Argument(help="Lever name (omit to list levers).")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE, repeatable.")
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the levers, suggested ones first.")
    ] = False,
    yes: YesOpt = False,
    dry_run: DryOpt = False,
    config_path: ConfigOpt = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Pull a lever on an incident: shows the plan, asks, runs, records; `warroom undo` reverses.

    Without --yes it asks for confirmation; with no answer (or --dry-run) nothing runs.
    """
    sh = Shell(db, as_, json_, config=config_path)
    declared = levers.load_levers(sh.settings)
    if lever is None or list_:
        _list_levers(sh, key, declared)
        return
    plan = levers.make_plan(
        levers.get_lever(declared, lever, incident=key.upper()), levers.parse_param_args(param)
    )
    if not json_:
        console.print(
            f"[bold]Lever {escape(plan.lever.name)}[/] ({plan.lever.kind}) on {escape(key.upper())}"
            f": {escape(plan.lever.description)}",
            highlight=False,
        )
        for a in plan.actions:
            say(f"  will: {a}")
        for u in plan.undo:
            say(f"  undo: {u}")
    if not confirm("Run it?", yes=yes, dry_run=dry_run):
        sh.out(
            {"dry_run": True, "plan": plan.to_dict()},
            lambda: say("Dry run: nothing was changed (add --yes to run)."),
        )
        return
    m = mitigations.apply(sh.db, key, lever, actor=sh.actor, params=plan.params, levers=declared)
    sh.out(m.to_dict(), lambda: _print_mitigation(m))
    if m.status != "applied":
        raise typer.Exit(1)


def undo_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    action: Annotated[str, typer.Argument(help="Mitigation id, e.g. M1.")],
    yes: YesOpt = False,
    dry_run: DryOpt = False,
    config_path: ConfigOpt = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Reverse a mitigation (the steps that were done, newest first)."""
    sh = Shell(db, as_, json_, config=config_path)
    declared = levers.load_levers(sh.settings)
    m = mitigations.get(sh.db, key, action)
    steps = mitigations.undo_plan(m, declared.get(m.lever))
    if not json_:
        say(f"Undo {m.id} ({m.lever}) on {m.incident_key}:")
        for s in steps:
            say(f"  will: {s}")
    if not confirm("Undo it?", yes=yes, dry_run=dry_run):
        sh.out(
            {"dry_run": True, "undo": steps},
            lambda: say("Dry run: nothing was changed (add --yes to run)."),
        )
        return
    m = mitigations.undo(sh.db, key, action, actor=sh.actor, levers=declared)
    sh.out(m.to_dict(), lambda: _print_mitigation(m))
    if m.status != "undone":
        raise typer.Exit(1)


def mitigations_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The levers pulled on an incident and their state."""
    sh = Shell(db, None, json_)
    items = mitigations.list_for(sh.read_db, key)

    def render() -> None:
        if not items:
            say(f"No mitigations on {key.upper()} yet (warroom contain {key.upper()}).")
        for m in items:
            say(f"{m.id} [{m.status}] {m.summary} by {m.created_by} {m.created_at:%H:%M}")

    sh.out([m.to_dict() for m in items], render)


def flags_cmd(
    file: Annotated[Path | None, typer.Option("--file", help="flagd JSON file.")] = None,
    config_path: ConfigOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Current flag values of the flagd file (flag -> default variant value)."""
    sh = Shell(None, None, json_, config=config_path)
    values = flags.resolved(flags.load(file or config.flag_file(sh.settings)))

    def render() -> None:
        for name, value in values.items():
            say(f"{name} = {value!r}")

    sh.out(values, render)


def register(app: typer.Typer) -> None:
    app.command("contain")(handle_errors(contain_cmd))
    app.command("undo")(handle_errors(undo_cmd))
    app.command("mitigations")(handle_errors(mitigations_cmd))
    app.command("flags")(handle_errors(flags_cmd))
