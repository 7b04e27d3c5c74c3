"""Detection delay and false pages: the workbook's burn alerts against the confident ones.

    .venv/bin/python bench/detect_bench.py              # seed 7, one month per scenario
    .venv/bin/python bench/detect_bench.py --seed 11 --days 30

Each scenario is a generated month of request counts per 10 seconds for one 99.9 % SLO:
diurnal traffic (0.2 req/s at 04:00, about 25 req/s mid-afternoon, quieter weekends),
background errors (0.02-0.08 % a day), tiny bursts (3-30 errors within 10-30 s, five a
day at any hour, at most half of the requests of those seconds) and planted incidents.
"log starts" is thirty 6-hour logs starting at random hours with an error in their first
minute.

The workbook column is `warroom slo check`'s own evaluation (`burn.evaluate`, the SRE
workbook's multiwindow, multi-burn-rate alerts); the confident column is
`confidence.fire_steps` with `confident_alerts` (evaluated every 10 s). Delay is from the
incident's start to the first page (tickets for the slow burn); a false page is a page that
starts outside every incident (and the 30 minutes after it).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from warroom.detect.slo.burn import evaluate
from warroom.detect.slo.confidence import STEP, confident_alerts, fire_steps
from warroom.detect.slo.model import SLO, SLOKind

START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday
STEP_S = int(STEP.total_seconds())
PER_DAY = 86400 // STEP_S
GRACE = {"page": timedelta(minutes=30), "ticket": timedelta(hours=6)}
SLO_999 = SLO("checkout", SLOKind.AVAILABILITY, 0.999, timedelta(days=28), "bench")


@dataclass
class Series:
    """Counts per 10-second step from `start`; incidents as (start, end) times."""

    start: datetime
    total: np.ndarray
    bad: np.ndarray
    incidents: list[tuple[datetime, datetime]] = field(default_factory=list)

    def at(self, i: int) -> datetime:
        return self.start + timedelta(seconds=STEP_S * i)

    def index(self, t: datetime) -> int:
        return int((t - self.start).total_seconds()) // STEP_S


def healthy(rng: np.random.Generator, days: float, start: datetime = START) -> Series:
    n = int(days * PER_DAY)
    t = np.arange(n) * STEP_S + (start - START).total_seconds()
    hour = (t / 3600.0) % 24
    day = (t // 86400).astype(int)
    shape = ((1 - np.cos(2 * np.pi * (hour - 4) / 24)) / 2) ** 1.5
    day_factor = rng.uniform(0.85, 1.15, day.max() + 1)[day]
    weekend = np.where((day % 7) >= 5, 0.6, 1.0)
    rate = 0.2 + 25.0 * shape * day_factor * weekend  # requests per second
    total = rng.poisson(rate * STEP_S)
    p_bg = rng.uniform(0.0002, 0.0008, day.max() + 1)[day]
    bad = rng.binomial(total, p_bg)
    # tiny bursts: 3-30 errors within 10-30 s (a pod restart), 5 a day on average, at most
    # half of the requests of those seconds (all of them failing is an outage, however short)
    for _ in range(rng.poisson(5 * max(days, 0.1))):
        i = int(rng.integers(0, n))
        width = int(rng.integers(1, 4))
        k = int(rng.integers(3, 31))
        for j in range(i, min(n, i + width)):
            extra = min(k // width + 1, int(total[j] - bad[j]), int(total[j] + 1) // 2)
            bad[j] += extra
    return Series(start, total, bad)


def plant(
    s: Series, rng: np.random.Generator, when: datetime, length: timedelta, ratio: float
) -> None:
    a, b = s.index(when), s.index(when + length)
    s.bad[a:b] = rng.binomial(s.total[a:b], ratio)
    s.incidents.append((when, when + length))


def month_with(
    rng: np.random.Generator,
    days: int,
    hours: tuple[int, int],
    length: timedelta,
    ratio: float,
    every_days: int = 3,
) -> Series:
    s = healthy(rng, days)
    for d in range(1, days - 1, every_days):
        hour = int(rng.integers(hours[0], hours[1]))
        when = START + timedelta(days=d, hours=hour, seconds=int(rng.integers(0, 3600)))
        plant(s, rng, when, length, ratio)
    return s


# --- the two policies ------------------------------------------------------------------------

Periods = list[tuple[datetime, datetime | None]]


def _union(periods: Periods) -> Periods:
    out: list[tuple[datetime, datetime | None]] = []
    for start, end in sorted(periods, key=lambda p: p[0]):
        if out and (out[-1][1] is None or start <= out[-1][1]):  # type: ignore[operator]
            prev_end = out[-1][1]
            merged = None if prev_end is None or end is None else max(prev_end, end)
            out[-1] = (out[-1][0], merged)
        else:
            out.append((start, end))
    return out


def workbook(s: Series, severity: str) -> Periods:
    """Firing periods of `slo check` (the workbook pairs) over the series."""
    keep = s.total > 0
    idx = np.flatnonzero(keep)
    frame = pl.DataFrame(
        {
            "ts": [s.at(int(i)) for i in idx],
            "good": (s.total[keep] - s.bad[keep]).astype(np.int64),
            "total": s.total[keep].astype(np.int64),
        }
    )
    report = evaluate(frame, SLO_999, now=s.at(len(s.total)))
    periods: Periods = []
    for a in report.alerts:
        if a.alert.severity == severity:
            periods += [(f.start, f.end) for f in a.fired]
    return _union(periods)


def confident(s: Series, severity: str) -> Periods:
    alerts = tuple(a for a in confident_alerts(SLO_999) if a.severity == severity)
    fired = fire_steps(s.bad, s.total, STEP_S, 0, alerts, SLO_999.error_budget)
    periods: Periods = []
    for firing in fired.values():
        edges = np.flatnonzero(np.diff(np.concatenate([[0], firing.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            periods.append((s.at(int(a) + 1), s.at(int(b) + 1) if b < len(firing) else None))
    return _union(periods)


# --- scoring ---------------------------------------------------------------------------------


@dataclass
class Score:
    delays: list[float] = field(default_factory=list)  # seconds, per detected incident
    missed: int = 0
    false: int = 0

    def add(self, other: Score) -> None:
        self.delays += other.delays
        self.missed += other.missed
        self.false += other.false


def score(s: Series, periods: Periods, severity: str) -> Score:
    out = Score()
    claimed: set[int] = set()
    for start, end in s.incidents:
        hits = [
            i
            for i, (ps, pe) in enumerate(periods)
            if ps <= end + GRACE[severity] and (pe is None or pe > start)
        ]
        claimed.update(hits)
        firsts = [max(periods[i][0], start) for i in hits]
        if firsts:
            out.delays.append((min(firsts) - start).total_seconds())
        else:
            out.missed += 1
    out.false = len(periods) - len(claimed)
    return out


def fmt_delay(sc: Score, n: int) -> str:
    if not sc.delays:
        return f"missed {sc.missed}/{n}" if n else "-"
    med, worst = statistics.median(sc.delays), max(sc.delays)
    text = f"{_dur(med)} / {_dur(worst)}"
    return text + (f", missed {sc.missed}" if sc.missed else "")


def _dur(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


Scenario = Callable[[np.random.Generator, int], list[Series]]


def _log_starts(rng: np.random.Generator, days: int) -> list[Series]:
    out = []
    for _ in range(30):
        start = START + timedelta(days=int(rng.integers(0, days)), hours=int(rng.integers(0, 24)))
        s = healthy(rng, 0.25, start)
        first = int(np.flatnonzero(s.total[:6] > 0)[0]) if s.total[:6].any() else 0
        s.total[first] = max(1, s.total[first])
        s.bad[first] = max(1, s.bad[first])  # one error in the log's first minute
        out.append(s)
    return out


SCENARIOS: list[tuple[str, str, Scenario]] = [
    ("healthy month (log starts at 00:00)", "page", lambda r, d: [healthy(r, d)]),
    ("log starts: 30 x 6h, error in minute 1", "page", _log_starts),
    (
        "10x burn (1%), 2h, daytime",
        "page",
        lambda r, d: [month_with(r, d, (9, 17), timedelta(hours=2), 0.01)],
    ),
    (
        "100% outage, 10m, daytime",
        "page",
        lambda r, d: [month_with(r, d, (9, 17), timedelta(minutes=10), 1.0)],
    ),
    (
        "100% outage, 10m, night (02-05h)",
        "page",
        lambda r, d: [month_with(r, d, (2, 5), timedelta(minutes=10), 1.0)],
    ),
    (
        "10x burn (1%), 2h, night (02-05h)",
        "page",
        lambda r, d: [month_with(r, d, (2, 5), timedelta(hours=2), 0.01)],
    ),
    (
        "20x burn (2%), 1h, any hour",
        "page",
        lambda r, d: [month_with(r, d, (0, 24), timedelta(hours=1), 0.02)],
    ),
    (
        "2x slow burn (0.2%), 24h: tickets",
        "ticket",
        lambda r, d: [month_with(r, d, (0, 24), timedelta(hours=24), 0.002, every_days=7)],
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    print(
        f"99.9% availability SLO, {args.days}-day generated series per scenario, seed {args.seed};"
        " delay = median / worst from incident start to first alert"
    )
    header = (
        f"{'scenario':40} {'n':>3}  {'workbook delay':>20} {'false':>5}"
        f"  {'confident delay':>20} {'false':>5}"
    )
    print(header)
    print("-" * len(header))
    timings = {"workbook": 0.0, "confident": 0.0}
    for name, severity, make in SCENARIOS:
        rng = np.random.default_rng(args.seed)
        series = make(rng, args.days)
        wb, cf = Score(), Score()
        for s in series:
            t0 = time.perf_counter()
            wb.add(score(s, workbook(s, severity), severity))
            t1 = time.perf_counter()
            cf.add(score(s, confident(s, severity), severity))
            timings["workbook"] += t1 - t0
            timings["confident"] += time.perf_counter() - t1
        n = sum(len(s.incidents) for s in series)
        print(
            f"{name:40} {n:>3}  {fmt_delay(wb, n):>20} {wb.false:>5}"
            f"  {fmt_delay(cf, n):>20} {cf.false:>5}"
        )
    print(
        f"evaluation time: workbook {timings['workbook']:.1f}s, "
        f"confident {timings['confident']:.1f}s"
    )


if __name__ == "__main__":
    main()
