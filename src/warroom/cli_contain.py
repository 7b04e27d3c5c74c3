"""CLI of the contain area: levers (contain, undo), flags, runbooks, verify, drills."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from warroom import mitigations
from warroom.cli_common import (
    AsOpt,
    DbOpt,
    JsonOpt,
    actor,
    console,
    emit_json,
    handle_errors,
    open_db,
)
from warroom.config import Settings, load_settings

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
    from warroom import flags

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


def register(app: typer.Typer) -> None:
    app.command("contain")(handle_errors(contain_cmd))
    app.command("undo")(handle_errors(undo_cmd))
    app.command("mitigations")(handle_errors(mitigations_cmd))
    app.command("flags")(handle_errors(flags_cmd))
