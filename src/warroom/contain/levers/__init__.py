"""Levers: typed, reversible actions declared in warroom.toml, one class per kind.

    [levers.NAME]
    kind = "flag" | "command" | "http"
    description = "..."
    params = { version = { required = true, help = "..." } }
    timeout = 60                             # seconds (per step)
    suggest_on = ["deploy"]                  # offered first when triage points at these words
    suspect_param = "version"                # ... with the suspect's id in this parameter

    levers = load_levers(settings)           # every declared lever, checked, by name
    plan = make_plan(get_lever(levers, "rollback"), {"version": "v41"})   # the dry run

Each kind's own keys are in its module: `flag` (FlagLever), `command` (CommandLever),
`http` (HttpLever). Pulling a lever on an incident and recording it is
`warroom.contain.mitigations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warroom.contain import config
from warroom.contain.levers.base import (
    DEFAULT_TIMEOUT,
    Lever,
    Outcome,
    Param,
    Recorded,
    config_error,
    parse_param_args,
    resolve_params,
)
from warroom.contain.levers.command import CommandLever, argv, run_command
from warroom.contain.levers.flag import FlagLever
from warroom.contain.levers.http import HttpLever
from warroom.core.config import Settings
from warroom.core.errors import Hint, NotFound

__all__ = [
    "KINDS",
    "CommandLever",
    "FlagLever",
    "HttpLever",
    "Lever",
    "Outcome",
    "Param",
    "Plan",
    "Recorded",
    "argv",
    "get_lever",
    "load_levers",
    "make_plan",
    "parse_lever",
    "parse_param_args",
    "run_command",
]

# kind -> class, in the order the docs and error messages list them.
KINDS: dict[str, type[Lever]] = {cls.kind: cls for cls in (FlagLever, CommandLever, HttpLever)}


def parse_lever(
    name: str, raw: dict[str, Any], *, base_dir: str = ".", flag_file: str | None = None
) -> Lever:
    """One lever from its TOML table, checked; errors name the lever and the key."""
    if not isinstance(raw, dict):
        raise config_error(name, "must be a table")
    kind = str(raw.get("kind", "")).strip()
    if kind not in KINDS:
        raise config_error(name, f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    params = {p: Param.from_table(p, spec) for p, spec in (raw.get("params") or {}).items()}
    try:
        timeout = float(raw.get("timeout", DEFAULT_TIMEOUT))
    except (TypeError, ValueError):
        raise config_error(name, "timeout must be a number of seconds") from None
    return KINDS[kind].from_table(
        raw,
        flag_file=flag_file,
        name=name,
        description=str(raw.get("description", "")),
        params=params,
        timeout=timeout,
        suggest_on=tuple(str(s).lower() for s in raw.get("suggest_on", ())),
        suspect_param=raw.get("suspect_param"),
        base_dir=base_dir,
    )


def load_levers(settings: Settings) -> dict[str, Lever]:
    """Every lever declared in the settings' `[levers]` tables, by name."""
    base = str(config.base_dir(settings))
    flag_file = settings.section("contain").get("flag_file")
    return {
        name: parse_lever(name, raw, base_dir=base, flag_file=flag_file)
        for name, raw in settings.section("levers").items()
    }


def get_lever(levers: dict[str, Lever], name: str, *, incident: str | None = None) -> Lever:
    """The lever called `name`; NotFound names the declared ones."""
    if name in levers:
        return levers[name]
    if not levers:
        raise NotFound(
            f"no lever {name!r}: none are declared",
            field="lever",
            hint=Hint("declare_lever", "declare one in warroom.toml", incident=incident),
        )
    raise NotFound(
        f"no lever {name!r}: levers are {', '.join(sorted(levers))}",
        field="lever",
        hint=Hint("list_levers", "see the declared levers", incident=incident),
    )


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


def make_plan(lever: Lever, params: dict[str, str] | None = None) -> Plan:
    """Validate the parameters and describe each action and its undo in words."""
    values = resolve_params(lever, params)
    actions, undo = lever.dry_run(values)
    return Plan(lever, values, actions, undo)
