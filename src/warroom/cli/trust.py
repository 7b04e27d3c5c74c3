"""Trust commands: audit, backup (and backup verify), restore, export, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from warroom.cli.common import DbOpt, JsonOpt, Shell, console, err_console, handle_errors
from warroom.core.clock import parse_time
from warroom.core.errors import InvalidInput
from warroom.trust import audit, backup, transfer

FileArg = Annotated[str, typer.Argument(help="Backup or export file.")]


@handle_errors
def audit_cmd(
    key: Annotated[
        str | None, typer.Argument(help="Incident key (INC-7); all incidents when omitted.")
    ] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Verify the hash chain of an incident's timeline and that its row matches the events.

    Exit 1 and name the first broken event when someone edited the database directly.
    """
    sh = Shell(db, json_=json_)
    reports = (
        [audit.audit(sh.read_db, key)] if key else audit.audit_all(sh.read_db, ledger_too=True)
    )
    sh.out([r.to_dict() for r in reports], lambda: _print_audits(reports))
    if not all(r.ok for r in reports):
        raise typer.Exit(1)


def _print_audits(reports: list[audit.Report]) -> None:
    for r in reports:
        if r.ok:
            unit = "entries" if r.key == audit.LEDGER else "events"
            console.print(f"{r.key}: intact ({r.events} {unit})", highlight=False)
            continue
        where = f" at event {r.first_broken_seq}" if r.first_broken_seq else ""
        console.print(f"[bold red]{r.key}: BROKEN{where}[/]", highlight=False)
        for p in r.problems:
            console.print(
                f"  {escape(p.what)}: {escape(p.message)}", highlight=False, soft_wrap=True
            )
    if all(r.key == audit.LEDGER for r in reports):
        console.print("no incidents to audit")


@handle_errors
def backup_cmd(
    file: Annotated[str, typer.Argument(help="File to write, or `verify`.", metavar="FILE")],
    verify_file: Annotated[
        str | None,
        typer.Argument(help="With `verify`: the backup file to check.", metavar="[FILE]"),
    ] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Take a consistent online backup: `warroom backup FILE`; check one: `backup verify FILE`.

    SQLite uses its backup API (a copy of the database file); PostgreSQL writes a
    `warroom export` of every table. `backup verify` restores the file into a temporary
    database and checks row counts, integrity and every incident's hash chain.
    """
    sh = Shell(db, json_=json_)
    if file == "verify":
        if not verify_file:
            raise InvalidInput("give the backup to check: warroom backup verify FILE", field="file")
        _verify(sh, verify_file)
        return
    if verify_file:
        raise InvalidInput(
            f"unexpected argument {verify_file!r}: warroom backup FILE", field="file"
        )
    result = backup.backup(sh.read_db, file)
    rows = sum(result.tables.values())
    sh.out(
        result.to_dict(),
        lambda: console.print(
            f"backup written to {result.path} ({result.kind}, {result.bytes:,} bytes, "
            f"{result.tables.get('incidents', 0)} incidents, {rows} rows); check it with "
            f"`warroom backup verify {result.path}`",
            highlight=False,
        ),
    )


def _verify(sh: Shell, path: str) -> None:
    result = backup.verify(path)

    def render() -> None:
        status = "[green]OK[/]" if result.ok else "[bold red]FAILED[/]"
        console.print(
            f"{status} {escape(path)} ({result.kind}): {result.incidents} incidents, "
            f"{result.tables.get('events', 0)} events, {sum(result.tables.values())} rows "
            "restored into a temporary database",
            highlight=False,
        )
        for problem in result.problems:
            console.print(f"  {escape(problem)}", highlight=False)
        for r in result.audits:
            if not r.ok:
                first = r.problems[0]
                console.print(escape(f"  {r.key}: {first.what}: {first.message}"), highlight=False)

    sh.out(result.to_dict(), render)
    if not result.ok:
        raise typer.Exit(1)


@handle_errors
def restore_cmd(
    file: FileArg,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Rebuild the state as of this moment (ISO-8601) by replaying the timeline.",
        ),
    ] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Restore a backup or export into an empty database (--db), optionally as of --until."""
    when = parse_time(until, field="until")
    sh = Shell(db, json_=json_)
    result = backup.restore(sh.bare_db, file, until=when)

    def render() -> None:
        as_of = f" as of {when.isoformat()}" if when else ""
        console.print(
            f"restored {file}{as_of}: {result.tables.get('incidents', 0)} incidents, "
            f"{result.tables.get('events', 0)} events, {sum(result.tables.values())} rows",
            highlight=False,
        )
        if result.dropped_incidents:
            console.print(
                f"left out, declared after {until}: {', '.join(result.dropped_incidents)}",
                highlight=False,
            )

    sh.out(result.to_dict(), render)


@handle_errors
def export_cmd(
    file: Annotated[str, typer.Argument(help="File to write; `-` for standard output.")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write every table to a JSON-lines file (moves data between SQLite and PostgreSQL)."""
    sh = Shell(db, json_=json_)
    head = transfer.export(sh.read_db, sys.stdout if file == "-" else Path(file))
    if file == "-":
        return
    sh.out(
        head,
        lambda: err_console.print(
            f"exported {sum(head['tables'].values())} rows of {len(head['tables'])} tables "
            f"to {file}",
            highlight=False,
        ),
    )


@handle_errors
def import_cmd(
    file: Annotated[str, typer.Argument(help="A file written by `warroom export`.")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Load an export into an empty database (--db), keeping every id."""
    sh = Shell(db, json_=json_)
    counts = transfer.import_(sh.bare_db, file)
    sh.out(
        {"path": file, "tables": counts},
        lambda: console.print(
            f"imported {sum(counts.values())} rows ({counts.get('incidents', 0)} incidents, "
            f"{counts.get('events', 0)} events) from {file}",
            highlight=False,
        ),
    )


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_cmd)
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
    app.command("export")(export_cmd)
    app.command("import")(import_cmd)
