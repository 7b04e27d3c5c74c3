"""Command levers: one or more commands, each with its undo, run without a shell.

    [levers.rollback]
    kind = "command"
    params = { version = { required = true, help = "release to go back to" } }
    state = "cat deployed-version"           # run before and after; {before} in undo
    timeout = 120                            # seconds, per step
    steps = [
      { run = "deploy --version {version}", undo = "deploy --version {before}" },
      { run = "smoke-test", undo = "" },     # "" = nothing to reverse
    ]

A step that fails stops the lever: the steps before it stay done (and are reported so), the
ones after it are not run. A step past its timeout is killed with its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Self

import httpx

from warroom.contain.levers.base import Lever, Outcome, Recorded, config_error, fill, tail

Command = str | list[str]


@dataclass(frozen=True)
class Step:
    run: Command
    undo: Command | None  # None: nothing to reverse
    shell: bool = False


def _command(lever: str, value: Any, where: str) -> Command:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise config_error(lever, f"{where} must be a command string or a list of arguments")


def argv(command: Command, values: dict[str, str], *, shell: bool = False) -> list[str]:
    """The argument vector for a command template: parameters fill whole arguments (never
    split by spaces, never interpreted by a shell unless the step asks for one, then quoted)."""
    if shell:
        text = command if isinstance(command, str) else shlex.join(command)
        return ["/bin/sh", "-c", fill(text, values, quote=True)]
    tokens = shlex.split(command) if isinstance(command, str) else list(command)
    return [fill(t, values) for t in tokens]


def run_command(args: list[str], *, timeout: float, cwd: str = ".") -> dict[str, Any]:
    """Run one command without a shell, with a timeout; kill its process group on timeout."""
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as exc:
        return {
            "argv": args,
            "status": "failed",
            "rc": None,
            "stdout": "",
            "stderr": f"could not start: {exc}",
            "seconds": 0.0,
        }
    try:
        out, err = proc.communicate(timeout=timeout)
        status = "done" if proc.returncode == 0 else "failed"
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        status, rc = "failed", None
        err = (err or "") + f"\nkilled after the {timeout:g}s timeout"
    return {
        "argv": args,
        "status": status,
        "rc": rc,
        "stdout": tail(out or ""),
        "stderr": tail(err or ""),
        "seconds": round(time.monotonic() - started, 3),
    }


@dataclass(frozen=True, kw_only=True)
class CommandLever(Lever):
    """Run commands in order; record the state command's output before and after."""

    kind = "command"

    steps: tuple[Step, ...]
    state_cmd: Command | None = None

    @classmethod
    def from_table(cls, raw: dict[str, Any], *, flag_file: str | None, **common: Any) -> Self:
        name = common["name"]
        raw_steps = raw.get("steps")
        if raw_steps is None and "run" in raw:
            raw_steps = [{"run": raw["run"], "undo": raw.get("undo"), "shell": raw.get("shell")}]
            if "undo" not in raw:
                raw_steps[0].pop("undo")
        if not raw_steps or not isinstance(raw_steps, list):
            raise config_error(
                name, 'a command lever needs run = "..." or steps = [{run, undo}, ...]'
            )
        steps = []
        for i, s in enumerate(raw_steps, 1):
            if not isinstance(s, dict) or "run" not in s:
                raise config_error(name, f'step {i} needs run = "..."')
            if "undo" not in s:
                raise config_error(
                    name,
                    f'step {i} has no undo: give undo = "..." (or undo = "" when there is '
                    "nothing to reverse, e.g. a restart)",
                )
            undo_value = s["undo"]
            steps.append(
                Step(
                    run=_command(name, s["run"], f"step {i} run"),
                    undo=_command(name, undo_value, f"step {i} undo") if undo_value else None,
                    shell=bool(s.get("shell", False)),
                )
            )
        state_cmd = raw.get("state")
        return cls(
            **common,
            steps=tuple(steps),
            state_cmd=_command(name, state_cmd, "state") if state_cmd else None,
        )

    def dry_run(self, values: dict[str, str]) -> tuple[list[str], list[str]]:
        actions: list[str] = []
        undo: list[str] = []
        values_b = {**values, "before": "<state before>"}
        if self.state_cmd:
            actions.append(f"record state: {shlex.join(argv(self.state_cmd, values))}")
        for i, s in enumerate(self.steps, 1):
            actions.append(
                f"step {i}: {shlex.join(argv(s.run, values, shell=s.shell))} "
                f"(timeout {self.timeout:g}s)"
            )
            if s.undo:
                undo.insert(
                    0, f"undo step {i}: {shlex.join(argv(s.undo, values_b, shell=s.shell))}"
                )
            else:
                undo.insert(0, f"step {i}: nothing to reverse")
        return actions, undo

    def _state(self, values: dict[str, str]) -> dict[str, Any]:
        if not self.state_cmd:
            return {}
        res = run_command(argv(self.state_cmd, values), timeout=self.timeout, cwd=self.base_dir)
        return {"state": res["stdout"].strip(), "state_status": res["status"]}

    def _run(self, numbered: list[tuple[int, list[str]]]) -> list[dict[str, Any]]:
        """Run the commands in order; after a failure the rest are `not_run`."""
        results: list[dict[str, Any]] = []
        failed = False
        for number, args in numbered:
            if failed:
                results.append({"step": number, "argv": args, "status": "not_run"})
                continue
            res = run_command(args, timeout=self.timeout, cwd=self.base_dir)
            results.append({"step": number, **res})
            failed = res["status"] != "done"
        return results

    def apply(self, values: dict[str, str], *, transport: httpx.BaseTransport | None) -> Outcome:
        before = self._state(values)
        steps = self._run(
            [(i, argv(s.run, values, shell=s.shell)) for i, s in enumerate(self.steps, 1)]
        )
        return Outcome(before=before, after=self._state(values), steps=steps)

    def _undos(self, record: Recorded) -> list[tuple[int, list[str]]]:
        """The undo commands of the steps that were done, newest first."""
        values = record.values()
        out = []
        for s in reversed(record.steps):
            step = self.steps[s["step"] - 1]
            if s["status"] == "done" and step.undo:
                out.append((int(s["step"]), argv(step.undo, values, shell=step.shell)))
        return out

    def undo_plan(self, record: Recorded) -> list[str]:
        return [f"undo step {n}: {shlex.join(args)}" for n, args in self._undos(record)] or [
            "nothing to reverse"
        ]

    def undo(self, record: Recorded, *, transport: httpx.BaseTransport | None) -> Outcome:
        return Outcome(steps=self._run(self._undos(record)))
