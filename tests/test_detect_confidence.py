"""Confident burn alerts: the test's bound, warm-up, bursts, and streaming = batch."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from slo_helpers import START, write_log
from warroom.detect.slo import check_logs, parse_slos
from warroom.detect.slo.confidence import (
    ConfidentAlert,
    confident_alerts,
    evidence,
    fire_steps,
    held,
    lower_bound,
)
from warroom.detect.slo.model import SLO, SLOKind
from warroom.detect.slo.tracker import Tracker

SLO_999 = SLO("checkout", SLOKind.AVAILABILITY, 0.999, timedelta(days=28), "test")
BUDGET = SLO_999.error_budget


def _tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), exactly."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def test_evidence_bounds_the_exact_binomial_tail() -> None:
    # exp(-evidence) is the Chernoff bound: never below the true tail probability
    for n, p0 in ((12, 0.2), (60, 0.004), (300, 0.0144), (1000, 0.003)):
        for k in range(int(n * p0) + 1, n + 1, max(1, n // 25)):
            ev = float(evidence(np.array([k]), np.array([n]), p0)[0])
            assert ev > 0
            assert math.exp(-ev) >= _tail(k, n, p0) * (1 - 1e-9), (n, p0, k)
    # at or below p0 there is no evidence at all
    assert evidence(np.array([3, 0]), np.array([1000, 0]), 0.003).tolist() == [0.0, 0.0]


def test_lower_bound_is_below_the_observed_fraction_and_tightens_with_data() -> None:
    small = lower_bound(10, 1000)
    large = lower_bound(1000, 100_000)
    assert small is not None and large is not None
    assert 0 < small < large < 0.01
    assert lower_bound(0, 100) == 0.0
    assert lower_bound(0, 0) is None


def _steps(minutes: int, per_step: int) -> tuple[np.ndarray, np.ndarray]:
    n = minutes * 6
    return np.zeros(n, dtype=np.int64), np.full(n, per_step, dtype=np.int64)


def test_one_error_in_a_near_empty_window_never_pages_but_an_outage_does() -> None:
    alerts = tuple(a for a in confident_alerts(SLO_999) if a.severity == "page")
    bad, total = _steps(120, 2)  # 0.2 requests/s: a low-traffic night
    bad[60 * 6] = 1  # one error: 8 % of its minute, 14x the budget in 5 minutes
    fired = fire_steps(bad, total, 10, 0, alerts, BUDGET)
    assert not any(f.any() for f in fired.values())
    bad[90 * 6 :] = total[90 * 6 :]  # then every request fails
    fired = fire_steps(bad, total, 10, 0, alerts, BUDGET)
    first = int(np.argmax(fired["page-outage"]))
    assert fired["page-outage"].any()
    assert 0 < (first + 1 - 90 * 6) * 10 <= 60  # within a minute, even at night


def test_a_window_warming_up_does_not_page() -> None:
    alert = ConfidentAlert("hour", "page", timedelta(hours=1), 14.4)
    bad, total = _steps(90, 100)
    bad[:] = 10  # 10 % errors from the first request on: 100x the budget
    firing = fire_steps(bad, total, 10, 0, (alert,), BUDGET)["hour"]
    assert not firing[: 60 * 6 - 1].any()  # the first hour: the window holds less than 1h
    assert firing[60 * 6 - 1 :].all()
    # after 2 hours of earlier data it pages as soon as the errors are beyond doubt: 10 of 100
    # requests are not (evidence 11.2 < ln 1e6), 20 of 200 are
    later = fire_steps(bad, total, 10, 720, (alert,), BUDGET)["hour"]
    assert not later[0] and later[1:].all()


def _burns() -> tuple[ConfidentAlert, ...]:
    return tuple(a for a in confident_alerts(SLO_999) if a.name.startswith("page-burn"))


def _any(fired: dict[str, np.ndarray]) -> np.ndarray:
    return np.logical_or.reduce(list(fired.values()))


def test_a_burst_is_capped_a_sustained_burn_is_not() -> None:
    alerts = _burns()
    assert [a.window for a in alerts] == sorted(a.window for a in alerts)
    bad, total = _steps(90, 100)  # 10 requests/s
    bad[30 * 6 : 30 * 6 + 3] = 30  # 90 errors in 30 s, then healthy
    assert not _any(fire_steps(bad, total, 10, 0, alerts, BUDGET)).any()
    uncapped = tuple(replace(a, cap=None) for a in alerts)
    assert _any(fire_steps(bad, total, 10, 0, uncapped, BUDGET)).any()
    bad, total = _steps(90, 100)
    bad[30 * 6 :] = np.random.default_rng(1).binomial(100, 0.01, 60 * 6)  # 10x burn
    fired = fire_steps(bad, total, 10, 0, alerts, BUDGET)
    firing = _any(fired)
    assert (int(np.argmax(firing)) + 1 - 30 * 6) * 10 <= 10 * 60
    # the shortest window answers first: a burn 10 minutes old is not diluted in an hour
    assert fired["page-burn-10m"].argmax() <= fired["page-burn-1h"].argmax()


def test_an_outage_pages_once_it_has_lasted_a_burst_or_a_blip_does_not() -> None:
    page = tuple(a for a in confident_alerts(SLO_999) if a.severity == "page")
    # night: 2 requests per 10 s; a burst adds 30 failed requests within 30 s
    bad, total = _steps(60, 2)
    bad[20 * 6 : 20 * 6 + 3] += 10
    total[20 * 6 : 20 * 6 + 3] += 10
    assert not _any(fire_steps(bad, total, 10, 0, page, BUDGET)).any()
    # day: every request fails for 20 s
    bad, total = _steps(60, 250)
    bad[20 * 6 : 20 * 6 + 2] = 250
    assert not _any(fire_steps(bad, total, 10, 0, page, BUDGET)).any()
    # a real outage at either traffic: paged 40 s in (the held span), not before
    for per_step in (2, 250):
        bad, total = _steps(60, per_step)
        bad[20 * 6 :] = per_step
        fired = fire_steps(bad, total, 10, 0, page, BUDGET)["page-outage"]
        assert (int(np.argmax(fired)) + 1 - 20 * 6) * 10 == 40
    # a step without requests inside the span does not break it; a good step does
    bad, total = _steps(10, 2)
    bad[12:] = 2
    total[13] = bad[13] = 0
    assert held(bad, total, 4)[15]
    bad[14] = 0
    assert not held(bad, total, 4)[15:18].any()


def test_a_flapping_outage_pages_through_the_burn_alerts() -> None:
    page = tuple(a for a in confident_alerts(SLO_999) if a.severity == "page")
    bad, total = _steps(60, 100)
    for j in range(20 * 6, 30 * 6, 6):  # 30 s down, 30 s up, for 10 minutes
        bad[j : j + 3] = 100
    fired = fire_steps(bad, total, 10, 0, page, BUDGET)
    assert not fired["page-outage"].any()
    firing = _any(fired)
    assert firing.any() and (int(np.argmax(firing)) + 1 - 20 * 6) * 10 <= 10 * 60


def _events(n_minutes: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_minutes * 60
    ts = [START + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, n_minutes * 60, n))]
    good = (rng.random(n) > 0.02).astype(np.int64)
    good[n // 2 : n // 2 + 600] = 0  # a 10-minute outage in the middle
    return pl.DataFrame({"ts": ts, "good": good, "total": np.ones(n, dtype=np.int64)})


def test_tracker_fed_in_blocks_equals_the_batch_evaluation() -> None:
    events = _events(180, 3).with_columns(pl.col("ts").dt.cast_time_unit("us"))
    whole = Tracker(SLO_999)
    whole.add(events)
    parts = Tracker(SLO_999)
    for block in events.iter_slices(777):
        parts.add(block)
        parts = Tracker.from_state(SLO_999, parts.to_state())  # restarts between blocks
    assert parts.to_state() == whole.to_state()
    assert parts.status().to_dict() == whole.status().to_dict()
    # and the status at the end is what the vectorised batch evaluation says at that step
    steps = (events["ts"].dt.epoch("s") // 10).to_numpy()
    first = int(steps.min())
    bad = np.bincount(steps - first, weights=1 - events["good"].to_numpy())
    total = np.bincount(steps - first)
    batch = fire_steps(bad, total, 10, 0, confident_alerts(SLO_999), BUDGET)
    status = whole.status()
    assert status.firing == [name for name, f in batch.items() if f[-1]]
    assert {a.alert.name: a.warming_up for a in status.alerts}["ticket-slow"] is True


def test_slo_check_shows_the_confident_alerts_beside_the_workbook(tmp_path: Path) -> None:
    # a quiet log (one request every 5 s) whose first minute holds one error, then an outage
    outage = START + timedelta(hours=2)
    log = write_log(
        tmp_path / "access.log",
        duration=timedelta(hours=2, minutes=5),
        every=timedelta(seconds=5),
        status=lambda i, t: 500 if i == 3 or t >= outage else 200,
    )
    slos = parse_slos("slos:\n  - {name: checkout, objective: 99.9%, match: {route: /checkout}}\n")
    (report,) = check_logs([log], slos)
    fast = next(a for a in report.alerts if a.alert.name == "page-fast")
    assert fast.fired[0].start < START + timedelta(minutes=5)  # the workbook pages the log start
    conf = report.confident
    assert conf is not None and conf.paging and conf.page_runs[0][1] is None
    assert outage < conf.page_runs[0][0] <= outage + timedelta(minutes=1)
    assert len(conf.page_runs) == 1  # nothing before the outage
    assert report.to_dict()["confident"]["paging"] is True
