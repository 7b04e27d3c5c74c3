"""Detection delay and false pages: the workbook's burn alerts against the confident ones.

    .venv/bin/python bench/detect_bench.py              # seed 7, one month per scenario
    .venv/bin/python bench/detect_bench.py --seed 11 --days 30
    .venv/bin/python bench/detect_bench.py --seeds 1-8     # eight months per scenario
    .venv/bin/python bench/detect_bench.py --sweep 200     # delay against constant traffic

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
starts outside every incident (and the 30 minutes after it). "late" counts the incidents
paged after the target (15 minutes for a daytime 10x burn, 1 minute for an outage) or never.
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
    alerts = confident_alerts(SLO_999)  # together: the burst cap is set by the first capped one
    fired = fire_steps(s.bad, s.total, STEP_S, 0, alerts, SLO_999.error_budget)
    periods: Periods = []
    for firing in (fired[a.name] for a in alerts if a.severity == severity):
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


# the targets: a 10x burn paged within 15 minutes, a total outage within a minute
TARGETS = {"10x burn (1%), 2h, daytime": 900.0, "100% outage": 60.0}


def target(name: str) -> float | None:
    return next((t for k, t in TARGETS.items() if name.startswith(k)), None)


def late(sc: Score, limit: float | None) -> str:
    """How many incidents were paged after the target or missed (of those scored)."""
    if limit is None:
        return ""
    return f"{sum(d > limit for d in sc.delays) + sc.missed}"


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


def _extra_bursts(
    rng: np.random.Generator, days: int, hours: tuple[int, int], per_day: int
) -> Series:
    """Healthy days plus bursts of 3-30 *extra* failed requests within 10-30 s (a client
    retrying into a restarting pod): at night they outnumber the healthy requests."""
    s = healthy(rng, days)
    for d in range(days):
        for _ in range(per_day):
            when = START + timedelta(
                days=d, hours=int(rng.integers(*hours)), seconds=int(rng.integers(0, 3600))
            )
            i, width, k = s.index(when), int(rng.integers(1, 4)), int(rng.integers(3, 31))
            s.total[i : i + width] += k // width
            s.bad[i : i + width] += k // width
    return s


def _blips(rng: np.random.Generator, days: int) -> Series:
    """Healthy days where every request fails for 10-20 s, five times a day at any hour."""
    s = healthy(rng, days)
    for _ in range(5 * days):
        i, width = int(rng.integers(0, len(s.total))), int(rng.integers(1, 3))
        s.bad[i : i + width] = s.total[i : i + width]
    return s


def _flapping(rng: np.random.Generator, days: int) -> Series:
    """An outage that comes and goes: 30 s down, 30 s up, for 10 minutes (an incident)."""
    s = healthy(rng, days)
    for d in range(1, days - 1, 3):
        when = START + timedelta(
            days=d, hours=int(rng.integers(0, 24)), minutes=int(rng.integers(0, 60))
        )
        i = s.index(when)
        for j in range(i, i + 60, 6):
            s.bad[j : j + 3] = s.total[j : j + 3]
        s.incidents.append((when, when + timedelta(minutes=10)))
    return s


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
        "flapping outage (30s down/30s up), 10m",
        "page",
        lambda r, d: [_flapping(r, d)],
    ),
    (
        "bursts of 3-30 extra failed requests",
        "page",
        lambda r, d: [_extra_bursts(r, d, (0, 24), 5)],
    ),
    (
        "the same, 3 a night (01-06h)",
        "page",
        lambda r, d: [_extra_bursts(r, d, (1, 6), 3)],
    ),
    ("blips: every request fails 10-20s", "page", lambda r, d: [_blips(r, d)]),
    (
        "2x slow burn (0.2%), 24h: tickets",
        "ticket",
        lambda r, d: [month_with(r, d, (0, 24), timedelta(hours=24), 0.002, every_days=7)],
    ),
]


def traffic_sweep(trials: int, seed: int) -> None:
    """Delay to page a 10x burn and a total outage at constant traffic (no bursts): the
    statistical limit, requests per second against minutes."""
    rng = np.random.default_rng(seed)
    alerts = tuple(a for a in confident_alerts(SLO_999) if a.severity == "page")
    print(f"\nconstant traffic, {trials} trials each; delay median / p95 / worst")
    print(f"{'requests/s':>10}  {'10x burn (1%)':>26}  {'100% outage':>20}")
    for rate in (0.2, 0.5, 1, 2, 5, 10, 25):
        cells = []
        for ratio, horizon in ((0.01, 120), (1.0, 10)):
            delays = []
            for _ in range(trials):
                onset = 60 * 6  # an hour of healthy traffic first
                total = rng.poisson(rate * STEP_S, onset + horizon * 6)
                bad = rng.binomial(total, 0.0005)
                bad[onset:] = rng.binomial(total[onset:], ratio)
                fired = fire_steps(bad, total, STEP_S, 0, alerts, SLO_999.error_budget)
                paged = np.flatnonzero(np.logical_or.reduce(list(fired.values()))[onset:])
                delays.append((paged[0] + 1) * STEP_S if len(paged) else float("inf"))
            d = np.array(delays)
            missed = int(np.isinf(d).sum())
            if missed > trials // 20:
                cells.append(f"missed {missed}/{trials} in {horizon} min")
                continue
            cells.append(
                f"{_dur(float(np.median(d)))} / {_dur(float(np.percentile(d, 95)))} / "
                f"{_dur(float(d.max())) if np.isfinite(d.max()) else 'missed'}"
            )
        print(f"{rate:>10}  {cells[0]:>26}  {cells[1]:>20}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeds", help="a range of seeds (1-8): one month each, scored together")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--sweep", type=int, metavar="TRIALS", help="only the traffic sweep")
    args = parser.parse_args()
    if args.sweep:
        traffic_sweep(args.sweep, args.seed)
        return
    print(
        f"99.9% availability SLO, {args.days}-day generated series per scenario, "
        f"seed{'s ' + args.seeds if args.seeds else ' ' + str(args.seed)};"
        " delay = median / worst from incident start to first alert"
    )
    header = (
        f"{'scenario':40} {'n':>3}  {'workbook delay':>20} {'late':>4} {'false':>5}"
        f"  {'confident delay':>20} {'late':>4} {'false':>5}"
    )
    print(header)
    print("-" * len(header))
    timings = {"workbook": 0.0, "confident": 0.0}
    for name, severity, make in SCENARIOS:
        seeds = [args.seed]
        if args.seeds:
            lo, _, hi = args.seeds.partition("-")
            seeds = list(range(int(lo), int(hi or lo) + 1))
        series = [s for seed in seeds for s in make(np.random.default_rng(seed), args.days)]
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
            f"{name:40} {n:>3}  {fmt_delay(wb, n):>20} {late(wb, target(name)):>4} {wb.false:>5}"
            f"  {fmt_delay(cf, n):>20} {late(cf, target(name)):>4} {cf.false:>5}"
        )
    print(
        f"evaluation time: workbook {timings['workbook']:.1f}s, "
        f"confident {timings['confident']:.1f}s"
    )


if __name__ == "__main__":
    main()
