"""The compact native SLO form (one YAML document)::

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

`parse_native(doc, source)` reads it; every error names the file, the SLO and the field.
"""

from __future__ import annotations

import re
from typing import Any

from warroom.core.errors import InvalidInput
from warroom.detect.slo.model import (
    DEFAULT_ALERTS,
    SLO,
    STATUS_RE,
    BurnAlert,
    PromSettings,
    SLOKind,
    field_error,
    format_duration,
    parse_duration,
    parse_objective,
    parse_threshold_ms,
)


def _status_list(value: Any, *, where: str, fieldname: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        text = str(item).strip().lower()
        if not STATUS_RE.match(text):
            raise field_error(
                where, fieldname, f"{item!r} is not a status: use 500 or a class like 5xx"
            )
        out.append(text)
    return out


def _filter(value: Any, *, where: str, fieldname: str, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise field_error(
            where, fieldname, "must be a mapping like {route: /checkout, method: POST}"
        )
    unknown = set(value) - allowed
    if unknown:
        raise field_error(
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


def parse_burn_alerts(value: Any, *, where: str) -> tuple[BurnAlert, ...]:
    if value is None:
        return DEFAULT_ALERTS
    if not isinstance(value, list) or not value:
        raise field_error(
            where, "alerts", "must be a list of {name, severity, long, short, factor}"
        )
    out = []
    for i, item in enumerate(value):
        f = f"alerts[{i}]"
        if not isinstance(item, dict):
            raise field_error(where, f, "must be a mapping {name, severity, long, short, factor}")
        missing = {"severity", "long", "short", "factor"} - set(item)
        if missing:
            raise field_error(where, f"{f}.{sorted(missing)[0]}", "is required")
        sev = str(item["severity"]).lower()
        if sev not in ("page", "ticket"):
            raise field_error(where, f"{f}.severity", f"{item['severity']!r}: use page or ticket")
        long = parse_duration(item["long"], where=f"{where}, field {f}.long")
        short = parse_duration(item["short"], where=f"{where}, field {f}.short")
        if short >= long:
            raise field_error(
                where, f"{f}.short", "the short window must be shorter than the long one"
            )
        try:
            factor = float(item["factor"])
        except (TypeError, ValueError):
            raise field_error(where, f"{f}.factor", f"{item['factor']!r} is not a number") from None
        if factor <= 0:
            raise field_error(where, f"{f}.factor", "a burn-rate factor must be positive")
        name = str(item.get("name") or f"{sev}-{format_duration(long)}")
        out.append(BurnAlert(name, sev, long, short, factor))
    return tuple(out)


def _prom_settings(value: Any, *, where: str, base: PromSettings | None = None) -> PromSettings:
    base = base or PromSettings()
    if value is None:
        return base
    if not isinstance(value, dict):
        raise field_error(where, "prometheus", "must be a mapping")
    allowed = {"requests_metric", "code_label", "latency_metric", "labels"}
    unknown = set(value) - allowed
    if unknown:
        raise field_error(
            where,
            f"prometheus.{sorted(unknown)[0]}",
            f"unknown key: use {', '.join(sorted(allowed))}",
        )
    labels = dict(base.labels)
    if "labels" in value:
        if not isinstance(value["labels"], dict):
            raise field_error(where, "prometheus.labels", "must map route/method to label names")
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


def parse_native(doc: dict[str, Any], source: str) -> list[SLO]:
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
    file_alerts = parse_burn_alerts(doc.get("alerts"), where=source) if "alerts" in doc else None
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
            raise field_error(
                where, sorted(unknown)[0], f"unknown key: use {', '.join(sorted(_NATIVE_KEYS))}"
            )
        try:
            kind = SLOKind(str(item.get("kind", "availability")).lower())
        except ValueError:
            raise field_error(
                where, "kind", f"{item.get('kind')!r}: use availability, latency or ratio"
            ) from None
        if "objective" not in item:
            raise field_error(where, "objective", "is required (e.g. 99.9%)")
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
                raise field_error(
                    where, "threshold", "a latency SLO needs a threshold (e.g. 800ms)"
                )
            threshold = parse_threshold_ms(item["threshold"], where=where)
        elif "threshold" in item:
            raise field_error(where, "threshold", f"only latency SLOs have a threshold, not {kind}")
        if kind is SLOKind.AVAILABILITY:
            if good:
                raise field_error(where, "good", "availability counts bad statuses: use `bad`")
            bad = bad or {"status": ["5xx"]}
        if kind is SLOKind.RATIO and not (good or bad):
            raise field_error(where, "good", "a ratio SLO needs `good: {status: [2xx]}` or `bad`")
        if good and bad:
            raise field_error(where, "bad", "give either good or bad statuses, not both")
        alerts = (
            parse_burn_alerts(item["alerts"], where=where)
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
