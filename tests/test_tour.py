"""The README's tour runs as written: its code block, step by step, in an empty directory, with
the virtualenv's `warroom` on PATH and nothing of this machine's warroom settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tour_steps() -> list[str]:
    """The commands of the README's tour block, a backslash-continued command as one step."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A five-minute tour", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the tour has no sh block"
    steps: list[str] = []
    current = ""
    for line in block.group(1).splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line + "\n"
        if not line.rstrip().endswith("\\"):
            steps.append(current)
            current = ""
    assert not current
    return steps


def test_the_tour_block_is_whole() -> None:
    steps = tour_steps()
    assert steps[0].startswith("mkdir warroom-tour && cd warroom-tour")
    joined = "".join(steps)
    for needed in (
        "warroom init",
        "warroom contain INC-1 checkout-v2-off --yes",
        "warroom drills INC-1 --after-fix",
        "warroom verify INC-1",
        "warroom stage INC-1 verified",
        "warroom stage INC-1 closed",
    ):
        assert needed in joined


@pytest.mark.slow
def test_the_readme_tour_runs_verbatim(tmp_path: Path) -> None:
    steps = tour_steps()
    # One bash script: each step as written (its own lines, so a trailing comment stays a
    # comment), then a check that stops at the first failing step and names it.
    script = ["set -u"]
    for i, step in enumerate(steps, start=1):
        script.append(step.rstrip("\n"))
        script.append(
            f'rc=$?; if [ $rc -ne 0 ]; then echo "TOUR STEP {i} FAILED (exit $rc)" >&2; '
            f'exit 1; fi; echo "TOUR STEP {i} OK"'
        )
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WARROOM_") and k not in ("XDG_DATA_HOME", "XDG_CONFIG_HOME")
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)
    env["COLUMNS"] = "120"
    res = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    ok = re.findall(r"TOUR STEP (\d+) OK", res.stdout)
    assert [int(n) for n in ok] == list(range(1, len(steps) + 1)), out[-3000:]
    # What the tour promises happened, read back from its own database.
    tour = tmp_path / "warroom-tour"
    assert (tour / "warroom.db").is_file() and not (home / ".local").exists()
    assert "recovered:" in res.stdout and "INC-1 is now closed" in res.stdout
    assert "INC-1: intact" in res.stdout
    shown = subprocess.run(
        ["warroom", "show", "INC-1", "--json"],
        cwd=tour,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    incident = json.loads(shown.stdout)
    assert incident["stage"] == "closed" and incident["drill"] is True
    flags = json.loads((tour / "flags.json").read_text())
    assert flags["flags"]["new-checkout"]["defaultVariant"] == "off"
