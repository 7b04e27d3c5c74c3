"""The P0-P4 rubric: a table of cases, each with the factor that decided it."""

from __future__ import annotations

import pytest

from warroom.core.errors import InvalidInput
from warroom.core.severity import DEFINITIONS, Factors, Reach, Severity, suggest

CASES = [
    # factors, expected severity, deciding factor
    ({"business_impact": "critical"}, "P0", "business_impact"),
    ({"business_impact": "critical", "workaround": True}, "P1", "workaround"),
    ({"business_impact": "high"}, "P1", "business_impact"),
    ({"business_impact": "low", "affected_users": "most"}, "P1", "affected_users"),
    ({"business_impact": "low", "affected_users": "many", "workaround": True}, "P2", "workaround"),
    ({"business_impact": "medium"}, "P2", "business_impact"),
    ({"business_impact": "low", "affected_users": "some"}, "P2", "affected_users"),
    ({"business_impact": "low"}, "P3", "business_impact"),
    ({"business_impact": "none", "affected_users": "none"}, "P4", "business_impact"),
    (
        {"business_impact": "none", "affected_users": "none", "recovery_complexity": "high"},
        "P3",
        "recovery_complexity",
    ),
    ({"business_impact": "low", "data_loss_risk": "confirmed"}, "P0", "data_loss_risk"),
    (
        {"business_impact": "low", "data_loss_risk": "possible", "workaround": True},
        "P1",
        "data_loss_risk",
    ),
    ({"business_impact": "none", "security": "confirmed", "workaround": True}, "P0", "security"),
    ({"business_impact": "low", "security": "possible"}, "P1", "security"),
    ({"business_impact": "high", "recovery_complexity": "high"}, "P1", "business_impact"),
]


@pytest.mark.parametrize(("factors", "expected", "decided_by"), CASES)
def test_rubric(factors: dict[str, object], expected: str, decided_by: str) -> None:
    result = suggest(Factors.from_dict(factors))
    assert result.severity.value == expected
    assert result.deciding_factor == decided_by
    assert result.reason.startswith(expected)
    assert result.to_dict()["definition"] == DEFINITIONS[result.severity]


def test_every_severity_has_a_written_definition() -> None:
    assert set(DEFINITIONS) == set(Severity)
    assert "key business flow is unavailable" in DEFINITIONS[Severity.P0]
    assert "not a total outage" in DEFINITIONS[Severity.P1]


@pytest.mark.parametrize(("text", "expected"), [("P0", "P0"), ("p3", "P3"), ("2", "P2")])
def test_severity_parse(text: str, expected: str) -> None:
    assert Severity.parse(text).value == expected


def test_unknown_values_name_the_allowed_ones() -> None:
    with pytest.raises(InvalidInput, match="P0, P1, P2, P3, P4"):
        Severity.parse("P5")
    with pytest.raises(InvalidInput, match="none, few, some, many, most"):
        Factors.from_dict({"affected_users": "lots"})


@pytest.mark.parametrize(
    ("share", "reach"), [(0, "none"), (0.005, "few"), (0.05, "some"), (0.3, "many"), (0.8, "most")]
)
def test_reach_from_share(share: float, reach: str) -> None:
    assert Reach.from_share(share).value == reach
