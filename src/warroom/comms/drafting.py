"""Status updates as data and in words: audiences, the moment of each update (its template),
the `StatusUpdate` record, and `render`, which writes it in business language.

    render(UpdateKind.INITIAL, headline="Checkout errors", conditions="30% of payments fail",
           actions="", needs="", business_impact="", prevention="", eta=None,
           next_update_at=None)
    # "We are investigating: Checkout errors.\nCurrent situation: 30% of payments fail\n..."
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warroom.comms.catalog import ComponentState
from warroom.core.choices import Choice
from warroom.core.severity import Severity


class Audience(Choice):
    INTERNAL = "internal"
    STAKEHOLDER = "stakeholder"
    PUBLIC = "public"


class UpdateKind(Choice):
    INITIAL = "initial"
    PROGRESS = "progress"
    ETA = "eta"
    RESOLUTION = "resolution"
    FOLLOWUP = "followup"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {
            "initial_assessment": "initial",
            "eta_revision": "eta",
            "resolved": "resolution",
            "follow_up": "followup",
            "update": "progress",
        }

    @classmethod
    def field_name(cls) -> str:
        return "kind"


KIND_LABELS = {
    UpdateKind.INITIAL: "Initial assessment",
    UpdateKind.PROGRESS: "Progress update",
    UpdateKind.ETA: "ETA revision",
    UpdateKind.RESOLUTION: "Resolved",
    UpdateKind.FOLLOWUP: "Follow-up",
}
# After these the heartbeat stops until another update restarts it.
FINAL_KINDS = (UpdateKind.RESOLUTION, UpdateKind.FOLLOWUP)
COUNTING = (Audience.STAKEHOLDER.value, Audience.PUBLIC.value)
DEFAULT_STATE = {
    Severity.P0: ComponentState.MAJOR_OUTAGE,
    Severity.P1: ComponentState.PARTIAL_OUTAGE,
    Severity.P2: ComponentState.DEGRADED_PERFORMANCE,
    Severity.P3: ComponentState.DEGRADED_PERFORMANCE,
    Severity.P4: ComponentState.DEGRADED_PERFORMANCE,
}


@dataclass
class StatusUpdate:
    incident: str
    number: int
    audience: str
    kind: str
    headline: str
    conditions: str
    actions: str
    needs: str
    business_impact: str
    prevention: str
    component_state: str | None
    eta: datetime | None
    next_update_at: datetime | None
    text: str
    author: str
    posted_at: datetime
    incident_id: int = 0

    @property
    def kind_label(self) -> str:
        return UpdateKind(self.kind).label

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "number": self.number,
            "audience": self.audience,
            "kind": self.kind,
            "headline": self.headline,
            "conditions": self.conditions,
            "actions": self.actions,
            "needs": self.needs,
            "business_impact": self.business_impact,
            "prevention": self.prevention,
            "component_state": self.component_state,
            "eta": self.eta.isoformat() if self.eta else None,
            "next_update_at": self.next_update_at.isoformat() if self.next_update_at else None,
            "text": self.text,
            "author": self.author,
            "posted_at": self.posted_at.isoformat(),
        }

    def public_dict(self) -> dict[str, Any]:
        """Only what the status page may show."""
        return {
            "kind": self.kind,
            "label": self.kind_label,
            "text": self.text,
            "posted_at": self.posted_at.isoformat(),
            "eta": self.eta.isoformat() if self.eta else None,
            "next_update_at": self.next_update_at.isoformat() if self.next_update_at else None,
        }


def hm(when: datetime | None) -> str:
    return f"{when:%H:%M} UTC" if when else ""


def render(
    kind: UpdateKind,
    *,
    headline: str,
    conditions: str,
    actions: str,
    needs: str,
    business_impact: str,
    prevention: str,
    eta: datetime | None,
    next_update_at: datetime | None,
) -> str:
    """The update in business language, from the template of its moment."""
    intro = {
        UpdateKind.INITIAL: f"We are investigating: {headline}.",
        UpdateKind.PROGRESS: f"Update on {headline}.",
        UpdateKind.ETA: f"Revised estimate for {headline}.",
        UpdateKind.RESOLUTION: f"Resolved: {headline}.",
        UpdateKind.FOLLOWUP: f"Follow-up on {headline}.",
    }[kind]
    lines = [intro]
    if business_impact:
        lines.append(f"Business impact: {business_impact}")
    if conditions:
        label = "What happened" if kind in FINAL_KINDS else "Current situation"
        lines.append(f"{label}: {conditions}")
    if actions:
        label = "What we did" if kind in FINAL_KINDS else "What we are doing"
        lines.append(f"{label}: {actions}")
    if needs:
        lines.append(f"What we need: {needs}")
    if prevention:
        lines.append(f"Preventing a recurrence: {prevention}")
    if kind not in FINAL_KINDS:
        lines.append(
            f"Expected resolution: {eta:%Y-%m-%d %H:%M} UTC."
            if eta
            else "Expected resolution: not known yet."
        )
    if next_update_at:
        lines.append(f"Next update by {hm(next_update_at)}, or sooner if anything changes.")
    return "\n".join(lines)


def default_component_state(severity: str | None) -> ComponentState:
    return (
        DEFAULT_STATE.get(Severity(severity), ComponentState.DEGRADED_PERFORMANCE)
        if severity
        else ComponentState.DEGRADED_PERFORMANCE
    )
