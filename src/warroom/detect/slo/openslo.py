"""The OpenSLO v1 subset warroom reads.

Read: `kind: SLO` with an inline `indicator` or an `indicatorRef` to a `kind: SLI` (same file,
or same folder); `ratioMetric` good/total or bad/total and `thresholdMetric`; `metricSource`
with `spec.query`, its type given inline or by `metricSourceRef` to a `kind: DataSource`;
`objectives` with `target` or `targetPercent` (and `op`/`value` for thresholds), one warroom SLO
per objective when there are several; `timeWindow` durations in OpenSLO shorthand (m, h, d, w,
M, Q, Y). Files may hold several YAML documents or a YAML list of objects.

Approximated, with a note on the SLO (`SLO.notes`): a calendar window is read as a rolling
window of the same length (1M = 30d, 1Q = 90d, 1Y = 365d; so are rolling M/Q/Y); no
`timeWindow` means 28d; `Timeslices`/`RatioTimeslices` budgets are evaluated as occurrences;
`alertPolicies` are not read (warroom's burn-rate alerts apply).

Skipped: `Service`, `AlertPolicy`, `AlertCondition`, `AlertNotificationTarget` (and `SLI` or
`DataSource` documents no SLO uses). Refused with an error naming file, SLO and field:
composite objectives (`objectives[].indicatorRef`), `ratioMetric.raw`, an `indicatorRef` to
no SLI. Non-Prometheus sources (Datadog, CloudWatch, ...) load; `warroom slo rules` refuses
them, and on access logs a ratio needs status codes it can read from a Prometheus selector.

Prometheus counter selectors in the queries (`http_requests_total{route="/checkout",code=~"5.."}`)
are kept as `PromQuery` for rule generation and give the filters for access logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from warroom.core.errors import InvalidInput
from warroom.detect.slo.documents import yaml_documents
from warroom.detect.slo.model import (
    SLO,
    STATUS_RE,
    Matcher,
    PromQuery,
    SLOKind,
    field_error,
    format_duration,
    parse_duration,
    parse_objective,
)

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
        if STATUS_RE.match(part):
            out.append(part)
    return out


SKIPPED_KINDS = ("Service", "AlertPolicy", "AlertCondition", "AlertNotificationTarget")
DEFAULT_WINDOW = timedelta(days=28)
_SHORTHAND_RE = re.compile(r"^\s*(\d+)\s*([MQY])\s*$")
_LONG_UNITS = {"M": 30, "Q": 90, "Y": 365}  # days


@dataclass(frozen=True)
class OpenSLOSet:
    """What a set of OpenSLO documents holds, as warroom reads it."""

    slos: list[SLO]
    slis: list[str] = field(default_factory=list)  # names of the SLI documents
    data_sources: dict[str, str] = field(default_factory=dict)  # name -> type
    skipped: list[str] = field(default_factory=list)  # "AlertPolicy 'x'" ... not evaluated


def parse_window_duration(value: Any, *, where: str) -> timedelta:
    """OpenSLO duration shorthand: m, h, d, w as usual; M, Q, Y as 30, 90 and 365 days."""
    m = _SHORTHAND_RE.match(str(value))
    if m:
        days = int(m.group(1)) * _LONG_UNITS[m.group(2)]
        if days <= 0:
            raise InvalidInput(
                f"{where}: a duration must be positive, got {value!r}",
                field=where.rsplit(", field ", 1)[-1],
            )
        return timedelta(days=days)
    return parse_duration(value, where=where)


def _source_type(source: dict[str, Any], data_sources: dict[str, str]) -> str:
    kind = source.get("type")
    ref = source.get("metricSourceRef")
    if not kind and ref is not None:
        kind = data_sources.get(str(ref))
    return str(kind or "Prometheus")


def _metric_query(
    node: Any, *, where: str, fieldname: str, data_sources: dict[str, str]
) -> PromQuery | None:
    """The query of a `metricSource` (None when it is a placeholder with no usable query).

    Prometheus queries are parsed for selectors; other sources are kept with their type, so
    that rule generation can refuse them by name.
    """
    if node is None:
        return None
    source = _dig(node, "metricSource")
    if not isinstance(source, dict):
        raise field_error(where, fieldname, "needs a metricSource {type, spec: {query}}")
    kind = _source_type(source, data_sources)
    spec = source.get("spec")
    query = None
    if isinstance(spec, dict):
        query = spec.get("query") or spec.get("promql")
    if kind == "Any" or str(query).strip() == "Any":
        return None  # the spec examples' placeholder source
    if kind.lower() != "prometheus":
        return PromQuery(text=str(query or ""), source_type=kind)
    if query is None or str(query).strip() == "":
        return None
    return parse_query(str(query))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _window(spec: dict[str, Any], where: str) -> tuple[timedelta, list[str]]:
    windows = spec.get("timeWindow")
    if windows is None or windows == []:
        return DEFAULT_WINDOW, ["no timeWindow: warroom uses a rolling 28d"]
    if isinstance(windows, dict):
        windows = [windows]
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        raise field_error(where, "spec.timeWindow", "give exactly one time window")
    tw = windows[0]
    if "duration" not in tw:
        raise field_error(where, "spec.timeWindow[0].duration", "is required (e.g. 28d, 1w, 1M)")
    window = parse_window_duration(
        tw["duration"], where=f"{where}, field spec.timeWindow[0].duration"
    )
    notes: list[str] = []
    calendar = tw.get("calendar")
    rolling = tw.get("isRolling")
    if rolling is None:
        rolling = calendar is None
    if not isinstance(rolling, bool):
        raise field_error(where, "spec.timeWindow[0].isRolling", f"{rolling!r}: use true or false")
    if str(tw["duration"]).strip()[-1:] in _LONG_UNITS:
        notes.append(f"duration {tw['duration']} read as {format_duration(window)}")
    if not rolling:
        start = _dig(calendar, "startTime")
        zone = _dig(calendar, "timeZone")
        anchor = f" from {start} {zone or ''}".rstrip() if start else ""
        notes.append(
            f"calendar window {tw['duration']}{anchor} read as a rolling {format_duration(window)}"
        )
    return window, notes


def _objective_target(obj: dict[str, Any], *, where: str, f: str) -> float:
    if "target" in obj and "targetPercent" in obj:
        raise field_error(where, f"{f}.targetPercent", "give target or targetPercent, not both")
    if "targetPercent" in obj:
        return parse_objective(
            f"{obj['targetPercent']}%", where=where, fieldname=f"{f}.targetPercent"
        )
    if "target" not in obj:
        raise field_error(where, f"{f}.target", "is required (e.g. 0.999)")
    return parse_objective(obj["target"], where=where, fieldname=f"{f}.target")


def _name_of(doc: dict[str, Any]) -> str:
    return str(_dig(doc, "metadata", "name") or "").strip()


def read_openslo_file(path: str | Path) -> OpenSLOSet:
    """All of one OpenSLO file as warroom reads it, SLOs or not (`load_slo_file` needs one)."""
    p = Path(path)
    docs = yaml_documents(p.read_text(encoding="utf-8"), source=str(p))
    return read_openslo([(str(p), d) for d in docs])


def read_openslo(entries: list[tuple[str, dict[str, Any]]]) -> OpenSLOSet:
    """Read (file, document) pairs as one OpenSLO set.

    SLIs and DataSources may be referenced from any document of the set. No SLO is not an
    error here (a file of SLIs or alert policies reads as an empty set).
    """
    slis: dict[str, dict[str, Any]] = {}
    data_sources: dict[str, str] = {}
    skipped: list[str] = []
    counters: dict[str, int] = {}
    numbered: list[tuple[str, int, dict[str, Any]]] = []
    for file, doc in entries:
        counters[file] = counters.get(file, 0) + 1
        index = counters[file]
        numbered.append((file, index, doc))
        api = str(doc.get("apiVersion", ""))
        if api != "openslo/v1":
            raise InvalidInput(
                f"{file}: document {index} has apiVersion {api!r}: warroom reads openslo/v1",
                field="apiVersion",
            )
        kind = doc.get("kind")
        name = _name_of(doc)
        if kind == "SLI" and name:
            spec = doc.get("spec")
            slis[name] = spec if isinstance(spec, dict) else {}
        elif kind == "DataSource" and name:
            data_sources[name] = str(_dig(doc, "spec", "type") or "")
        elif kind in SKIPPED_KINDS:
            skipped.append(f"{kind} {name!r}")
        elif kind != "SLO":
            raise InvalidInput(
                f"{file}: document {index} has unknown kind {kind!r}: use SLO, SLI, "
                "DataSource, Service, AlertPolicy, AlertCondition or AlertNotificationTarget",
                field="kind",
            )
    out: list[SLO] = []
    seen: set[str] = set()
    for file, index, doc in numbered:
        if doc.get("kind") != "SLO":
            continue
        name = _name_of(doc)
        if not name:
            raise InvalidInput(
                f"{file}: document {index} (SLO) has no metadata.name", field="metadata.name"
            )
        if name in seen:
            raise InvalidInput(f"{file}: SLO {name!r} is defined twice", field="metadata.name")
        seen.add(name)
        for slo in _slo(doc, name, file, slis, data_sources):
            out.append(slo)
    return OpenSLOSet(out, sorted(slis), data_sources, skipped)


def parse_openslo(docs: list[dict[str, Any]], source: str) -> list[SLO]:
    """SLOs from the YAML documents of one OpenSLO file (an error when there is none)."""
    found = read_openslo([(source, d) for d in docs])
    if not found.slos:
        kinds = sorted({str(d.get("kind")) for d in docs})
        raise InvalidInput(
            f"{source}: no `kind: SLO` document found (the file holds {', '.join(kinds)}): "
            "only SLOs are evaluated; the other kinds are read alongside them (same file or "
            "folder)",
            field="kind",
        )
    return found.slos


def _slo(
    doc: dict[str, Any],
    name: str,
    source: str,
    slis: dict[str, dict[str, Any]],
    data_sources: dict[str, str],
) -> list[SLO]:
    where = f"{source}: SLO {name!r}"
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise field_error(where, "spec", "is required")
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise field_error(where, "spec.objectives", "give at least one objective with a target")
    for i, obj in enumerate(objectives):
        if not isinstance(obj, dict):
            raise field_error(where, f"spec.objectives[{i}]", "must be a mapping with a target")
        for key in ("indicatorRef", "indicator", "compositeWeight"):
            if key in obj:
                raise field_error(
                    where,
                    f"spec.objectives[{i}].{key}",
                    "composite SLOs (an indicator per objective) are not supported: give "
                    "one spec.indicator or spec.indicatorRef and plain objectives",
                )
    indicator = _dig(spec, "indicator", "spec")
    if indicator is None and spec.get("indicatorRef"):
        ref = str(spec["indicatorRef"])
        if ref not in slis:
            raise field_error(
                where,
                "spec.indicatorRef",
                f"no SLI named {ref!r} in this file: add a `kind: SLI` document "
                "(or load the folder that holds it)",
            )
        indicator = slis[ref]
    if not isinstance(indicator, dict):
        raise field_error(where, "spec.indicator", "needs an indicator.spec or an indicatorRef")
    window, notes = _window(spec, where)
    method = spec.get("budgetingMethod", "Occurrences")
    if method not in ("Occurrences", "Timeslices", "RatioTimeslices"):
        raise field_error(
            where, "spec.budgetingMethod", f"{method!r}: use Occurrences (or Timeslices)"
        )
    if method != "Occurrences":
        notes.append(
            f"budgetingMethod {method} not applied: events are counted, "
            "timeSliceTarget and timeSliceWindow are ignored"
        )
    if spec.get("alertPolicies"):
        notes.append("alertPolicies not read: warroom's burn-rate alerts apply")
    common: dict[str, Any] = {
        "window": window,
        "source": source,
        "service": str(spec.get("service") or ""),
        "description": str(spec.get("description") or ""),
        "form": "openslo",
    }
    names = [name]
    if len(objectives) > 1:
        names = []
        for i, obj in enumerate(objectives):
            suffix = _slug(str(obj.get("name") or obj.get("displayName") or "")) or str(i + 1)
            candidate = f"{name}-{suffix}"
            names.append(candidate if candidate not in names else f"{name}-{i + 1}")
    out = []
    for i, obj in enumerate(objectives):
        f = f"spec.objectives[{i}]"
        objective = _objective_target(obj, where=where, f=f)
        item_notes = list(notes)
        if len(objectives) > 1:
            label = obj.get("displayName") or obj.get("name") or i + 1
            item_notes.append(f"objective {label!r} of SLO {name!r}")
        out.append(
            _indicator_slo(
                indicator,
                obj,
                f,
                where=where,
                data_sources=data_sources,
                name=names[i],
                objective=objective,
                notes=tuple(item_notes),
                **common,
            )
        )
    return out


def _indicator_slo(
    indicator: dict[str, Any],
    obj: dict[str, Any],
    f_obj: str,
    *,
    where: str,
    data_sources: dict[str, str],
    **common: Any,
) -> SLO:
    if "ratioMetric" in indicator:
        ratio = indicator["ratioMetric"] or {}
        f = "spec.indicator.spec.ratioMetric"
        if not isinstance(ratio, dict):
            raise field_error(where, f, "must be a mapping with good or bad, and total")
        if "raw" in ratio or "rawType" in ratio:
            raise field_error(
                where,
                f"{f}.raw",
                "precomputed ratios (raw, rawType) are not supported: give good or bad, and total",
            )
        if "total" not in ratio:
            raise field_error(where, f"{f}.total", "is required")
        if ("good" in ratio) == ("bad" in ratio):
            raise field_error(where, f"{f}.good", "give exactly one of good and bad")
        good, bad, total = (
            _metric_query(
                ratio.get(part), where=where, fieldname=f"{f}.{part}", data_sources=data_sources
            )
            for part in ("good", "bad", "total")
        )
        match, _ = _log_filters(total)
        _, good_status = _log_filters(good)
        _, bad_status = _log_filters(bad)
        good_codes = _status_values(good_status)
        bad_codes = _status_values(bad_status)
        if good_status.get("negate"):
            good_codes, bad_codes = [], good_codes
        if bad_status.get("negate"):
            good_codes, bad_codes = bad_codes, []
        return SLO(
            kind=SLOKind.RATIO,
            match=match,
            good={"status": good_codes} if good_codes else {},
            bad={"status": bad_codes} if bad_codes else {},
            good_query=good,
            bad_query=bad,
            total_query=total,
            counter=ratio.get("counter") is not False,
            **common,
        )
    if "thresholdMetric" in indicator:
        f = "spec.indicator.spec.thresholdMetric"
        query = _metric_query(
            indicator["thresholdMetric"] or {},
            where=where,
            fieldname=f,
            data_sources=data_sources,
        )
        op = str(obj.get("op", "lte"))
        if op not in ("lt", "lte", "gt", "gte"):
            raise field_error(where, f"{f_obj}.op", f"{op!r}: use lt, lte, gt or gte")
        if "value" not in obj:
            raise field_error(where, f"{f_obj}.value", "a threshold objective needs it")
        try:
            value = float(obj["value"])
        except (TypeError, ValueError):
            raise field_error(
                where, f"{f_obj}.value", f"{obj['value']!r} is not a number"
            ) from None
        match, _ = _log_filters(query)
        # On logs a threshold objective reads as per-request latency in milliseconds.
        return SLO(
            kind=SLOKind.LATENCY,
            match=match,
            threshold_ms=value,
            threshold_query=query,
            threshold_op=op,
            threshold_value=value,
            **common,
        )
    raise field_error(where, "spec.indicator.spec", "needs a ratioMetric or a thresholdMetric")
