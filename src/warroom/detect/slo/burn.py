"""Error budget and multi-window, multi-burn-rate alerts over SLI events.

The input is a frame of (ts, good, total) rows, one per request or pre-aggregated; nothing
here knows about log formats. Time is cut into steps (1 minute, finer for short windows);
at the end of each step every window's error ratio is the bad/total of the steps inside it,
as Prometheus would see it with `rate()` over that window.

    report = evaluate(events, slo)               # now = the last event
    report.page_firing, report.budget_left        # True, -3.2 (over budget)
    report.alerts[0].fired                        # [(start, end | None), ...]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from warroom.detect.slo.model import SLO, BurnAlert, format_duration
from warroom.detect.slo.tracker import Status

MAX_STEPS = 2_000_000


@dataclass(frozen=True)
class Firing:
    """One period during which an alert fired (end None: still firing at `now`)."""

    start: datetime
    end: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat() if self.end else None}


@dataclass(frozen=True)
class AlertStatus:
    alert: BurnAlert
    threshold: float  # error ratio above which both windows must be
    long_burn: float | None
    short_burn: float | None
    firing: bool
    fired: list[Firing]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.alert.to_dict(),
            "threshold_error_ratio": self.threshold,
            "long_burn": _num(self.long_burn),
            "short_burn": _num(self.short_burn),
            "firing": self.firing,
            "fired": [f.to_dict() for f in self.fired],
        }


@dataclass(frozen=True)
class SLOReport:
    slo: SLO
    now: datetime | None
    first_event: datetime | None
    events: int
    bad: int
    window_events: int
    window_bad: int
    coverage: timedelta  # how much of the SLO window the data covers
    budget_spent: float | None  # fraction of the SLO window's error budget used so far
    alerts: list[AlertStatus] = field(default_factory=list)
    confident: Status | None = None  # the confident alerts at the last request (docs/detect.md)

    @property
    def budget_left(self) -> float | None:
        return None if self.budget_spent is None else 1.0 - self.budget_spent

    @property
    def sli(self) -> float | None:
        if not self.window_events:
            return None
        return 1.0 - self.window_bad / self.window_events

    @property
    def burn_rate(self) -> float | None:
        """Burn over the data in the SLO window (1.0 spends the budget exactly on time)."""
        if not self.window_events:
            return None
        return (self.window_bad / self.window_events) / self.slo.error_budget

    @property
    def page_firing(self) -> bool:
        return any(a.firing and a.alert.severity == "page" for a in self.alerts)

    @property
    def ticket_firing(self) -> bool:
        return any(a.firing and a.alert.severity == "ticket" for a in self.alerts)

    @property
    def status(self) -> str:
        if self.page_firing:
            return "page"
        if self.ticket_firing:
            return "ticket"
        return "ok" if self.events else "no data"

    def to_dict(self) -> dict[str, Any]:
        return {
            "slo": self.slo.name,
            "kind": self.slo.kind.value,
            "service": self.slo.service,
            "objective": self.slo.objective,
            "window": format_duration(self.slo.window),
            "status": self.status,
            "now": self.now.isoformat() if self.now else None,
            "first_event": self.first_event.isoformat() if self.first_event else None,
            "events": self.events,
            "bad": self.bad,
            "window_events": self.window_events,
            "window_bad": self.window_bad,
            "coverage": format_duration(self.coverage) if self.coverage else "0s",
            "coverage_seconds": self.coverage.total_seconds(),
            "sli": _num(self.sli),
            "burn_rate": _num(self.burn_rate),
            "budget_spent": _num(self.budget_spent),
            "budget_left": _num(self.budget_left),
            "page_firing": self.page_firing,
            "ticket_firing": self.ticket_firing,
            "alerts": [a.to_dict() for a in self.alerts],
            "confident": self.confident.to_dict() if self.confident else None,
        }


def _num(value: float | None) -> float | None:
    """Exact (JSON is for programs; the terminal rounds), None for no value."""
    if value is None or math.isnan(value):
        return None
    return value


def decimal(value: float) -> float:
    """`value` without binary noise: 14.4 * 0.001 is 0.0144, not 0.014400000000000001."""
    return float(f"{value:.12g}")


def choose_step(slo: SLO) -> timedelta:
    """1 minute, or a fifth of the shortest alert window when that is shorter (>= 1 s)."""
    shortest = min((a.short for a in slo.alerts), default=timedelta(minutes=5))
    seconds = max(1, min(60, int(shortest.total_seconds() // 5)))
    return timedelta(seconds=seconds)


def _bins(
    events: pl.DataFrame, start: datetime, step_s: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bad and total counts per step, for steps [start + i*step, start + (i+1)*step)."""
    epoch = int(start.timestamp())
    idx = ((events["ts"].dt.epoch("s") - epoch) // step_s).to_numpy()
    good = events["good"].to_numpy().astype(np.int64)
    total = events["total"].to_numpy().astype(np.int64)
    keep = (idx >= 0) & (idx < n)
    total_b = np.bincount(idx[keep], weights=total[keep], minlength=n)[:n]
    bad_b = np.bincount(idx[keep], weights=(total - good)[keep], minlength=n)[:n]
    return bad_b, total_b


def _rolling(cum: np.ndarray, width: int) -> np.ndarray:
    """Sums over the last `width` steps ending at each step, from a cumulative sum with a 0."""
    out = cum[1:].copy()
    out[width:] -= cum[1:-width] if width < len(cum) - 1 else 0
    return out


def evaluate(
    events: pl.DataFrame,
    slo: SLO,
    *,
    now: datetime | None = None,
    step: timedelta | None = None,
) -> SLOReport:
    """Budget, burn rates and alert history of `slo` over `events` (ts, good, total)."""
    if events.height == 0:
        return SLOReport(
            slo,
            now,
            None,
            0,
            0,
            0,
            0,
            timedelta(0),
            None,
            [
                AlertStatus(a, decimal(a.factor * slo.error_budget), None, None, False, [])
                for a in slo.alerts
            ],
        )
    events = events.sort("ts")
    first: datetime = events["ts"][0]
    last: datetime = events["ts"][-1]
    now = (now or last).astimezone(UTC)
    step = step or choose_step(slo)
    step_s = max(1, int(step.total_seconds()))
    epoch0 = int(first.timestamp()) // step_s * step_s
    start = datetime.fromtimestamp(epoch0, UTC)
    # the last step is the one that contains `now`; its evaluation time is its end
    n = int((now.timestamp() - epoch0) // step_s) + 1
    if n > MAX_STEPS:
        # keep only what the longest window needs
        horizon = max([slo.window] + [a.long for a in slo.alerts])
        epoch0 = (int(now.timestamp()) - int(horizon.total_seconds())) // step_s * step_s
        start = datetime.fromtimestamp(epoch0, UTC)
        n = int((now.timestamp() - epoch0) // step_s) + 1
    if n <= 0:
        n = 1
    bad_b, total_b = _bins(events, start, step_s, n)
    cum_bad = np.concatenate([[0.0], np.cumsum(bad_b)])
    cum_total = np.concatenate([[0.0], np.cumsum(total_b)])

    def window_ratio(width: timedelta) -> np.ndarray:
        w = max(1, math.ceil(width.total_seconds() / step_s))
        tot = _rolling(cum_total, w)
        bad = _rolling(cum_bad, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(tot > 0, bad / np.where(tot > 0, tot, 1), np.nan)

    eval_times = [start + timedelta(seconds=step_s * (i + 1)) for i in range(n)]
    statuses: list[AlertStatus] = []
    budget = slo.error_budget
    for alert in slo.alerts:
        threshold = decimal(alert.factor * budget)
        long_r = window_ratio(alert.long)
        short_r = window_ratio(alert.short)
        with np.errstate(invalid="ignore"):
            firing = (np.nan_to_num(long_r, nan=0.0) > threshold) & (
                np.nan_to_num(short_r, nan=0.0) > threshold
            )
        fired: list[Firing] = []
        changes = np.flatnonzero(np.diff(np.concatenate([[0], firing.astype(np.int8), [0]])))
        for s, e in zip(changes[::2], changes[1::2], strict=True):
            end = eval_times[e] if e < n else None
            fired.append(Firing(eval_times[s], end))
        lb = float(long_r[-1]) / budget if not math.isnan(long_r[-1]) else None
        sb = float(short_r[-1]) / budget if not math.isnan(short_r[-1]) else None
        statuses.append(AlertStatus(alert, threshold, lb, sb, bool(firing[-1]), fired))

    w = max(1, math.ceil(slo.window.total_seconds() / step_s))
    win_total = int(_rolling(cum_total, w)[-1])
    win_bad = int(_rolling(cum_bad, w)[-1])
    covered_from = max(first, now - slo.window)
    coverage = max(timedelta(0), now - covered_from)
    # The budget is for the whole SLO window: with less data than that, traffic seen so far is
    # extrapolated to the window, so 8 hours at 2x burn spend 2 * 8h / 28d of the budget.
    seen = max(coverage.total_seconds(), float(step_s))
    expected_total = win_total * max(1.0, slo.window.total_seconds() / seen)
    spent = (win_bad / (expected_total * budget)) if win_total else None
    return SLOReport(
        slo=slo,
        now=now,
        first_event=first,
        events=int(events["total"].cast(pl.Int64).sum()),
        bad=int(events["total"].cast(pl.Int64).sum()) - int(events["good"].cast(pl.Int64).sum()),
        window_events=win_total,
        window_bad=win_bad,
        coverage=coverage,
        budget_spent=spent,
        alerts=statuses,
    )
