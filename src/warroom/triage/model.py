"""What a triage finds, as data: `TriageReport`, its routes (`RouteImpact`) and its steps.

The analysis (`warroom.triage.report.triage`) fills it; `advice` writes the severity and the
containment steps from it; the shells render it (`to_dict()` for JSON, `render` for markdown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warroom.triage.changes import Suspect
from warroom.triage.duplicates import Duplicates
from warroom.triage.onset import Signal
from warroom.triage.reader import LineStats
from warroom.triage.signatures import Signature
from warroom.triage.sli import PhaseStats, Series


@dataclass
class Step:
    """One containment step, with the evidence it rests on and what it acts on."""

    action: str
    evidence: str
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "evidence": self.evidence, "target": self.target}


def ms(v: float | None) -> str:
    """A latency for a sentence: `"420 ms"`, or `"n/a"`."""
    return "n/a" if v is None else f"{v:.0f} ms"


@dataclass
class RouteImpact:
    route: str
    before: PhaseStats | None
    during: PhaseStats
    impact: float  # bad-request equivalents: excess 5xx + slow and surplus requests
    affected: bool
    key_flow: bool
    repeated_request_ids: float | None = None  # share of requests during reusing an id

    @property
    def error_rate_before(self) -> float:
        return self.before.error_rate if self.before else 0.0

    @property
    def error_rate_during(self) -> float:
        return self.during.error_rate

    def to_dict(self) -> dict[str, Any]:
        b = self.before
        return {
            "route": self.route,
            "affected": self.affected,
            "key_flow": self.key_flow,
            "impact": round(self.impact, 1),
            "requests_before": b.requests if b else 0,
            "requests_during": self.during.requests,
            "requests_per_min_before": round(b.per_minute, 2) if b else 0.0,
            "requests_per_min_during": round(self.during.per_minute, 2),
            "error_rate_before": round(self.error_rate_before, 5),
            "error_rate_during": round(self.error_rate_during, 5),
            "p50_before_ms": _r(b.p50_ms if b else None),
            "p50_during_ms": _r(self.during.p50_ms),
            "p95_before_ms": _r(b.p95_ms if b else None),
            "p95_during_ms": _r(self.during.p95_ms),
            "p99_before_ms": _r(b.p99_ms if b else None),
            "p99_during_ms": _r(self.during.p99_ms),
            "repeated_request_ids": _r(self.repeated_request_ids, 3),
        }


def _r(v: float | None, digits: int = 1) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, digits)


@dataclass
class TriageReport:
    """What happened, since when, how badly, and what to do first."""

    incident: bool
    onset: datetime | None
    window: dict[str, Any]
    severity: dict[str, Any] | None
    routes: list[RouteImpact]
    signatures: list[Signature]
    suspects: list[Suspect]
    containment: list[Step]
    lines: LineStats
    symptom: str | None = None
    overall: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)
    signals: list[Signal] = field(default_factory=list)
    series: Series | None = None
    latency_available: bool = False
    formats: dict[str, str] = field(default_factory=dict)
    changes_considered: int = 0
    summary: str = ""
    duplicates: Duplicates | None = None  # keys that took effect twice (double charges)
    app_log_clock: dict[str, Any] | None = None  # the offset app-log times were read with
    corroboration: dict[str, Any] | None = None  # a second source's reading (logs + metrics)

    def headline(self) -> str:
        """A one-line title for declaring the incident."""
        if not self.incident:
            return self.summary or "No incident detected"
        at = self.onset.strftime("%H:%M UTC") if self.onset else "?"
        if self.window.get("ongoing") is False and self.window.get("end"):
            ended = datetime.fromisoformat(self.window["end"])
            at = f"{at}, ended {ended:%H:%M UTC}"
        affected = [r for r in self.routes if r.affected] or self.routes[:1]
        where = affected[0].route if len(affected) == 1 else f"{len(affected)} routes"
        if len(affected) > 1:
            where += f" (worst {affected[0].route})"
        during = self.overall.get("during", {})
        if self.symptom == "error_rate":
            rate = (
                affected[0].error_rate_during
                if len(affected) == 1
                else during.get("error_rate", 0.0)
            )
            return f"5xx on {where} since {at} ({rate:.0%} of requests)"
        if self.symptom == "p95_ms":
            r = affected[0]
            return (
                f"Slow responses on {where} since {at} "
                f"(p95 {ms(r.before.p95_ms if r.before else None)} -> {ms(r.during.p95_ms)})"
            )
        r = affected[0]
        before = r.before.per_minute if r.before else 0.0
        ratio = r.during.per_minute / before if before else float("inf")
        extra = ""
        if r.repeated_request_ids and r.repeated_request_ids >= 0.2:
            extra = f", {r.repeated_request_ids:.0%} repeated request ids: retry storm"
        if ratio < 1:
            return f"Traffic to {where} fell to {ratio:.0%} since {at}"
        return f"Traffic surge on {where} since {at} (x{ratio:.1f}{extra})"

    def to_dict(self) -> dict[str, Any]:
        s = self.series
        return {
            "incident": self.incident,
            "headline": self.headline(),
            "summary": self.summary,
            "onset": self.onset.isoformat() if self.onset else None,
            "symptom": self.symptom,
            "window": self.window,
            "severity": self.severity,
            "overall": self.overall,
            "clients": self.clients,
            "routes": [r.to_dict() for r in self.routes],
            "signals": [x.to_dict() for x in self.signals],
            "signatures": [x.to_dict() for x in self.signatures],
            "suspects": [x.to_dict() for x in self.suspects],
            "changes_considered": self.changes_considered,
            "containment": [x.to_dict() for x in self.containment],
            "latency_available": self.latency_available,
            "formats": self.formats,
            "lines": self.lines.to_dict(),
            "duplicates": self.duplicates.to_dict(limit=50) if self.duplicates else None,
            "app_log_clock": self.app_log_clock,
            "corroboration": self.corroboration,
            "series": None
            if s is None
            else {
                "interval_seconds": self.window.get("interval_seconds"),
                "start": s.times[0].isoformat() if s.times else None,
                "requests": [int(v) for v in s.requests],
                "error_rate": [_r(v, 4) for v in s.error_rate],
                "p95_ms": [_r(v) for v in s.p95],
            },
        }
