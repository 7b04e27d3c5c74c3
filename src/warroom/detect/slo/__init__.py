"""SLOs in business terms: spec files, burn-rate alerts over logs, Prometheus rules.

Pure functions over files and data frames; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from warroom.detect.slo import stream
from warroom.detect.slo.burn import AlertStatus, Firing, SLOReport, evaluate
from warroom.detect.slo.logs import read_logs, sli_events
from warroom.detect.slo.model import DEFAULT_ALERTS, SLO, BurnAlert, SLOKind
from warroom.detect.slo.spec import load_slo_file, parse_slos
from warroom.detect.slo.tracker import Status, Tracker
from warroom.triage.sli import aggregate_access_logs

__all__ = [
    "DEFAULT_ALERTS",
    "SLO",
    "AlertStatus",
    "BurnAlert",
    "Firing",
    "SLOKind",
    "SLOReport",
    "check_logs",
    "evaluate",
    "load_slo_file",
    "parse_slos",
    "read_logs",
    "sli_events",
]


def check_logs(
    paths: Sequence[str | Path],
    slos: Sequence[SLO],
    *,
    now: datetime | None = None,
    log_format: str | None = None,
) -> list[SLOReport]:
    """Read access logs once and evaluate every SLO over them (workbook and confident alerts).

    Every SLO is judged at the same time: `now`, else the end of the whole input. Requests
    after `now` count nowhere. When every SLO needs only routes and statuses, the logs are
    folded into per-minute counts as triage does (`stream.py`: bounded memory; with `now`,
    the whole minutes before it); otherwise the rows are read.
    """
    if all(stream.streamable(s) for s in slos):
        return _check_minutes(paths, slos, now=now, log_format=log_format)
    frame = read_logs(paths, log_format=log_format)
    if now is not None:
        frame = frame.filter(pl.col("ts") < now)
    last = frame["ts"].max() if frame.height else None
    end = _end(now, last if isinstance(last, datetime) else None)
    reports = []
    for s in slos:
        events = sli_events(frame, s)
        tracker = Tracker(s)
        tracker.add(events)
        reports.append(_judged(evaluate(events, s, now=end), now, tracker.status(end)))
    return reports


def _judged(report: SLOReport, at: datetime | None, confident: Status) -> SLOReport:
    """`report` as of `at` (the time the requests were counted up to), if given."""
    if at is None or report.first_event is None:
        return replace(report, confident=confident)
    coverage = max(timedelta(0), at - max(report.first_event, at - report.slo.window))
    return replace(report, now=at, coverage=coverage, confident=confident)


def _end(now: datetime | None, last: datetime | None) -> datetime | None:
    """The instant to evaluate at: the last request, or just before `now` (requests before
    it counted: a step ending at `now` is the last one)."""
    return last if now is None else now - timedelta(microseconds=1)


def _check_minutes(
    paths: Sequence[str | Path],
    slos: Sequence[SLO],
    *,
    now: datetime | None,
    log_format: str | None,
) -> list[SLOReport]:
    status = aggregate_access_logs(
        [str(p) for p in paths], log_format=log_format, status_only=True
    ).status
    if now is not None:  # whole minutes before `now`
        status = status.filter(pl.col("minute") + timedelta(minutes=1) <= now)
    last = status["minute"].max() if status.height else None
    end = _end(now, last if isinstance(last, datetime) else None)
    # the confident alerts step by 10 s: the minute's last step
    tracker_end = end + stream.LAST_STEP if now is None and end is not None else end
    reports = []
    for s in slos:
        events = stream.minute_events(status, s)
        tracker = Tracker(s)
        tracker.add(stream.spread(events))
        # evaluated at the end of the last minute: every request counted came before it
        at = now or (last + timedelta(minutes=1) if isinstance(last, datetime) else None)
        reports.append(_judged(evaluate(events, s, now=end), at, tracker.status(tracker_end)))
    return reports
