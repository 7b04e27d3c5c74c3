"""Prometheus recording and alerting rules for SLOs (multi-window, multi-burn-rate).

    text = rules_yaml(load_slo_file("slos.yaml"))   # for rule_files: in prometheus.yml

For each SLO and each alert window, a recording rule `slo:sli_error:ratio_rate<W>` (labels
slo, service) holds the error ratio over W; one alert `SLOErrorBudgetBurn` per burn alert
fires when the long and the short window both burn faster than the alert's factor. Behind
them, the confident alerts (`SLOBurnConfident`, promql.py) count requests per window and page
when the counts prove the burn.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from warroom.core.errors import InvalidInput
from warroom.detect.slo.model import SLO, Matcher, PromQuery, SLOKind, format_duration
from warroom.detect.slo.promql import confident_rules

ALERT_NAME = "SLOErrorBudgetBurn"


def record_name(window: str) -> str:
    return f"slo:sli_error:ratio_rate{window}"


def _regex_alternatives(values: list[str]) -> str:
    out = []
    for v in values:
        escaped = re.sub(r"([.+^$()|{}\[\]\\])", r"\\\1", v)
        out.append(escaped.replace("*", ".*").replace("?", "."))
    return "|".join(out)


def _status_regex(codes: list[str]) -> str:
    return "|".join(c.replace("x", ".") for c in codes)


def _native_matchers(slo: SLO) -> list[Matcher]:
    labels = slo.prometheus.labels
    out: list[Matcher] = []
    for key in ("route", "method"):
        values = slo.match.get(key)
        if not values:
            continue
        label = labels.get(key, key)
        plain = len(values) == 1 and not any(c in values[0] for c in "*?[")
        if plain:
            out.append(Matcher(label, "=", values[0]))
        else:
            out.append(Matcher(label, "=~", _regex_alternatives(values)))
    if slo.match.get("path_prefix"):
        raise InvalidInput(
            f"{slo.where('match.path_prefix')}: Prometheus metrics have no raw path: "
            "match on route instead",
            field="match.path_prefix",
        )
    return out


def _selector(metric: str, matchers: list[Matcher]) -> str:
    inner = ",".join(m.render() for m in matchers)
    return f"{metric}{{{inner}}}" if inner else metric


def _need_prometheus(query: PromQuery, *, slo: SLO, fieldname: str) -> None:
    if not query.is_prometheus:
        raise InvalidInput(
            f"{slo.where(fieldname)}: metricSource type {query.source_type!r}: the rules are "
            "written for Prometheus, so it needs a Prometheus query",
            field=fieldname,
        )


def _rate_sum(query: PromQuery, window: str, *, slo: SLO, fieldname: str) -> str:
    """`sum(rate(<selector>[W]))` from a counter selector, or the query with {{window}}."""
    _need_prometheus(query, slo=slo, fieldname=fieldname)
    for placeholder in ("{{window}}", "{{.window}}", "{{ .window }}"):
        if placeholder in query.text:
            return "(" + query.text.replace(placeholder, window) + ")"
    if not slo.counter:
        raise InvalidInput(
            f"{slo.where(fieldname)}: ratioMetric.counter is false: warroom wraps counters in "
            "rate(); give a counter or a query with a {{window}} placeholder",
            field=fieldname,
        )
    if not query.is_selector:
        raise InvalidInput(
            f"{slo.where(fieldname)}: {query.text!r} is not a counter selector: give "
            '`metric{label="value"}` (warroom wraps it in rate() per window) or a query '
            "with a {{window}} placeholder",
            field=fieldname,
        )
    sel = _selector(query.metric or "", list(query.matchers))
    agg = query.wrapper or "sum"
    return f"{agg}(rate({sel}[{window}]))"


def ratio_parts(slo: SLO, window: str) -> tuple[str | None, str | None, str]:
    """(bad, good, total) rates of `slo` over `window` in PromQL, one of bad/good None.

    Raises for SLOs whose indicator is a threshold on a metric (no request counts).
    """
    if slo.form == "openslo":
        f = "spec.indicator.spec.ratioMetric"
        if slo.total_query is None:
            raise InvalidInput(
                f"{slo.where(f + '.total')}: the metric source has no Prometheus query",
                field=f"{f}.total",
            )
        total = _rate_sum(slo.total_query, window, slo=slo, fieldname=f"{f}.total")
        if slo.bad_query is not None:
            return _rate_sum(slo.bad_query, window, slo=slo, fieldname=f"{f}.bad"), None, total
        if slo.good_query is None:
            raise InvalidInput(
                f"{slo.where(f + '.good')}: the metric source has no Prometheus query",
                field=f"{f}.good",
            )
        return None, _rate_sum(slo.good_query, window, slo=slo, fieldname=f"{f}.good"), total
    prom = slo.prometheus
    base = _native_matchers(slo)
    if slo.kind is SLOKind.LATENCY:
        seconds = (slo.threshold_ms or 0) / 1000.0
        le = f"{seconds:g}"
        le_matcher = (
            Matcher("le", "=~", f"{le}(\\.0)?")
            if "." not in le and "e" not in le
            else Matcher("le", "=", le)
        )
        good = (
            f"sum(rate({_selector(prom.latency_metric + '_bucket', [*base, le_matcher])}"
            f"[{window}]))"
        )
        total = f"sum(rate({_selector(prom.latency_metric + '_count', base)}[{window}]))"
        return None, good, total
    total = f"sum(rate({_selector(prom.requests_metric, base)}[{window}]))"
    if slo.good:
        m = Matcher(prom.code_label, "=~", _status_regex(slo.good["status"]))
        return None, f"sum(rate({_selector(prom.requests_metric, [*base, m])}[{window}]))", total
    m = Matcher(prom.code_label, "=~", _status_regex(slo.bad.get("status", ["5xx"])))
    return f"sum(rate({_selector(prom.requests_metric, [*base, m])}[{window}]))", None, total


def is_threshold_slo(slo: SLO) -> bool:
    """An OpenSLO threshold-metric SLO: its rules judge slices of a metric, not requests."""
    return slo.form == "openslo" and (slo.threshold_query is not None or bool(slo.threshold_op))


def error_ratio(slo: SLO, window: str) -> str:
    """The PromQL error ratio of `slo` over `window` (a Prometheus duration)."""
    if is_threshold_slo(slo):
        return f'avg_over_time(slo:sli_bad_slice{{slo="{slo.name}"}}[{window}])'
    bad, good, total = ratio_parts(slo, window)
    if bad is not None:
        return f"{bad}\n/\n{total}"
    return f"1 - (\n{good}\n/\n{total}\n)"


def _num(x: float) -> str:
    return f"{x:.10g}"


def _labels(slo: SLO) -> dict[str, str]:
    out = {"slo": slo.name}
    if slo.service:
        out["service"] = slo.service
    return out


def rule_groups(slos: list[SLO], *, confident: bool = True) -> dict[str, Any]:
    """The rule file as a dict: one group per SLO (`confident`: with the confident alerts)."""
    groups = []
    for slo in slos:
        labels = _labels(slo)
        rules: list[dict[str, Any]] = []
        if slo.form == "openslo" and (slo.threshold_query is not None or slo.threshold_op):
            q = slo.threshold_query
            if q is None:
                raise InvalidInput(
                    f"{slo.where('spec.indicator.spec.thresholdMetric')}: the metric source "
                    "has no Prometheus query",
                    field="spec.indicator.spec.thresholdMetric",
                )
            _need_prometheus(q, slo=slo, fieldname="spec.indicator.spec.thresholdMetric")
            # a slice is bad when the objective's comparison does not hold
            negated = {"lt": ">=", "lte": ">", "gt": "<=", "gte": "<"}[slo.threshold_op or "lte"]
            rules.append(
                {
                    "record": "slo:sli_bad_slice",
                    "expr": f"({q.text}) {negated} bool {_num(slo.threshold_value or 0)}",
                    "labels": labels,
                }
            )
        windows: list[str] = []
        for alert in slo.alerts:
            for w in (format_duration(alert.long), format_duration(alert.short)):
                if w not in windows:
                    windows.append(w)
        for w in windows:
            rules.append({"record": record_name(w), "expr": error_ratio(slo, w), "labels": labels})
        sel = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for alert in slo.alerts:
            long_w, short_w = format_duration(alert.long), format_duration(alert.short)
            threshold = _num(alert.factor * slo.error_budget)
            objective = f"{slo.objective * 100:g}%"
            rules.append(
                {
                    "alert": ALERT_NAME,
                    "expr": (
                        f"{record_name(long_w)}{{{sel}}} > {threshold}\n"
                        f"and\n{record_name(short_w)}{{{sel}}} > {threshold}"
                    ),
                    "labels": {
                        **labels,
                        "severity": alert.severity,
                        "burn_alert": alert.name,
                        "long_window": long_w,
                        "short_window": short_w,
                    },
                    "annotations": {
                        "summary": (
                            f"SLO {slo.name} ({objective} over {format_duration(slo.window)}) "
                            f"is burning its error budget {_num(alert.factor)}x too fast"
                        ),
                        "description": (
                            f"Error ratio over {long_w} and {short_w} is above {threshold} "
                            f"({_num(alert.factor)}x the budget of {_num(slo.error_budget)})."
                            + (f" {slo.description}" if slo.description else "")
                        ),
                    },
                }
            )
        group: dict[str, Any] = {"name": f"slo-{slo.name}"}
        if confident and not is_threshold_slo(slo):  # the confident alerts count requests
            rules.extend(confident_rules(slo, functools.partial(ratio_parts, slo), labels))
            group["interval"] = "10s"  # the outage alert's steps (promql._held)
        groups.append({**group, "rules": rules})
    return {"groups": groups}


def _literal_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(str, _literal_representer)


def rules_yaml(slos: list[SLO], *, confident: bool = True) -> str:
    """The Prometheus rule file for `slos`, as YAML text."""
    header = "# SLO recording and burn-rate alerting rules, generated by warroom.\n"
    groups = rule_groups(slos, confident=confident)
    return header + yaml.dump(groups, Dumper=_Dumper, sort_keys=False, width=100)
