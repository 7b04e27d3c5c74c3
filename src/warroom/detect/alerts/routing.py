"""Alert labels to a service and a severity: the `[detect]` routes of the settings.

routing = Routing.from_settings(settings)
routing.route({"alertname": "HighErrors", "service": "checkout", "severity": "page"})
# ("checkout", Severity.P1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from warroom.core.config import Settings
from warroom.core.errors import InvalidInput
from warroom.core.severity import Severity

_SEVERITY_WORDS = {
    "page": Severity.P1,
    "critical": Severity.P1,
    "error": Severity.P2,
    "high": Severity.P1,
    "ticket": Severity.P3,
    "warning": Severity.P3,
    "warn": Severity.P3,
    "info": Severity.P4,
    "low": Severity.P4,
}


@dataclass(frozen=True)
class Route:
    match: dict[str, str]
    service: str | None = None
    severity: Severity | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        for key, want in self.match.items():
            have = labels.get(key, "")
            if want.startswith("~"):
                if not re.fullmatch(want[1:], have):
                    return False
            elif have != want:
                return False
        return True


@dataclass(frozen=True)
class Routing:
    """Alert labels to a service and a severity: first matching route wins.

    Config (warroom.toml)::

        [detect]
        default_severity = "P2"
        [[detect.routes]]
        match = { slo = "checkout-availability", severity = "page" }
        service = "checkout"
        severity = "P1"
    """

    routes: tuple[Route, ...] = ()
    default_severity: Severity = Severity.P2
    service_labels: tuple[str, ...] = ("service", "job")

    @classmethod
    def from_settings(cls, settings: Settings) -> Routing:
        """The routes of this deployment's `[detect]` section."""
        return cls.from_config(settings.section("detect"))

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> Routing:
        section = section or {}
        routes = []
        for i, raw in enumerate(section.get("routes") or []):
            where = f"[[detect.routes]] #{i + 1}"
            if not isinstance(raw, dict) or not isinstance(raw.get("match", {}), dict):
                raise InvalidInput(
                    f"{where}: needs match = {{label = value}}", field="detect.routes"
                )
            for value in (raw.get("match") or {}).values():
                if str(value).startswith("~"):
                    try:
                        re.compile(str(value)[1:])
                    except re.error as exc:
                        raise InvalidInput(
                            f"{where}: bad regex {value!r}: {exc}", field="detect.routes"
                        ) from None
            sev = raw.get("severity")
            routes.append(
                Route(
                    match={str(k): str(v) for k, v in (raw.get("match") or {}).items()},
                    service=str(raw["service"]) if raw.get("service") else None,
                    severity=Severity.parse(sev) if sev else None,
                )
            )
        default = section.get("default_severity")
        return cls(
            routes=tuple(routes),
            default_severity=Severity.parse(default) if default else Severity.P2,
        )

    def route(self, labels: dict[str, str]) -> tuple[str, Severity]:
        """(service, severity) for an alert's labels."""
        for r in self.routes:
            if r.matches(labels):
                service = r.service or self._service(labels)
                return service, r.severity or self._severity(labels)
        return self._service(labels), self._severity(labels)

    def _service(self, labels: dict[str, str]) -> str:
        for name in self.service_labels:
            if labels.get(name):
                return labels[name]
        return ""

    def _severity(self, labels: dict[str, str]) -> Severity:
        word = labels.get("severity", "").strip().lower()
        if word in _SEVERITY_WORDS:
            return _SEVERITY_WORDS[word]
        try:
            return Severity.parse(word) if word else self.default_severity
        except InvalidInput:
            return self.default_severity
