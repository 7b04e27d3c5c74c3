"""The confident burn alerts (`confidence.py`) as Prometheus rules.

For each window W an alert needs, two recording rules count requests over W:

    slo:sli_bad:increase<W>        bad requests (the bad rate, or total - good, times W)
    slo:sli_requests:increase<W>   all requests

and, behind the first alert with a burst cap, `slo:sli_bad_capped:increase<W>` sums per-minute
bad counts capped at `6 + cap * p0 * requests` (a 1-minute subquery). Each alert then writes
the Chernoff test with `ln()`, with B bad and T requests over its window:

    B * ln(B / (p0 * T)) + (T - B) * ln((T - B) / ((1 - p0) * T)) > ln(1 / alpha)
    and B > p0 * T

the same test over the short window (at `short_alpha`), and warm-up: requests were counted
W ago (`slo:sli_requests:increase1m offset W-1m`). `keep` becomes `keep_firing_for`. `hold`
(the outage alert) reads the 10-second counts at each step of the held span:

    slo:sli_bad:increase10s offset k*10s >= 0.5 * slo:sli_requests:increase10s offset k*10s

for every step k, and requests > 0 at the first and the last; the group is evaluated every
10 seconds (its `interval`), so the recorded 10-second counts exist at every step.

The log check steps by 10 seconds and caps bursts per 10 s; these rules step by a minute and
cap per minute. On the same requests they fire at the same minutes unless a burst fits
within a minute (docs/detect.md; tests/test_promtool_confident.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from warroom.detect.slo.confidence import (
    HOLD_RATIO,
    STEP,
    ConfidentAlert,
    bad_caps,
    confident_alerts,
)
from warroom.detect.slo.model import SLO, format_duration

CONFIDENT_ALERT = "SLOBurnConfident"
MINUTE = timedelta(minutes=1)

# (bad, good, total) PromQL rates over a window, one of bad/good None (rules.ratio_parts)
Parts = Callable[[str], tuple[str | None, str | None, str]]


def bad_name(window: str, *, capped: bool = False) -> str:
    return f"slo:sli_bad{'_capped' if capped else ''}:increase{window}"


def requests_name(window: str) -> str:
    return f"slo:sli_requests:increase{window}"


def _num(x: float) -> str:
    return f"{x:.10g}"


def _windows(alerts: tuple[ConfidentAlert, ...]) -> list[timedelta]:
    out = [MINUTE]  # per-minute counts: warm-up and the burst cap
    if any(a.hold for a in alerts):
        out.append(STEP)  # per-step counts: the held span
    for a in alerts:
        for w in (a.window, a.short):
            if w is not None and w not in out:
                out.append(w)
    return out


def _test(bad: str, total: str, p0: float, alpha: float) -> str:
    """PromQL: `bad` among `total` proves a bad fraction above p0 at level alpha."""
    q, r = _num(p0), _num(1 - p0)
    return (
        f"(\n  {bad} * ln({bad} / ({q} * {total}))\n"
        f"  + ({total} - {bad}) * ln(clamp_min({total} - {bad}, 1e-9) / ({r} * {total}))\n"
        f") > {_num(math.log(1 / alpha))}\nand {bad} > {q} * {total}"
    )


def _held(alert: ConfidentAlert, sel: str) -> str:
    """PromQL: every 10-second step of the alert's `hold` failed, the first and last with
    requests (confidence.held)."""
    step = format_duration(STEP)
    bad, total = f"{bad_name(step)}{sel}", f"{requests_name(step)}{sel}"
    steps = int(alert.hold / STEP)

    def at(series: str, k: int) -> str:
        return series if k == 0 else f"{series} offset {format_duration(STEP * k)}"

    terms = [f"{at(bad, k)} >= {_num(HOLD_RATIO)} * {at(total, k)}" for k in range(steps)]
    terms += [f"{at(total, 0)} > 0", f"{at(total, steps - 1)} > 0"]
    return "\nand ".join(f"({t})" for t in terms)


def confident_rules(
    slo: SLO,
    parts: Parts,
    labels: dict[str, str],
    *,
    alerts: tuple[ConfidentAlert, ...] | None = None,
) -> list[dict[str, Any]]:
    """Recording rules and one `SLOBurnConfident` alert per confident alert of `slo`."""
    slo_alerts = alerts if alerts is not None else confident_alerts(slo)
    sel = "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    caps = bad_caps(slo_alerts, slo.error_budget)
    rules: list[dict[str, Any]] = []
    windows = _windows(slo_alerts)
    for w in windows:
        name = format_duration(w)
        bad, good, total = parts(name)
        secs = _num(w.total_seconds())
        count = f"({bad}) * {secs}" if bad is not None else f"({total} - {good}) * {secs}"
        rules.append({"record": bad_name(name), "expr": count, "labels": labels})
        rules.append(
            {"record": requests_name(name), "expr": f"({total}) * {secs}", "labels": labels}
        )
    cap = next((c for c in caps if c is not None), None)
    if cap is not None:
        limit = f"6 + {_num(cap)} * {requests_name('1m')}{sel}"  # 1 per 10 s, as the log check
        per_minute = f"{bad_name('1m')}{sel} * 1 <= {limit} or {limit}"
        capped_windows = {
            w
            for a, c in zip(slo_alerts, caps, strict=True)
            if c is not None
            for w in (a.window, a.short)
            if w is not None
        }
        for w in windows:
            if w in capped_windows:
                span = format_duration(w - timedelta(seconds=1))  # the last W/1m minutes
                rules.append(
                    {
                        "record": bad_name(format_duration(w), capped=True),
                        "expr": f"sum_over_time(({per_minute})[{span}:1m])",
                        "labels": labels,
                    }
                )
    objective = f"{slo.objective * 100:g}%"
    for alert, c in zip(slo_alerts, caps, strict=True):
        p0 = alert.p0(slo.error_budget)
        win = format_duration(alert.window)
        expr = _test(
            f"{bad_name(win, capped=c is not None)}{sel}",
            f"{requests_name(win)}{sel}",
            p0,
            alert.alpha,
        )
        if alert.short is not None:
            short = format_duration(alert.short)
            short_test = _test(
                f"{bad_name(short, capped=c is not None)}{sel}",
                f"{requests_name(short)}{sel}",
                p0,
                alert.short_alpha,
            )
            expr = f"(\n{expr}\n)\nand\n(\n{short_test}\n)"
        if alert.hold:
            expr = f"(\n{expr}\n)\nand\n(\n{_held(alert, sel)}\n)"
        if alert.window > MINUTE:
            warm = format_duration(alert.window - MINUTE)
            expr = f"(\n{expr}\n)\nand {requests_name('1m')}{sel} offset {warm}"
        what = (
            f"{_num(p0 * 100)}% of requests failing"
            if alert.ratio is not None
            else f"a burn above {_num(alert.factor)}x"
        )
        rule: dict[str, Any] = {
            "alert": CONFIDENT_ALERT,
            "expr": expr,
            "labels": {
                **labels,
                "severity": alert.severity,
                "burn_alert": alert.name,
                "window": win,
            },
            "annotations": {
                "summary": (
                    f"SLO {slo.name} ({objective} over {format_duration(slo.window)}): "
                    f"{what} over {win}, with confidence 1 - {_num(alert.alpha)}"
                ),
            },
        }
        if alert.keep:
            rule["keep_firing_for"] = format_duration(alert.keep)
        rules.append(rule)
    return rules
