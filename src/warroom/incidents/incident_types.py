"""Incident types: what kind of trouble an incident is, and what that kind asks for.

A type sets the intake fields a declaration must answer, the runbooks suggested, whether the
incident is private by default, the regulatory clocks it starts and the postmortem's extra
sections. Four are built in; warroom.toml adds or overrides them:

    [incident_types.fraud]
    label = "Fraud"
    private = true
    clocks = ["gdpr", "pci"]
    runbooks = ["security-incident"]
    required = ["impact_scope"]

    resolve("security", settings).private    # True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warroom.core.config import Settings
from warroom.core.errors import Hint, InvalidInput

DEFAULT_TYPE = "availability"
COMPLIANCE = "compliance"  # the postmortem section of data, subjects, notifications, evidence


@dataclass(frozen=True)
class IncidentType:
    name: str
    label: str
    private: bool = False
    required: tuple[str, ...] = ()
    runbooks: tuple[str, ...] = ()
    clocks: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    security: bool = False  # sets the incident's security flag (and severity factor)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "private": self.private,
            "required": list(self.required),
            "runbooks": list(self.runbooks),
            "clocks": list(self.clocks),
            "sections": list(self.sections),
        }


BUILTIN: dict[str, IncidentType] = {
    t.name: t
    for t in (
        IncidentType("availability", "Availability"),
        IncidentType("performance", "Performance"),
        IncidentType(
            "security",
            "Security",
            private=True,
            runbooks=("security-incident",),
            clocks=("gdpr",),
            sections=(COMPLIANCE,),
            security=True,
        ),
        IncidentType(
            "data_loss",
            "Data loss",
            private=False,
            required=("impact_scope",),
            runbooks=("data-recovery",),
            clocks=("gdpr",),
            sections=(COMPLIANCE,),
        ),
    )
}

_ALIASES = {"data-loss": "data_loss", "dataloss": "data_loss", "sec": "security"}


def _strings(name: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"[incident_types.{name}] {key} must be a list of strings", field=key)
    return tuple(value)


def configured(settings: Settings | None = None) -> dict[str, IncidentType]:
    """The built-in types plus warroom.toml's `[incident_types.<name>]` tables."""
    out = dict(BUILTIN)
    section = (settings or Settings()).section("incident_types")
    for name, table in section.items():
        if not isinstance(table, dict):
            raise InvalidInput(f"[incident_types.{name}] must be a table", field="incident_types")
        base = out.get(name, IncidentType(name, name.replace("_", " ").capitalize()))
        out[name] = IncidentType(
            name=name,
            label=str(table.get("label", base.label)),
            private=bool(table.get("private", base.private)),
            required=_strings(name, "required", table.get("required", list(base.required))),
            runbooks=_strings(name, "runbooks", table.get("runbooks", list(base.runbooks))),
            clocks=_strings(name, "clocks", table.get("clocks", list(base.clocks))),
            sections=_strings(name, "sections", table.get("sections", list(base.sections))),
            security=bool(table.get("security", base.security)),
        )
    return out


def resolve(name: str | None, settings: Settings | None = None) -> IncidentType:
    """The type called `name` (any case, `data-loss` too); the default type when empty."""
    types = configured(settings)
    wanted = (name or DEFAULT_TYPE).strip().lower()
    wanted = _ALIASES.get(wanted, wanted)
    found = types.get(wanted)
    if found is None:
        raise InvalidInput(
            f"unknown incident type {name!r}: one of {', '.join(types)}",
            field="type",
            hint=Hint("list_incidents", "see the incidents"),
        )
    return found
