"""System commands of the `warroom` shell: the database schema and the web server."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from warroom.access import accounts
from warroom.cli import sample
from warroom.cli.common import (
    DbOpt,
    JsonOpt,
    Shell,
    console,
    err_console,
    handle_errors,
)
from warroom.core import migrate, registry, worker
from warroom.core.config import load_settings, sqlite_path
from warroom.core.errors import InvalidInput

app = typer.Typer()
db_app = typer.Typer(help="Database schema: upgrade, status.", no_args_is_help=True)

# --- db / serve ------------------------------------------------------------------------------


@db_app.command("upgrade")
@handle_errors
def db_upgrade(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Migrate the database schema to the newest version."""
    sh = Shell(db, json_=json_)
    heads = migrate.upgrade(sh.bare_db)
    sh.out({"revisions": heads}, lambda: console.print(f"Database is at {', '.join(heads)}."))


@db_app.command("status")
@handle_errors
def db_status(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Name the database and how it was found, its schema revision and what is pending
    (never creates it)."""
    sh = Shell(db, json_=json_)
    settings = sh.settings
    file = sqlite_path(settings.database_url)
    data: dict[str, Any] = {
        "database": _display_url(settings.database_url),
        "found_by": settings.database_source,
        "config": str(settings.config_path) if settings.config_path else None,
        "exists": file.is_file() if file is not None else True,
        "current": [],
        "pending": [],
    }
    if data["exists"]:
        data["current"] = migrate.current(sh.bare_db)
        data["pending"] = migrate.pending(sh.bare_db)

    def render() -> None:
        console.print(f"database: {escape(data['database'])}", highlight=False)
        console.print(f"found by: {escape(data['found_by'])}", highlight=False)
        console.print(f"config:   {escape(data['config'] or 'none')}", highlight=False)
        if not data["exists"]:
            console.print("does not exist yet: the first command that writes creates it")
            return
        console.print(
            f"schema:   {', '.join(data['current']) or 'empty'}; "
            f"pending: {', '.join(data['pending']) or 'none'}",
            highlight=False,
        )

    sh.out(data, render)


def _display_url(url: str) -> str:
    """The URL without its password."""
    head, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        creds, host = rest.split("@", 1)
        user = creds.split(":", 1)[0]
        return f"{head}://{user}:***@{host}" if ":" in creds else url
    return url


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    insecure_bind: Annotated[
        bool,
        typer.Option("--insecure-bind", help="Allow a non-loopback address without accounts."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port (each with its own connection pool; "
            "use PostgreSQL for more than one).",
        ),
    ] = 1,
    db: DbOpt = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="warroom.toml (default: $WARROOM_CONFIG, else found from here up)."
        ),
    ] = None,
) -> None:
    """Run the web desk and REST API (migrates the database first)."""
    # Lazy on purpose: the web stack (FastAPI, Starlette, Jinja, uvicorn: some 260 modules)
    # loads only for `serve`, not for every other command.
    import uvicorn

    from warroom.web.app import create_app

    sh = Shell(db, config=config)
    database = sh.bare_db
    migrate.upgrade(database)
    # Any address once an account exists; without one, loopback only (or --insecure-bind).
    warning = accounts.check_bind(
        host, accounts_exist=accounts.any_accounts(database), insecure_bind=insecure_bind
    )
    if warning:
        err_console.print(f"[bold yellow]warning:[/] {warning}")
    if workers > 1 and database.is_sqlite:
        err_console.print(
            f"[bold yellow]warning:[/] {workers} processes on one SQLite file take turns to "
            "write; PostgreSQL serves several workers and instances better"
        )
    console.print(
        f"warroom desk on http://{host}:{port}/ with {workers} worker process"
        f"{'es' if workers > 1 else ''} (database "
        f"{database.engine.url.render_as_string(hide_password=True)}, "
        f"{sh.settings.database_source})",
        highlight=False,
    )
    if workers == 1:
        app = create_app(sh.settings, database=database, serving=True)
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    # Each worker process imports the app itself and reads these (uvicorn's supervisor
    # restarts one that dies): the same settings as this process.
    database.dispose()
    os.environ["WARROOM_DATABASE_URL"] = sh.settings.database_url
    if sh.settings.config_path is not None:
        os.environ["WARROOM_CONFIG"] = str(sh.settings.config_path.resolve())
    uvicorn.run(
        "warroom.web.app:from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
    )


@app.command("init")
@handle_errors
def init_cmd(
    directory: Annotated[
        Path, typer.Argument(help="Where to write warroom.toml (default: here).")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing warroom.toml.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Write a sample warroom.toml (its own SQLite database, demo levers) and flags.json.

    Every command run in that directory or below then finds it, like git finds .git."""
    written = sample.write_sample(directory, force=force)
    settings = load_settings(config_path=written[0])
    data = {
        "written": [str(p) for p in written],
        "config": str(written[0]),
        "database": settings.database_url,
        "levers": sorted(settings.section("levers")),
    }

    def render() -> None:
        for path in written:
            console.print(f"wrote {escape(str(path))}", highlight=False)
        console.print(
            f"database: {escape(settings.database_url)} (created by the first command that "
            f"writes); levers: {escape(', '.join(data['levers']))}",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            "Next: warroom drill deploy_5xx --out evidence  (a practice incident), or "
            "warroom declare TITLE --severity P2",
            highlight=False,
            soft_wrap=True,
        )

    sh = Shell(json_=json_)
    sh.out(data, render)


@app.command("worker")
@handle_errors
def worker_cmd(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between passes.")] = 30.0,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Run the background jobs: send due reminders, deliver queued notifications (loop, or
    --once)."""
    if interval <= 0:
        raise InvalidInput("--interval must be a positive number of seconds", field="interval")
    sh = Shell(db, json_=json_)
    jobs = registry.active().jobs()
    if once:
        result = worker.run_once(sh.db, sh.settings, jobs)
        d = result.get("delivery", {})
        sh.out(
            result,
            lambda: console.print(
                f"{len(result.get('reminders_sent', []))} reminders queued; {d.get('sent', 0)} "
                f"sent, {d.get('retried', 0)} to retry, {d.get('failed', 0)} failed"
            ),
        )
        return
    console.print(f"warroom worker: every {interval:g}s (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        worker.run_forever(sh.db, sh.settings, jobs, interval=interval)


def register(main: typer.Typer) -> None:
    for command in app.registered_commands:
        main.registered_commands.append(command)
    main.add_typer(db_app, name="db")
