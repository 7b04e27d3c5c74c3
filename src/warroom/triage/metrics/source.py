"""Triage from a Prometheus-compatible store: ask, fold into `Aggregates`, analyse as logs.

    settings = MetricsSettings.from_config(url="http://prometheus:9090")
    report = triage_prometheus(settings, since=t0, until=t1, changes="changes.jsonl")

Two range queries (requests by route and status, latency buckets by route) at one step over
the window, plus one for change markers when configured; the result goes through the same
analysis as access logs (`report.triage_aggregates`): onset, routes, severity, suspects,
containment. `read_metrics` is also what `verify` and `slo check` read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from warroom.core.errors import InvalidInput, NotFound
from warroom.triage.changes import KINDS, LOOKBACK, Change, load_changes
from warroom.triage.metrics.aggregates import build_aggregates, latency_frame, status_frame
from warroom.triage.metrics.client import PromClient, RangeSeries, step_text, to_datetime
from warroom.triage.metrics.config import MAX_POINTS, MetricsSettings
from warroom.triage.model import TriageReport
from warroom.triage.report import triage_aggregates
from warroom.triage.sli import MINUTE, Aggregates, aggregate_access_logs, bucket_ms, make_grid

DEFAULT_WINDOW = timedelta(hours=3)
MAX_WINDOW = timedelta(days=90)  # SLO windows; triage reads at most MAX_TRIAGE_WINDOW
MAX_TRIAGE_WINDOW = timedelta(days=7)
GRID_POINTS = 1440  # triage's grid: one minute up to a day, coarser beyond
TIMESTAMP_FLOOR = 1e9  # a marker value above this is the change's unix time (2001 on)


@dataclass(frozen=True)
class MetricsRead:
    """What was asked: the window, the step, the queries, how many series came back."""

    start: datetime
    end: datetime
    step: timedelta
    queries: dict[str, str]
    series: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "step_seconds": int(self.step.total_seconds()),
            "queries": self.queries,
            "series": self.series,
        }


def choose_step(start: datetime, end: datetime, points: int = GRID_POINTS) -> timedelta:
    """One minute up to a day; beyond, whole minutes so the window has at most `points`."""
    minutes = max(1, math.ceil((end - start).total_seconds() / 60))
    return timedelta(minutes=max(1, math.ceil(minutes / points)))


def _aligned(start: datetime, end: datetime, step: timedelta) -> tuple[datetime, datetime]:
    s = step.total_seconds()
    a = math.floor(start.timestamp() / s) * s
    b = max(math.floor(end.timestamp() / s) * s, a + s)  # never a future, partial interval
    return to_datetime(a), to_datetime(b)


def check_window(since: datetime, until: datetime) -> None:
    if until <= since:
        raise InvalidInput("the window ends before it starts: --since must be before --until")
    if until - since > MAX_WINDOW:
        raise InvalidInput(
            f"a window of {until - since} is over the {MAX_WINDOW.days}-day limit: narrow it",
            field="since",
        )


def read_metrics(
    client: PromClient,
    since: datetime,
    until: datetime,
    *,
    step: timedelta | None = None,
    latency: bool = True,
) -> tuple[Aggregates, MetricsRead]:
    """Requests by (minute, route, status) and latency buckets over [since, until)."""
    check_window(since, until)
    st = client.settings
    step = step or choose_step(since, until)
    start, end = _aligned(since, until, step)
    if (end - start) / step > 100 * MAX_POINTS:
        raise InvalidInput(f"a step of {step} over {end - start} is too many points", field="step")
    text = step_text(step)
    queries = {"requests": st.fill(st.requests_query, step=text)}
    if latency and st.latency_query:
        queries["latency"] = st.fill(st.latency_query, step=text)
    # the point at T counts (T - step, T]: ask from the end of the first interval
    req = client.query_range(queries["requests"], start + step, end, step)
    if not req:
        raise NotFound(
            f"no series for {queries['requests']!r} from {start:%Y-%m-%d %H:%M} to "
            f"{end:%Y-%m-%d %H:%M} UTC: check requests_metric, the selector and the window",
            field="requests_query",
        )
    missing = [
        name for name in (st.route_label, st.status_label) if all(name not in s.labels for s in req)
    ]
    if missing:
        raise InvalidInput(
            f"the request series have no label {' or '.join(missing)}: set route_label / "
            f"status_label (labels seen: {', '.join(sorted(req[0].labels)) or 'none'})",
            field="route_label",
        )
    lat: list[RangeSeries] = []
    if "latency" in queries:
        lat = client.query_range(queries["latency"], start + step, end, step)
    status = status_frame(
        req, route_label=st.route_label, status_label=st.status_label, start=start, step=step
    )
    unit_ms = 1000.0 if st.latency_unit == "s" else 1.0
    latency_rows = latency_frame(
        lat, route_label=st.route_label, unit_ms=unit_ms, start=start, step=step
    )
    agg = build_aggregates(status, latency_rows, label=st.label)
    read = MetricsRead(start, end, step, queries, {"requests": len(req), "latency": len(lat)})
    return agg, read


_ID_LABELS = ("id", "version", "revision", "git_commit", "commit", "image", "tag")
_SERVICE_LABELS = ("service", "app", "deployment", "job", "namespace")


def marker_changes(
    client: PromClient, since: datetime, until: datetime, *, step: timedelta
) -> list[Change]:
    """Changes from the configured marker query over [since - LOOKBACK, until].

    A series whose values are unix times (above 1e9, like `deploy_timestamp_seconds`) marks a
    change at each distinct value; any other series marks one where it appears (or turns
    non-zero), like a new `version` of `app_build_info`. Labels name the change: id (or
    version, revision, ...), kind, service (or app, job, ...), paths (comma-separated),
    description.
    """
    st = client.settings
    if not st.changes_query:
        return []
    start, end = _aligned(since - LOOKBACK, until, step)
    query = st.fill(st.changes_query, step=step_text(step))
    out: list[Change] = []
    for s in client.query_range(query, start, end, step):
        finite = np.isfinite(s.values) & (s.values != 0)
        stamps = s.values[finite & (s.values > TIMESTAMP_FLOOR)]
        if len(stamps):
            times = [to_datetime(float(v)) for v in np.unique(stamps)]
        else:
            # on where non-zero; it rises where the point before is zero or missing (a
            # series present from the window's start rose before it: unknown, not counted)
            on = finite
            gap = np.diff(s.times, prepend=start.timestamp() - step.total_seconds())
            rising = on & ((gap > 1.5 * step.total_seconds()) | np.r_[False, ~on[:-1]])
            times = [to_datetime(float(t)) for t in s.times[rising]]
        for at in times:
            out.append(_marker_change(s.labels, at))
    return out


def _marker_change(labels: dict[str, str], at: datetime) -> Change:
    named = {k: v for k, v in labels.items() if k != "__name__"}
    ident = next((labels[k] for k in _ID_LABELS if labels.get(k)), "")
    rendered = ",".join(f"{k}={v}" for k, v in sorted(named.items()))
    kind = labels.get("kind", "deploy").lower()
    paths = tuple(p.strip() for p in re.split(r"[,\s]+", labels.get("paths", "")) if p.strip())
    return Change(
        id=ident or rendered or f"change@{at:%H:%M}",
        at=at,
        kind=kind if kind in KINDS else "deploy",
        service=next((labels[k] for k in _SERVICE_LABELS if labels.get(k)), ""),
        paths=paths,
        description=labels.get("description", "") or rendered,
        source="prometheus",
    )


def triage_prometheus(
    settings: MetricsSettings,
    *,
    since: datetime | None = None,
    until: datetime,
    app_logs: list[str | Path] | None = None,
    changes: str | Path | list[Change] | None = None,
    git_repo: str | Path | None = None,
    app_log_tz: str | None = None,
) -> TriageReport:
    """The triage report from the store's request metrics over [since, until) (default: the
    three hours before `until`), with suspects from the change file, git and the markers."""
    since = since or until - DEFAULT_WINDOW
    if until - since > MAX_TRIAGE_WINDOW:
        raise InvalidInput(
            f"a triage window of {until - since} is over {MAX_TRIAGE_WINDOW.days} days: an "
            "onset is found around the incident, so narrow --since/--until",
            field="since",
        )
    known: list[Change] = []
    if isinstance(changes, list):
        known = list(changes)
    elif changes is not None:
        known = load_changes(changes)
    with PromClient(settings) as client:
        agg, read = read_metrics(client, since, until)
        known += marker_changes(client, since, until, step=read.step)
        queries = client.queries
    report = triage_aggregates(
        agg, app_logs=app_logs, changes=known, git_repo=git_repo, app_log_tz=app_log_tz
    )
    report.window["metrics"] = {**read.to_dict(), "requests_made": queries}
    return report


def requests_frame(agg: Aggregates) -> pl.DataFrame:
    """One row per request counted in the metrics (ts at its minute, route, status, latency
    at its bucket's middle, None past the histogram's count): what `verify` judges."""
    st = agg.status.sort("minute", "route", "status")
    rows = (
        st.select("minute", "route", pl.col("status").cast(pl.Int64), pl.col("n").cast(pl.Int64))
        .select(pl.all().repeat_by(pl.col("n")).explode())
        .drop("n")
    )
    rows = rows.with_columns(k=pl.int_range(pl.len()).over("minute", "route"))
    lat = (
        agg.latency.sort("minute", "route", "bucket")
        .select("minute", "route", latency_ms=bucket_ms(pl.col("bucket")), n="n")
        .select(pl.all().repeat_by(pl.col("n").cast(pl.Int64)).explode())
        .drop("n")
        .with_columns(k=pl.int_range(pl.len()).over("minute", "route"))
    )
    out = rows.join(lat, on=["minute", "route", "k"], how="left").drop("k")
    return out.select(
        pl.col("minute").cast(MINUTE).alias("ts"),
        "route",
        pl.col("route").alias("path"),
        pl.lit("GET").alias("method"),
        "status",
        "latency_ms",
    ).sort("ts")


def triage_mixed(
    access_logs: list[str],
    settings: MetricsSettings,
    *,
    app_logs: list[str | Path] | None = None,
    changes: str | Path | list[Change] | None = None,
    git_repo: str | Path | None = None,
    app_log_tz: str | None = None,
    **log_options: Any,
) -> TriageReport:
    """Access logs and metrics in one report: the logs' analysis (they have clients and
    request ids), with the store's deploy markers among the suspects and the store's own
    reading of the same window under `corroboration`."""
    known: list[Change] = []
    if isinstance(changes, list):
        known = list(changes)
    elif changes is not None:
        known = load_changes(changes)
    agg = aggregate_access_logs(access_logs, **log_options)
    grid = make_grid(agg)
    if grid is None:
        return triage_aggregates(
            agg, app_logs=app_logs, changes=known, git_repo=git_repo, app_log_tz=app_log_tz
        )
    with PromClient(settings) as client:
        m_agg, read = read_metrics(client, grid.start, grid.end)
        known += marker_changes(client, grid.start, grid.end, step=read.step)
        queries = client.queries
    report = triage_aggregates(
        agg, app_logs=app_logs, changes=known, git_repo=git_repo, app_log_tz=app_log_tz
    )
    metrics = triage_aggregates(m_agg, changes=known)
    report.formats.update(metrics.formats)
    onset_gap = (
        abs((metrics.onset - report.onset).total_seconds())
        if metrics.onset and report.onset
        else None
    )
    report.corroboration = {
        "source": settings.label,
        "incident": metrics.incident,
        "onset": metrics.onset.isoformat() if metrics.onset else None,
        "symptom": metrics.symptom,
        "top_route": metrics.routes[0].route if metrics.routes else None,
        "agrees": metrics.incident == report.incident
        and (onset_gap is None or onset_gap <= read.step.total_seconds())
        and (metrics.routes[0].route if metrics.routes else None)
        == (report.routes[0].route if report.routes else None),
        "headline": metrics.headline(),
        "metrics": {**read.to_dict(), "requests_made": queries},
    }
    return report
