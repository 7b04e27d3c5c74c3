"""CLI start-up: `warroom --help` and `warroom list` import only what they need.

The entry point answers from the generated manifest (`warroom.cli.commands`) and imports one
command module; these tests keep the manifest true to what the modules register, the help
identical to the full CLI's, and the heavy libraries out of the light paths.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from warroom.cli import commands

HEAVY = ("alembic", "polars", "numpy", "fastapi", "uvicorn", "jinja2", "warroom.web")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def modules_after(argv: list[str], cwd: Path) -> set[str]:
    """The modules loaded once `warroom ARGV` has run (in a fresh interpreter)."""
    code = (
        "import sys, json\n"
        f"sys.argv = ['warroom', *{argv!r}]\n"
        "from warroom.cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    )
    done = run("-c", code, cwd=cwd)
    return set(json.loads(done.stderr.rsplit("MODULES ", 1)[1]))


def test_the_manifest_is_what_the_cli_modules_register() -> None:
    assert commands.collect() == commands.COMMANDS, (
        "the CLI's commands changed: run `python -m warroom.cli.commands` to regenerate "
        "src/warroom/cli/commands.py"
    )


def test_help_from_the_manifest_is_the_full_clis_help(tmp_path: Path) -> None:
    light = run(
        "-c",
        "import sys; sys.argv=['warroom','--help']; from warroom.cli.entry import main; main()",
        cwd=tmp_path,
    )
    full = run(
        "-c",
        "import sys; sys.argv=['warroom','--help']; from warroom.cli.main import main; main()",
        cwd=tmp_path,
    )
    assert light.returncode == full.returncode == 0, light.stderr + full.stderr
    assert "declare" in light.stdout and "serve" in light.stdout
    assert light.stdout == full.stdout
    bare = run(
        "-c",
        "import sys; sys.argv=['warroom']; from warroom.cli.entry import main; main()",
        cwd=tmp_path,
    )
    assert bare.returncode == 2 and "Usage: warroom" in bare.stdout + bare.stderr


def test_help_and_list_leave_the_heavy_libraries_alone(tmp_path: Path) -> None:
    loaded = modules_after(["--help"], tmp_path)
    assert not {m for m in loaded if m.split(".")[0] in ("sqlalchemy",) or m.startswith(HEAVY)}
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgraded = run("-m", "warroom", "db", "upgrade", "--db", url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    loaded = modules_after(["list", "--db", url], tmp_path)
    assert "warroom.cli.incidents" in loaded and "sqlalchemy" in loaded
    assert not {m for m in loaded if m.startswith(HEAVY)}
    assert "warroom.cli.contain" not in loaded  # only the command's own module


def test_a_command_the_manifest_does_not_know_falls_back_to_the_full_cli(tmp_path: Path) -> None:
    done = run(
        "-c",
        "import sys; sys.argv=['warroom','no-such-command']; "
        "from warroom.cli.entry import main; main()",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "No such command" in done.stdout + done.stderr
