"""Mitigations: typed, reversible levers that stop the bleeding, each recorded and undoable.

Levers are declared in warroom.toml, one table each under `[levers]`::

    [contain]
    flag_file = "flags.json"                 # flagd JSON file the application reads

    [levers.checkout-v2-off]
    kind = "flag"
    description = "Serve the old checkout"
    flag = "new-checkout"
    variant = "off"                          # and/or state = "DISABLED"

    [levers.rollback]
    kind = "command"
    description = "Roll back the release"
    params = { version = { required = true, help = "release to go back to" } }
    state = "cat deployed-version"           # run before and after; {before} in undo
    timeout = 120
    suggest_on = ["deploy"]                  # offered first when triage suspects a deploy
    suspect_param = "version"
    steps = [
      { run = "deploy --version {version}", undo = "deploy --version {before}" },
      { run = "smoke-test", undo = "" },     # "" = nothing to reverse
    ]

    [levers.rate-limit]
    kind = "http"
    request = { method = "PUT", url = "http://admin:9000/limits/{route}", body = { rps = 50 } }
    undo = { method = "DELETE", url = "http://admin:9000/limits/{route}" }

    plan = plan(settings, "rollback", params={"version": "v41"})   # what it will do
    m = apply(db, "INC-1", "rollback", actor="ana", params={"version": "v41"})
    undo(db, "INC-1", "M1", actor="ana")

Nothing moves half-way unreported: a multi-step lever that fails at step k records steps
1..k-1 done (and not undone), step k failed and the rest not run, as `mitigation.failed`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from warroom import incidents
from warroom.contain import flags
from warroom.contain.tables import mitigations
from warroom.core.clock import utcnow
from warroom.core.config import Settings, load_settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound, WarroomError
from warroom.incidents import timeline

KINDS = ("flag", "command", "http")
DEFAULT_TIMEOUT = 60.0
OUTPUT_TAIL = 4000
DEFAULT_PATTERN = r"[A-Za-z0-9_/][A-Za-z0-9._:/@+=,~-]*"
_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

APPLIED = "mitigation.applied"
FAILED = "mitigation.failed"
UNDONE = "mitigation.undone"
UNDO_FAILED = "mitigation.undo_failed"


# --- levers (configuration) -----------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    default: str | None = None
    required: bool = False
    pattern: str = DEFAULT_PATTERN
    help: str = ""


@dataclass(frozen=True)
class Step:
    run: str | list[str]
    undo: str | list[str] | None  # None: nothing to reverse
    shell: bool = False


@dataclass(frozen=True)
class Lever:
    name: str
    kind: str
    description: str = ""
    params: dict[str, Param] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    suggest_on: tuple[str, ...] = ()
    suspect_param: str | None = None
    base_dir: str = "."
    # flag
    flag_file: str | None = None
    flag: str | None = None
    variant: str | None = None
    state: str | None = None
    # command
    steps: tuple[Step, ...] = ()
    state_cmd: str | list[str] | None = None
    # http
    request: dict[str, Any] | None = None
    undo_request: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "params": {
                p.name: {"default": p.default, "required": p.required, "help": p.help}
                for p in self.params.values()
            },
            "timeout": self.timeout,
            "suggest_on": list(self.suggest_on),
        }


def _bad(lever: str, what: str) -> InvalidInput:
    return InvalidInput(f"warroom.toml [levers.{lever}]: {what}", field="levers")


def _command(lever: str, value: Any, where: str) -> str | list[str]:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise _bad(lever, f"{where} must be a command string or a list of arguments")


def parse_lever(
    name: str, raw: dict[str, Any], *, base_dir: str = ".", flag_file: str | None = None
) -> Lever:
    """One lever from its TOML table, checked; errors name the lever and the key."""
    if not isinstance(raw, dict):
        raise _bad(name, "must be a table")
    kind = str(raw.get("kind", "")).strip()
    if kind not in KINDS:
        raise _bad(name, f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    params: dict[str, Param] = {}
    for pname, spec in (raw.get("params") or {}).items():
        if isinstance(spec, dict):
            default = spec.get("default")
            params[pname] = Param(
                pname,
                default=None if default is None else str(default),
                required=bool(spec.get("required", default is None)),
                pattern=str(spec.get("pattern", DEFAULT_PATTERN)),
                help=str(spec.get("help", "")),
            )
        else:
            params[pname] = Param(pname, default=str(spec))
    try:
        timeout = float(raw.get("timeout", DEFAULT_TIMEOUT))
    except (TypeError, ValueError):
        raise _bad(name, "timeout must be a number of seconds") from None
    common: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "description": str(raw.get("description", "")),
        "params": params,
        "timeout": timeout,
        "suggest_on": tuple(str(s).lower() for s in raw.get("suggest_on", ())),
        "suspect_param": raw.get("suspect_param"),
        "base_dir": base_dir,
    }
    if kind == "flag":
        if not raw.get("flag"):
            raise _bad(name, 'a flag lever needs flag = "NAME"')
        if raw.get("variant") is None and raw.get("state") is None:
            raise _bad(name, 'a flag lever needs variant = "off" or state = "DISABLED"')
        return Lever(
            **common,
            flag_file=str(raw.get("file") or flag_file or "flags.json"),
            flag=str(raw["flag"]),
            variant=None if raw.get("variant") is None else str(raw["variant"]),
            state=None if raw.get("state") is None else str(raw["state"]),
        )
    if kind == "command":
        raw_steps = raw.get("steps")
        if raw_steps is None and "run" in raw:
            raw_steps = [{"run": raw["run"], "undo": raw.get("undo"), "shell": raw.get("shell")}]
            if "undo" not in raw:
                raw_steps[0].pop("undo")
        if not raw_steps or not isinstance(raw_steps, list):
            raise _bad(name, 'a command lever needs run = "..." or steps = [{run, undo}, ...]')
        steps = []
        for i, s in enumerate(raw_steps, 1):
            if not isinstance(s, dict) or "run" not in s:
                raise _bad(name, f'step {i} needs run = "..."')
            if "undo" not in s:
                raise _bad(
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
        return Lever(
            **common,
            steps=tuple(steps),
            state_cmd=_command(name, state_cmd, "state") if state_cmd else None,
        )
    req = raw.get("request")
    if not isinstance(req, dict) or not req.get("url"):
        raise _bad(name, 'an http lever needs request = { method = "POST", url = "..." }')
    undo_req = raw.get("undo")
    if undo_req is None:
        raise _bad(
            name,
            "an http lever needs undo = { method = ..., url = ... } (or undo = {} "
            "when there is nothing to reverse)",
        )
    return Lever(**common, request=dict(req), undo_request=dict(undo_req) or None)


def load_levers(settings: Settings | None = None) -> dict[str, Lever]:
    """Every lever declared in warroom.toml, by name."""
    settings = settings or load_settings()
    base = str(settings.config_path.parent) if settings.config_path else "."
    contain = settings.section("contain")
    flag_file = contain.get("flag_file")
    return {
        name: parse_lever(name, raw, base_dir=base, flag_file=flag_file)
        for name, raw in settings.section("levers").items()
    }


def get_lever(levers: dict[str, Lever], name: str) -> Lever:
    if name not in levers:
        known = ", ".join(sorted(levers)) or "none are declared (add [levers.NAME] tables to "
        raise NotFound(
            f"no lever {name!r}: levers are {known}"
            + ("warroom.toml)" if not levers else " (warroom levers lists them)")
        )
    return levers[name]


# --- parameters -----------------------------------------------------------------------------


def resolve_params(lever: Lever, given: dict[str, str] | None) -> dict[str, str]:
    """Declared params with defaults filled; unknown, missing or unsafe values are refused."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(lever.params))
    if unknown:
        known = ", ".join(sorted(lever.params)) or "none"
        raise InvalidInput(
            f"lever {lever.name} has no parameter {', '.join(unknown)} (parameters: {known})",
            field="param",
        )
    out: dict[str, str] = {}
    for p in lever.params.values():
        value = given.get(p.name, p.default)
        if value is None or (p.required and value == ""):
            raise InvalidInput(
                f"lever {lever.name} needs --param {p.name}=VALUE"
                + (f" ({p.help})" if p.help else ""),
                field="param",
            )
        if value != "" and not re.fullmatch(p.pattern, value):
            raise InvalidInput(
                f"--param {p.name}={value!r} is not allowed: it must match {p.pattern}",
                field="param",
            )
        out[p.name] = value
    return out


def parse_param_args(items: list[str] | None) -> dict[str, str]:
    """`["version=v41", "region=eu"]` -> dict; the CLI's `--param` values."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--param {item!r} must look like NAME=VALUE", field="param")
        out[name.strip()] = value.strip()
    return out


def _fill(text: str, values: dict[str, str], *, quote: bool = False) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise InvalidInput(
                f"the lever template uses {{{name}}}, which is not a declared parameter",
                field="levers",
            )
        return shlex.quote(values[name]) if quote else values[name]

    return _PARAM_RE.sub(sub, text)


def argv(command: str | list[str], values: dict[str, str], *, shell: bool = False) -> list[str]:
    """The argument vector for a command template: parameters fill whole arguments (never
    split by spaces, never interpreted by a shell unless the step asks for one, then quoted)."""
    if shell:
        text = command if isinstance(command, str) else shlex.join(command)
        return ["/bin/sh", "-c", _fill(text, values, quote=True)]
    tokens = shlex.split(command) if isinstance(command, str) else list(command)
    return [_fill(t, values) for t in tokens]


def _fill_obj(obj: Any, values: dict[str, str]) -> Any:
    if isinstance(obj, str):
        return _fill(obj, values)
    if isinstance(obj, dict):
        return {k: _fill_obj(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_fill_obj(v, values) for v in obj]
    return obj


# --- plans ----------------------------------------------------------------------------------


@dataclass
class Plan:
    """Exactly what a lever will do with these parameters (the dry run)."""

    lever: Lever
    params: dict[str, str]
    actions: list[str]
    undo: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lever": self.lever.name,
            "kind": self.lever.kind,
            "description": self.lever.description,
            "params": self.params,
            "actions": self.actions,
            "undo": self.undo,
            "timeout": self.lever.timeout,
        }


def _path(lever: Lever, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(lever.base_dir) / p


def make_plan(lever: Lever, params: dict[str, str] | None = None) -> Plan:
    """Validate the parameters and describe each action and its undo in words."""
    values = resolve_params(lever, params)
    actions: list[str] = []
    undo: list[str] = []
    if lever.kind == "flag":
        assert lever.flag is not None and lever.flag_file is not None
        path = _path(lever, lever.flag_file)
        variant = _fill(lever.variant, values) if lever.variant else None
        state = _fill(lever.state, values) if lever.state else None
        doc = flags.load(path)
        old, new, _ = flags.plan_change(
            flags.read_bytes(path), lever.flag, variant=variant, state=state, path=path
        )
        changes = [
            f"{k} {old[k]} -> {new[k]}" for k in ("state", "defaultVariant") if old[k] != new[k]
        ] or ["no change (already set)"]
        actions.append(
            f"set flag {lever.flag} in {path}: {', '.join(changes)} "
            f"(value {json.dumps(flags.resolved(doc).get(lever.flag))} -> "
            f"{json.dumps(_value_after(doc, lever.flag, new))})"
        )
        undo.append(f"restore {path} to its exact previous bytes")
    elif lever.kind == "command":
        values_b = {**values, "before": "<state before>"}
        if lever.state_cmd:
            actions.append(f"record state: {shlex.join(argv(lever.state_cmd, values))}")
        for i, s in enumerate(lever.steps, 1):
            actions.append(
                f"step {i}: {shlex.join(argv(s.run, values, shell=s.shell))} "
                f"(timeout {lever.timeout:g}s)"
            )
            if s.undo:
                undo.insert(
                    0, f"undo step {i}: {shlex.join(argv(s.undo, values_b, shell=s.shell))}"
                )
            else:
                undo.insert(0, f"step {i}: nothing to reverse")
    else:
        assert lever.request is not None
        req = _fill_obj(lever.request, values)
        actions.append(_describe_request(req, lever.timeout))
        if lever.undo_request:
            undo.append(_describe_request(_fill_obj(lever.undo_request, values), lever.timeout))
        else:
            undo.append("nothing to reverse")
    return Plan(lever, values, actions, undo)


def _value_after(doc: dict[str, Any], flag: str, new: dict[str, Any]) -> Any:
    if new["state"] == "DISABLED":
        return None
    return doc["flags"][flag]["variants"].get(new["defaultVariant"])


def _describe_request(req: dict[str, Any], timeout: float) -> str:
    method = str(req.get("method", "POST")).upper()
    body = f" body {json.dumps(req['body'])}" if req.get("body") is not None else ""
    return f"{method} {req['url']}{body} (timeout {timeout:g}s)"


def plan(
    lever_name: str, *, params: dict[str, str] | None = None, settings: Settings | None = None
) -> Plan:
    """The dry run of a lever from the configuration."""
    return make_plan(get_lever(load_levers(settings), lever_name), params)


# --- running --------------------------------------------------------------------------------


def _tail(text: str) -> str:
    return text if len(text) <= OUTPUT_TAIL else "..." + text[-OUTPUT_TAIL:]


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
        "stdout": _tail(out or ""),
        "stderr": _tail(err or ""),
        "seconds": round(time.monotonic() - started, 3),
    }


def run_http(
    req: dict[str, Any], *, timeout: float, transport: httpx.BaseTransport | None = None
) -> dict[str, Any]:
    method = str(req.get("method", "POST")).upper()
    started = time.monotonic()
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            resp = client.request(
                method, str(req["url"]), json=req.get("body"), headers=req.get("headers")
            )
        ok = 200 <= resp.status_code < 300
        return {
            "request": f"{method} {req['url']}",
            "status": "done" if ok else "failed",
            "http_status": resp.status_code,
            "body": _tail(resp.text),
            "seconds": round(time.monotonic() - started, 3),
        }
    except httpx.HTTPError as exc:
        return {
            "request": f"{method} {req['url']}",
            "status": "failed",
            "http_status": None,
            "body": f"{type(exc).__name__}: {exc}",
            "seconds": round(time.monotonic() - started, 3),
        }


def _state(lever: Lever, values: dict[str, str]) -> dict[str, Any]:
    if not lever.state_cmd:
        return {}
    res = run_command(argv(lever.state_cmd, values), timeout=lever.timeout, cwd=lever.base_dir)
    return {"state": res["stdout"].strip(), "state_status": res["status"]}


@dataclass
class Mitigation:
    number: int
    incident_key: str
    lever: str
    kind: str
    params: dict[str, str]
    status: str
    plan: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    steps: list[dict[str, Any]]
    undo_steps: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    undone_by: str | None = None
    undone_at: datetime | None = None

    @property
    def id(self) -> str:
        return f"M{self.number}"

    @property
    def summary(self) -> str:
        return summarise(self.lever, self.status, self.steps)

    def to_dict(self) -> dict[str, Any]:
        before = {k: v for k, v in self.before.items() if k != "bytes_b64"}
        after = {k: v for k, v in self.after.items() if k != "bytes_b64"}
        return {
            "id": self.id,
            "incident": self.incident_key,
            "lever": self.lever,
            "kind": self.kind,
            "params": self.params,
            "status": self.status,
            "summary": self.summary,
            "plan": self.plan,
            "before": before,
            "after": after,
            "steps": self.steps,
            "undo_steps": self.undo_steps,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "undone_by": self.undone_by,
            "undone_at": self.undone_at.isoformat() if self.undone_at else None,
        }


def summarise(lever: str, status: str, steps: list[dict[str, Any]]) -> str:
    done = [s for s in steps if s["status"] == "done"]
    failed = [s for s in steps if s["status"] == "failed"]
    not_run = [s for s in steps if s["status"] == "not_run"]
    if status in ("applied", "undone"):
        verb = "applied" if status == "applied" else "undone"
        return f"lever {lever} {verb} ({len(done)} step{'s' if len(done) != 1 else ''} done)"
    parts = [f"lever {lever} {status.replace('_', ' ')}"]
    if failed:
        f = failed[0]
        why = f.get("stderr") or f.get("body") or ""
        why = why.strip().splitlines()[-1] if why.strip() else f"exit {f.get('rc')}"
        parts.append(f"at step {f['step']} ({why[:120]})")
    if done:
        parts.append(f"steps {', '.join(str(s['step']) for s in done)} done and NOT undone")
    if not_run:
        parts.append(f"steps {', '.join(str(s['step']) for s in not_run)} not run")
    return "; ".join(parts)


def _from_row(key: str, r: Any) -> Mitigation:
    return Mitigation(
        number=r.number,
        incident_key=key,
        lever=r.lever,
        kind=r.kind,
        params=r.params,
        status=r.status,
        plan=r.plan,
        before=r.before,
        after=r.after,
        steps=r.steps,
        undo_steps=r.undo_steps,
        created_by=r.created_by,
        created_at=r.created_at,
        undone_by=r.undone_by,
        undone_at=r.undone_at,
    )


def _execute(
    lever: Lever, values: dict[str, str], transport: httpx.BaseTransport | None
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Run the lever; returns (before, after, steps), never raising for a failed step."""
    if lever.kind == "flag":
        assert lever.flag is not None and lever.flag_file is not None
        path = _path(lever, lever.flag_file)
        try:
            change = flags.set_flag(
                path,
                lever.flag,
                variant=_fill(lever.variant, values) if lever.variant else None,
                state=_fill(lever.state, values) if lever.state else None,
            )
        except OSError as exc:
            return (
                {},
                {},
                [{"step": 1, "status": "failed", "action": f"write {path}", "stderr": str(exc)}],
            )
        before = {
            "file": str(path),
            "flag": lever.flag,
            **change.old,
            "sha256": hashlib.sha256(change.before).hexdigest(),
            "bytes_b64": base64.b64encode(change.before).decode(),
        }
        after = {
            "file": str(path),
            "flag": lever.flag,
            **change.new,
            "sha256": hashlib.sha256(change.after).hexdigest(),
            "bytes_b64": base64.b64encode(change.after).decode(),
        }
        return (
            before,
            after,
            [{"step": 1, "status": "done", "action": f"set flag {lever.flag} in {path}"}],
        )
    if lever.kind == "http":
        assert lever.request is not None
        res = run_http(_fill_obj(lever.request, values), timeout=lever.timeout, transport=transport)
        return {}, {}, [{"step": 1, **res}]
    before = _state(lever, values)
    steps: list[dict[str, Any]] = []
    failed = False
    for i, s in enumerate(lever.steps, 1):
        args = argv(s.run, values, shell=s.shell)
        if failed:
            steps.append({"step": i, "argv": args, "status": "not_run"})
            continue
        res = run_command(args, timeout=lever.timeout, cwd=lever.base_dir)
        steps.append({"step": i, **res})
        failed = res["status"] != "done"
    after = _state(lever, values)
    return before, after, steps


def _next_number(conn: Any, incident_id: int) -> int:
    return (
        int(
            conn.execute(
                sa.select(sa.func.max(mitigations.c.number)).where(
                    mitigations.c.incident_id == incident_id
                )
            ).scalar()
            or 0
        )
        + 1
    )


def apply(
    db: Database,
    key: str,
    lever_name: str,
    *,
    actor: str,
    params: dict[str, str] | None = None,
    settings: Settings | None = None,
    levers: dict[str, Lever] | None = None,
    transport: httpx.BaseTransport | None = None,
    extra: dict[str, Any] | None = None,
) -> Mitigation:
    """Pull a lever on an incident and record what happened (applied or failed, with state).

    The row is written as `running` before anything runs, so a crash mid-lever still leaves a
    trace; the result and the timeline event are written together afterwards.
    """
    levers = levers if levers is not None else load_levers(settings)
    lever = get_lever(levers, lever_name)
    the_plan = make_plan(lever, params)
    values = the_plan.params
    now = utcnow()
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        if row.stage == incidents.Stage.CLOSED.value:
            raise InvalidTransition(f"{row.key} is closed: reopen it before pulling levers")
        number = _next_number(conn, row.id)
        mid = conn.execute(
            mitigations.insert()
            .values(
                incident_id=row.id,
                number=number,
                lever=lever.name,
                kind=lever.kind,
                params=values,
                status="running",
                plan=the_plan.to_dict(),
                before={},
                after={},
                steps=[],
                undo_steps=[],
                created_by=actor,
                created_at=now,
            )
            .returning(mitigations.c.id)
        ).scalar_one()
        inc_key = row.key
    try:
        before, after, steps = _execute(lever, values, transport)
    except (WarroomError, OSError) as exc:
        # e.g. the flag file became invalid between the plan and the run: nothing was written.
        before, after = {}, {}
        steps = [{"step": 1, "status": "failed", "action": "start the lever", "stderr": str(exc)}]
    status = "applied" if all(s["status"] == "done" for s in steps) else "failed"
    summary = summarise(lever.name, status, steps)
    with db.transaction() as conn:
        row = incidents.lock(db, conn, inc_key)
        conn.execute(
            mitigations.update()
            .where(mitigations.c.id == mid)
            .values(status=status, before=before, after=after, steps=steps)
        )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=APPLIED if status == "applied" else FAILED,
            data={
                "mitigation": f"M{number}",
                "lever": lever.name,
                "kind": lever.kind,
                "params": values,
                "status": status,
                "summary": f"M{number} {summary}",
                "actions": the_plan.actions,
                "steps": [_step_brief(s) for s in steps],
                "before": {k: v for k, v in before.items() if k != "bytes_b64"},
                "after": {k: v for k, v in after.items() if k != "bytes_b64"},
                **(extra or {}),
            },
        )
        r = conn.execute(sa.select(mitigations).where(mitigations.c.id == mid)).one()
        return _from_row(inc_key, r)


def _step_brief(s: dict[str, Any]) -> dict[str, Any]:
    keep = ("step", "status", "rc", "http_status", "seconds", "action", "request")
    out = {k: s[k] for k in keep if k in s}
    if "argv" in s:
        out["command"] = shlex.join(s["argv"])
    if s["status"] == "failed":
        out["error"] = (s.get("stderr") or s.get("body") or "")[-500:]
    return out


def _load(db: Database, key: str, ident: str | int) -> tuple[str, Mitigation]:
    text = str(ident).strip().upper().lstrip("M")
    if not text.isdigit():
        raise InvalidInput(
            f"{ident!r} is not a mitigation: use M1 (warroom mitigations {key} lists them)",
            field="action",
        )
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        r = conn.execute(
            sa.select(mitigations).where(
                mitigations.c.incident_id == incident_id, mitigations.c.number == int(text)
            )
        ).first()
        inc_key = f"INC-{incidents.parse_key(key)}"
    if r is None:
        raise NotFound(f"{inc_key} has no mitigation M{text} (warroom mitigations {inc_key})")
    return inc_key, _from_row(inc_key, r)


def get(db: Database, key: str, ident: str | int) -> Mitigation:
    return _load(db, key, ident)[1]


def list_for(db: Database, key: str) -> list[Mitigation]:
    """The incident's mitigations, oldest first."""
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        rows = conn.execute(
            sa.select(mitigations)
            .where(mitigations.c.incident_id == incident_id)
            .order_by(mitigations.c.number)
        ).all()
    k = f"INC-{incidents.parse_key(key)}"
    return [_from_row(k, r) for r in rows]


def undo_plan(m: Mitigation, lever: Lever | None) -> list[str]:
    """What undoing this mitigation will do, in words."""
    if m.status not in ("applied", "failed", "undo_failed"):
        raise InvalidTransition(
            f"{m.id} of {m.incident_key} is {m.status}: there is nothing to undo"
        )
    if m.kind == "flag":
        return [
            f"restore {m.before.get('file')} to its previous bytes (flag {m.before.get('flag')}"
            f" back to {m.before.get('state')}/{m.before.get('defaultVariant')})"
        ]
    if lever is None:
        raise NotFound(
            f"lever {m.lever} is no longer declared in warroom.toml: undo {m.id} by "
            "hand and note it on the timeline"
        )
    values = {**m.params, "before": str(m.before.get("state", ""))}
    out: list[str] = []
    if m.kind == "http":
        if lever.undo_request and m.steps and m.steps[0]["status"] == "done":
            out.append(_describe_request(_fill_obj(lever.undo_request, values), lever.timeout))
        return out or ["nothing to reverse"]
    for s in reversed(m.steps):
        if s["status"] != "done":
            continue
        step = lever.steps[s["step"] - 1]
        if step.undo:
            out.append(
                f"undo step {s['step']}: {shlex.join(argv(step.undo, values, shell=step.shell))}"
            )
    return out or ["nothing to reverse"]


def undo(
    db: Database,
    key: str,
    ident: str | int,
    *,
    actor: str,
    settings: Settings | None = None,
    levers: dict[str, Lever] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Mitigation:
    """Reverse a mitigation: undo the steps that were done, newest first, and record it."""
    inc_key, m = _load(db, key, ident)
    levers = levers if levers is not None else load_levers(settings)
    lever = levers.get(m.lever)
    undo_plan(m, lever)  # refuses what cannot be undone
    results: list[dict[str, Any]] = []
    note = ""
    if m.kind == "flag":
        try:
            note = flags.restore(
                m.before["file"],
                before=base64.b64decode(m.before["bytes_b64"]),
                after=base64.b64decode(m.after["bytes_b64"]),
                flag=m.before["flag"],
                old={
                    "state": m.before.get("state"),
                    "defaultVariant": m.before.get("defaultVariant"),
                },
            )
            results.append({"step": 1, "status": "done", "action": note})
        except (OSError, NotFound, InvalidInput) as exc:
            results.append(
                {"step": 1, "status": "failed", "action": "restore flag file", "stderr": str(exc)}
            )
    else:
        assert lever is not None
        values = {**m.params, "before": str(m.before.get("state", ""))}
        if m.kind == "http":
            if lever.undo_request and m.steps and m.steps[0]["status"] == "done":
                res = run_http(
                    _fill_obj(lever.undo_request, values),
                    timeout=lever.timeout,
                    transport=transport,
                )
                results.append({"step": 1, **res})
        else:
            failed = False
            for s in reversed(m.steps):
                if s["status"] != "done":
                    continue
                step = lever.steps[s["step"] - 1]
                if not step.undo:
                    continue
                args = argv(step.undo, values, shell=step.shell)
                if failed:
                    results.append({"step": s["step"], "argv": args, "status": "not_run"})
                    continue
                res = run_command(args, timeout=lever.timeout, cwd=lever.base_dir)
                results.append({"step": s["step"], **res})
                failed = res["status"] != "done"
    ok = all(r["status"] == "done" for r in results)
    status = "undone" if ok else "undo_failed"
    if ok:
        summary = f"{m.id} lever {m.lever} undone" + (f" ({note})" if note else "")
    else:
        summary = (
            f"{m.id} undo of lever {m.lever} failed; "
            + summarise(m.lever, "undo_failed", results).split("; ", 1)[-1]
        )
    now = utcnow()
    with db.transaction() as conn:
        row = incidents.lock(db, conn, inc_key)
        current = conn.execute(
            sa.select(mitigations.c.status).where(
                mitigations.c.incident_id == row.id, mitigations.c.number == m.number
            )
        ).scalar_one()
        if current != m.status:
            raise InvalidTransition(f"{m.id} changed to {current} while undoing; check it")
        conn.execute(
            mitigations.update()
            .where(mitigations.c.incident_id == row.id, mitigations.c.number == m.number)
            .values(
                status=status,
                undo_steps=results,
                undone_by=actor if ok else None,
                undone_at=now if ok else None,
            )
        )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=UNDONE if ok else UNDO_FAILED,
            at=now,
            data={
                "mitigation": m.id,
                "lever": m.lever,
                "status": status,
                "summary": summary,
                "steps": [_step_brief(r) for r in results],
            },
        )
    return get(db, inc_key, m.number)


# --- suggestions ----------------------------------------------------------------------------


@dataclass
class Suggestion:
    lever: Lever
    reason: str
    params: dict[str, str]
    suggested: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.lever.to_dict(),
            "reason": self.reason,
            "params": self.params,
            "suggested": self.suggested,
        }


def _suspects(db: Database, key: str) -> list[dict[str, Any]]:
    from warroom.incidents import artifacts

    found = artifacts.latest(db, key, kind="triage-report")
    if found is None:
        return []
    try:
        report = json.loads(found[1].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return []
    # Suspect changes first (weak ones, score under 0.3, are not worth a lever), then the
    # report's containment steps ("Rate-limit /search ...", target "/search").
    items = [
        s
        for s in report.get("suspects") or []
        if isinstance(s, dict) and float(s.get("score", 1.0) or 0.0) >= 0.3
    ]
    items += [
        {**c, "summary": c.get("action")}
        for c in report.get("containment") or []
        if isinstance(c, dict) and c.get("action")
    ]
    return items


def _suspect_ref(s: dict[str, Any]) -> str | None:
    nested = s.get("change")
    change: dict[str, Any] = nested if isinstance(nested, dict) else s
    for k in ("ref", "version", "sha", "commit", "id", "name", "target"):
        if change.get(k):
            return str(change[k])
    return None


def suggestions(
    db: Database,
    key: str,
    *,
    settings: Settings | None = None,
    levers: dict[str, Lever] | None = None,
) -> list[Suggestion]:
    """Every lever, the ones the triage report points at first (roll back the suspect)."""
    levers = levers if levers is not None else load_levers(settings)
    suspects = _suspects(db, key)
    first: list[Suggestion] = []
    rest: list[Suggestion] = []
    for lever in levers.values():
        hit = None
        for s in suspects:
            text = json.dumps(s, default=str).lower()
            if any(word in text for word in lever.suggest_on):
                hit = s
                break
        if hit is None:
            rest.append(Suggestion(lever, lever.description, {}, False))
            continue
        params: dict[str, str] = {}
        ref = _suspect_ref(hit)
        if lever.suspect_param and ref:
            params[lever.suspect_param] = ref
        what = (
            hit.get("summary")
            or hit.get("reason")
            or hit.get("title")
            or hit.get("description")
            or ref
            or "?"
        )
        verb = "triage suggests" if "action" in hit else "triage suspects"
        first.append(Suggestion(lever, f"{verb} {what}", params, True))
    return first + rest
