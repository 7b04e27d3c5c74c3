"""docs/cli.md: every command's help, as Markdown, from the commands themselves.

    python -m warroom.cli.reference > docs/cli.md      (make reference)

Read from the click objects typer builds (not from rendered `--help`, whose layout depends on
the terminal), so the page is the same on every machine; tests/test_docs_site.py checks that
the checked-in page is current.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from typing import Any

import typer.main

from warroom.cli.main import app

HEADER = """\
# CLI reference

Generated from the commands themselves by `make reference` (`python -m warroom.cli.reference`);
a test fails when it is out of date. Every command that opens the database takes `--db` (see
[Configuration](configuration.md) for how the database is found when it is not given), and
`--json` prints JSON for scripts. Exit codes: `0` success, `2` bad input (the message names
the field and what to do), `1` anything else.
"""


def _walk(cmd: Any, path: str) -> Iterator[tuple[str, Any]]:
    sub = getattr(cmd, "commands", None)
    if sub:
        if path:
            yield path, cmd
        for name in sorted(sub):
            child = sub[name]
            if not getattr(child, "hidden", False):
                yield from _walk(child, f"{path} {name}".strip())
    else:
        yield path, cmd


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _param_row(param: Any) -> str:
    # typer's own click (typer._click) builds the parameters: told apart by their type name.
    if param.param_type_name == "argument":
        name = f"`{(param.name or '').upper()}`"
        kind = "argument" + ("" if param.required else ", optional")
        text = getattr(param, "help", None) or ""
    else:
        names = [*param.opts, *param.secondary_opts]
        name = ", ".join(f"`{n}`" for n in names)
        kind = "flag" if param.is_flag else "option"
        if param.multiple:
            kind += ", repeatable"
        if param.required:
            kind += ", required"
        text = param.help or ""
        default = param.default
        if not param.is_flag and default not in (None, (), [], "") and not callable(default):
            text += f" (default: `{default}`)"
    return f"| {name} | {kind} | {_cell(text)} |"


def render() -> str:
    """The whole page."""
    root = typer.main.get_command(app)
    parts = [HEADER]
    index = []
    sections = []
    for path, cmd in _walk(root, ""):
        if not path:
            continue
        anchor = "warroom-" + path.replace(" ", "-")  # MkDocs' slug of the heading
        summary = _cell((cmd.help or "").strip().split("\n\n")[0])
        index.append(f"| [`warroom {path}`](#{anchor}) | {summary} |")
        lines = [f"## warroom {path}", ""]
        if cmd.help:
            lines += [inspect.cleandoc(cmd.help).replace("\b\n", ""), ""]
        params = [p for p in cmd.params if p.name != "help" and not getattr(p, "hidden", False)]
        if params and not getattr(cmd, "commands", None):
            lines += ["| name | kind | meaning |", "| --- | --- | --- |"]
            lines += [_param_row(p) for p in params]
            lines.append("")
        sections.append("\n".join(lines))
    parts += ["| command | does |", "| --- | --- |", *index, ""]
    parts += sections
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
