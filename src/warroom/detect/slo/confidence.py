"""Burn alerts with stated confidence: page when the data *proves* the burn, not when it hints.

The workbook alerts compare an error ratio to a threshold; with 12 requests in a window one
error is an 8 % error ratio, and in the first minute of a log the 1-hour window holds one
minute. Here every alert asks a test instead: are `bad` errors among `total` requests
unlikely (probability below `alpha`) if the true bad fraction were only `p0`? With the
Chernoff bound of the binomial tail,

    P(X >= bad | total, p0) <= exp(-total * KL(bad/total || p0))
    KL(q || p) = q ln(q/p) + (1-q) ln((1-q)/(1-p))

an alert fires when `q = bad/total > p0` and `total * KL(q || p0) > ln(1/alpha)`, where
`p0 = factor * error_budget` (or an absolute `ratio` for outages). Its false-page rate at a
true bad fraction of exactly p0 is below alpha per evaluation, and far smaller below it.
A window also pages only once the data covers all of it (warm-up). Errors come in bursts
(a pod restart fails 30 requests in 10 s), which the binomial model does not expect: the fast
burn alerts cap how many bad requests one 10-second step may contribute (`cap`), and the
outage alert pages only a failure that lasted (`hold`: every step of the last 40 seconds
failing), which a burst does not.

    alerts = confident_alerts(slo)                 # outage + fast burn + the workbook pairs
    fired = fire_steps(bad, total, 10, 0, alerts, slo.error_budget)   # per step, per alert
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from warroom.detect.slo.model import SLO, format_duration

ALPHA = 1e-6
STEP = timedelta(seconds=10)
# a step "fails" (for `hold`) when at least this fraction of its requests failed
HOLD_RATIO = 0.5
# how long a pair keeps firing after its test stops passing (Prometheus keep_firing_for):
# a burn hovering at the threshold is one page, not a page every few minutes
KEEP = {"page": timedelta(minutes=5), "ticket": timedelta(hours=1)}


@dataclass(frozen=True)
class ConfidentAlert:
    """Fires when `window`'s bad fraction is above `p0` with confidence 1 - alpha.

    `short`: also require the plain burn over this window to be above `factor` (the burn is
    still going on, as in the workbook's pairs). `ratio`: an absolute bad fraction instead of
    `factor` times the error budget (a total outage is "most requests fail", whatever the SLO).
    """

    name: str
    severity: str  # "page" or "ticket"
    window: timedelta
    factor: float
    short: timedelta | None = None
    ratio: float | None = None
    alpha: float = ALPHA
    cap: float | None = None  # count at most 1 + cap * p0 * requests bad requests per step
    short_alpha: float = 1e-3  # the short window's test: is the burn still going on?
    keep: timedelta = timedelta(0)  # keep firing this long after the test stops passing
    # fire only when every step of the last `hold` failed (HOLD_RATIO of its requests, or it
    # had none) and its first and last steps had requests: a failure that lasted that long
    hold: timedelta = timedelta(0)

    def p0(self, budget: float) -> float:
        return min(self.ratio if self.ratio is not None else self.factor * budget, 0.999999)

    @property
    def evidence_needed(self) -> float:
        """ln(1/alpha): the log-likelihood ratio the window must exceed."""
        return math.log(1.0 / self.alpha)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "severity": self.severity,
            "window": format_duration(self.window),
            "short": format_duration(self.short) if self.short else None,
            "factor": self.factor,
            "ratio": self.ratio,
            "alpha": self.alpha,
            "cap": self.cap,
            "short_alpha": self.short_alpha,
            "keep": format_duration(self.keep) if self.keep else None,
            "hold": format_duration(self.hold) if self.hold else None,
        }


# Fast alerts in front of the workbook's pairs (which stay, with the same test, for slow burns
# and tickets). A total outage pages once every 10-second step of the last 40 seconds failed
# (half of its requests at least), the first and the last with requests, and the 40 seconds
# show beyond doubt (alpha 1e-3: five failures in a row) that more than 20 % fail: a burst of
# 10-30 s, however many requests it fails, does not last 40 s. A sustained burn above 2.5x
# pages once some window of 10, 15, 30 or 60 minutes shows it beyond doubt and the last 5
# minutes still do (alpha 1e-3): the shortest window that holds enough requests answers first,
# without diluting a burn that started 10 minutes ago in an hour of healthy traffic. Their
# bad requests are counted at most 1 + 4 * p0 * requests per 10-second step: a burst (many
# errors in few steps) weighs like a few errors, a burn (errors spread over every step) fully.
# Tickets: `ticket-burn` below, then the workbook's ticket pairs under the same test.
OUTAGE_HOLD = timedelta(seconds=40)
BURN_WINDOWS = (
    timedelta(minutes=10),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
)
FAST_ALERTS: tuple[ConfidentAlert, ...] = (
    ConfidentAlert(
        "page-outage", "page", OUTAGE_HOLD, 0.0, ratio=0.2, alpha=1e-3, hold=OUTAGE_HOLD
    ),
    *(
        ConfidentAlert(
            f"page-burn-{format_duration(w)}",
            "page",
            w,
            2.5,
            short=timedelta(minutes=5),
            cap=4.0,
        )
        for w in BURN_WINDOWS
    ),
    # a slow burn gets a ticket once 6 hours show it above 1.5x beyond doubt (the workbook's
    # ticket pairs compare ratios to 1x and 3x: they ticket noise, and miss a 2x burn)
    ConfidentAlert(
        "ticket-burn",
        "ticket",
        timedelta(hours=6),
        1.5,
        short=timedelta(hours=1),
        cap=4.0,
        keep=KEEP["ticket"],
    ),
)


def confident_alerts(slo: SLO) -> tuple[ConfidentAlert, ...]:
    """The fast alerts, then each workbook pair of `slo` under the same test."""
    pairs = tuple(
        ConfidentAlert(a.name, a.severity, a.long, a.factor, short=a.short, keep=KEEP[a.severity])
        for a in slo.alerts
    )
    return FAST_ALERTS + pairs


def evidence(bad: np.ndarray, total: np.ndarray, p0: float) -> np.ndarray:
    """total * KL(bad/total || p0) where bad/total > p0, else 0 (vectorised)."""
    bad = np.asarray(bad, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(total > 0, bad / np.where(total > 0, total, 1.0), 0.0)
        q = np.clip(q, 0.0, 1.0)
        a = np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0) / p0), 0.0)
        b = np.where(q < 1, (1 - q) * np.log(np.where(q < 1, 1 - q, 1.0) / (1 - p0)), 0.0)
    return np.where(q > p0, total * (a + b), 0.0)


def lower_bound(bad: float, total: float, alpha: float = ALPHA) -> float | None:
    """The smallest bad fraction p with total * KL(q || p) <= ln(1/alpha) (None: no data)."""
    if total <= 0:
        return None
    q = min(1.0, bad / total)
    if q <= 0:
        return 0.0
    need = math.log(1.0 / alpha)
    lo, hi = 0.0, q
    for _ in range(60):
        mid = (lo + hi) / 2
        if mid > 0 and total * _kl(q, mid) > need:
            lo = mid
        else:
            hi = mid
    return lo


def _kl(q: float, p: float) -> float:
    """KL(q || p) of two bad fractions, q > p > 0 (the scalar form of `evidence`)."""
    a = q * math.log(q / p) if q > 0 else 0.0
    b = (1 - q) * math.log((1 - q) / (1 - p)) if q < 1 else 0.0
    return a + b


def _window_sums(cum: np.ndarray, width: int) -> np.ndarray:
    """Sums over the last `width` steps ending at each step (cum has a leading 0)."""
    out = cum[1:].copy()
    if width < len(out):
        out[width:] -= cum[1 : len(cum) - width]
    return out


def window_counts(
    bad: np.ndarray, total: np.ndarray, step_s: int, width: timedelta
) -> tuple[np.ndarray, np.ndarray]:
    cum_b = np.concatenate([[0.0], np.cumsum(bad, dtype=np.float64)])
    cum_t = np.concatenate([[0.0], np.cumsum(total, dtype=np.float64)])
    w = max(1, math.ceil(width.total_seconds() / step_s))
    return _window_sums(cum_b, w), _window_sums(cum_t, w)


def _keep(firing: np.ndarray, steps: int) -> np.ndarray:
    """Firing, or fired within the last `steps` steps."""
    if steps <= 0 or not firing.any():
        return firing
    idx = np.where(firing, np.arange(len(firing)), -(10**12))
    last = np.maximum.accumulate(idx)
    return np.asarray(np.arange(len(firing)) - last <= steps)


def held(bad: np.ndarray, total: np.ndarray, steps: int) -> np.ndarray:
    """Whether each step ends `steps` steps that all failed (HOLD_RATIO of their requests
    or none), the first and the last of them with requests."""
    bad = np.asarray(bad)
    total = np.asarray(total)
    failing = bad >= HOLD_RATIO * total  # a step without requests fails too
    run = np.convolve(failing.astype(np.int64), np.ones(steps, dtype=np.int64))[: len(failing)]
    ends = failing & (total > 0)
    first = np.zeros_like(ends)
    first[steps - 1 :] = ends[: len(ends) - steps + 1]
    return np.asarray((run == steps) & ends & first)


def bad_caps(alerts: tuple[ConfidentAlert, ...], budget: float) -> list[float | None]:
    """Per alert, the bad fraction above which a step's bad requests are not counted (beyond 1).

    The first alert with a `cap` sets it, at `cap * p0`, for itself and every alert after it
    (the workbook pairs behind the fast burn alert count bursts the same way); alerts before
    it (the outage alert) count every bad request.
    """
    out: list[float | None] = []
    current: float | None = None
    for alert in alerts:
        if alert.cap is not None and current is None:
            current = alert.cap * alert.p0(budget)
        out.append(current)
    return out


def fire_steps(
    bad: np.ndarray,
    total: np.ndarray,
    step_s: int,
    data_steps: int,
    alerts: tuple[ConfidentAlert, ...],
    budget: float,
) -> dict[str, np.ndarray]:
    """Whether each alert fires at the end of each step.

    `bad`, `total`: counts per step; `data_steps`: how many steps of data came before the
    first one given (0 when the data starts with the arrays): a window reaching back before
    the data is warming up and never fires.
    """
    n = len(total)
    covered = (np.arange(n) + 1 + data_steps) * step_s  # seconds of data at each step's end
    out: dict[str, np.ndarray] = {}
    raw = bad
    for alert, cap in zip(alerts, bad_caps(alerts, budget), strict=True):
        # a burst is many errors in few steps: count few of them
        bad = raw if cap is None else np.minimum(raw, 1 + cap * total)
        wb, wt = window_counts(bad, total, step_s, alert.window)
        p0 = alert.p0(budget)
        firing = (evidence(wb, wt, p0) > alert.evidence_needed) & (
            covered >= alert.window.total_seconds()
        )
        if alert.short is not None:
            sb, st = window_counts(bad, total, step_s, alert.short)
            firing &= evidence(sb, st, p0) > math.log(1.0 / alert.short_alpha)
        if alert.hold:
            firing &= held(raw, total, int(alert.hold.total_seconds()) // step_s)
        out[alert.name] = _keep(firing, int(alert.keep.total_seconds()) // step_s)
    return out
