"""Verify recovery from the numbers: the window after the fix against the baseline and the incident.

Three windows of the access log:

    baseline   before the onset (default: the hour before it)
    incident   from the onset to the mitigation or fix
    after      from the mitigation/fix plus a soak period (default 10 min) to the end of the log

Error rate (5xx share) is compared with a one-sided two-proportion z-test, p95 latency with a
bootstrap confidence interval of the ratio after/baseline (fixed seed, so the same logs give the
same verdict). The verdict is `recovered`, `not_recovered` or `inconclusive` (too little
traffic, or a difference too close to the tolerance to call), with the numbers::

    v = verify(db, "INC-1", ["access.log"], actor="ana")
    v.summary  # "p95 -47% against the incident, within 5% of baseline; 5xx 0.2% vs 0.3% baseline"

The verdict is recorded as `verification.recorded`; `incidents.move(..., to="verified")`
accepts a recovered one recorded after the fix.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from warroom import incidents
from warroom.core.clock import parse_time, utcnow
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import artifacts, timeline
from warroom.incidents.timeline import Kind
from warroom.triage.metrics.client import PromClient
from warroom.triage.metrics.config import MetricsSettings
from warroom.triage.metrics.source import read_metrics, requests_frame
from warroom.triage.parse import read_access_logs

RECOVERED = "recovered"
NOT_RECOVERED = "not_recovered"
INCONCLUSIVE = "inconclusive"

DEFAULT_SOAK = timedelta(minutes=10)
DEFAULT_BASELINE = timedelta(minutes=60)
MIN_REQUESTS = 200
ALPHA = 0.01
P95_TOLERANCE = 0.10  # after may be up to 10% slower than baseline
ERROR_TOLERANCE_ABS = 0.002  # and up to 0.2 points more 5xx ...
ERROR_TOLERANCE_REL = 0.25  # ... or 25% more, whichever is larger
BOOTSTRAP = 1000
BOOTSTRAP_CAP = 5000
SEED = 20261124

MITIGATION_KINDS = ("mitigation.applied",)


@dataclass(frozen=True)
class Window:
    name: str
    start: datetime
    end: datetime

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass
class WindowStats:
    requests: int
    errors: int
    p95_ms: float | None
    latencies: np.ndarray = field(repr=False)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "p95_ms": None if self.p95_ms is None else round(self.p95_ms, 1),
        }


@dataclass
class Verdict:
    verdict: str
    summary: str
    reasons: list[str]
    windows: dict[str, Window]
    numbers: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "summary": self.summary,
            "reasons": self.reasons,
            "windows": {k: w.to_dict() for k, w in self.windows.items()},
            "numbers": self.numbers,
        }


# --- parsing options ------------------------------------------------------------------------

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)\s*$", re.IGNORECASE)


def parse_duration(text: str, *, field_name: str = "soak") -> timedelta:
    """`10m`, `30s`, `1h` -> timedelta."""
    m = _DURATION_RE.match(text or "")
    if not m:
        raise InvalidInput(f"{text!r} is not a duration: use 30s, 10m or 1h", field=field_name)
    n = float(m.group(1))
    unit = m.group(2).lower()[0]
    return timedelta(seconds=n * {"s": 1, "m": 60, "h": 3600}[unit])


def parse_range(text: str) -> tuple[datetime, datetime]:
    """`START..END` in ISO-8601 (UTC when no offset)."""
    start, sep, end = (text or "").partition("..")
    a = parse_time(start, field="baseline") if sep else None
    b = parse_time(end, field="baseline") if sep else None
    if a is None or b is None:
        raise InvalidInput(
            f"{text!r} is not a range: use START..END, e.g. 2026-11-24T10:00Z..2026-11-24T11:00Z",
            field="baseline",
        )
    if b <= a:
        raise InvalidInput(f"the range {text!r} ends before it starts", field="baseline")
    return a, b


# --- statistics -----------------------------------------------------------------------------


def window_stats(frame: pl.DataFrame, w: Window) -> WindowStats:
    part = frame.filter((pl.col("ts") >= w.start) & (pl.col("ts") < w.end))
    lat = part["latency_ms"].drop_nulls().to_numpy().astype(float)
    lat = lat[np.isfinite(lat)]
    return WindowStats(
        requests=part.height,
        errors=int((part["status"] >= 500).sum()) if part.height else 0,
        p95_ms=float(np.percentile(lat, 95)) if lat.size else None,
        latencies=lat,
    )


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """One-sided p-value that proportion 1 is greater than proportion 2 (pooled z-test)."""
    if n1 == 0 or n2 == 0:
        return 1.0
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if p1 <= p2 else 0.0
    # The standard normal's survival function, sf(z) = erfc(z / sqrt 2) / 2 (no scipy needed).
    return 0.5 * math.erfc((p1 - p2) / se / math.sqrt(2))


def bootstrap_p95_ratio(
    after: np.ndarray, base: np.ndarray, *, n: int = BOOTSTRAP, seed: int = SEED
) -> tuple[float, float, float]:
    """(point, low, high) of p95(after)/p95(base) with a 95% percentile bootstrap interval."""
    rng = np.random.default_rng(seed)

    def resampled(x: np.ndarray) -> np.ndarray:
        size = min(x.size, BOOTSTRAP_CAP)
        idx = rng.integers(0, x.size, size=(n, size))
        return np.percentile(x[idx], 95, axis=1)

    point = float(np.percentile(after, 95) / max(np.percentile(base, 95), 1e-9))
    ratios = resampled(after) / np.maximum(resampled(base), 1e-9)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return point, float(low), float(high)


def _pct(x: float) -> str:
    return f"{x * 100:+.0f}%"


def _rate(x: float) -> str:
    return f"{x * 100:.2f}%" if x < 0.01 else f"{x * 100:.1f}%"


def compare(
    frame: pl.DataFrame,
    *,
    baseline: Window,
    incident: Window | None,
    after: Window,
    min_requests: int = MIN_REQUESTS,
    p95_tolerance: float = P95_TOLERANCE,
) -> Verdict:
    """The verdict for three windows of one access-log frame (pure, no database)."""
    windows = {"baseline": baseline}
    if incident is not None:
        windows["incident"] = incident
    windows["after"] = after
    b = window_stats(frame, baseline)
    a = window_stats(frame, after)
    i = window_stats(frame, incident) if incident is not None else None
    numbers: dict[str, Any] = {
        "baseline": b.to_dict(),
        "after": a.to_dict(),
        "min_requests": min_requests,
    }
    if i is not None:
        numbers["incident"] = i.to_dict()
    reasons: list[str] = []
    log_end = frame["ts"].max() if frame.height else None
    if a.requests < min_requests or b.requests < min_requests:
        if a.requests < min_requests:
            why = f"only {a.requests} requests after the soak (need {min_requests})"
            if isinstance(log_end, datetime) and log_end < after.start:
                why += f"; the log ends at {log_end:%H:%M:%S} UTC, before the soak is over"
            reasons.append(why)
        if b.requests < min_requests:
            reasons.append(f"only {b.requests} baseline requests (need {min_requests})")
        return Verdict(
            INCONCLUSIVE,
            "too little traffic to tell: " + "; ".join(reasons),
            reasons,
            windows,
            numbers,
        )

    verdicts: list[str] = []
    parts: list[str] = []
    # --- latency
    if a.latencies.size >= min_requests and b.latencies.size >= min_requests:
        point, low, high = bootstrap_p95_ratio(a.latencies, b.latencies)
        numbers["p95_ratio_vs_baseline"] = {
            "point": round(point, 4),
            "ci95": [round(low, 4), round(high, 4)],
        }
        limit = 1 + p95_tolerance
        text = "p95"
        if i is not None and i.p95_ms:
            change = a.p95_ms / i.p95_ms - 1 if a.p95_ms is not None else 0.0
            numbers["p95_change_vs_incident"] = round(change, 4)
            text += f" {_pct(change)} against the incident,"
        if abs(point - 1) <= p95_tolerance:
            text += f" within {max(1, round(abs(point - 1) * 100))}% of baseline"
        else:
            text += f" {_pct(point - 1)} against baseline"
        text += f" ({a.p95_ms:.0f} ms vs {b.p95_ms:.0f} ms)"
        parts.append(text.replace(", within", ", within"))
        if low > limit:
            verdicts.append(NOT_RECOVERED)
            reasons.append(
                f"p95 is {_pct(point - 1)} against baseline (95% CI "
                f"{_pct(low - 1)} to {_pct(high - 1)}), above the "
                f"{p95_tolerance:.0%} tolerance"
            )
        elif point > limit:
            verdicts.append(INCONCLUSIVE)
            reasons.append(
                f"p95 is {_pct(point - 1)} against baseline but the 95% CI "
                f"({_pct(low - 1)} to {_pct(high - 1)}) reaches the tolerance"
            )
        else:
            verdicts.append(RECOVERED)
    else:
        reasons.append("no latency in the logs: judged on the error rate only")
    # --- errors
    p_worse = two_proportion_p(a.errors, a.requests, b.errors, b.requests)
    allowed = b.error_rate + max(ERROR_TOLERANCE_ABS, ERROR_TOLERANCE_REL * b.error_rate)
    numbers["error_p_value_vs_baseline"] = round(p_worse, 6)
    text = f"5xx {_rate(a.error_rate)} vs {_rate(b.error_rate)} baseline"
    if i is not None:
        numbers["error_p_value_vs_incident"] = round(
            two_proportion_p(i.errors, i.requests, a.errors, a.requests), 6
        )
        text += f" ({_rate(i.error_rate)} during the incident)"
    parts.append(text)
    if p_worse < ALPHA and a.error_rate > allowed:
        verdicts.append(NOT_RECOVERED)
        reasons.append(
            f"5xx rate {_rate(a.error_rate)} is above the baseline "
            f"{_rate(b.error_rate)} (one-sided p={p_worse:.2g})"
        )
    else:
        verdicts.append(RECOVERED)
    verdict = (
        NOT_RECOVERED
        if NOT_RECOVERED in verdicts
        else INCONCLUSIVE
        if INCONCLUSIVE in verdicts
        else RECOVERED
    )
    return Verdict(verdict, "; ".join(parts), reasons, windows, numbers)


# --- windows from the incident --------------------------------------------------------------


def _report_onset(db: Database, key: str) -> datetime | None:
    report = artifacts.latest_triage_report(db, key)
    onset = report.get("onset") if report else None
    return parse_time(str(onset), field="onset") if onset else None


def default_windows(
    db: Database,
    key: str,
    *,
    log_start: datetime,
    log_end: datetime,
    baseline: tuple[datetime, datetime] | None = None,
    after: datetime | None = None,
    soak: timedelta = DEFAULT_SOAK,
) -> tuple[Window, Window | None, Window]:
    """Baseline, incident and after windows from the incident's times and its triage report.

    Onset: the triage report's onset, else the incident's start. Fix time: `after`, else the
    latest of the last mitigation applied, contained_at and fixed_at.
    """
    inc = incidents.get(db, key)
    onset = _report_onset(db, key) or inc.started_at
    marks = [t for t in (inc.stage_times.get("contained"), inc.stage_times.get("fixed")) if t]
    marks += [e.at for e in timeline.read(db, key, kinds=list(MITIGATION_KINDS))]
    fix = after or (max(marks) if marks else None)
    if fix is None:
        raise InvalidInput(
            f"{inc.key} has no mitigation, containment or fix time yet: give the time the fix "
            "took effect",
            field="after",
        )
    if baseline is None:
        baseline = (max(log_start, onset - DEFAULT_BASELINE), onset)
    base = Window("baseline", *baseline)
    incident = Window("incident", onset, fix) if fix > onset else None
    end = log_end + timedelta(microseconds=1)
    return base, incident, Window("after", fix + soak, max(end, fix + soak))


def verify(
    db: Database,
    key: str,
    paths: list[str],
    *,
    actor: str,
    baseline: tuple[datetime, datetime] | None = None,
    after: datetime | None = None,
    soak: timedelta = DEFAULT_SOAK,
    routes: list[str] | None = None,
    min_requests: int = MIN_REQUESTS,
    log_format: str | None = None,
    time_unit: str | None = None,
    names: list[str] | None = None,
) -> Verdict:
    """Read the access logs, judge recovery and record the verdict on the timeline.

    `names`: what to call the files in the record (an upload's own name, not the temporary
    file it was read from); the paths by default.
    """
    if not paths:
        raise InvalidInput("give at least one access log", field="log")
    log = read_access_logs(paths, log_format=log_format, time_unit=time_unit)
    return judge(
        db,
        key,
        log.frame,
        actor=actor,
        baseline=baseline,
        after=after,
        soak=soak,
        routes=routes,
        min_requests=min_requests,
        names=list(names) if names else [str(p) for p in paths],
    )


def verify_metrics(
    db: Database,
    key: str,
    source: MetricsSettings,
    *,
    actor: str,
    baseline: tuple[datetime, datetime] | None = None,
    after: datetime | None = None,
    soak: timedelta = DEFAULT_SOAK,
    routes: list[str] | None = None,
    min_requests: int = MIN_REQUESTS,
    until: datetime | None = None,
) -> Verdict:
    """The same judgement from a Prometheus-compatible store's request metrics: the counts
    per minute, route and status, and latencies at their histogram bucket (`until`: the end
    of the after window, default now)."""
    onset = _report_onset(db, key) or incidents.get(db, key).started_at
    start = baseline[0] if baseline else onset - DEFAULT_BASELINE
    with PromClient(source) as client:
        agg, _ = read_metrics(client, start, until or utcnow())
    return judge(
        db,
        key,
        requests_frame(agg),
        actor=actor,
        baseline=baseline,
        after=after,
        soak=soak,
        routes=routes,
        min_requests=min_requests,
        names=[source.label],
    )


def judge(
    db: Database,
    key: str,
    frame: pl.DataFrame,
    *,
    actor: str,
    baseline: tuple[datetime, datetime] | None,
    after: datetime | None,
    soak: timedelta,
    routes: list[str] | None,
    min_requests: int,
    names: list[str],
) -> Verdict:
    """Judge recovery on a frame of requests (ts, route, path, status, latency_ms) and record
    the verdict; `names` say where the requests came from."""
    if routes:
        frame = frame.filter(pl.col("route").is_in(routes) | pl.col("path").is_in(routes))
    if frame.height == 0:
        raise InvalidInput(
            "no requests read" + (f" for routes {', '.join(routes)}" if routes else ""),
            field="log",
        )
    log_start: datetime = frame["ts"].min()  # type: ignore[assignment]
    log_end: datetime = frame["ts"].max()  # type: ignore[assignment]
    base, incident, aft = default_windows(
        db, key, log_start=log_start, log_end=log_end, baseline=baseline, after=after, soak=soak
    )
    v = compare(frame, baseline=base, incident=incident, after=aft, min_requests=min_requests)
    v.numbers["soak_seconds"] = soak.total_seconds()
    v.numbers["files"] = names
    if routes:
        v.numbers["routes"] = routes
    incidents.record(
        db,
        key,
        kind=Kind.VERIFICATION.value,
        actor=actor,
        data=v.to_dict(),
    )
    return v
