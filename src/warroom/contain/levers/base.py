"""What every lever is: its declared parameters, and the five things each kind knows how to do.

A lever kind is a subclass of `Lever` (one module each: flag, command, http) that

    from_table(raw, **common)   checks its own keys of the `[levers.NAME]` table
    to_dict()                   describes itself (name, kind, parameters, ...)
    dry_run(values)             says in words what it will do and how it is undone
    apply(values, ...)          does it, returning an `Outcome` (never raising for a failed step)
    undo_plan / undo(record)    says, then does, the reverse of what a recorded run did
"""

from __future__ import annotations

import re
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import httpx

from warroom.core.errors import Hint, InvalidInput, NotFound

DEFAULT_TIMEOUT = 60.0
OUTPUT_TAIL = 4000
DEFAULT_PATTERN = r"[A-Za-z0-9_/][A-Za-z0-9._:/@+=,~-]*"
_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def config_error(lever: str, what: str) -> InvalidInput:
    """A `[levers.NAME]` table warroom cannot use, naming the lever and the key."""
    return InvalidInput(
        f"warroom.toml [levers.{lever}]: {what}",
        field="levers",
        hint=Hint("declare_lever", "fix the lever's table"),
    )


@dataclass(frozen=True)
class Param:
    """A declared parameter: `params = { version = { required = true, help = "..." } }`."""

    name: str
    default: str | None = None
    required: bool = False
    pattern: str = DEFAULT_PATTERN
    help: str = ""

    @classmethod
    def from_table(cls, name: str, spec: Any) -> Param:
        if not isinstance(spec, dict):
            return cls(name, default=str(spec))
        default = spec.get("default")
        return cls(
            name,
            default=None if default is None else str(default),
            required=bool(spec.get("required", default is None)),
            pattern=str(spec.get("pattern", DEFAULT_PATTERN)),
            help=str(spec.get("help", "")),
        )


@dataclass(frozen=True)
class Outcome:
    """What running (or undoing) a lever did: the state before and after, and each step.

    A step is a dict with `step` and `status` (done, failed, not_run) plus what the kind
    records (`argv`, `rc`, `stdout`, `stderr`, `request`, `http_status`, `body`, `action`).
    """

    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return all(s["status"] == "done" for s in self.steps)


def failed_start(action: str, error: object) -> Outcome:
    """A lever that could not start: nothing ran."""
    return Outcome(steps=[{"step": 1, "status": "failed", "action": action, "stderr": str(error)}])


@dataclass(frozen=True)
class Recorded:
    """A run of a lever as the mitigation recorded it: what undoing it starts from."""

    id: str
    params: dict[str, str]
    before: dict[str, Any]
    after: dict[str, Any]
    steps: list[dict[str, Any]]

    def values(self) -> dict[str, str]:
        """The parameters, and `{before}`: the state the lever's state command recorded."""
        return {**self.params, "before": str(self.before.get("state", ""))}

    def done(self, step: int) -> bool:
        return any(s["step"] == step and s["status"] == "done" for s in self.steps)


@dataclass(frozen=True, kw_only=True)
class Lever(ABC):
    """A typed, reversible action declared in warroom.toml as `[levers.NAME]`."""

    kind: ClassVar[str]

    name: str
    description: str = ""
    params: dict[str, Param] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    suggest_on: tuple[str, ...] = ()
    suspect_param: str | None = None
    base_dir: str = "."

    @classmethod
    @abstractmethod
    def from_table(cls, raw: dict[str, Any], *, flag_file: str | None, **common: Any) -> Self:
        """The lever from its TOML table (the common keys already checked into `common`)."""

    @abstractmethod
    def dry_run(self, values: dict[str, str]) -> tuple[list[str], list[str]]:
        """(what it will do, how it is undone), in words, changing nothing."""

    @abstractmethod
    def apply(self, values: dict[str, str], *, transport: httpx.BaseTransport | None) -> Outcome:
        """Pull the lever; a failed step is reported in the outcome, not raised."""

    @abstractmethod
    def undo_plan(self, record: Recorded) -> list[str]:
        """What undoing a recorded run will do, in words."""

    @abstractmethod
    def undo(self, record: Recorded, *, transport: httpx.BaseTransport | None) -> Outcome:
        """Reverse what a recorded run did (only the steps that were done, newest first)."""

    @classmethod
    def undeclared(cls, name: str, record: Recorded) -> Lever:
        """The lever to undo `record` with when `[levers.NAME]` is gone from warroom.toml."""
        raise NotFound(
            f"lever {name} is no longer declared in warroom.toml: undo {record.id} by hand "
            "and note it on the timeline",
            field="lever",
            hint=Hint("declare_lever", "declare it again to undo it here"),
        )

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
                f"lever {lever.name} needs parameter {p.name}" + (f" ({p.help})" if p.help else ""),
                field="param",
            )
        if value != "" and not re.fullmatch(p.pattern, value):
            raise InvalidInput(
                f"parameter {p.name}={value!r} is not allowed: it must match {p.pattern}",
                field="param",
            )
        out[p.name] = value
    return out


def parse_param_args(items: list[str] | None) -> dict[str, str]:
    """`["version=v41", "region=eu"]` -> dict (the CLI's `--param` values, a runbook's step)."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"parameter {item!r} must look like NAME=VALUE", field="param")
        out[name.strip()] = value.strip()
    return out


def fill(text: str, values: dict[str, str], *, quote: bool = False) -> str:
    """`{name}` in a template replaced by its value (shell-quoted with `quote`)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise InvalidInput(
                f"the lever template uses {{{name}}}, which is not a declared parameter",
                field="levers",
                hint=Hint("declare_lever", "declare the parameter in the lever's table"),
            )
        return shlex.quote(values[name]) if quote else values[name]

    return _PARAM_RE.sub(sub, text)


def fill_obj(obj: Any, values: dict[str, str]) -> Any:
    """`fill` through the strings of a TOML value (tables, arrays)."""
    if isinstance(obj, str):
        return fill(obj, values)
    if isinstance(obj, dict):
        return {k: fill_obj(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [fill_obj(v, values) for v in obj]
    return obj


def tail(text: str) -> str:
    """The end of a command's output or a response body, as much as a record keeps."""
    return text if len(text) <= OUTPUT_TAIL else "..." + text[-OUTPUT_TAIL:]
