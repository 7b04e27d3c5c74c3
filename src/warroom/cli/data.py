"""`warroom data ...`: recover the product database's rows with PostgreSQL's own tools.

    warroom data check                       can it be recovered to a point in time?
    warroom data restore --until TIME        a side copy recovered to TIME (never the live one)
    warroom data status                      the side copy: state, port, replayed up to
    warroom data diff TABLE...               rows inserted, updated, deleted since TIME
    warroom data repair TABLE... --out F     a SQL script that puts chosen rows back, to review
    warroom data apply F [--yes]             dry run; with --yes, one transaction, recorded
    warroom data cleanup                     stop and remove the side copy

Where the database, its backups and its WAL archive are comes from the [data] table of
warroom.toml, or from the options. The verbs live in `warroom.recover`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, err_console, handle_errors
from warroom.core.clock import parse_time
from warroom.core.errors import InvalidInput
from warroom.recover import repair, sidestate, verbs
from warroom.recover.apply import rows_text
from warroom.recover.config import DataConfig, from_settings
from warroom.recover.render import diff_text, readiness_text

data_app = typer.Typer(
    help="Recover the product database's data: readiness, side restore to a point in time, "
    "damage diff, reviewed repair.",
    no_args_is_help=True,
)

DsnOpt = Annotated[
    str | None,
    typer.Option(
        "--dsn",
        envvar="WARROOM_DATA_DSN",
        help="The live product database (libpq URL or key=value); default [data] dsn.",
    ),
]
BackupDirOpt = Annotated[
    Path | None, typer.Option("--backup-dir", help="pg_basebackup outputs; default [data].")
]
ArchiveOpt = Annotated[
    Path | None, typer.Option("--wal-archive", help="The WAL archive directory; default [data].")
]
SideDirOpt = Annotated[
    Path | None,
    typer.Option("--side-dir", help="Where the side copy lives; default [data] side_dir."),
]
BinDirOpt = Annotated[
    Path | None, typer.Option("--bin-dir", help="PostgreSQL's programs (pg_ctl, postgres).")
]
RunAsOpt = Annotated[
    str | None,
    typer.Option("--run-as", help="OS user the side server runs as (root: default postgres)."),
]
IncidentOpt = Annotated[
    str | None, typer.Option("--incident", "-i", help="Record this on the incident (INC-n).")
]
TablesArg = Annotated[list[str], typer.Argument(help="Tables to compare (schema.name or name).")]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since", help="Only inserted/updated rows whose timestamp column is at or after this."
    ),
]
TimeColumnOpt = Annotated[
    str | None,
    typer.Option("--time-column", help="The timestamp column for --since (default: found)."),
]


def _config(
    sh: Shell,
    *,
    dsn: str | None = None,
    backup_dir: Path | None = None,
    wal_archive: Path | None = None,
    side_dir: Path | None = None,
    bin_dir: Path | None = None,
    run_as: str | None = None,
    backup_label: str | None = None,
) -> DataConfig:
    return from_settings(sh.settings).with_options(
        dsn=dsn,
        backup_dir=backup_dir,
        wal_archive=wal_archive,
        side_dir=side_dir,
        bin_dir=bin_dir,
        run_as=run_as,
        backup_label=backup_label,
    )


def _db(sh: Shell, incident: str | None) -> Any:
    """warroom's own database, opened only when something is recorded on an incident."""
    return sh.db if incident else None


def say(text: str, *, style: str | None = None) -> None:
    console.print(text, style=style, highlight=False, markup=False, soft_wrap=True)


@data_app.command("check")
@handle_errors
def check_cmd(
    dsn: DsnOpt = None,
    backup_dir: BackupDirOpt = None,
    wal_archive: ArchiveOpt = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Only base backups whose label matches.")
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify-backup", help="Also run pg_verifybackup on the last one.")
    ] = False,
    bin_dir: BinDirOpt = None,
    run_as: RunAsOpt = None,
    incident: IncidentOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Can the product database be recovered to a point in time? Findings, each with a fix.

    Exit 1 when it cannot (a finding `fail`).
    """
    sh = Shell(db, as_, json_)
    cfg = _config(
        sh,
        dsn=dsn,
        backup_dir=backup_dir,
        wal_archive=wal_archive,
        bin_dir=bin_dir,
        run_as=run_as,
        backup_label=label,
    )
    report = verbs.check_readiness(
        _db(sh, incident), cfg, incident=incident, actor=sh.actor, verify_backup=verify
    )
    style = {"ready": "bold green", "at risk": "bold yellow"}.get(report.verdict, "bold red")
    sh.out(report.to_dict(), lambda: say(readiness_text(report).rstrip(), style=style))
    if report.verdict == "not recoverable":
        raise typer.Exit(1)


class RestoreBar:
    """`RestoreProgress` for a person: steps as lines, the replay as a bar on stderr."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def step(self, text: str) -> None:
        err_console.print(escape(text), highlight=False)

    def replay(self, fraction: float, text: str) -> None:
        if not sys.stderr.isatty():
            return
        if self._bar is None:
            self._bar = Progress(
                "replaying WAL",
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%  {task.description}"),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(text, total=1.0)
        assert self._task is not None
        self._bar.update(self._task, completed=fraction, description=text)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


@data_app.command("restore")
@handle_errors
def restore_cmd(
    until: Annotated[
        str, typer.Option("--until", help="Recover to just before this time (ISO-8601).")
    ],
    backup: Annotated[
        Path | None, typer.Option("--backup", help="This base backup (default: newest before).")
    ] = None,
    promote: Annotated[
        bool, typer.Option("--promote", help="Promote at the target (writable) instead of pause.")
    ] = False,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: a free one).")] = None,
    dsn: DsnOpt = None,
    backup_dir: BackupDirOpt = None,
    wal_archive: ArchiveOpt = None,
    side_dir: SideDirOpt = None,
    bin_dir: BinDirOpt = None,
    run_as: RunAsOpt = None,
    incident: IncidentOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Start a side copy of the product database recovered to --until; the live one is untouched.

    The newest base backup that finished before --until is copied into the side directory
    and PostgreSQL replays the WAL archive up to --until (recovery_target_time), then
    pauses (read-only) or, with --promote, opens for writes.
    """
    when = parse_time(until, field="until")
    assert when is not None
    sh = Shell(db, as_, json_)
    cfg = _config(
        sh,
        dsn=dsn,
        backup_dir=backup_dir,
        wal_archive=wal_archive,
        side_dir=side_dir,
        bin_dir=bin_dir,
        run_as=run_as,
    )
    bar = RestoreBar()
    try:
        server = verbs.restore_side(
            _db(sh, incident),
            cfg,
            until=when,
            incident=incident,
            actor=sh.actor,
            backup=backup,
            action="promote" if promote else "pause",
            port=port,
            progress=bar,
        )
    finally:
        bar.stop()

    def render() -> None:
        say(f"side copy recovered to {server.until} ({server.state})", style="bold green")
        if server.stopped_at:
            say(f"  recovery stopped {server.stopped_at}")
        say(f"  base backup: {server.backup.get('label')} at {server.backup.get('path')}")
        say(f'  connect: psql "host={server.side_dir} port={server.port} dbname=..."')
        say("  next: warroom data diff TABLE...   then: warroom data cleanup")

    sh.out(server.to_dict(), render)


@data_app.command("status")
@handle_errors
def status_cmd(side_dir: SideDirOpt = None, db: DbOpt = None, json_: JsonOpt = False) -> None:
    """The side copy: state, port, recovery target, replayed up to."""
    sh = Shell(db, json_=json_)
    server = sidestate.status(_config(sh, side_dir=side_dir))
    if server is None:
        sh.out({"side_server": None}, lambda: say("no side server"))
        return

    def render() -> None:
        running = "running" if server.running else "not running"
        say(f"side server in {server.side_dir}: {server.state}, {running}, port {server.port}")
        say(f"  target {server.until}; replayed to {server.recovered_to or '-'}")
        for note in server.notes:
            say(f"  {note}")

    sh.out(server.to_dict(), render)


@data_app.command("diff")
@handle_errors
def diff_cmd(
    tables: TablesArg,
    since: SinceOpt = None,
    time_column: TimeColumnOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="Rows shown per table.")] = 50,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the whole report as JSON here.")
    ] = None,
    dsn: DsnOpt = None,
    side_dir: SideDirOpt = None,
    incident: IncidentOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Rows inserted, updated and deleted on live since the side copy's recovery point."""
    sh = Shell(db, as_, json_)
    report = verbs.diff_tables(
        _db(sh, incident),
        _config(sh, dsn=dsn, side_dir=side_dir),
        list(tables),
        since=parse_time(since, field="since"),
        time_column=time_column,
        incident=incident,
        actor=sh.actor,
        settings=sh.settings,
    )
    if out is not None:
        out.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    sh.out(report.to_dict(), lambda: say(diff_text(report, limit=limit).rstrip()))


@data_app.command("repair")
@handle_errors
def repair_cmd(
    tables: TablesArg,
    out: Annotated[Path, typer.Option("--out", help="Where to write the SQL script.")],
    include: Annotated[
        list[str] | None,
        typer.Option("--include", help="Kinds to restore: deleted,updated (default), inserted."),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="Only this row: [TABLE:]KEY (composite: a,b). Repeatable."),
    ] = None,
    since: SinceOpt = None,
    time_column: TimeColumnOpt = None,
    dsn: DsnOpt = None,
    side_dir: SideDirOpt = None,
    incident: IncidentOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write a SQL script that puts the chosen rows back as they were, for a person to review.

    Nothing is applied: review the script, then `warroom data apply FILE`.
    """
    sh = Shell(db, as_, json_)
    kinds = repair.parse_include(include)
    report = verbs.diff_tables(
        None,
        _config(sh, dsn=dsn, side_dir=side_dir),
        list(tables),
        since=parse_time(since, field="since"),
        time_column=time_column,
        actor=sh.actor,
    )
    chosen = repair.select(report, include=kinds, keys=key)
    text = repair.script(chosen, author=sh.actor, incident=incident)
    out.write_text(text)
    total = {k: n for k, n in chosen.total.items() if n}
    then = f" --incident {incident}" if incident else " --incident INC-N"

    def render() -> None:
        rows = ", ".join(f"{n} {k}" for k, n in total.items())
        say(f"wrote {out}: {rows} rows to restore", style="bold")
        say(f"  review it, then dry-run it: warroom data apply {out}{then}")

    sh.out({"path": str(out), "rows": total, "summary": chosen.summary()}, render)


@data_app.command("apply")
@handle_errors
def apply_cmd(
    file: Annotated[Path, typer.Argument(help="A repair script (reviewed).")],
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Apply for real (after a passing dry run on the incident)."),
    ] = False,
    dsn: DsnOpt = None,
    incident: IncidentOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Dry-run a repair script (rolled back, counts shown); with --yes, run it in one transaction.

    --yes needs --incident and a passing dry run of the same script recorded on it; it
    commits only when every statement touched the rows it expects. Exit 1 otherwise.
    """
    if not file.is_file():
        raise InvalidInput(f"there is no file {file}", field="file")
    sh = Shell(db, as_, json_)
    result = verbs.apply_repair(
        _db(sh, incident),
        _config(sh, dsn=dsn),
        file.read_text(),
        name=str(file),
        yes=yes,
        incident=incident,
        actor=sh.actor,
        settings=sh.settings,
    )

    def render() -> None:
        for table, per in result.rows.items():
            say(f"  {table}: {rows_text(per)}")
        for s in result.mismatches:
            said = f"  line {s.line}: {s.verb} touched {s.rows} rows, expected {s.expect}"
            say(said, style="red")
        if result.error:
            say(f"  line {result.error_line}: {result.error}", style="red")
        if result.committed:
            say(f"applied and committed ({result.sha256[:12]})", style="bold green")
        elif not result.ok:
            say("refused: nothing was changed", style="bold red")
        else:
            say("dry run passed and was rolled back: nothing was changed", style="bold")
            if not yes:
                inc = incident or "INC-N"
                say(f"  to apply: warroom data apply {file} --yes --incident {inc}")

    sh.out(result.to_dict(), render)
    if not result.ok:
        raise typer.Exit(1)


@data_app.command("cleanup")
@handle_errors
def cleanup_cmd(
    side_dir: SideDirOpt = None,
    incident: IncidentOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Stop the side copy and remove its directory."""
    sh = Shell(db, as_, json_)
    done = verbs.cleanup_side(
        _db(sh, incident), _config(sh, side_dir=side_dir), incident=incident, actor=sh.actor
    )
    sh.out(done, lambda: say(f"side server in {done['side_dir']} stopped and removed"))


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
