"""`triage()`: from raw access logs, app logs and changes to a typed `TriageReport`.

report = triage(["access.log.gz"], app_logs=["app.log"], changes="changes.jsonl")
print(report.headline())
json.dumps(report.to_dict())

The steps live in their own modules: reading and aggregating (`sli`), change points
(`onset`), signals and route impact (`impact`), app-log signatures (`signatures`), suspect
changes (`changes`), severity and containment (`advice`); the result is `model.TriageReport`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from warroom.triage.advice import containment_steps, load_summary, severity_for, summary_for
from warroom.triage.appclock import app_log_clock
from warroom.triage.changes import (
    CLOCK_SKEW,
    LOOKBACK,
    Change,
    git_changes,
    load_changes,
    rank_suspects,
)
from warroom.triage.duplicates import DEFAULT_RULES, KeyRule, find_duplicates
from warroom.triage.impact import (
    candidate_routes,
    find_signals,
    first_departure,
    is_load_only,
    metric_values,
    primary_signal,
    rank_routes,
    route_scopes,
    signal_name,
    status_mix,
)
from warroom.triage.model import TriageReport
from warroom.triage.onset import impact_end
from warroom.triage.reader import ReadProgress
from warroom.triage.signatures import Signature, signatures_since
from warroom.triage.sli import (
    Aggregates,
    aggregate_access_logs,
    clients_affected,
    make_grid,
    phase_stats,
    series,
)

__all__ = ["TriageReport", "triage", "triage_aggregates"]


def triage(
    access_logs: list[str],
    *,
    app_logs: list[str | Path] | None = None,
    changes: str | Path | list[Change] | None = None,
    git_repo: str | Path | None = None,
    log_format: str | None = None,
    time_unit: str | None = None,
    progress: ReadProgress | None = None,
    json_fields: dict[str, str] | None = None,
    duplicate_keys: tuple[KeyRule, ...] = DEFAULT_RULES,
    app_log_tz: str | None = None,
) -> TriageReport:
    """Tell from access logs (and app logs, changes) whether, since when and why things broke.

    `progress`, when given, is told the bytes to read and each block read (the CLI draws a
    bar with it; the engine draws nothing). `duplicate_keys`: the keys looked for taking
    effect twice in the app logs (`duplicates`; empty: not looked for). `app_log_tz`: the
    time zone of app-log stamps without an offset (else estimated, see `appclock`).
    """
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
    report = triage_aggregates(
        agg, app_logs=app_logs, changes=known_changes, git_repo=git_repo, app_log_tz=app_log_tz
    )
    if duplicate_keys and app_logs:
        # App logs only: they say what took effect ("charge succeeded"); another full pass
        # over big access logs would double triage's time (`logs duplicates` reads them).
        report.duplicates = find_duplicates(app_logs, rules=duplicate_keys)
    return report


def triage_aggregates(
    agg: Aggregates,
    *,
    app_logs: list[str | Path] | None = None,
    changes: list[Change] | None = None,
    git_repo: str | Path | None = None,
    app_log_tz: str | None = None,
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
    scopes = route_scopes(agg)
    ser = series(agg, grid, scopes)
    signals = [
        replace(x, at=grid.time(x.index)) for x in find_signals(ser, latency=agg.latency_available)
    ]
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
    primary = primary_signal(signals)
    lead = first_departure(signals, primary, ser)
    onset = grid.time(lead.index)
    values = metric_values(ser[primary.scope], primary.metric)
    end_i = (
        primary.stop - 1  # the fit saw it come back down
        if primary.stop is not None
        else impact_end(
            np.nan_to_num(values, nan=primary.before), primary.index, primary.before, primary.after
        )
    )
    ongoing = end_i >= grid.size - 2
    end = grid.end if ongoing else grid.time(end_i + 1)
    window.update(
        first_signal=signal_name(lead),
        symptom_start=grid.time(primary.index).isoformat(),
        start=onset.isoformat(),
        end=end.isoformat(),
        ongoing=ongoing,
        minutes=round((end - onset).total_seconds() / 60, 1),
    )

    candidates = candidate_routes(agg, onset, end, [s.scope for s in signals])
    before = phase_stats(agg, grid.start, onset, by_route=True, routes=candidates)
    during = phase_stats(agg, onset, end, by_route=True, routes=candidates)
    routes = rank_routes(agg, before, during, signals, primary, onset, end)
    affected = [r for r in routes if r.affected] or routes[:1]
    o_before = phase_stats(agg, grid.start, onset, by_route=False).get("*")
    o_during = phase_stats(agg, onset, end, by_route=False).get("*")
    if is_load_only(primary, signals, affected, o_before, o_during):
        return TriageReport(
            incident=False,
            onset=None,
            window=window,
            severity=None,
            routes=routes,
            signatures=[],
            suspects=[],
            containment=[],
            series=ser["*"],
            signals=sorted(signals, key=lambda s: (s.index, s.p_value)),
            overall={
                "before": o_before.to_dict() if o_before else None,
                "during": o_during.to_dict() if o_during else None,
            },
            summary=load_summary(primary, affected, o_before, o_during, onset),
            **base,  # type: ignore[arg-type]
        )
    n_hit, n_active = clients_affected(
        agg, onset, routes=[r.route for r in affected], by_error=primary.metric == "error_rate"
    )
    share = n_hit / n_active if n_active else 0.0
    five = status_mix(agg, onset, end)

    sigs: list[Signature] = []
    clock = None
    if app_logs:
        clock = app_log_clock(app_logs, grid, ser["*"], given=app_log_tz)
        off = clock.offset  # app-log time = UTC + off
        sigs = signatures_since(app_logs, onset=onset + off, start=grid.start + off, end=end + off)
        for sig in sigs:
            sig.first_seen = sig.first_seen - off if sig.first_seen else None
    all_changes = list(changes or [])
    if git_repo is not None:
        all_changes += git_changes(git_repo, onset - LOOKBACK, onset + CLOCK_SKEW)
    suspects = rank_suspects(
        all_changes,
        onset=onset,
        affected_routes=[r.route for r in affected],
        symptom=primary.metric,
        first_signal=signal_name(lead),
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
        signals=sorted(signals, key=lambda s: (s.index, s.p_value, -s.f_stat)),
        series=ser["*"],
        latency_available=agg.latency_available,
        formats=agg.formats,
        changes_considered=len(all_changes),
        app_log_clock=clock.to_dict() if clock else None,
    )
    report.containment = containment_steps(report, five)
    report.summary = summary_for(report)
    return report
