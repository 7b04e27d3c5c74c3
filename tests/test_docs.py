"""The README documents every command (a test fails when one is added without docs)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from warroom.cli.main import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def command_paths() -> list[str]:
    group = typer.main.get_command(app)
    paths: list[str] = []

    def walk(cmd: object, prefix: str) -> None:
        sub = getattr(cmd, "commands", None)
        if not sub:
            paths.append(prefix)
            return
        for name, child in sub.items():
            if getattr(child, "hidden", False):
                continue
            walk(child, f"{prefix} {name}".strip())

    walk(group, "")
    return sorted(paths)


def test_every_command_is_in_the_readme() -> None:
    missing = [p for p in command_paths() if f"warroom {p}" not in README]
    assert missing == [], f"undocumented commands: {missing}"


def test_readme_has_the_two_setup_commands() -> None:
    assert "make run" in README and "make test" in README
