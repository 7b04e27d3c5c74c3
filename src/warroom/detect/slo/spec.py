"""SLO files: the compact native form and the OpenSLO v1 subset, parsed into one `SLO` type.

    slos = load_slo_file("slos.yaml")          # native or OpenSLO, detected
    slos[0].objective, slos[0].window           # 0.999, timedelta(days=28)

Native form (one YAML document)::

    defaults: {window: 28d}
    slos:
      - name: checkout-availability          # availability: requests that are not 5xx
        objective: 99.9%
        match: {route: /checkout}
      - name: search-latency                 # latency: requests under a threshold
        kind: latency
        objective: 95%
        threshold: 800ms
        match: {route: /search}
      - name: payment-callbacks              # ratio: good statuses among matched requests
        kind: ratio
        objective: 99.5%
        good: {status: [2xx]}
        match: {route: /payments/callback}

OpenSLO v1 (one or more documents, or a YAML list of objects; a folder of such files is read
as one set): see `warroom.slo.openslo` for what is read, approximated and refused.
Every error names the file, the SLO and the field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

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
        return 1.0 - self.objective

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


# --- helpers ----------------------------------------------------------------------------------


def _err(where: str, fieldname: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}, field {fieldname}: {message}", field=fieldname)


def parse_objective(value: Any, *, where: str, fieldname: str = "objective") -> float:
    """`99.9%`, `99.9` (percent) or `0.999` (fraction) -> 0.999."""
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise _err(where, fieldname, f"{value!r} is not a number: use 99.9% or 0.999") from None
    if percent or number > 1:
        number /= 100.0
    if not (0 < number < 1) or math.isnan(number):
        raise _err(
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
            raise _err(where, fieldname, f"{value!r} is not a latency: use 800ms or 0.8s")
        number = float(m.group(1)) * _UNITS[m.group(2)] * 1000
    if number <= 0:
        raise _err(where, fieldname, f"a latency threshold must be positive, got {value!r}")
    return number


_STATUS_RE = re.compile(r"^[1-5](xx|\d\d)$")


def _status_list(value: Any, *, where: str, fieldname: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        text = str(item).strip().lower()
        if not _STATUS_RE.match(text):
            raise _err(where, fieldname, f"{item!r} is not a status: use 500 or a class like 5xx")
        out.append(text)
    return out


def _filter(value: Any, *, where: str, fieldname: str, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _err(where, fieldname, "must be a mapping like {route: /checkout, method: POST}")
    unknown = set(value) - allowed
    if unknown:
        raise _err(
            where,
            f"{fieldname}.{sorted(unknown)[0]}",
            f"unknown key: use {', '.join(sorted(allowed))}",
        )
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "status":
            out[key] = _status_list(item, where=where, fieldname=f"{fieldname}.status")
        elif key == "method":
            items = item if isinstance(item, list) else [item]
            out[key] = [str(x).upper() for x in items]
        else:
            items = item if isinstance(item, list) else [item]
            out[key] = [str(x) for x in items]
    return out


def _alerts(value: Any, *, where: str) -> tuple[BurnAlert, ...]:
    if value is None:
        return DEFAULT_ALERTS
    if not isinstance(value, list) or not value:
        raise _err(where, "alerts", "must be a list of {name, severity, long, short, factor}")
    out = []
    for i, item in enumerate(value):
        f = f"alerts[{i}]"
        if not isinstance(item, dict):
            raise _err(where, f, "must be a mapping {name, severity, long, short, factor}")
        missing = {"severity", "long", "short", "factor"} - set(item)
        if missing:
            raise _err(where, f"{f}.{sorted(missing)[0]}", "is required")
        sev = str(item["severity"]).lower()
        if sev not in ("page", "ticket"):
            raise _err(where, f"{f}.severity", f"{item['severity']!r}: use page or ticket")
        long = parse_duration(item["long"], where=f"{where}, field {f}.long")
        short = parse_duration(item["short"], where=f"{where}, field {f}.short")
        if short >= long:
            raise _err(where, f"{f}.short", "the short window must be shorter than the long one")
        try:
            factor = float(item["factor"])
        except (TypeError, ValueError):
            raise _err(where, f"{f}.factor", f"{item['factor']!r} is not a number") from None
        if factor <= 0:
            raise _err(where, f"{f}.factor", "a burn-rate factor must be positive")
        name = str(item.get("name") or f"{sev}-{format_duration(long)}")
        out.append(BurnAlert(name, sev, long, short, factor))
    return tuple(out)


def _prom_settings(value: Any, *, where: str, base: PromSettings | None = None) -> PromSettings:
    base = base or PromSettings()
    if value is None:
        return base
    if not isinstance(value, dict):
        raise _err(where, "prometheus", "must be a mapping")
    allowed = {"requests_metric", "code_label", "latency_metric", "labels"}
    unknown = set(value) - allowed
    if unknown:
        raise _err(
            where,
            f"prometheus.{sorted(unknown)[0]}",
            f"unknown key: use {', '.join(sorted(allowed))}",
        )
    labels = dict(base.labels)
    if "labels" in value:
        if not isinstance(value["labels"], dict):
            raise _err(where, "prometheus.labels", "must map route/method to label names")
        labels.update({str(k): str(v) for k, v in value["labels"].items()})
    return PromSettings(
        requests_metric=str(value.get("requests_metric", base.requests_metric)),
        code_label=str(value.get("code_label", base.code_label)),
        latency_metric=str(value.get("latency_metric", base.latency_metric)),
        labels=labels,
    )


# --- native -------------------------------------------------------------------------------------

_NATIVE_KEYS = {
    "name",
    "kind",
    "service",
    "description",
    "objective",
    "window",
    "match",
    "good",
    "bad",
    "threshold",
    "alerts",
}


def _native(doc: dict[str, Any], source: str) -> list[SLO]:
    unknown = set(doc) - {"slos", "defaults", "prometheus", "alerts"}
    if unknown:
        raise InvalidInput(
            f"{source}: unknown top-level key {sorted(unknown)[0]!r}: use slos, defaults, "
            "prometheus, alerts",
            field=sorted(unknown)[0],
        )
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InvalidInput(f"{source}: defaults must be a mapping", field="defaults")
    prom = _prom_settings(doc.get("prometheus"), where=source)
    file_alerts = _alerts(doc.get("alerts"), where=source) if "alerts" in doc else None
    items = doc.get("slos")
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"{source}: `slos` must be a non-empty list of SLOs", field="slos")
    out: list[SLO] = []
    seen: set[str] = set()
    for i, raw in enumerate(items):
        if not isinstance(raw, dict):
            raise InvalidInput(f"{source}: slos[{i}] must be a mapping", field=f"slos[{i}]")
        item = {**defaults, **raw}
        name = str(item.get("name") or "").strip()
        if not name:
            raise InvalidInput(f"{source}: slos[{i}] has no name", field="name")
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", name):
            raise InvalidInput(
                f"{source}: SLO {name!r}, field name: use letters, digits, '.', '_' and '-'",
                field="name",
            )
        if name in seen:
            raise InvalidInput(f"{source}: SLO {name!r} is defined twice", field="name")
        seen.add(name)
        where = f"{source}: SLO {name!r}"
        unknown = set(item) - _NATIVE_KEYS
        if unknown:
            raise _err(
                where, sorted(unknown)[0], f"unknown key: use {', '.join(sorted(_NATIVE_KEYS))}"
            )
        try:
            kind = SLOKind(str(item.get("kind", "availability")).lower())
        except ValueError:
            raise _err(
                where, "kind", f"{item.get('kind')!r}: use availability, latency or ratio"
            ) from None
        if "objective" not in item:
            raise _err(where, "objective", "is required (e.g. 99.9%)")
        objective = parse_objective(item["objective"], where=where)
        window = parse_duration(item.get("window", "28d"), where=f"{where}, field window")
        match = _filter(
            item.get("match"),
            where=where,
            fieldname="match",
            allowed={"route", "method", "path_prefix"},
        )
        good = _filter(item.get("good"), where=where, fieldname="good", allowed={"status"})
        bad = _filter(item.get("bad"), where=where, fieldname="bad", allowed={"status"})
        threshold = None
        if kind is SLOKind.LATENCY:
            if "threshold" not in item:
                raise _err(where, "threshold", "a latency SLO needs a threshold (e.g. 800ms)")
            threshold = parse_threshold_ms(item["threshold"], where=where)
        elif "threshold" in item:
            raise _err(where, "threshold", f"only latency SLOs have a threshold, not {kind}")
        if kind is SLOKind.AVAILABILITY:
            if good:
                raise _err(where, "good", "availability counts bad statuses: use `bad`")
            bad = bad or {"status": ["5xx"]}
        if kind is SLOKind.RATIO and not (good or bad):
            raise _err(where, "good", "a ratio SLO needs `good: {status: [2xx]}` or `bad`")
        if good and bad:
            raise _err(where, "bad", "give either good or bad statuses, not both")
        alerts = (
            _alerts(item["alerts"], where=where)
            if "alerts" in item
            else file_alerts or DEFAULT_ALERTS
        )
        out.append(
            SLO(
                name=name,
                kind=kind,
                objective=objective,
                window=window,
                source=source,
                service=str(item.get("service") or ""),
                description=str(item.get("description") or ""),
                match=match,
                good=good,
                bad=bad,
                threshold_ms=threshold,
                alerts=alerts,
                prometheus=prom,
            )
        )
    return out


# --- entry points -------------------------------------------------------------------------------


def yaml_documents(text: str, *, source: str) -> list[dict[str, Any]]:
    """The mappings of a YAML file: one per document, or per item of a top-level list of
    OpenSLO objects (the form the OpenSLO SDK examples use)."""
    try:
        raw = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"{source}:{at} is not valid YAML: {exc}", field="file") from None
    docs: list[dict[str, Any]] = []
    for d in raw:
        if isinstance(d, list) and d and all(isinstance(x, dict) and "apiVersion" in x for x in d):
            docs.extend(d)
        elif isinstance(d, dict):
            docs.append(d)
        else:
            raise InvalidInput(
                f"{source}: document {len(docs) + 1} must be a mapping", field="file"
            )
    return docs


def parse_slos(text: str, *, source: str = "<slos>") -> list[SLO]:
    """Parse native or OpenSLO YAML text into SLOs (errors name source, SLO and field)."""
    docs = yaml_documents(text, source=source)
    if not docs:
        raise InvalidInput(f"{source}: the file is empty: define at least one SLO", field="file")
    if any("apiVersion" in d for d in docs):
        from warroom.detect.slo.openslo import parse_openslo

        return parse_openslo(docs, source)
    if len(docs) > 1:
        raise InvalidInput(f"{source}: the native form is one YAML document", field="file")
    return _native(docs[0], source)


def _read_text(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"SLO file {p} does not exist", field="slo") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read SLO file {p}: {exc}", field="slo") from None


def load_slo_file(path: str | Path) -> list[SLO]:
    """Read one SLO file (native or OpenSLO), or a folder of them.

    The OpenSLO documents of a folder's *.yaml / *.yml files are read as one set, so an
    `indicatorRef` or `metricSourceRef` may name an object in another file of the folder.
    """
    p = Path(path)
    if not p.is_dir():
        return parse_slos(_read_text(p), source=str(p))
    files = sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file())
    if not files:
        raise InvalidInput(f"SLO folder {p} has no .yaml or .yml file", field="slo")
    out: list[SLO] = []
    openslo: list[tuple[str, dict[str, Any]]] = []
    for f in files:
        docs = yaml_documents(_read_text(f), source=str(f))
        if any("apiVersion" in d for d in docs):
            openslo.extend((str(f), d) for d in docs)
        elif docs:
            out.extend(parse_slos(_read_text(f), source=str(f)))
    if openslo:
        from warroom.detect.slo.openslo import read_openslo

        out.extend(read_openslo(openslo).slos)
    if not out:
        raise InvalidInput(f"{p}: no `kind: SLO` document found", field="kind")
    names = [s.name for s in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise InvalidInput(f"{p}: SLO {dup!r} is defined twice", field="metadata.name")
    return out


def with_alerts(slos: list[SLO], alerts: tuple[BurnAlert, ...] | None) -> list[SLO]:
    """The SLOs with another alert policy (from config or the command line)."""
    return [replace(s, alerts=alerts) for s in slos] if alerts else slos


def alerts_from_config(
    value: Any, *, source: str = "warroom.toml [detect]"
) -> tuple[BurnAlert, ...] | None:
    """`[[detect.slo_alerts]]` tables of warroom.toml as burn alerts (None when absent)."""
    if not value:
        return None
    return _alerts(value, where=source)


def override_prometheus(
    slos: list[SLO],
    *,
    requests_metric: str | None = None,
    code_label: str | None = None,
    latency_metric: str | None = None,
    labels: dict[str, str] | None = None,
) -> list[SLO]:
    """The SLOs with metric and label names replaced where given (command-line flags)."""
    name_re = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    for what, value in (
        ("requests metric", requests_metric),
        ("code label", code_label),
        ("latency metric", latency_metric),
        *((f"label for {k}", v) for k, v in (labels or {}).items()),
    ):
        if value is not None and not name_re.match(value):
            raise InvalidInput(f"{what} {value!r} is not a Prometheus name", field=what)
    out = []
    for s in slos:
        p = s.prometheus
        out.append(
            replace(
                s,
                prometheus=PromSettings(
                    requests_metric=requests_metric or p.requests_metric,
                    code_label=code_label or p.code_label,
                    latency_metric=latency_metric or p.latency_metric,
                    labels={**p.labels, **(labels or {})},
                ),
            )
        )
    return out
