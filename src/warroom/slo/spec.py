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

OpenSLO v1 (one or more documents): `kind: SLO` with an inline `indicator` or an
`indicatorRef` to a `kind: SLI` document; `ratioMetric` (good/bad/total) and `thresholdMetric`
indicators; rolling `timeWindow`; `objectives` with `target` (and `op`/`value` for thresholds).
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

from warroom.errors import InvalidInput


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

    @property
    def is_selector(self) -> bool:
        return self.metric is not None


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
    form: str = "native"

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


# --- OpenSLO ------------------------------------------------------------------------------------

_SELECTOR_RE = re.compile(
    r"^\s*(?:(?P<agg>sum(?:\s+(?:by|without)\s*\([^)]*\))?)\s*\(\s*)?"
    r"(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<labels>[^}]*)\})?\s*"
    r"(?(agg)\)\s*)$"
)
_MATCHER_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


def parse_query(text: str) -> PromQuery:
    """A Prometheus query; recognises `metric{a="b"}` and `sum(metric{...})` as selectors."""
    m = _SELECTOR_RE.match(text)
    if not m:
        return PromQuery(text=text)
    matchers: list[Matcher] = []
    labels = m.group("labels") or ""
    pos = 0
    while pos < len(labels):
        mm = _MATCHER_RE.match(labels, pos)
        if not mm:
            return PromQuery(text=text)
        value = mm.group(3).replace('\\"', '"').replace("\\\\", "\\")
        matchers.append(Matcher(mm.group(1), mm.group(2), value))
        pos = mm.end()
        if pos < len(labels):
            if labels[pos] != ",":
                return PromQuery(text=text)
            pos += 1
    return PromQuery(
        text=text, metric=m.group("metric"), matchers=tuple(matchers), wrapper=m.group("agg")
    )


def _dig(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _metric_query(node: Any, *, where: str, fieldname: str) -> PromQuery | None:
    """The query of a `metricSource` (None when the source has no usable query)."""
    if node is None:
        return None
    source = _dig(node, "metricSource")
    if not isinstance(source, dict):
        raise _err(where, fieldname, "needs a metricSource {type, spec: {query}}")
    spec = source.get("spec")
    query = None
    if isinstance(spec, dict):
        query = spec.get("query") or spec.get("promql")
    if query is None or str(query).strip() in ("", "Any"):
        return None
    return parse_query(str(query))


_LABEL_FIELDS = {
    "route": "route",
    "handler": "route",
    "path": "route",
    "endpoint": "route",
    "method": "method",
    "code": "status",
    "status": "status",
    "status_code": "status",
}


def _log_filters(query: PromQuery | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Log filters (match, status) from a selector's label matchers, where they map."""
    match: dict[str, Any] = {}
    status: dict[str, Any] = {}
    if query is None:
        return match, status
    for m in query.matchers:
        fieldname = _LABEL_FIELDS.get(m.label)
        if fieldname is None:
            continue
        if fieldname == "status":
            status = {
                "status_regex" if m.op in ("=~", "!~") else "status_eq": m.value,
                "negate": m.op.startswith("!"),
            }
        elif m.op == "=":
            match[fieldname] = [m.value.upper() if fieldname == "method" else m.value]
        elif m.op == "=~":
            match[f"{fieldname}_regex"] = m.value
    return match, status


def _status_values(status: dict[str, Any]) -> list[str]:
    """`code=~"5.."` -> ["5xx"]; `code=~"2..|3.."` -> ["2xx", "3xx"]; `code="200"` -> ["200"]."""
    if not status:
        return []
    raw = status.get("status_regex") or status.get("status_eq") or ""
    out = []
    for part in str(raw).split("|"):
        part = part.strip().lower().replace(".", "x").replace("\\d", "x")
        if _STATUS_RE.match(part):
            out.append(part)
    return out


def _openslo(docs: list[dict[str, Any]], source: str) -> list[SLO]:
    slis: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if doc.get("kind") == "SLI":
            name = _dig(doc, "metadata", "name")
            if name:
                slis[str(name)] = doc.get("spec") or {}
    out: list[SLO] = []
    for index, doc in enumerate(docs):
        api = str(doc.get("apiVersion", ""))
        if api != "openslo/v1":
            raise InvalidInput(
                f"{source}: document {index + 1} has apiVersion {api!r}: warroom reads openslo/v1",
                field="apiVersion",
            )
        kind = doc.get("kind")
        if kind in (
            "SLI",
            "Service",
            "AlertPolicy",
            "AlertCondition",
            "AlertNotificationTarget",
            "DataSource",
        ):
            continue
        if kind != "SLO":
            raise InvalidInput(
                f"{source}: document {index + 1} has unknown kind {kind!r}", field="kind"
            )
        name = str(_dig(doc, "metadata", "name") or "").strip()
        if not name:
            raise InvalidInput(
                f"{source}: document {index + 1} (SLO) has no metadata.name", field="metadata.name"
            )
        where = f"{source}: SLO {name!r}"
        spec = doc.get("spec")
        if not isinstance(spec, dict):
            raise _err(where, "spec", "is required")
        indicator = _dig(spec, "indicator", "spec")
        if indicator is None and spec.get("indicatorRef"):
            ref = str(spec["indicatorRef"])
            if ref not in slis:
                raise _err(
                    where,
                    "spec.indicatorRef",
                    f"no SLI named {ref!r} in this file: add a `kind: SLI` document",
                )
            indicator = slis[ref]
        if not isinstance(indicator, dict):
            raise _err(where, "spec.indicator", "needs an indicator.spec or an indicatorRef")
        windows = spec.get("timeWindow") or []
        if not isinstance(windows, list) or len(windows) != 1:
            raise _err(where, "spec.timeWindow", "give exactly one time window")
        tw = windows[0] or {}
        if tw.get("isRolling") is False:
            raise _err(
                where,
                "spec.timeWindow[0].isRolling",
                "calendar windows are not supported: use isRolling: true",
            )
        window = parse_duration(
            tw.get("duration"), where=f"{where}, field spec.timeWindow[0].duration"
        )
        method = spec.get("budgetingMethod", "Occurrences")
        if method not in ("Occurrences", "Timeslices", "RatioTimeslices"):
            raise _err(where, "spec.budgetingMethod", f"{method!r}: use Occurrences")
        objectives = spec.get("objectives")
        if not isinstance(objectives, list) or not objectives:
            raise _err(where, "spec.objectives", "give at least one objective with a target")
        obj = objectives[0] or {}
        if "target" not in obj and "targetPercent" not in obj:
            raise _err(where, "spec.objectives[0].target", "is required (e.g. 0.999)")
        target = obj.get("target", obj.get("targetPercent"))
        objective = parse_objective(target, where=where, fieldname="spec.objectives[0].target")
        common: dict[str, Any] = {
            "name": name,
            "objective": objective,
            "window": window,
            "source": source,
            "service": str(spec.get("service") or ""),
            "description": str(spec.get("description") or ""),
            "form": "openslo",
        }
        if "ratioMetric" in indicator:
            ratio = indicator["ratioMetric"] or {}
            f = "spec.indicator.spec.ratioMetric"
            good = _metric_query(ratio.get("good"), where=where, fieldname=f"{f}.good")
            bad = _metric_query(ratio.get("bad"), where=where, fieldname=f"{f}.bad")
            total = _metric_query(ratio.get("total"), where=where, fieldname=f"{f}.total")
            if "total" not in ratio:
                raise _err(where, f"{f}.total", "is required")
            if ("good" in ratio) == ("bad" in ratio):
                raise _err(where, f"{f}.good", "give exactly one of good and bad")
            match, _ = _log_filters(total)
            _, good_status = _log_filters(good)
            _, bad_status = _log_filters(bad)
            good_codes = _status_values(good_status)
            bad_codes = _status_values(bad_status)
            if good_status.get("negate"):
                good_codes, bad_codes = [], good_codes
            if bad_status.get("negate"):
                good_codes, bad_codes = bad_codes, []
            out.append(
                SLO(
                    kind=SLOKind.RATIO,
                    match=match,
                    good={"status": good_codes} if good_codes else {},
                    bad={"status": bad_codes} if bad_codes else {},
                    good_query=good,
                    bad_query=bad,
                    total_query=total,
                    **common,
                )
            )
        elif "thresholdMetric" in indicator:
            f = "spec.indicator.spec.thresholdMetric"
            query = _metric_query(indicator["thresholdMetric"] or {}, where=where, fieldname=f)
            op = str(obj.get("op", "lte"))
            if op not in ("lt", "lte", "gt", "gte"):
                raise _err(where, "spec.objectives[0].op", f"{op!r}: use lt, lte, gt or gte")
            if "value" not in obj:
                raise _err(where, "spec.objectives[0].value", "a threshold objective needs it")
            try:
                value = float(obj["value"])
            except (TypeError, ValueError):
                raise _err(
                    where, "spec.objectives[0].value", f"{obj['value']!r} is not a number"
                ) from None
            match, _ = _log_filters(query)
            # On logs a threshold objective reads as per-request latency in milliseconds.
            out.append(
                SLO(
                    kind=SLOKind.LATENCY,
                    match=match,
                    threshold_ms=value,
                    threshold_query=query,
                    threshold_op=op,
                    threshold_value=value,
                    **common,
                )
            )
        else:
            raise _err(where, "spec.indicator.spec", "needs a ratioMetric or a thresholdMetric")
    if not out:
        raise InvalidInput(f"{source}: no `kind: SLO` document found", field="kind")
    return out


# --- entry points -------------------------------------------------------------------------------


def parse_slos(text: str, *, source: str = "<slos>") -> list[SLO]:
    """Parse native or OpenSLO YAML text into SLOs (errors name source, SLO and field)."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"{source}:{at} is not valid YAML: {exc}", field="file") from None
    if not docs:
        raise InvalidInput(f"{source}: the file is empty: define at least one SLO", field="file")
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            raise InvalidInput(f"{source}: document {i + 1} must be a mapping", field="file")
    if any("apiVersion" in d for d in docs):
        return _openslo(docs, source)
    if len(docs) > 1:
        raise InvalidInput(f"{source}: the native form is one YAML document", field="file")
    return _native(docs[0], source)


def load_slo_file(path: str | Path) -> list[SLO]:
    """Read one SLO file (native or OpenSLO)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"SLO file {p} does not exist", field="slo") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read SLO file {p}: {exc}", field="slo") from None
    return parse_slos(text, source=str(p))


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
