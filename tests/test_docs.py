"""The docs name every command and every make target (a test fails when one is added
without docs)."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from warroom.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


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
    """In the README, or on the docs page of its capability (docs/*.md)."""
    pages = README + "".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    missing = [p for p in command_paths() if f"warroom {p}" not in pages]
    assert missing == [], f"undocumented commands: {missing}"


def test_readme_has_the_two_setup_commands() -> None:
    assert "make run" in README and "make test" in README


def make_targets() -> list[str]:
    """The targets the Makefile declares .PHONY: the commands people type."""
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert phony is not None
    return phony.group(1).split()


def test_every_make_target_is_in_the_development_page() -> None:
    page = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    missing = [t for t in make_targets() if not re.search(rf"^make {t}\b", page, re.MULTILINE)]
    assert missing == [], f"make targets missing from docs/development.md: {missing}"
