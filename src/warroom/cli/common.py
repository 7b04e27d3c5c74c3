"""What every CLI module shares: options, the database, the actor, output, error mapping.

Each area's module (`warroom.cli.<area>`) defines its commands with these and exposes
`register(app)`; `warroom.cli.main` registers every area of the registry. A command takes
the shared options and makes one `Shell` of them:

    def note(key: str, text: str, as_: AsOpt = None, db: DbOpt = None, json_: JsonOpt = False):
        sh = Shell(db, as_, json_)
        seq = incidents.add_note(sh.db, key, text=text, actor=sh.actor)
        sh.out({"seq": seq}, lambda: console.print(f"note #{seq}"))
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from warroom.cli import hints
from warroom.core.config import (
    Settings,
    current_user,
    load_settings,
    prepare_database_dir,
    sqlite_path,
)
from warroom.core.errors import Hint, InvalidInput, InvalidTransition, WarroomError

if TYPE_CHECKING:  # sqlalchemy loads when a command opens the database, not for triage
    from warroom.core.db import Database

console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
AsOpt = Annotated[
    str | None,
    typer.Option("--as", help="Who is acting (default: $WARROOM_USER, then the OS user)."),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (else $WARROOM_DATABASE_URL, else [database] url of the warroom.toml "
        "found from here upward, else the per-user database; `warroom db status` names it).",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def _connect(settings: Settings) -> Database:
    # Lazy on purpose: SQLAlchemy loads only for commands that open the database (triage
    # and --help start without it).
    from warroom.core.db import Database

    return Database(settings.database_url)


def _no_database(settings: Settings, why: str) -> InvalidInput:
    return InvalidInput(
        f"{why} (the database is {settings.database_url}, {settings.database_source}); "
        "a command that only reads never creates one: declare an incident or run a drill "
        "first, or give the right --db",
        field="database_url",
        hint=Hint("declare", "declare an incident"),
    )


def _migrate_if_pending(database: Database) -> None:
    # Lazy on purpose: SQLAlchemy loads only for commands that open the database, and
    # Alembic (a third of a second) only when the schema is behind the code.
    from warroom.core import schema

    if schema.is_current(database):
        return
    from warroom.core import migrate  # lazy: see above

    if migrate.pending(database):
        migrate.upgrade(database)


def read_bytes(path: Path, *, field: str = "file") -> bytes:
    """A file named on the command line, or an error naming it (directory, missing, unreadable)."""
    try:
        if path.is_file():
            return path.read_bytes()
    except OSError:
        pass
    raise InvalidInput(f"{path} is not a readable file", field=field)


def actor(explicit: str | None) -> str:
    return current_user(explicit)


class Shell:
    """One command's `--db`, `--as` and `--json`: its settings, database, actor and output.

    `config` is a command's own `--config` (a warroom.toml other than $WARROOM_CONFIG's).
    """

    def __init__(
        self,
        db: str | None = None,
        as_: str | None = None,
        json_: bool = False,
        *,
        config: str | Path | None = None,
    ):
        self.db_url = db
        self.as_ = as_
        self.json = json_
        self.config = config

    @functools.cached_property
    def settings(self) -> Settings:
        """warroom.toml and the environment, read once, here in the shell."""
        return load_settings(database_url=self.db_url, config_path=self.config)

    @functools.cached_property
    def db(self) -> Database:
        """The database, created if it is new (the per-user one with its directory), migrated
        first if it is behind."""
        database = self.bare_db
        _migrate_if_pending(database)
        return database

    @functools.cached_property
    def read_db(self) -> Database:
        """The database for a command that only reads: never created, migrated if behind.

        A missing SQLite file, or a database without warroom's tables, is an error naming
        the database and how it was found (a silent empty database would say "no incidents"
        while one is open elsewhere)."""
        file = sqlite_path(self.settings.database_url)
        if file is not None and not file.is_file():
            raise _no_database(self.settings, f"no database at {file}")
        database = self.bare_db
        # Lazy on purpose: the schema check without Alembic first (a third of a second of
        # imports); Alembic loads only when the database is empty or behind.
        from warroom.core import schema

        if schema.is_current(database):
            return database
        from warroom.core import migrate  # lazy: see above

        if not migrate.current(database):
            raise _no_database(self.settings, "the database has no warroom tables yet")
        _migrate_if_pending(database)
        return database

    @functools.cached_property
    def bare_db(self) -> Database:
        """The database as it is, not migrated (schema status, upgrade, restore, import); the
        per-user directory is made if it is missing (any other missing directory is an error)."""
        prepare_database_dir(self.settings)
        return _connect(self.settings)

    @property
    def actor(self) -> str:
        return current_user(self.as_)

    def out(self, data: Any, render: Callable[[], None]) -> None:
        """JSON for scripts (--json), else `render()` for people."""
        if self.json:
            emit_json(data)
        else:
            render()


# Exit codes, mapped here once: 2 for input the rules refuse, 1 for everything else.
EXIT_CODES: dict[type[WarroomError], int] = {InvalidInput: 2, InvalidTransition: 2}


def exit_code(exc: WarroomError) -> int:
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def report_error(exc: WarroomError) -> None:
    """`error: MESSAGE`, then the next step as a command when the error carries a hint."""
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.hint is not None:
        err_console.print(
            f"  next: {escape(hints.render(exc.hint))}", highlight=False, soft_wrap=True
        )


def handle_errors(fn: F) -> F:
    """Map WarroomError to its message, its hint as a command, and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WarroomError as exc:
            report_error(exc)
            raise typer.Exit(exit_code(exc)) from None

    return wrapper  # type: ignore[return-value]


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
