"""CLI of an incident's tasks: warroom task add, update, list."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from warroom import incidents
from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, handle_errors

task_app = typer.Typer(help="Tasks of an incident: add, update, list.", no_args_is_help=True)


def print_task(t: incidents.Task, *, status: bool = True, indent: str = "") -> None:
    """`T2 [done] check APM -> eve`."""
    state = f" [{t.status}]" if status else ""
    who = f" -> {t.assignee}" if t.assignee else ""
    console.print(escape(f"{indent}T{t.number}{state} {t.title}{who}"), highlight=False)


@task_app.command("add")
@handle_errors
def task_add(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    title: Annotated[str, typer.Argument(help="What to do, e.g. 'inspect DB logs'.")],
    assignee: Annotated[str | None, typer.Option("--assignee", "-a", help="Who does it.")] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a task to an incident."""
    sh = Shell(db, as_, json_)
    t = incidents.add_task(sh.db, key, title=title, assignee=assignee, actor=sh.actor)
    sh.out(t.to_dict(), lambda: print_task(t, status=False))


@task_app.command("update")
@handle_errors
def task_update(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    number: Annotated[str, typer.Argument(help="Task number, e.g. T2.")],
    status: Annotated[
        str | None, typer.Option(help="open, in_progress, done or cancelled.")
    ] = None,
    assignee: Annotated[str | None, typer.Option("--assignee", "-a")] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a task's status or assignee."""
    sh = Shell(db, as_, json_)
    t = incidents.update_task(sh.db, key, number, status=status, assignee=assignee, actor=sh.actor)
    sh.out(t.to_dict(), lambda: print_task(t))


@task_app.command("list")
@handle_errors
def task_list(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The tasks of an incident."""
    sh = Shell(db, json_=json_)
    inc = incidents.get(sh.read_db, key)

    def render() -> None:
        if not inc.tasks:
            console.print(f"{inc.key} has no tasks (warroom task add {inc.key} 'check APM').")
        for t in inc.tasks:
            print_task(t)

    sh.out([t.to_dict() for t in inc.tasks], render)


def register(main: typer.Typer) -> None:
    main.add_typer(task_app, name="task")
