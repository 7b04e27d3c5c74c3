"""The postmortem's compliance section, for the incident types that ask for it (security,
data loss): data and subjects affected, the notifications made and when, the evidence list
with its hashes. Drafted from the record like every section (see `drafting`).

    sections_for(inc)      # the base sections, plus ("compliance", ...) for a security incident
"""

from __future__ import annotations

from warroom.core.errors import InvalidInput
from warroom.incidents import incident_types, timeline
from warroom.incidents.lifecycle import Incident

NAME = "compliance"
SECTION = (NAME, "Compliance: data, notifications, evidence")
STAMP = "%Y-%m-%d %H:%M UTC"


def applies(inc: Incident) -> bool:
    """Whether the incident's type asks for the compliance section (a type this build no
    longer knows keeps it when the incident is a security one)."""
    try:
        return NAME in incident_types.resolve(inc.type).sections
    except InvalidInput:
        return inc.security


def sections_for(inc: Incident, base: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return (*base, SECTION) if applies(inc) else base


def draft(inc: Incident, events: list[timeline.Event]) -> str:
    """Data and subjects, notifications, evidence: what a regulator or auditor asks first."""
    lines = ["**Data and subjects affected**", ""]
    lines.append(f"- Scope: {inc.impact_scope or '_to state: which data, whose, how many_'}")
    if inc.business_impact:
        lines.append(f"- Business impact: {inc.business_impact}")
    lines += ["", "**Notifications to authorities**", ""]
    started = {e.data.get("name"): e for e in events if e.kind == "clock.started"}
    told = {e.data.get("name"): e for e in events if e.kind == "clock.notified"}
    missed = {e.data.get("name") for e in events if e.kind == "clock.missed"}
    for name, e in started.items():
        due = str(e.data.get("due_at", ""))[:16].replace("T", " ")
        n = told.get(name)
        if n is not None:
            when = str(n.data.get("at", ""))[:16].replace("T", " ")
            late = " (after the deadline)" if n.data.get("late") else ""
            lines.append(
                f"- {e.data.get('label')}: notified {n.data.get('to')} at {when} UTC{late}"
            )
        else:
            state = "MISSED" if name in missed else "not yet notified"
            lines.append(f"- {e.data.get('label')}: {state}; due {due} UTC")
    if not started:
        lines.append("- _No regulatory clock was started._")
    lines += ["", "**Evidence (sealed, sha256)**", ""]
    sealed = [e for e in events if e.kind == "evidence.sealed"]
    for e in sealed:
        d = e.data
        lines.append(
            f"- E{d.get('number')} {d.get('name')} ({d.get('size')} bytes), sealed by {e.actor} "
            f"at {e.at.strftime(STAMP)}: `{d.get('sha256')}`"
        )
    if not sealed:
        lines.append("- _No evidence sealed._")
    reads = sum(1 for e in events if e.kind == "evidence.read")
    exports = sum(1 for e in events if e.kind == "evidence.exported")
    lines += ["", f"Custody: {reads} read(s) and {exports} export(s), each on the timeline."]
    return "\n".join(lines)
