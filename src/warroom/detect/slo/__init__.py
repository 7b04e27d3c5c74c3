"""SLOs in business terms: spec files, burn-rate alerts over logs, Prometheus rules.

Pure functions over files and data frames; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import polars as pl

from warroom.detect.slo import stream
from warroom.detect.slo.burn import AlertStatus, Firing, SLOReport, evaluate
from warroom.detect.slo.logs import read_logs, sli_events
from warroom.detect.slo.model import DEFAULT_ALERTS, SLO, BurnAlert, SLOKind
from warroom.detect.slo.spec import load_slo_file, parse_slos
from warroom.detect.slo.tracker import Tracker
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
    folded into per-minute counts as triage does (`stream.py`: bounded memory, `now` cut to
    the minute); otherwise the rows are read.
    """
    if all(stream.streamable(s) for s in slos):
        return _check_minutes(paths, slos, now=now, log_format=log_format)
    frame = read_logs(paths, log_format=log_format)
    if now is not None:
        frame = frame.filter(pl.col("ts") <= now)
    end = now or (frame["ts"].max() if frame.height else None)
    reports = []
    for s in slos:
        events = sli_events(frame, s)
        tracker = Tracker(s)
        tracker.add(events)
        at = end if isinstance(end, datetime) else None
        reports.append(replace(evaluate(events, s, now=at), confident=tracker.status(at)))
    return reports


def _check_minutes(
    paths: Sequence[str | Path],
    slos: Sequence[SLO],
    *,
    now: datetime | None,
    log_format: str | None,
) -> list[SLOReport]:
    status = aggregate_access_logs([str(p) for p in paths], log_format=log_format).status
    if now is not None:
        status = status.filter(pl.col("minute") < now)
    last = status["minute"].max() if status.height else None
    end = now or (last if isinstance(last, datetime) else None)
    # the confident alerts' steps end with the minute
    tracker_end = end if now is not None or end is None else end + stream.LAST_STEP
    reports = []
    for s in slos:
        events = stream.minute_events(status, s)
        tracker = Tracker(s)
        tracker.add(stream.spread(events))
        reports.append(replace(evaluate(events, s, now=end), confident=tracker.status(tracker_end)))
    return reports
