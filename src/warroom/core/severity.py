"""P0-P4 severity: written definitions and the prioritisation rubric.

The rubric reads the six prioritisation factors of the method (business impact, number of
affected users, data-loss risk, security implications, workaround available, recovery
complexity) and proposes a severity, naming the factor that decided it::

    >>> suggest(Factors(business_impact="critical")).severity
    <Severity.P0: 'P0'>
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from warroom.core.errors import Hint, InvalidInput


class Severity(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """0 for P0 (most urgent) to 4 for P4."""
        return int(self.value[1])

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Accept `P1`, `p1` or `1`; refuse anything else with the allowed values."""
        text = str(value).strip().upper()
        if text.isdigit():
            text = f"P{text}"
        try:
            return cls(text)
        except ValueError:
            raise InvalidInput(
                f"unknown severity {value!r}: use one of P0, P1, P2, P3, P4",
                field="severity",
                hint=Hint("severity_help", "read the severity definitions"),
            ) from None


DEFINITIONS: dict[Severity, str] = {
    Severity.P0: "Critical: a key business flow is unavailable (e.g. payments or checkout widely "
    "failing), data is being lost or a security breach is confirmed. All hands, now.",
    Severity.P1: "Major: serious degradation hitting many users or money, not a total outage "
    "(e.g. p95 tripled on checkout, a queue backing up). Respond immediately.",
    Severity.P2: "Moderate: a feature is degraded for some users or a workaround exists; no "
    "money or data at risk. Respond within business hours, same day.",
    Severity.P3: "Minor: a small group of users or an internal tool is affected; little "
    "business impact. Schedule the fix.",
    Severity.P4: "Cosmetic: no user-visible impact beyond appearance or wording. Backlog.",
}


class Impact(StrEnum):
    """Business impact of the incident."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"  # a key business flow is unavailable


class Reach(StrEnum):
    """How many users are affected."""

    NONE = "none"
    FEW = "few"  # under 1 %
    SOME = "some"  # under 10 %
    MANY = "many"  # under 50 %
    MOST = "most"  # half or more

    @classmethod
    def from_share(cls, share: float) -> Reach:
        """Map a share of users (0..1) to a reach level."""
        if share <= 0:
            return cls.NONE
        if share < 0.01:
            return cls.FEW
        if share < 0.10:
            return cls.SOME
        if share < 0.50:
            return cls.MANY
        return cls.MOST


class Risk(StrEnum):
    """Data-loss risk or security implication."""

    NONE = "none"
    POSSIBLE = "possible"
    CONFIRMED = "confirmed"


class Complexity(StrEnum):
    """How hard recovery is expected to be."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


FACTOR_NAMES = (
    "business_impact",
    "affected_users",
    "data_loss_risk",
    "security",
    "workaround",
    "recovery_complexity",
)


@dataclass(frozen=True)
class Factors:
    """The six prioritisation factors; every one has a neutral default."""

    business_impact: Impact = Impact.LOW
    affected_users: Reach = Reach.FEW
    data_loss_risk: Risk = Risk.NONE
    security: Risk = Risk.NONE
    workaround: bool = False
    recovery_complexity: Complexity = Complexity.LOW

    def __post_init__(self) -> None:
        for name, kind in (
            ("business_impact", Impact),
            ("affected_users", Reach),
            ("data_loss_risk", Risk),
            ("security", Risk),
            ("recovery_complexity", Complexity),
        ):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(str(value).lower()))
            except ValueError:
                allowed = ", ".join(m.value for m in kind)
                raise InvalidInput(
                    f"unknown {name.replace('_', ' ')} {value!r}: use one of {allowed}",
                    field=name,
                ) from None
        if not isinstance(self.workaround, bool):
            raise InvalidInput("workaround must be true or false", field="workaround")

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.value if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Factors:
        data = dict(data or {})
        unknown = set(data) - set(FACTOR_NAMES)
        if unknown:
            raise InvalidInput(
                f"unknown severity factor(s) {', '.join(sorted(unknown))}: "
                f"the factors are {', '.join(FACTOR_NAMES)}",
                field=sorted(unknown)[0],
            )
        return cls(**data)

    def urgency_key(self) -> tuple[int, ...]:
        """Sort key within one severity: more impact, more users, more risk first."""
        order_impact = list(Impact)
        order_reach = list(Reach)
        order_risk = list(Risk)
        order_cx = list(Complexity)
        return (
            -order_impact.index(self.business_impact),
            -order_reach.index(self.affected_users),
            -order_risk.index(self.data_loss_risk),
            -order_risk.index(self.security),
            1 if self.workaround else 0,
            -order_cx.index(self.recovery_complexity),
        )


@dataclass(frozen=True)
class Suggestion:
    severity: Severity
    deciding_factor: str
    reason: str
    considered: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "deciding_factor": self.deciding_factor,
            "reason": self.reason,
            "definition": DEFINITIONS[self.severity],
            "considered": self.considered,
        }


_IMPACT_LEVEL = {
    Impact.CRITICAL: Severity.P0,
    Impact.HIGH: Severity.P1,
    Impact.MEDIUM: Severity.P2,
    Impact.LOW: Severity.P3,
    Impact.NONE: Severity.P4,
}
_REACH_LEVEL = {
    Reach.MOST: Severity.P1,
    Reach.MANY: Severity.P1,
    Reach.SOME: Severity.P2,
    Reach.FEW: Severity.P3,
    Reach.NONE: Severity.P4,
}
_RISK_LEVEL = {Risk.CONFIRMED: Severity.P0, Risk.POSSIBLE: Severity.P1, Risk.NONE: Severity.P4}


def _shift(sev: Severity, by: int) -> Severity:
    return Severity(f"P{min(4, max(0, sev.rank + by))}")


def suggest(factors: Factors) -> Suggestion:
    """Propose a severity from the six factors and say which one decided it.

    Each factor sets a floor; the most severe floor wins (ties go to the factor listed
    first). A workaround lowers an impact- or reach-driven level by one, never one set by
    data loss or security. High recovery complexity raises a P3/P4 by one.
    """
    candidates: list[tuple[Severity, str, str]] = [
        (
            _IMPACT_LEVEL[factors.business_impact],
            "business_impact",
            f"business impact is {factors.business_impact.value}",
        ),
        (
            _REACH_LEVEL[factors.affected_users],
            "affected_users",
            f"{factors.affected_users.value} users are affected",
        ),
        (
            _RISK_LEVEL[factors.data_loss_risk],
            "data_loss_risk",
            f"data loss is {factors.data_loss_risk.value}",
        ),
        (
            _RISK_LEVEL[factors.security],
            "security",
            f"a security implication is {factors.security.value}",
        ),
    ]
    considered = [f"{why} -> {sev.value}" for sev, _, why in candidates]
    severity, decided_by, reason = min(candidates, key=lambda c: c[0].rank)
    if factors.workaround and decided_by in ("business_impact", "affected_users"):
        lowered = _shift(severity, +1)
        considered.append(f"a workaround exists -> {severity.value} lowered to {lowered.value}")
        severity, decided_by = lowered, "workaround"
        reason = f"{reason}, but a workaround exists"
    if factors.recovery_complexity is Complexity.HIGH and severity.rank >= 3:
        raised = _shift(severity, -1)
        considered.append(f"recovery is complex -> {severity.value} raised to {raised.value}")
        severity, decided_by = raised, "recovery_complexity"
        reason = f"{reason}, and recovery is expected to be complex"
    return Suggestion(
        severity=severity,
        deciding_factor=decided_by,
        reason=f"{severity.value} because {reason}",
        considered=considered,
    )
