"""The SLO type every file form parses into, and the values the forms share.

    SLO(name="checkout", kind=SLOKind.AVAILABILITY, objective=0.999,
        window=timedelta(days=28), source="slos.yaml")
    parse_duration("1h30m"), format_duration(timedelta(days=3))   # timedelta, "3d"
    parse_objective("99.9%", where="slos.yaml: SLO 'checkout'")   # 0.999

Errors are `InvalidInput` naming the file, the SLO and the field (`field_error`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from warroom.core.errors import InvalidInput


class SLOKind(StrEnum):
    AVAILABILITY = "availability"
    LATENCY = "latency"
    RATIO = "ratio"


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any, *, where: str = "duration") -> timedelta:
    """`5m`, `1h`, `28d`, `2w`, `30s` -> timedelta (also `1h30m`)."""
    fieldname = where.rsplit(", field ", 1)[-1]
    text = str(value).strip()
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        raise InvalidInput(
            f"{where}: {value!r} is not a duration: use a number and a unit, like 5m, 1h, 28d",
            field=fieldname,
        )
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise InvalidInput(f"{where}: a duration must be positive, got {value!r}", field=fieldname)
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """A Prometheus duration: 3d, 1h, 30m, 90s (largest unit that divides exactly)."""
    ms = round(value.total_seconds() * 1000)
    for unit, size in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


@dataclass(frozen=True)
class BurnAlert:
    """One multi-window burn-rate alert: fires when both windows burn faster than `factor`."""

    name: str
    severity: str  # "page" or "ticket"
    long: timedelta
    short: timedelta
    factor: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "severity": self.severity,
            "long": format_duration(self.long),
            "short": format_duration(self.short),
            "factor": self.factor,
        }


# The SRE workbook's multiwindow, multi-burn-rate alerts (chapter "Alerting on SLOs").
DEFAULT_ALERTS: tuple[BurnAlert, ...] = (
    BurnAlert("page-fast", "page", timedelta(hours=1), timedelta(minutes=5), 14.4),
    BurnAlert("page-slow", "page", timedelta(hours=6), timedelta(minutes=30), 6.0),
    BurnAlert("ticket-fast", "ticket", timedelta(days=1), timedelta(hours=2), 3.0),
    BurnAlert("ticket-slow", "ticket", timedelta(days=3), timedelta(hours=6), 1.0),
)


@dataclass(frozen=True)
class PromSettings:
    """How the standard request metrics are named in Prometheus."""

    requests_metric: str = "http_requests_total"
    code_label: str = "code"
    latency_metric: str = "http_request_duration_seconds"  # histogram: _bucket and _count
    labels: dict[str, str] = field(default_factory=lambda: {"route": "route", "method": "method"})


@dataclass(frozen=True)
class Matcher:
    """A label matcher of a Prometheus selector: `code=~"5.."`."""

    label: str
    op: str  # = != =~ !~
    value: str

    def render(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{self.op}"{escaped}"'


@dataclass(frozen=True)
class PromQuery:
    """A query of an OpenSLO metric source; `selector` when it is a plain counter selector."""

    text: str
    metric: str | None = None
    matchers: tuple[Matcher, ...] = ()
    wrapper: str | None = None  # "sum", "sum by (x)"; None for a bare selector
    source_type: str = "Prometheus"  # the metricSource type; rules need Prometheus

    @property
    def is_selector(self) -> bool:
        return self.metric is not None

    @property
    def is_prometheus(self) -> bool:
        return self.source_type.lower() == "prometheus"


@dataclass(frozen=True)
class SLO:
    """One SLO in business terms, whatever file form it came from."""

    name: str
    kind: SLOKind
    objective: float  # 0.999
    window: timedelta
    source: str  # "file.yaml" for messages
    service: str = ""
    description: str = ""
    match: dict[str, Any] = field(default_factory=dict)  # route/method/status filters (logs)
    good: dict[str, Any] = field(default_factory=dict)  # ratio: good statuses
    bad: dict[str, Any] = field(default_factory=dict)  # availability: bad statuses
    threshold_ms: float | None = None  # latency
    alerts: tuple[BurnAlert, ...] = DEFAULT_ALERTS
    prometheus: PromSettings = field(default_factory=PromSettings)
    # OpenSLO ratioMetric queries (Prometheus); None for native SLOs
    good_query: PromQuery | None = None
    bad_query: PromQuery | None = None
    total_query: PromQuery | None = None
    threshold_query: PromQuery | None = None
    threshold_op: str | None = None
    threshold_value: float | None = None
    counter: bool = True  # OpenSLO ratioMetric.counter: rules rate() counters only
    form: str = "native"
    notes: tuple[str, ...] = ()  # how an OpenSLO file was approximated (calendar window, ...)

    @property
    def error_budget(self) -> float:
        """The fraction of events allowed to be bad: 1 - objective."""
        return round(1.0 - self.objective, 12)  # 0.001 for 99.9 %, not 0.0010000000000000009

    def where(self, fieldname: str | None = None) -> str:
        base = f"{self.source}: SLO {self.name!r}"
        return f"{base}, field {fieldname}" if fieldname else base

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "service": self.service,
            "description": self.description,
            "objective": self.objective,
            "window": format_duration(self.window),
            "match": self.match,
            "good": self.good,
            "bad": self.bad,
            "threshold_ms": self.threshold_ms,
            "alerts": [a.to_dict() for a in self.alerts],
            "form": self.form,
            "notes": list(self.notes),
        }


# --- values every form shares ------------------------------------------------------------------


def field_error(where: str, fieldname: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}, field {fieldname}: {message}", field=fieldname)


def parse_objective(value: Any, *, where: str, fieldname: str = "objective") -> float:
    """`99.9%`, `99.9` (percent) or `0.999` (fraction) -> 0.999."""
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise field_error(
            where, fieldname, f"{value!r} is not a number: use 99.9% or 0.999"
        ) from None
    if percent or number > 1:
        number /= 100.0
    if not (0 < number < 1) or math.isnan(number):
        raise field_error(
            where,
            fieldname,
            f"{value!r} is not an objective between 0 and 100%: use e.g. 99.9% or 0.999",
        )
    return round(number, 12)


def parse_threshold_ms(value: Any, *, where: str, fieldname: str = "threshold") -> float:
    """`800ms`, `0.8s`, `800` (ms) -> 800.0."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise field_error(where, fieldname, f"{value!r} is not a latency: use 800ms or 0.8s")
        number = float(m.group(1)) * _UNITS[m.group(2)] * 1000
    if number <= 0:
        raise field_error(where, fieldname, f"a latency threshold must be positive, got {value!r}")
    return number


STATUS_RE = re.compile(r"^[1-5](xx|\d\d)$")
