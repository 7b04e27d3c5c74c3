"""The `warroom` command: each command imports only the module that defines it.

Importing the whole CLI (SQLAlchemy, Alembic, the analytics stack, every area) costs most of
a second before anything happens; `warroom --help` and `warroom list` should answer at once,
and triage (and `slo check`) run during an outage on big files, often where nothing else of
warroom is needed.
So:

- `warroom` / `warroom --help`: the command list from `warroom.cli.commands` (generated,
  checked by tests/test_startup.py), without importing any command module;
- `warroom NAME ...` for a NAME there: a Typer app with only NAME's module registered;
- anything else (a misspelling, a command the manifest does not know yet): the full CLI,
  which answers as it always did.

After adding or renaming a command: `python -m warroom.cli.commands` rewrites the manifest.
"""

from __future__ import annotations

import sys

from warroom.cli.commands import COMMANDS, HELP

LIGHT_COMMANDS = frozenset({"triage", "logs"})


def main() -> None:
    args = sys.argv[1:]
    first = args[0] if args else None
    if first in LIGHT_COMMANDS:
        # lazy: triage must not pay for any other module's imports
        from warroom.cli.triage import main as light_main

        light_main()
        return
    if first == "slo":
        # lazy: `slo check` reads big logs like triage, without the database or web stack
        from warroom.cli.slo import main as slo_main

        slo_main()
        return
    if first is None or first == "--help":
        _help(code=2 if first is None else 0)
        return
    if first in COMMANDS:
        _one(COMMANDS[first][0])
        return
    from warroom.cli.main import main as full_main  # lazy: the whole CLI, as a fallback

    full_main()


def _app() -> object:
    # lazy: typer and rich (~0.1 s) load only for a command, not for the manifest's tests
    import typer

    app = typer.Typer(
        name="warroom",
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _group() -> None:
        """(A group, even with one command: the command's name is the first argument.)"""

    return app


def _one(module_name: str) -> None:
    """Run the command line with only `module_name`'s commands registered."""
    import importlib  # lazy: only this path imports a module by name

    app = _app()
    module = importlib.import_module(module_name)
    module.register(app)
    app()  # type: ignore[operator]


def _help(*, code: int) -> None:
    """The top-level help, in Typer's layout, from the manifest."""
    import typer.main  # lazy: as in `_app`
    from typer.core import TyperCommand  # lazy: as in `_app`

    group = typer.main.get_group(_app())  # type: ignore[arg-type]
    for name, (_module, short) in COMMANDS.items():
        group.add_command(TyperCommand(name, help=short))
    ctx = group.make_context("warroom", ["--help"] if code == 0 else [], resilient_parsing=True)
    sys.stdout.write(group.get_help(ctx) + "\n")
    sys.exit(code)
