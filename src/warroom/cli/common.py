"""What every CLI module shares: options, the database, the actor, output, error mapping.

Area modules (`cli_triage`, `cli_comms`, ...) define commands with these and expose
`register(app)`; `cli.py` registers them all.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from warroom.core.config import current_user, load_settings
from warroom.core.errors import InvalidInput, WarroomError

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


def open_db(url: str | None) -> Database:
    """The database named by --db / WARROOM_DATABASE_URL, migrated if it is new."""
    from warroom.core import migrate
    from warroom.core.db import Database

    database = Database(load_settings(database_url=url).database_url)
    if migrate.pending(database):
        migrate.upgrade(database)
    return database


def actor(explicit: str | None) -> str:
    return current_user(explicit)


def handle_errors(fn: F) -> F:
    """Map WarroomError to a one-line message and its exit code (2 bad input, 1 other)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WarroomError as exc:
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def parse_time(value: str | None, *, field: str = "time") -> datetime | None:
    """ISO-8601 (`2026-11-24T14:03Z`, with an offset, or naive = UTC)."""
    if value is None or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not a time: use ISO-8601 like 2026-11-24T14:03:00Z", field=field
        ) from None
