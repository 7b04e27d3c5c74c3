"""The OpenSLO v1 subset warroom reads: `kind: SLO` (inline `indicator` or `indicatorRef` to a
`kind: SLI`), `ratioMetric` and `thresholdMetric`, one rolling `timeWindow`, `objectives`.

Prometheus counter selectors in the queries (`http_requests_total{route="/checkout",code=~"5.."}`)
are kept as `PromQuery` for rule generation and give the filters for access logs.
"""

from __future__ import annotations

import re
from typing import Any

from warroom.errors import InvalidInput
from warroom.slo.spec import (
    _STATUS_RE,
    SLO,
    Matcher,
    PromQuery,
    SLOKind,
    _err,
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


def parse_openslo(docs: list[dict[str, Any]], source: str) -> list[SLO]:
    """SLOs from the YAML documents of one OpenSLO file."""
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
