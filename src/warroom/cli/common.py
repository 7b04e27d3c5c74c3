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
from warroom.core.config import Settings, current_user, load_settings
from warroom.core.errors import InvalidInput, InvalidTransition, WarroomError

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
        envvar="WARROOM_DATABASE_URL",
        help="Database URL (default sqlite:///./warroom.db).",
        show_envvar=True,
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def _connect(settings: Settings) -> Database:
    # Lazy on purpose: SQLAlchemy loads only for commands that open the database (triage
    # and --help start without it).
    from warroom.core.db import Database

    return Database(settings.database_url)


def _migrate_if_pending(database: Database) -> None:
    # Lazy on purpose: SQLAlchemy loads only for commands that open the database, and
    # Alembic (a third of a second) only when the schema is behind the code.
    from warroom.core import schema

    if schema.is_current(database):
        return
    from warroom.core import migrate  # lazy: see above

    if migrate.pending(database):
        migrate.upgrade(database)


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
        """The database, migrated first if it is new or behind."""
        database = self.bare_db
        _migrate_if_pending(database)
        return database

    @functools.cached_property
    def bare_db(self) -> Database:
        """The database as it is, not migrated (schema status, upgrade, restore, import)."""
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
