"""SLOs in business terms: spec files, burn-rate alerts over logs, Prometheus rules.

Pure functions over files and data frames; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import polars as pl

from warroom.detect.slo.burn import AlertStatus, Firing, SLOReport, evaluate
from warroom.detect.slo.logs import read_logs, sli_events
from warroom.detect.slo.model import DEFAULT_ALERTS, SLO, BurnAlert, SLOKind
from warroom.detect.slo.spec import load_slo_file, parse_slos
from warroom.detect.slo.tracker import Tracker

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
    """Read access logs once and evaluate every SLO over them (workbook and confident alerts)."""
    frame = read_logs(paths, log_format=log_format)
    reports = []
    for s in slos:
        events = sli_events(frame, s)
        tracker = Tracker(s)
        tracker.add(events if now is None else events.filter(pl.col("ts") <= now))
        reports.append(replace(evaluate(events, s, now=now), confident=tracker.status()))
    return reports
