"""SLI events from a Prometheus-compatible store: per-minute counts instead of log lines.

    reports = check_metrics(settings, slos, now=now)

The store is read once (`warroom.triage.metrics.source.read_metrics`: requests by minute,
route and status, latency histograms by route) over the longest SLO window; each SLO's
events are then pre-aggregated (ts = the minute, good, total = that minute's counts) and
evaluated by the same burn-rate logic as on logs (`burn.evaluate`). A latency SLO counts a
request good by its histogram bucket: exact when the threshold is a bucket bound (`le`), and
within the bucket's width otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

from warroom.core.errors import InvalidInput
from warroom.detect.slo.burn import SLOReport, evaluate
from warroom.detect.slo.logs import _match_expr, _status_expr
from warroom.detect.slo.model import SLO, SLOKind
from warroom.triage.metrics.client import PromClient
from warroom.triage.metrics.config import MetricsSettings
from warroom.triage.metrics.source import read_metrics
from warroom.triage.sli import Aggregates, bucket_ms

MINUTE = timedelta(minutes=1)


def metric_events(agg: Aggregates, slo: SLO) -> pl.DataFrame:
    """ts (minute), good, total of the requests `slo` counts, from metric aggregates."""
    unsupported = sorted(set(slo.match) - {"route", "route_regex"})
    if unsupported:
        raise InvalidInput(
            f"{slo.where('match')}: request metrics are kept per route and status, so "
            f"{', '.join(unsupported)} cannot be matched: match on route instead",
            field="match",
        )
    status_given = slo.good.get("status") or slo.bad.get("status")
    if slo.form == "openslo" and slo.kind is SLOKind.RATIO and not status_given:
        raise InvalidInput(
            f"{slo.where('spec.indicator')}: warroom reads the request counter by status "
            'class: give a selector with the code label, like http_requests_total{code=~"5.."}',
            field="spec.indicator",
        )
    match = _match_expr(slo.match)
    if slo.kind is SLOKind.LATENCY:
        limit = float(slo.threshold_ms or 0)
        lat = bucket_ms(pl.col("bucket"))
        op = slo.threshold_op or "lte"
        good = {"lt": lat < limit, "lte": lat <= limit, "gt": lat > limit, "gte": lat >= limit}[op]
        rows = agg.latency.filter(match)
    else:
        rows = agg.status.filter(match)
        good = (
            _status_expr(slo.good["status"])
            if slo.good
            else ~_status_expr(slo.bad.get("status", ["5xx"]))
        )
    return (
        rows.group_by("minute")
        .agg(
            good=pl.col("n").filter(good).sum().cast(pl.Int64),
            total=pl.col("n").sum().cast(pl.Int64),
        )
        .select(pl.col("minute").alias("ts"), "good", "total")
        .sort("ts")
    )


def check_metrics(
    settings: MetricsSettings, slos: Sequence[SLO], *, now: datetime
) -> list[SLOReport]:
    """Read the store once over the longest SLO window before `now`; evaluate every SLO."""
    if not slos:
        return []
    horizon = max(s.window for s in slos)
    latency = any(s.kind is SLOKind.LATENCY for s in slos)
    with PromClient(settings) as client:
        agg, _ = read_metrics(client, now - horizon, now, step=MINUTE, latency=latency)
    return [evaluate(metric_events(agg, s), s, now=now) for s in slos]
