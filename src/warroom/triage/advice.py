"""Advice from a triage: suggested severity and containment steps, tied to the evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warroom.core.severity import Factors, Impact, Reach, suggest
from warroom.triage.model import RouteImpact, Step, TriageReport, ms
from warroom.triage.onset import Signal
from warroom.triage.sli import PhaseStats


def severity_for(
    metric: str, affected: list[RouteImpact], during: PhaseStats | None, share: float
) -> dict[str, Any]:
    key = [r for r in affected if r.key_flow]
    worst_err = max((r.error_rate_during for r in affected), default=0.0)
    slowdown = max(
        (
            r.during.p95_ms / r.before.p95_ms
            for r in affected
            if r.before and r.before.p95_ms and r.during.p95_ms
        ),
        default=1.0,
    )
    overall_err = during.error_rate if during else 0.0
    if key and max(r.error_rate_during for r in key) >= 0.25:
        impact, why = Impact.CRITICAL, f"key flow {key[0].route} is failing"
    elif key:
        impact, why = Impact.HIGH, f"key flow {key[0].route} is degraded"
    elif overall_err >= 0.25:
        impact, why = Impact.HIGH, f"{overall_err:.0%} of all requests fail"
    elif worst_err >= 0.05 or slowdown >= 2 or metric == "requests":
        impact, why = Impact.MEDIUM, "a feature is degraded"
    else:
        impact, why = Impact.LOW, "a small degradation"
    factors = Factors(business_impact=impact, affected_users=Reach.from_share(share))
    suggestion = suggest(factors)
    out = suggestion.to_dict()
    out["factors"] = factors.to_dict()
    out["evidence"] = f"{why}; {share:.0%} of active clients affected"
    return out


def containment_steps(report: TriageReport, five: dict[str, int]) -> list[Step]:
    """Steps in the method's order: stop the bleeding (roll back), then isolate, then relieve."""
    steps: list[Step] = []
    affected = [r for r in report.routes if r.affected] or report.routes[:1]
    top = report.suspects[0] if report.suspects else None
    # a change is rolled back only when its reach covers what broke: rolling back a deploy to a
    # healthy route costs time and proves nothing
    if top and top.score >= 0.3 and top.reach != "none":
        ch = top.change
        verb = {
            "deploy": f"Roll back deploy {ch.id}",
            "config": f"Revert config change {ch.id}",
            "flag": f"Turn off flag {ch.id}",
            "migration": f"Roll back or pause migration {ch.id}",
            "infra": f"Revert infra change {ch.id}",
        }[ch.kind]
        desc = f" ({ch.description})" if ch.description else ""
        steps.append(Step(f"{verb}{desc}", f"top suspect, score {top.score}: {top.reason}", ch.id))
    r0 = affected[0] if affected else None
    lost = r0 is not None and r0.before is not None and r0.during.per_minute < r0.before.per_minute
    if r0 is not None and report.symptom == "requests" and lost:
        before = r0.before.per_minute if r0.before else 0.0
        wide = [s.change.id for s in report.suspects if s.reach == "all_routes"]
        also = f"; changes to them: {', '.join(wide[:3])}" if wide else ""
        steps.append(
            Step(
                f"Check what sits in front of {r0.route}: CDN rules, DNS, load balancer, WAF "
                "and client releases; requests are not reaching the app",
                f"traffic {before:.0f} -> {r0.during.per_minute:.0f} requests/min with no "
                f"rise in 5xx{also}",
                r0.route,
            )
        )
    elif r0 is not None and report.symptom == "requests":
        rep = r0.repeated_request_ids or 0.0
        extra = (
            f"; {rep:.0%} of its requests reuse a request id (retry storm)" if rep >= 0.2 else ""
        )
        before = r0.before.per_minute if r0.before else 0.0
        steps.append(
            Step(
                f"Rate-limit {r0.route} and shed duplicate retries at the edge",
                f"traffic {before:.0f} -> {r0.during.per_minute:.0f} requests/min{extra}",
                r0.route,
            )
        )
    elif r0 is not None and report.symptom == "error_rate":
        gateway = sum(v for k, v in five.items() if k in ("502", "503", "504"))
        total5 = sum(five.values()) or 1
        if len(affected) >= 3 and gateway / total5 >= 0.6:
            codes = ", ".join(k for k in five if k in ("502", "503", "504"))
            steps.append(
                Step(
                    "Fail over or trip the circuit breaker of the upstream these routes share; "
                    "serve cached or degraded responses",
                    f"{gateway / total5:.0%} of 5xx are gateway errors ({codes}) across "
                    f"{len(affected)} routes: " + ", ".join(r.route for r in affected[:4]),
                    None,
                )
            )
        for r in affected[:3]:
            steps.append(
                Step(
                    f"Flag off or rate-limit {r.route}",
                    f"5xx {r.error_rate_before:.1%} -> {r.error_rate_during:.1%} "
                    f"({r.during.errors} errors since the onset)",
                    r.route,
                )
            )
    elif r0 is not None and report.symptom == "p95_ms":
        b = r0.before.p95_ms if r0.before else None
        steps.append(
            Step(
                f"Shed load or scale out {r0.route}; "
                "lower its timeouts so slowness does not spread",
                f"p95 {ms(b)} -> {ms(r0.during.p95_ms)}",
                r0.route,
            )
        )
    for sig in report.signatures[:3]:
        text = sig.template.lower()
        if any(w in text for w in ("queue", "consumer", "backlog", "kafka", "job")):
            steps.append(
                Step(
                    "Pause the queue consumer until the cause is fixed",
                    f"{sig.status} since the onset: {sig.template[:100]}",
                    None,
                )
            )
            break
    if report.window.get("ongoing"):
        steps.append(
            Step(
                "After each step, triage fresh logs again (or verify) to confirm recovery",
                "the impact is still ongoing at the end of the data",
                None,
            )
        )
    return steps


def load_summary(
    primary: Signal,
    affected: list[RouteImpact],
    before: PhaseStats | None,
    during: PhaseStats | None,
    onset: datetime,
) -> str:
    """The sentence for a surge that hurt nothing: load, not an incident."""
    where = "all routes" if primary.scope == "*" else primary.scope
    if primary.scope != "*" and len(affected) > 1:
        where = f"{len(affected)} routes"
    b_err = before.error_rate if before else 0.0
    d_err = during.error_rate if during else 0.0
    return (
        f"No incident detected: a load surge, traffic x{primary.ratio:.1f} on {where} since "
        f"{onset:%H:%M} UTC while the 5xx rate held ({b_err:.2%} -> {d_err:.2%}) and p95 held "
        f"({ms(before.p95_ms if before else None)} -> {ms(during.p95_ms if during else None)}); "
        "watch capacity"
    )


def summary_for(report: TriageReport) -> str:
    parts = [report.headline()]
    first = report.window.get("first_signal")
    if first and report.window.get("symptom_start") != report.window.get("start"):
        parts.append(f"first sign: {first} departed from its baseline at the onset")
    if report.suspects:
        s = report.suspects[0]
        parts.append(f"suspect {s.change.id} ({s.reason})")
    else:
        parts.append("no change fits")
    if report.severity:
        parts.append(report.severity["reason"])
    return "; ".join(parts)
