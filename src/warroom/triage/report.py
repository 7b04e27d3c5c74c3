"""`triage()`: from raw access logs, app logs and changes to a typed `TriageReport`.

report = triage(["access.log.gz"], app_logs=["app.log"], changes="changes.jsonl")
print(report.headline())
json.dumps(report.to_dict())
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from warroom.triage.advice import Step, containment_steps, severity_for, summary_for
from warroom.triage.changes import (
    CLOCK_SKEW,
    LOOKBACK,
    Change,
    Suspect,
    git_changes,
    load_changes,
    rank_suspects,
)
from warroom.triage.onset import Signal, error_signal, impact_end, latency_signal, traffic_signal
from warroom.triage.parse import LineStats
from warroom.triage.routes import is_key_flow
from warroom.triage.signatures import Signature, signatures_since
from warroom.triage.sli import (
    MINUTE,
    Aggregates,
    PhaseStats,
    Series,
    aggregate_access_logs,
    bucket_ms,
    clients_affected,
    make_grid,
    phase_stats,
    series,
)

MAX_ROUTE_SERIES = 25
MAX_ROUTES_SHOWN = 10
MAX_RANKED_ROUTES = 500  # busiest, and most 5xx, since the onset


@dataclass
class RouteImpact:
    route: str
    before: PhaseStats | None
    during: PhaseStats
    impact: float  # bad-request equivalents: excess 5xx + slow and surplus requests
    affected: bool
    key_flow: bool
    repeated_request_ids: float | None = None  # share of requests during reusing an id

    @property
    def error_rate_before(self) -> float:
        return self.before.error_rate if self.before else 0.0

    @property
    def error_rate_during(self) -> float:
        return self.during.error_rate

    def to_dict(self) -> dict[str, Any]:
        b = self.before
        return {
            "route": self.route,
            "affected": self.affected,
            "key_flow": self.key_flow,
            "impact": round(self.impact, 1),
            "requests_before": b.requests if b else 0,
            "requests_during": self.during.requests,
            "requests_per_min_before": round(b.per_minute, 2) if b else 0.0,
            "requests_per_min_during": round(self.during.per_minute, 2),
            "error_rate_before": round(self.error_rate_before, 5),
            "error_rate_during": round(self.error_rate_during, 5),
            "p50_before_ms": _r(b.p50_ms if b else None),
            "p50_during_ms": _r(self.during.p50_ms),
            "p95_before_ms": _r(b.p95_ms if b else None),
            "p95_during_ms": _r(self.during.p95_ms),
            "p99_before_ms": _r(b.p99_ms if b else None),
            "p99_during_ms": _r(self.during.p99_ms),
            "repeated_request_ids": _r(self.repeated_request_ids, 3),
        }


def _r(v: float | None, digits: int = 1) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, digits)


@dataclass
class TriageReport:
    """What happened, since when, how badly, and what to do first."""

    incident: bool
    onset: datetime | None
    window: dict[str, Any]
    severity: dict[str, Any] | None
    routes: list[RouteImpact]
    signatures: list[Signature]
    suspects: list[Suspect]
    containment: list[Step]
    lines: LineStats
    symptom: str | None = None
    overall: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)
    signals: list[Signal] = field(default_factory=list)
    series: Series | None = None
    latency_available: bool = False
    formats: dict[str, str] = field(default_factory=dict)
    changes_considered: int = 0
    summary: str = ""

    def headline(self) -> str:
        """A one-line title for declaring the incident."""
        if not self.incident:
            return self.summary or "No incident detected"
        at = self.onset.strftime("%H:%M UTC") if self.onset else "?"
        affected = [r for r in self.routes if r.affected] or self.routes[:1]
        where = affected[0].route if len(affected) == 1 else f"{len(affected)} routes"
        if len(affected) > 1:
            where += f" (worst {affected[0].route})"
        during = self.overall.get("during", {})
        if self.symptom == "error_rate":
            rate = (
                affected[0].error_rate_during
                if len(affected) == 1
                else during.get("error_rate", 0.0)
            )
            return f"5xx on {where} since {at} ({rate:.0%} of requests)"
        if self.symptom == "p95_ms":
            r = affected[0]
            return (
                f"Slow responses on {where} since {at} "
                f"(p95 {_ms(r.before.p95_ms if r.before else None)} -> {_ms(r.during.p95_ms)})"
            )
        r = affected[0]
        before = r.before.per_minute if r.before else 0.0
        ratio = r.during.per_minute / before if before else float("inf")
        extra = ""
        if r.repeated_request_ids and r.repeated_request_ids >= 0.2:
            extra = f", {r.repeated_request_ids:.0%} repeated request ids: retry storm"
        verb = "Traffic surge" if ratio >= 1 else "Traffic drop"
        return f"{verb} on {where} since {at} (x{ratio:.1f}{extra})"

    def to_dict(self) -> dict[str, Any]:
        s = self.series
        return {
            "incident": self.incident,
            "headline": self.headline(),
            "summary": self.summary,
            "onset": self.onset.isoformat() if self.onset else None,
            "symptom": self.symptom,
            "window": self.window,
            "severity": self.severity,
            "overall": self.overall,
            "clients": self.clients,
            "routes": [r.to_dict() for r in self.routes],
            "signals": [x.to_dict() for x in self.signals],
            "signatures": [x.to_dict() for x in self.signatures],
            "suspects": [x.to_dict() for x in self.suspects],
            "changes_considered": self.changes_considered,
            "containment": [x.to_dict() for x in self.containment],
            "latency_available": self.latency_available,
            "formats": self.formats,
            "lines": self.lines.to_dict(),
            "series": None
            if s is None
            else {
                "interval_seconds": self.window.get("interval_seconds"),
                "start": s.times[0].isoformat() if s.times else None,
                "requests": [int(v) for v in s.requests],
                "error_rate": [_r(v, 4) for v in s.error_rate],
                "p95_ms": [_r(v) for v in s.p95],
            },
        }


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f} ms"


def triage(
    access_logs: list[str],
    *,
    app_logs: list[str | Path] | None = None,
    changes: str | Path | list[Change] | None = None,
    git_repo: str | Path | None = None,
    log_format: str | None = None,
    time_unit: str | None = None,
    progress: bool = False,
    json_fields: dict[str, str] | None = None,
) -> TriageReport:
    """Tell from access logs (and app logs, changes) whether, since when and why things broke."""
    known_changes: list[Change] = []
    if isinstance(changes, list):
        known_changes = list(changes)
    elif changes is not None:
        known_changes = load_changes(changes)  # validate before the long read
    agg = aggregate_access_logs(
        access_logs,
        log_format=log_format,
        time_unit=time_unit,
        progress=progress,
        json_fields=json_fields,
    )
    return triage_aggregates(agg, app_logs=app_logs, changes=known_changes, git_repo=git_repo)


def triage_aggregates(
    agg: Aggregates,
    *,
    app_logs: list[str | Path] | None = None,
    changes: list[Change] | None = None,
    git_repo: str | Path | None = None,
) -> TriageReport:
    """The analysis behind `triage()`, over already aggregated access logs."""
    grid = make_grid(agg)
    base = {"lines": agg.lines, "formats": agg.formats, "latency_available": agg.latency_available}
    if grid is None:
        return TriageReport(
            incident=False,
            onset=None,
            window={},
            severity=None,
            routes=[],
            signatures=[],
            suspects=[],
            containment=[],
            summary="No incident detected: no requests could be read",
            **base,  # type: ignore[arg-type]
        )
    window: dict[str, Any] = {
        "data_start": grid.start.isoformat(),
        "data_end": grid.end.isoformat(),
        "interval_seconds": int(grid.interval.total_seconds()),
    }
    scopes = _route_scopes(agg)
    ser = series(agg, grid, scopes)
    signals = _signals(ser, latency=agg.latency_available)
    overall_all = phase_stats(agg, grid.start, grid.end, by_route=False).get("*")
    if not signals:
        n = overall_all.requests if overall_all else 0
        return TriageReport(
            incident=False,
            onset=None,
            window=window,
            severity=None,
            routes=[],
            signatures=[],
            suspects=[],
            containment=[],
            series=ser["*"],
            overall={"all": overall_all.to_dict() if overall_all else None},
            summary=(
                f"No incident detected in {n} requests from {grid.start:%Y-%m-%d %H:%M} to "
                f"{grid.end:%Y-%m-%d %H:%M} UTC: no significant change in 5xx rate, latency "
                "or traffic"
            ),
            **base,  # type: ignore[arg-type]
        )
    primary = _primary(signals)
    onset = grid.time(primary.index)
    values = _metric(ser[primary.scope], primary.metric)
    end_i = impact_end(
        np.nan_to_num(values, nan=primary.before), primary.index, primary.before, primary.after
    )
    ongoing = end_i >= grid.size - 2
    end = grid.end if ongoing else grid.time(end_i + 1)
    window.update(
        start=onset.isoformat(),
        end=end.isoformat(),
        ongoing=ongoing,
        minutes=round((end - onset).total_seconds() / 60, 1),
    )

    candidates = _candidate_routes(agg, onset, end, [s.scope for s in signals])
    before = phase_stats(agg, grid.start, onset, by_route=True, routes=candidates)
    during = phase_stats(agg, onset, end, by_route=True, routes=candidates)
    routes = _rank_routes(agg, before, during, signals, primary.metric, onset, end)
    affected = [r for r in routes if r.affected] or routes[:1]
    o_before = phase_stats(agg, grid.start, onset, by_route=False).get("*")
    o_during = phase_stats(agg, onset, end, by_route=False).get("*")
    n_hit, n_active = clients_affected(
        agg, onset, routes=[r.route for r in affected], by_error=primary.metric == "error_rate"
    )
    share = n_hit / n_active if n_active else 0.0
    five = _status_mix(agg, onset, end)

    sigs: list[Signature] = []
    if app_logs:
        sigs = signatures_since(app_logs, onset=onset, start=grid.start, end=end)
    all_changes = list(changes or [])
    if git_repo is not None:
        all_changes += git_changes(git_repo, onset - LOOKBACK, onset + CLOCK_SKEW)
    suspects = rank_suspects(
        all_changes,
        onset=onset,
        affected_routes=[r.route for r in affected],
        symptom=primary.metric,
    )
    severity = severity_for(primary.metric, affected, o_during, share)
    report = TriageReport(
        incident=True,
        onset=onset,
        window=window,
        severity=severity,
        routes=routes,
        signatures=sigs,
        suspects=suspects,
        containment=[],
        lines=agg.lines,
        symptom=primary.metric,
        overall={
            "before": o_before.to_dict() if o_before else None,
            "during": o_during.to_dict() if o_during else None,
            "status_5xx_during": five,
        },
        clients={
            "affected": n_hit,
            "active_since_onset": n_active,
            "share": round(share, 4),
            "estimated": agg.client_sample_level > 0,
            "basis": "got a 5xx" if primary.metric == "error_rate" else "used an affected route",
        },
        signals=sorted(signals, key=lambda s: (s.p_value, -s.f_stat)),
        series=ser["*"],
        latency_available=agg.latency_available,
        formats=agg.formats,
        changes_considered=len(all_changes),
    )
    report.containment = containment_steps(report, five)
    report.summary = summary_for(report)
    return report


def _route_scopes(agg: Aggregates) -> list[str]:
    """Routes worth a series of their own: the busiest, and those with most 5xx."""
    total = agg.requests
    by_route = agg.status.group_by("route").agg(
        n=pl.col("n").sum(), err=pl.col("n").filter(pl.col("status") >= 500).sum()
    )
    busy = by_route.filter(pl.col("n") >= max(50, 0.01 * total)).sort("n", descending=True)
    errs = by_route.filter(pl.col("err") >= 10).sort("err", descending=True)
    out: list[str] = []
    for r in busy["route"].head(MAX_ROUTE_SERIES).to_list() + errs["route"].head(10).to_list():
        if r not in out:
            out.append(r)
    return out


def _candidate_routes(
    agg: Aggregates, start: datetime, end: datetime, flagged: list[str]
) -> list[str]:
    """Routes worth ranking: the busiest and those with most 5xx since the onset, and those a
    signal names. A route outside cannot outrank them by much: its impact is bounded by its
    requests (a log with a million distinct static-file routes must not cost a million rows)."""
    during = (
        agg.status.filter(
            (pl.col("minute") >= pl.lit(start).cast(MINUTE))
            & (pl.col("minute") < pl.lit(end).cast(MINUTE))
        )
        .group_by("route")
        .agg(n=pl.col("n").sum(), err=pl.col("n").filter(pl.col("status") >= 500).sum())
    )
    busy = during.sort("n", "route", descending=[True, False])["route"].head(MAX_RANKED_ROUTES)
    errs = during.filter(pl.col("err") >= 5).sort("err", "route", descending=[True, False])
    out = dict.fromkeys(busy.to_list() + errs["route"].head(MAX_RANKED_ROUTES).to_list())
    out.update(dict.fromkeys(r for r in flagged if r != "*"))
    return list(out)


def _signals(ser: dict[str, Series], *, latency: bool) -> list[Signal]:
    out: list[Signal] = []
    for scope, s in ser.items():
        for sig in (
            error_signal(scope, s.requests, s.errors),
            latency_signal(scope, s.p95, s.latency_n, s.mean_ms) if latency else None,
            traffic_signal(scope, s.requests),
        ):
            if sig is not None:
                out.append(sig)
    return out


def _primary(signals: list[Signal]) -> Signal:
    """The signal that names the incident: a big traffic step on one route (retry storm,
    flood), else 5xx, else latency, else traffic; the most significant within a kind."""

    def best(kind: str) -> Signal | None:
        pool = [s for s in signals if s.metric == kind]
        return min(pool, key=lambda s: (s.p_value, -s.f_stat)) if pool else None

    flood = [s for s in signals if s.metric == "requests" and s.scope != "*" and s.ratio >= 3]
    if flood:
        return min(flood, key=lambda s: (s.p_value, -s.f_stat))
    for kind in ("error_rate", "p95_ms", "requests"):
        found = best(kind)
        if found is not None:
            return found
    raise ValueError("no signal")


def _metric(s: Series, metric: str) -> np.ndarray:
    if metric == "error_rate":
        return s.error_rate
    if metric == "p95_ms":
        return s.p95
    return s.requests


def _rank_routes(
    agg: Aggregates,
    before: dict[str, PhaseStats],
    during: dict[str, PhaseStats],
    signals: list[Signal],
    metric: str,
    onset: datetime,
    end: datetime,
) -> list[RouteImpact]:
    flagged = {s.scope for s in signals}
    ids = (
        agg.request_ids.filter(
            (pl.col("minute") >= pl.lit(onset).cast(MINUTE))
            & (pl.col("minute") < pl.lit(end).cast(MINUTE))
        )
        .group_by("route")
        .agg(rep=(pl.col("n_ids") - pl.col("n_unique")).sum())
    )
    repeated = dict(zip(ids["route"].to_list(), ids["rep"].to_list(), strict=True))
    slow_excess = _slow_excess(agg, before, onset, end)
    out: list[RouteImpact] = []
    for route, d in during.items():
        b = before.get(route)
        rate_b = b.error_rate if b else 0.0
        excess_err = d.errors - rate_b * d.requests
        slow = max(slow_excess.get(route, 0.0), 0.0)
        surplus = d.requests - (b.per_minute * d.minutes if b else 0.0)
        weights = {
            "error_rate": (1.0, 0.5, 0.1),
            "p95_ms": (0.5, 1.0, 0.1),
            "requests": (0.5, 0.3, 1.0),
        }[metric]
        impact = weights[0] * excess_err + weights[1] * slow + weights[2] * max(surplus, 0.0)
        noise = 3 * math.sqrt(max(rate_b * d.requests, 1.0))
        affected = route in flagged or (
            metric == "error_rate"
            and excess_err > max(noise, 5)
            and d.error_rate >= 2 * rate_b
            and d.error_rate >= 0.02
        )
        rep = repeated.get(route)
        out.append(
            RouteImpact(
                route=route,
                before=b,
                during=d,
                impact=impact,
                affected=affected,
                key_flow=is_key_flow(route),
                repeated_request_ids=(rep / d.requests) if rep is not None and d.requests else None,
            )
        )
    out.sort(key=lambda r: (-r.impact, r.route))
    return out[:MAX_ROUTES_SHOWN]


def _slow_excess(
    agg: Aggregates, before: dict[str, PhaseStats], start: datetime, end: datetime
) -> dict[str, float]:
    """Per route: requests since the onset slower than the route's p95 before, beyond the 5 %
    expected."""
    p95 = pl.DataFrame(
        {
            "route": list(before),
            "p95_before": [b.p95_ms for b in before.values()],
        },
        schema={"route": pl.String, "p95_before": pl.Float64},
    ).drop_nulls()
    if not p95.height or not agg.latency.height:
        return {}
    rows = (
        agg.latency.filter(
            (pl.col("minute") >= pl.lit(start).cast(MINUTE))
            & (pl.col("minute") < pl.lit(end).cast(MINUTE))
        )
        .join(p95, on="route")
        .group_by("route")
        .agg(
            slow=pl.col("n").filter(bucket_ms(pl.col("bucket")) > pl.col("p95_before")).sum(),
            n=pl.col("n").sum(),
        )
    )
    return {r: float(slow - 0.05 * n) for r, slow, n in rows.iter_rows()}


def _status_mix(agg: Aggregates, start: datetime, end: datetime) -> dict[str, int]:
    rows = (
        agg.status.filter(
            (pl.col("minute") >= pl.lit(start).cast(MINUTE))
            & (pl.col("minute") < pl.lit(end).cast(MINUTE))
            & (pl.col("status") >= 500)
        )
        .group_by("status")
        .agg(pl.col("n").sum())
        .sort("n", descending=True)
    )
    return {str(s): int(n) for s, n in rows.iter_rows()}


def window_bounds(report: TriageReport) -> tuple[datetime, datetime] | None:
    """(start, end) of the impact window of a report, for recovery checks."""
    if not report.incident or not report.window.get("start"):
        return None
    return (
        datetime.fromisoformat(report.window["start"]),
        datetime.fromisoformat(report.window["end"]),
    )
