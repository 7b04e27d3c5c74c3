"""Range-query results to the triage `Aggregates`: counts per (minute, route, status) and
latency histograms per (minute, route, log bucket), as the access-log reader folds them.

A point of `increase(x[step])` at time T counts what happened in (T - step, T], so it lands
on the interval starting at T - step. Counts are rounded per series with the remainder
carried on, so totals stay exact while every interval holds whole requests. A Prometheus
histogram bucket (lo, hi] is spread evenly over the log-spaced triage buckets it covers, so
percentiles and means move with the traffic as they do from logs (within a bucket's width).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from warroom.triage.metrics.client import RangeSeries
from warroom.triage.parse import empty_frame
from warroom.triage.routes import normalise_route
from warroom.triage.sli import LATENCY_BASE, MIN_LATENCY_MS, MINUTE, Aggregates, aggregate_frame


def status_code(text: str) -> int:
    """`"503"` -> 503, `"5xx"` -> 500; anything else 0 (counted, never as an error)."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    if len(text) == 3 and text[0].isdigit() and text[1:] == "xx":
        return int(text[0]) * 100
    return 0


def carry_round(values: np.ndarray) -> np.ndarray:
    """Whole numbers whose running total follows the running total of `values` (NaN: 0)."""
    cum = np.round(np.cumsum(np.nan_to_num(np.maximum(values, 0.0))))
    return np.diff(cum, prepend=0.0).astype(np.int64)


def _log_bucket(ms: float) -> int:
    return math.floor(math.log(max(ms, MIN_LATENCY_MS), LATENCY_BASE))


def _index(times: np.ndarray, start: datetime, step: timedelta) -> np.ndarray:
    """Interval index of each point: the interval the point's (T - step, T] belongs to."""
    first = start.timestamp()
    return np.round((times - first) / step.total_seconds()).astype(np.int64) - 1


def status_frame(
    series: list[RangeSeries],
    *,
    route_label: str,
    status_label: str,
    start: datetime,
    step: timedelta,
) -> pl.DataFrame:
    """minute, route, status, n from `sum by (route, code) (increase(...[step]))` series."""
    per_key: dict[tuple[str, int], dict[int, float]] = defaultdict(dict)
    for s in series:
        route = normalise_route(s.labels.get(route_label, "") or "/")
        code = status_code(s.labels.get(status_label, ""))
        slot = per_key[(route, code)]
        for i, v in zip(_index(s.times, start, step), s.values, strict=True):
            if i >= 0 and math.isfinite(v):
                slot[int(i)] = slot.get(int(i), 0.0) + float(v)
    minutes, routes, codes, counts = [], [], [], []
    for (route, code), slot in per_key.items():
        idx = np.array(sorted(slot), dtype=np.int64)
        n = carry_round(np.array([slot[int(i)] for i in idx]))
        keep = n > 0
        minutes.append(idx[keep])
        counts.append(n[keep])
        routes += [route] * int(keep.sum())
        codes += [code] * int(keep.sum())
    return _frame(start, step, minutes, {"route": routes, "status": codes}, counts, "status")


def latency_frame(
    series: list[RangeSeries],
    *,
    route_label: str,
    unit_ms: float,
    start: datetime,
    step: timedelta,
) -> pl.DataFrame:
    """minute, route, bucket, n from `sum by (route, le) (increase(..._bucket[step]))` series."""
    by_route: dict[str, dict[float, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for s in series:
        try:
            le = float(s.labels.get("le", "nan"))
        except ValueError:
            continue
        if math.isnan(le):
            continue
        route = normalise_route(s.labels.get(route_label, "") or "/")
        slot = by_route[route][le]
        for i, v in zip(_index(s.times, start, step), s.values, strict=True):
            if i >= 0 and math.isfinite(v):
                slot[int(i)] = slot.get(int(i), 0.0) + float(v)
    minutes, routes, buckets, counts = [], [], [], []
    for route, les in by_route.items():
        bounds = sorted(les)
        idx = np.array(sorted({i for le in bounds for i in les[le]}), dtype=np.int64)
        if not len(idx):
            continue
        cum = np.array([[les[le].get(int(i), 0.0) for i in idx] for le in bounds])
        cum = np.maximum.accumulate(cum, axis=0)  # cumulative over le, whatever the noise
        per_bound = np.diff(cum, axis=0, prepend=0.0)
        lower = 0.0
        for k, le in enumerate(bounds):
            n = carry_round(per_bound[k])
            span = _span(lower * unit_ms, le * unit_ms)
            lower = le
            if not n.any() or not span:
                continue
            # n requests over len(span) buckets: n // len each, the remainder to the first ones
            share, rest = np.divmod(n, len(span))
            for j, b in enumerate(span):
                part = share + (rest > j)
                keep = part > 0
                minutes.append(idx[keep])
                counts.append(part[keep])
                routes += [route] * int(keep.sum())
                buckets += [b] * int(keep.sum())
    return _frame(start, step, minutes, {"route": routes, "bucket": buckets}, counts, "bucket")


def _span(lo_ms: float, hi_ms: float) -> list[int]:
    """The log buckets a histogram bucket (lo, hi] covers; the first from hi/2, the +Inf one
    at 1.5 lo (nothing says how slow those were)."""
    if math.isinf(hi_ms):
        return [_log_bucket(max(lo_ms, MIN_LATENCY_MS) * 1.5)]
    lo_ms = lo_ms if lo_ms > 0 else hi_ms / 2
    first, last = _log_bucket(lo_ms * LATENCY_BASE), _log_bucket(hi_ms)
    return list(range(min(first, last), last + 1))


def _frame(
    start: datetime,
    step: timedelta,
    minutes: list[np.ndarray],
    keys: Mapping[str, Sequence[object]],
    counts: list[np.ndarray],
    kind: str,
) -> pl.DataFrame:
    idx = np.concatenate(minutes) if minutes else np.array([], dtype=np.int64)
    n = np.concatenate(counts) if counts else np.array([], dtype=np.int64)
    base = pl.lit(start).cast(MINUTE)
    key_types = {"route": pl.String, "status": pl.Int64, "bucket": pl.Int32}
    frame = pl.DataFrame(
        {
            "i": pl.Series(idx, dtype=pl.Int64),
            **{k: pl.Series(v, dtype=key_types[k]) for k, v in keys.items()},
            "n": pl.Series(n, dtype=pl.Int64),
        }
    )
    step_us = int(step.total_seconds() * 1_000_000)
    k = max(1, round(step.total_seconds() / 60))
    if k > 1:
        # a step of k minutes: its count spread over its k minutes (triage's grid is in
        # minutes and coarsens itself over long windows), n // k each, the rest to the first
        frame = frame.with_columns(j=pl.lit(list(range(k)), dtype=pl.List(pl.Int64))).explode("j")
        frame = frame.with_columns(
            n=pl.col("n") // k + (pl.col("j") < pl.col("n") % k).cast(pl.Int64)
        ).filter(pl.col("n") > 0)
    else:
        frame = frame.with_columns(j=pl.lit(0, dtype=pl.Int64))
    frame = frame.select(
        (
            base
            + pl.duration(microseconds=pl.col("i") * step_us)
            + pl.duration(minutes=pl.col("j"))
        ).alias("minute"),
        *keys,
        "n",
    )
    return frame.group_by("minute", *keys).agg(pl.col("n").sum()).sort("minute", *keys)


def build_aggregates(status: pl.DataFrame, latency: pl.DataFrame, *, label: str) -> Aggregates:
    """`Aggregates` from metric frames; no clients or request ids (metrics do not keep them)."""
    empty = aggregate_frame(empty_frame())
    latency = latency if latency.height else empty[1]
    return Aggregates(
        status=status.cast({"status": empty[0].schema["status"]}) if status.height else empty[0],
        latency=latency.cast({"bucket": empty[1].schema["bucket"]}),
        clients=empty[2],
        request_ids=empty[3],
        formats={label: "prometheus"},
    )
