"""Which signals name the incident and which routes it hits, from the aggregates.

`report.triage_aggregates` calls these in order: the routes worth a series (`route_scopes`),
the significant changes in those series (`find_signals`), the one that names the incident
(`primary_signal`), the earliest one still departed when it started, which dates the onset
(`first_departure`), the routes ranked by impact since the onset (`rank_routes`), and whether
it is only load (`is_load_only`: more traffic, same 5xx rate and latency).
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import polars as pl

from warroom.triage.model import RouteImpact
from warroom.triage.onset import (
    Signal,
    error_signal,
    impact_end,
    latency_signal,
    traffic_signal,
)
from warroom.triage.routes import is_key_flow
from warroom.triage.sli import MINUTE, Aggregates, PhaseStats, Series, bucket_ms

MAX_ROUTE_SERIES = 25
MAX_ROUTES_SHOWN = 10
MAX_RANKED_ROUTES = 500  # busiest, and most 5xx, since the onset
SAME_METRIC_LEAD = 10


def route_scopes(agg: Aggregates) -> list[str]:
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


def candidate_routes(
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


def find_signals(ser: dict[str, Series], *, latency: bool) -> list[Signal]:
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


def primary_signal(signals: list[Signal]) -> Signal:
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


def first_departure(signals: list[Signal], primary: Signal, ser: dict[str, Series]) -> Signal:
    """The earliest signal that departed before `primary` and was still departed when it
    started: a slow creep of latency that ends in errors dates the incident at the creep.

    A signal that came back to its baseline before the primary one started is another event;
    the same metric on another scope moves the onset only when clearly earlier
    (`SAME_METRIC_LEAD` intervals): a few intervals apart they date the same change.
    """
    lead = primary
    for s in sorted(signals, key=lambda x: x.index):
        if s.index >= lead.index or s.scope not in ser:
            continue
        if s.metric == primary.metric and primary.index - s.index < SAME_METRIC_LEAD:
            continue
        values = np.nan_to_num(metric_values(ser[s.scope], s.metric), nan=s.before)
        if impact_end(values, s.index, s.before, s.after) >= primary.index - 1:
            lead = s
            break
    return lead


def signal_name(s: Signal) -> str:
    """What moved, for a sentence: "p95 of /search", "5xx rate of all routes"."""
    where = "all routes" if s.scope == "*" else s.scope
    kind = {"error_rate": "5xx rate of", "p95_ms": "p95 of", "requests": "traffic to"}[s.metric]
    return f"{kind} {where}"


def is_drop(s: Signal) -> bool:
    return s.metric == "requests" and s.ratio < 1


def is_load_only(
    primary: Signal,
    signals: list[Signal],
    affected: list[RouteImpact],
    before: PhaseStats | None,
    during: PhaseStats | None,
) -> bool:
    """More traffic and nothing worse: no 5xx-rate or latency signal anywhere, the overall 5xx
    rate and p95 held, and no retry storm (repeated request ids). Load, not an incident."""
    if primary.metric != "requests" or primary.ratio < 1:
        return False
    if any(s.metric in ("error_rate", "p95_ms") for s in signals):
        return False
    if any((r.repeated_request_ids or 0.0) >= 0.2 for r in affected):
        return False
    if before is None or during is None:
        return False
    if during.error_rate > max(2 * before.error_rate, before.error_rate + 0.01):
        return False
    b95, d95 = before.p95_ms, during.p95_ms
    return not (b95 and d95 and d95 > 1.5 * b95)


def metric_values(s: Series, metric: str) -> np.ndarray:
    if metric == "error_rate":
        return s.error_rate
    if metric == "p95_ms":
        return s.p95
    return s.requests


def rank_routes(
    agg: Aggregates,
    before: dict[str, PhaseStats],
    during: dict[str, PhaseStats],
    signals: list[Signal],
    primary: Signal,
    onset: datetime,
    end: datetime,
) -> list[RouteImpact]:
    """Routes by impact since the onset. For a traffic drop the impact is the requests lost,
    and the routes hit are those that lost at least half their traffic."""
    metric = primary.metric
    drop = is_drop(primary)
    flagged = {s.scope for s in signals if not drop or is_drop(s)}
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
        if drop:
            surplus = -surplus  # requests lost
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
        if drop:
            lost_half = b is not None and b.requests >= 30 and d.per_minute <= 0.5 * b.per_minute
            affected = route in flagged or lost_half
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


def status_mix(agg: Aggregates, start: datetime, end: datetime) -> dict[str, int]:
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
