"""Onset detection: where did the error rate, latency or traffic change, and is it real?

For each series the single change point is found by least squares over every split: a level
step, plus (for error rate and latency) a linear ramp starting at the same point, so both an
abrupt failure and a slow creep have their onset at the start. The fit is compared with "no
change" by an F-test, Bonferroni-corrected for the search over split points, and the change
must also matter in practice (e.g. p95 up by half, 5xx up by two points and doubled) compared
with the spread of the baseline. A healthy log with ordinary noise passes neither test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

MIN_BASELINE = 8  # intervals before a change point
MIN_AFTER = 4
ALPHA = 1e-4  # after Bonferroni over split points
MIN_BURST = 2  # intervals of a short outage
MAX_BURST = 90  # longer bursts are steps that ended, found by the step fit
MIN_BURST_ERRORS = 10
# a traffic step must exceed this many robust sds of the baseline's log counts: 1.5, as on a
# quiet route Poisson noise alone is a third of a log unit, and a halving is already required
TRAFFIC_SDS = 1.5


def f_sf(x: float, d1: float, d2: float) -> float:
    """Survival function of the F distribution, P(F > x), as scipy.stats.f.sf computes it.

    Here rather than scipy because importing scipy.stats costs triage half a second:
    P(F > x) = I_z(d2/2, d1/2) with z = d2 / (d2 + d1 x), the regularised incomplete beta.
    """
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    return _betainc(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1 * x))


def _betainc(a: float, b: float, z: float) -> float:
    """Regularised incomplete beta I_z(a, b) (continued fraction, modified Lentz)."""
    if z <= 0.0:
        return 0.0
    if z >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(z) + b * math.log1p(-z)
    )
    if z < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, z) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - z) / b


def _beta_fraction(a: float, b: float, z: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * z / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for num in (
            m * (b - m) * z / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * z / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


@dataclass(frozen=True)
class Fit:
    index: int  # first interval after the change
    f_stat: float
    p_value: float  # Bonferroni-adjusted
    before: float  # weighted mean before the change
    after: float  # weighted mean after the change
    end: float  # fitted level at the last interval
    baseline_sd: float  # robust spread of the baseline intervals
    stop: int | None = None  # a burst: the first interval after it


def fit_change(
    x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, *, model: str = "step"
) -> Fit | None:
    """Best single change point of y(x), with its F-test against "no change".

    `model` is "step" (the level jumps), "ramp" (the level starts rising linearly: a creep)
    or "step+ramp". Points with NaN y or zero weight are ignored; None when too few remain.
    """
    w = np.ones_like(y) if w is None else w.astype(float)
    keep = np.isfinite(y) & (w > 0)
    x, y, w = x[keep].astype(float), y[keep].astype(float), w[keep]
    n = len(y)
    if n < MIN_BASELINE + MIN_AFTER:
        return None
    w = w / w.mean()

    def suffix(v: np.ndarray) -> np.ndarray:  # suffix[k] = sum over i >= k
        return np.cumsum(v[::-1])[::-1]

    aw, ay, ax = suffix(w), suffix(w * y), suffix(w * x)
    axx, axy = suffix(w * x * x), suffix(w * x * y)
    sw, sy, syy = aw[0], ay[0], float(np.sum(w * y * y))
    ks = np.arange(MIN_BASELINE, n - MIN_AFTER + 1)
    xk = x[ks]
    m = len(ks)
    # weighted sums of the regressors: 1, s = [x >= x_k], r = (x - x_k) * s
    sums = {
        "s": aw[ks],
        "r": ax[ks] - xk * aw[ks],
        "rr": axx[ks] - 2 * xk * ax[ks] + xk * xk * aw[ks],
        "sy": ay[ks],
        "ry": axy[ks] - xk * ay[ks],
    }
    cols = {"step": ["s"], "ramp": ["r"], "step+ramp": ["s", "r"]}[model]
    p = len(cols) + 1
    xtx = np.empty((m, p, p))
    xty = np.empty((m, p))
    xtx[:, 0, 0] = sw
    xty[:, 0] = sy
    for i, ci in enumerate(cols, start=1):
        xtx[:, 0, i] = xtx[:, i, 0] = sums[ci]
        xty[:, i] = sums[ci + "y"]
        for j, cj in enumerate(cols, start=1):
            xtx[:, i, j] = sums["rr"] if ci == cj == "r" else sums["r" if "r" in (ci, cj) else "s"]
    # tiny ridge: a ramp over identical x values is singular
    beta = np.linalg.solve(xtx + np.eye(p) * 1e-9, xty[..., None])[..., 0]
    sse1 = syy - np.einsum("ij,ij->i", beta, xty)
    sse0 = syy - sy * sy / sw
    best = int(np.argmin(sse1))
    k = int(ks[best])
    extra = p - 1
    sse = max(float(sse1[best]), 1e-12 * max(sse0, 1e-12))
    dof = n - extra - 1
    f_stat = ((sse0 - sse) / extra) / (sse / dof) if sse0 > sse else 0.0
    p_value = f_sf(f_stat, extra, dof) * m if f_stat > 0 else 1.0
    b = dict(zip(["c", *cols], beta[best], strict=True))
    end = float(b["c"] + b.get("s", 0.0) + b.get("r", 0.0) * (x[-1] - x[k]))
    before_y = y[:k]
    mad = float(np.median(np.abs(before_y - np.median(before_y)))) * 1.4826
    return Fit(
        index=int(np.flatnonzero(keep)[k]),
        f_stat=float(f_stat),
        p_value=min(p_value, 1.0),
        before=float(np.average(before_y, weights=w[:k])),
        after=float(np.average(y[k:], weights=w[k:])),
        end=end,
        baseline_sd=mad,
    )


def best_fit(
    x: np.ndarray, y: np.ndarray, w: np.ndarray | None, models: tuple[str, ...]
) -> Fit | None:
    """The model (step, ramp, or both) that explains the series best, by BIC: the residual
    error, with a penalty per parameter (a step with a drifting level after it is not a ramp
    starting long before the first error)."""
    ok = np.isfinite(y) if w is None else np.isfinite(y) & (w > 0)
    n = int(ok.sum())
    best: tuple[float, Fit] | None = None
    for m in models:
        fit = fit_change(x, y, w, model=m)
        if fit is None:
            continue
        extra = 2 if m == "step+ramp" else 1
        dof = max(n - extra - 1, 1)
        bic = -n * math.log1p(fit.f_stat * extra / dof) + extra * math.log(n)
        if best is None or bic < best[0]:
            best = (bic, fit)
    return best[1] if best else None


def find_rise(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    models: tuple[str, ...],
    *,
    burst: bool = True,
) -> Fit | None:
    """The significant rise in y, if any: a step or ramp, else a burst that ended.

    When the best split is a fall (the incident ended inside the data, or the data starts
    mid-incident), the rise is looked for before it; the level "after" is then averaged only
    until the series came back down. A short outage in a long log fits no single split well
    (the healthy time after it dilutes it): `fit_burst` then looks for it as a segment.
    """
    fit = _step_rise(x, y, w, models)
    if fit is not None or not burst:
        return fit
    seg = fit_burst(y, w)
    return seg if seg is not None and seg.p_value <= ALPHA else None


def _step_rise(
    x: np.ndarray, y: np.ndarray, w: np.ndarray | None, models: tuple[str, ...]
) -> Fit | None:
    end = len(y)
    for _ in range(4):
        fit = best_fit(x[:end], y[:end], None if w is None else w[:end], models)
        if fit is None or fit.p_value > ALPHA:
            return None
        if fit.after >= fit.before:
            break
        end = fit.index
    else:
        return None
    k = fit.index
    tail_w = None if w is None else w[k:]
    fall = fit_change(x[k:], y[k:], tail_w, model="step")
    if fall is not None and fall.p_value <= ALPHA and fall.after < fall.before:
        seg = slice(k, k + fall.index)
        ys = y[seg]
        ws = np.ones_like(ys) if w is None else w[seg]
        ok = np.isfinite(ys) & (ws > 0)
        if ok.any():
            level = float(np.average(ys[ok], weights=ws[ok]))
            fit = replace(fit, after=level, end=level, stop=k + fall.index)
    return fit


def fit_burst(y: np.ndarray, w: np.ndarray | None = None) -> Fit | None:
    """The segment [k, j) of `MIN_BURST` to `MAX_BURST` intervals whose level rose most clearly
    above the rest, with its F-test (two change points) against "no change".

    Bonferroni-corrected over every (start, length) pair searched. The fit's `after` and
    `end` are the level inside the segment, `before` the level outside it.
    """
    w = np.ones_like(y) if w is None else w.astype(float)
    keep = np.isfinite(y) & (w > 0)
    y, w = y[keep].astype(float), w[keep]
    n = len(y)
    if n < MIN_BASELINE + MIN_BURST:
        return None
    w = w / w.mean()
    cw = np.concatenate([[0.0], np.cumsum(w)])
    cy = np.concatenate([[0.0], np.cumsum(w * y)])
    sw, sy, syy = cw[-1], cy[-1], float(np.sum(w * y * y))
    ks = np.arange(MIN_BASELINE, n - MIN_BURST + 1)
    lengths = np.arange(MIN_BURST, MAX_BURST + 1)
    js = ks[:, None] + lengths[None, :]
    valid = js <= n
    js = np.minimum(js, n)
    w_in = cw[js] - cw[ks][:, None]
    s_in = cy[js] - cy[ks][:, None]
    w_out = sw - w_in
    s_out = sy - s_in
    with np.errstate(invalid="ignore", divide="ignore"):
        rises = s_in / w_in > s_out / w_out
        sse1 = syy - s_in * s_in / w_in - s_out * s_out / w_out
    ok = valid & rises & (w_out > 0) & (w_in > 0)
    if not ok.any():
        return None
    sse1 = np.where(ok, sse1, np.inf)
    bi, bj = np.unravel_index(int(np.argmin(sse1)), sse1.shape)
    k, j = int(ks[bi]), int(js[bi, bj])
    sse0 = syy - sy * sy / sw
    sse = max(float(sse1[bi, bj]), 1e-12 * max(sse0, 1e-12))
    dof = n - 3
    f_stat = ((sse0 - sse) / 2) / (sse / dof) if sse0 > sse and dof > 0 else 0.0
    p_value = f_sf(f_stat, 2, dof) * int(ok.sum()) if f_stat > 0 else 1.0
    inside = float(np.average(y[k:j], weights=w[k:j]))
    before_y = y[:k]
    mad = float(np.median(np.abs(before_y - np.median(before_y)))) * 1.4826
    outside = np.concatenate([y[:k], y[j:]])
    outside_w = np.concatenate([w[:k], w[j:]])
    return Fit(
        index=int(np.flatnonzero(keep)[k]),
        f_stat=float(f_stat),
        p_value=min(p_value, 1.0),
        before=float(np.average(outside, weights=outside_w)),
        after=inside,
        end=inside,
        baseline_sd=mad,
        stop=int(np.flatnonzero(keep)[j - 1]) + 1,
    )


@dataclass(frozen=True)
class Signal:
    """A significant change in one metric of one scope."""

    metric: str  # "error_rate", "p95_ms" or "requests"
    scope: str  # "*" for all routes, else the route
    index: int
    p_value: float
    f_stat: float
    before: float
    after: float  # level after the change, in the metric's unit
    ratio: float
    at: datetime | None = None  # when the change started (the report fills it in)
    stop: int | None = None  # the first interval back at the baseline, when it came back

    def to_dict(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "scope": self.scope,
            "at": self.at.isoformat() if self.at else None,
            "p_value": float(f"{self.p_value:.3g}"),
            "before": round(self.before, 4),
            "after": round(self.after, 4),
            "ratio": round(self.ratio, 2) if math.isfinite(self.ratio) else None,
        }


def error_signal(scope: str, requests: np.ndarray, errors: np.ndarray) -> Signal | None:
    """A significant rise of the 5xx rate (requests-weighted)."""
    if errors.sum() < 5:
        return None
    x = np.arange(len(requests), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(requests > 0, errors / np.maximum(requests, 1), np.nan)
    # too few 5xx for a burst to pass `_burst_counts`: skip its search
    burst = errors.sum() >= MIN_BURST_ERRORS
    fit = find_rise(x, rate, requests, ("step", "ramp", "step+ramp"), burst=burst)
    if fit is None:
        return None
    after = max(fit.after, min(fit.end, 1.0))
    excess = (after - fit.before) * requests[fit.index :].sum()
    floor = max(0.02, 3 * fit.baseline_sd, fit.before)  # at least doubled, two points up
    if after - fit.before < floor or excess < 10:
        return None
    if fit.stop is not None and not _burst_counts(fit, requests, errors):
        return None
    return Signal(
        "error_rate",
        scope,
        fit.index,
        fit.p_value,
        fit.f_stat,
        fit.before,
        after,
        after / fit.before if fit.before > 0 else math.inf,
        stop=fit.stop,
    )


def _burst_counts(fit: Fit, requests: np.ndarray, errors: np.ndarray) -> bool:
    """A burst of 5xx is real only with enough errors in it: at least `MIN_BURST_ERRORS` beyond
    the baseline's rate, and far beyond its Poisson noise (a few 5xx on a quiet route in two
    minutes are not an outage)."""
    seg = slice(fit.index, fit.stop)
    n, e = float(requests[seg].sum()), float(errors[seg].sum())
    expected = fit.before * n
    return e - expected >= MIN_BURST_ERRORS and e - expected >= 6 * math.sqrt(max(expected, 1))


def latency_signal(
    scope: str, p95: np.ndarray, latency_n: np.ndarray, mean_ms: np.ndarray | None = None
) -> Signal | None:
    """A significant rise of latency: a step, a creep, or both.

    The change point is searched on the mean latency when given (far less noisy per interval
    than a p95, and it moves with the tail), on a linear scale where a creep is a straight
    ramp; the reported levels are p95s.
    """
    ok = latency_n >= 5
    if ok.sum() < MIN_BASELINE + MIN_AFTER:
        return None
    series = mean_ms if mean_ms is not None else p95
    scale = float(np.median(series[ok]))
    if not scale > 0:
        return None
    y = np.where(ok, series / scale, np.nan)
    x = np.arange(len(y), dtype=float)
    fit = find_rise(x, y, np.sqrt(np.where(ok, latency_n, 0)), ("step", "ramp", "step+ramp"))
    if fit is None or fit.p_value > ALPHA or fit.before <= 0:
        return None
    if fit.stop is not None and (
        fit.stop - fit.index < MIN_AFTER or latency_n[fit.index : fit.stop].sum() < 100
    ):
        return None  # a slow minute or two on a quiet route is not an outage
    level = max(fit.after, fit.end)
    # at least +50 % at the end and +25 % on average, well beyond the baseline's spread
    if level < 1.5 * fit.before or fit.after < 1.25 * fit.before:
        return None
    if level - fit.before < 4 * fit.baseline_sd:
        return None
    k = fit.index
    # intervals with too few samples to fit on still date the start: walk back over those
    # just before the split that are already past halfway to the new level
    mid = fit.before + (level - fit.before) / 2
    while k > 0 and not ok[k - 1] and latency_n[k - 1] > 0 and series[k - 1] / scale >= mid:
        k -= 1
    before_p95 = float(np.nanmedian(np.where(ok[:k], p95[:k], np.nan)))
    tail = p95[k:][ok[k:]]
    after_p95 = float(np.nanmedian(tail[-max(3, len(tail) // 3) :])) if len(tail) else before_p95
    return Signal(
        "p95_ms",
        scope,
        k,
        fit.p_value,
        fit.f_stat,
        before_p95,
        after_p95,
        after_p95 / before_p95 if before_p95 > 0 else math.inf,
        stop=fit.stop,
    )


def traffic_signal(scope: str, requests: np.ndarray) -> Signal | None:
    """A significant step in traffic: at least doubled or halved, and sustained."""
    if requests.sum() < 100:
        return None
    y = np.log1p(requests)
    x = np.arange(len(y), dtype=float)
    fit = fit_change(x, y, model="step")
    if fit is None or fit.p_value > ALPHA:
        return None
    k = fit.index
    shift = fit.after - fit.before
    # in practice: the mean traffic doubled or halved, and the 15 intervals either side of the
    # split moved half as much the same way (raw counts: log1p shrinks a quiet route's drop)
    whole = math.log((requests[k:].mean() + 0.5) / (requests[:k].mean() + 0.5))
    local_before = requests[max(0, k - 15) : k].mean()
    local_after = requests[k : k + 15].mean()
    local = math.log((local_after + 0.5) / (local_before + 0.5))
    if abs(whole) < math.log(2) or abs(local) < math.log(1.5) or np.sign(local) != np.sign(whole):
        return None
    if np.sign(shift) != np.sign(whole):
        return None
    if abs(shift) < TRAFFIC_SDS * fit.baseline_sd:
        return None
    before, after = math.expm1(fit.before), math.expm1(fit.after)
    return Signal(
        "requests",
        scope,
        k,
        fit.p_value,
        fit.f_stat,
        before,
        after,
        after / before if before > 0 else math.inf,
    )


def impact_end(values: np.ndarray, start: int, before: float, after: float) -> int:
    """Index of the last interval still at least halfway from `before` to `after`."""
    mid = before + (after - before) / 2
    seg = values[start:]
    hit = np.flatnonzero(seg >= mid) if after >= before else np.flatnonzero(seg <= mid)
    return start + int(hit[-1]) if len(hit) else start
