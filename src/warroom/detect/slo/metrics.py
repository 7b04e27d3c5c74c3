"""SLI events from a Prometheus-compatible store: per-minute counts instead of log lines.

    reports = check_metrics(settings, slos, now=now)

The store is read once (`warroom.triage.metrics.source.read_metrics`: requests by minute,
route and status, latency histograms by route) over the longest SLO window; each SLO's
events are then pre-aggregated (ts = the minute, good, total = that minute's counts) and
evaluated by the same burn-rate logic as on logs (`burn.evaluate`). A latency SLO reads the
histogram's cumulative bucket counts: exact when the threshold is a bucket bound (`le`),
interpolated linearly between the bounds around it otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import polars as pl

from warroom.core.errors import InvalidInput
from warroom.detect.slo.burn import SLOReport, evaluate
from warroom.detect.slo.logs import match_expr, status_expr
from warroom.detect.slo.model import SLO, SLOKind
from warroom.detect.slo.tracker import Tracker
from warroom.triage.metrics.aggregates import le_frame
from warroom.triage.metrics.client import PromClient, step_text
from warroom.triage.metrics.config import MetricsSettings
from warroom.triage.metrics.source import read_metrics
from warroom.triage.sli import MINUTE as MINUTE_TYPE
from warroom.triage.sli import Aggregates

MINUTE = timedelta(minutes=1)


def _check_match(slo: SLO) -> pl.Expr:
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
    return match_expr(slo.match)


def metric_events(agg: Aggregates, slo: SLO) -> pl.DataFrame:
    """ts (minute), good, total of the requests a ratio or availability SLO counts."""
    rows = agg.status.filter(_check_match(slo))
    good = (
        status_expr(slo.good["status"])
        if slo.good
        else ~status_expr(slo.bad.get("status", ["5xx"]))
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


def latency_events(les: pl.DataFrame, slo: SLO, *, start: datetime, unit_ms: float) -> pl.DataFrame:
    """ts, good, total of a latency SLO from cumulative bucket counts (i, route, le, n): the
    count at the threshold, interpolated linearly between the bounds around it (exact when
    it is a bound), as histogram_quantile reads a histogram."""
    thr = float(slo.threshold_ms or 0) / unit_ms
    le, n = pl.col("le"), pl.col("n")
    per = (
        les.filter(_check_match(slo))
        .group_by("i", "route")
        .agg(
            total=n.max(),
            below=n.filter(le <= thr).max().fill_null(0),
            lo=le.filter(le <= thr).max().fill_null(0.0),
            above=n.filter(le >= thr).min(),
            hi=le.filter(le >= thr).min(),
        )
        .with_columns(
            under=pl.when(pl.col("hi") > pl.col("lo"))
            .then(
                pl.col("below")
                + (pl.col("above") - pl.col("below"))
                * (thr - pl.col("lo"))
                / (pl.col("hi") - pl.col("lo"))
            )
            .otherwise(pl.col("below"))
            .round()
            .cast(pl.Int64)
        )
    )
    fast = (slo.threshold_op or "lte") in ("lt", "lte")
    good = pl.col("under") if fast else pl.col("total") - pl.col("under")
    return (
        per.group_by("i")
        .agg(good=good.sum().cast(pl.Int64), total=pl.col("total").sum().cast(pl.Int64))
        .select(
            (pl.lit(start).cast(MINUTE_TYPE) + pl.duration(minutes=pl.col("i"))).alias("ts"),
            "good",
            "total",
        )
        .sort("ts")
    )


def check_metrics(
    settings: MetricsSettings, slos: Sequence[SLO], *, now: datetime
) -> list[SLOReport]:
    """Read the store once over the longest SLO window before `now`; evaluate every SLO."""
    if not slos:
        return []
    horizon = max(s.window for s in slos)
    latency = [s for s in slos if s.kind is SLOKind.LATENCY]
    if latency and not settings.latency_query:
        raise InvalidInput(
            f"{latency[0].where()}: a latency SLO needs the latency histogram, and "
            "latency_query is empty in [sources.prometheus]",
            field="latency_query",
        )
    les = pl.DataFrame()
    with PromClient(settings) as client:
        agg, read = read_metrics(client, now - horizon, now, step=MINUTE, latency=False)
        if latency:
            query = settings.fill(settings.latency_query, step=step_text(MINUTE))
            series = client.query_range(query, read.start + MINUTE, read.end, MINUTE)
            les = le_frame(series, route_label=settings.route_label, start=read.start, step=MINUTE)
    unit_ms = 1000.0 if settings.latency_unit == "s" else 1.0
    reports = []
    for s in slos:
        events = (
            latency_events(les, s, start=read.start, unit_ms=unit_ms)
            if s.kind is SLOKind.LATENCY
            else metric_events(agg, s)
        )
        # the workbook alerts and the confident ones, as check_logs does
        tracker = Tracker(s)
        tracker.add(events.filter(pl.col("ts") <= now))
        reports.append(replace(evaluate(events, s, now=now), confident=tracker.status()))
    return reports
