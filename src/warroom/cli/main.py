"""The `warroom` command, built from the area registry.

Each area's CLI module (`warroom.cli.<area>`) defines its commands and a `register(app)`;
`warroom.areas` lists them. Commands parse their arguments, call one domain verb and print
the result with rich (or JSON with --json). Errors exit 2 for bad input and 1 otherwise.
"""

from __future__ import annotations

import typer

from warroom.cli import system
from warroom.core import registry

app = typer.Typer(
    name="warroom",
    help="Incident response from detection to handover: declare, triage, contain, verify, "
    "learn. Works offline on SQLite; PostgreSQL for several instances.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def build(target: typer.Typer) -> typer.Typer:
    """Add every registered area's commands, then the system commands, to `target`."""
    for module in registry.active().cli_modules():
        module.register(target)
    system.register(target)
    return target


build(app)


def main() -> None:
    app()
