"""Drafting a postmortem from the record: deterministic, no language model.

    sections = build_sections(db, inc)     # {"summary": "...", "impact": "...", ...}

Each section is drawn from the incident row, its timeline, the root cause, the newest triage
report and the action items (README, "Postmortems", has the table). Notes tagged
`went well:`, `lesson:`, `contributing:` ... are quoted where they belong. The text speaks
in words: it is read on the desk and exported, so it never tells a person to run a command.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from warroom.core import quoting
from warroom.core.clock import duration
from warroom.core.db import Database
from warroom.incidents import artifacts, timeline
from warroom.incidents.lifecycle import Incident
from warroom.learn import actions, compliance
from warroom.learn.facts import (
    impact_start,
    names,
    services,
    signatures,
    suspect_kind,
    top_routes,
    update_punctuality,
)
from warroom.learn.rootcause import LESSONS, Category, RootCause, get_root_cause

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("impact", "Impact"),
    ("timeline", "Timeline"),
    ("root_cause", "Root cause and contributing factors"),
    ("actions_taken", "Actions taken"),
    ("went_well", "What went well"),
    ("went_badly", "What didn't go well"),
    ("questions", "Retrospective questions"),
    ("lessons", "Lessons learned"),
    ("action_items", "Action items"),
)
SECTION_NAMES = tuple(name for name, _ in SECTIONS)
# Every section a postmortem may hold (compliance: security and data-loss types only).
ALL_SECTION_NAMES = (*SECTION_NAMES, compliance.NAME)

QUESTIONS = (
    "Which dark parts of the system did we not know?",
    "Where did the process fail?",
    "Which component must be refactored?",
    "Were logs missing?",
    "Were alerts missing?",
    "How quickly did we know?",
    "How fast did we understand it?",
    "Was the impact isolated?",
    "Where else can the same thing happen?",
)


STAMP = "%Y-%m-%d %H:%M UTC"

# Timeline kinds that are bookkeeping, not part of the incident's story.
NOISE_KINDS = {
    "incident.updated",
    "role.removed",
    "task.updated",
    "postmortem.drafted",
    "postmortem.section_edited",
    "postmortem.status_changed",
    "action.updated",
    "action.escalated",
    "stage.skipped",
}
ACTION_PREFIXES = (
    "mitigation.",
    "containment.",
    "contain.",
    "runbook.",
    "rollback.",
    "flag.",
    "verification.",
    "rootcause.",
)
NOTE_TAGS = {
    "went_well": ("went well:", "good:", "well:"),
    "went_badly": ("went badly:", "went wrong:", "didn't go well:", "bad:", "problem:"),
    "lessons": ("lesson:", "learned:", "learning:"),
    "contributing": ("contributing:", "factor:"),
    "dark": ("unknown:", "surprise:", "didn't know:"),
}


def _span(a: datetime | None, b: datetime | None) -> timedelta | None:
    return b - a if a is not None and b is not None else None


def _tagged(events: list[timeline.Event], tag: str) -> list[str]:
    out = []
    for e in events:
        if e.kind != "note.added":
            continue
        text = str(e.data.get("text", "")).strip()
        for prefix in NOTE_TAGS[tag]:
            if text.lower().startswith(prefix):
                out.append(quoting.inline(text[len(prefix) :].strip()))
    return out


def _bullets(items: list[str], empty: str) -> str:
    return "\n".join(f"- {i}" for i in items) if items else empty


def _pct(value: Any) -> str:
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return "--"


def build_sections(db: Database, inc: Incident) -> dict[str, str]:
    """Every section of the postmortem, drafted deterministically from the record."""
    events = timeline.read(db, inc.key)
    report = artifacts.latest_triage_report(db, inc.key)
    rc = get_root_cause(db, inc.key)
    items = actions.list_items(db, incident=inc.key)
    routes = top_routes(report)
    start = impact_start(inc, report)  # the triage onset, when it is earlier
    well, bad = _assess(inc, events, report, start)
    lessons = _tagged(events, "lessons")
    if rc:
        lessons.append(LESSONS[rc.category][0])
    return {
        "summary": _summary(inc, rc, start),
        "impact": _impact(inc, report, routes, start),
        "timeline": _timeline(inc, events, start),
        "root_cause": _root_cause(events, report, rc),
        "actions_taken": _actions_taken(events),
        "went_well": _bullets(well, "_Nothing recorded; add it in review._"),
        "went_badly": _bullets(bad, "_Nothing recorded; add it in review._"),
        "questions": "\n".join(
            f"- **{q}** {a}" for q, a in _answers(inc, events, report, rc, routes, start)
        ),
        "lessons": _bullets(lessons, "_To write in review._"),
        "action_items": _action_items(items, rc),
        **({compliance.NAME: compliance.draft(inc, events)} if compliance.applies(inc) else {}),
    }


def _summary(inc: Incident, rc: RootCause | None, start: datetime) -> str:
    t = inc.stage_times
    contained, resolved = t.get("contained"), t.get("fixed")
    sev = inc.severity.value if inc.severity else "no severity"
    summary = [f"{inc.key} ({sev}): {quoting.inline(inc.title)}."]
    if inc.description:
        summary.append(quoting.inline(inc.description))
    summary.append(
        f"Impact began {start:{STAMP}}, detected {inc.detected_at:{STAMP}}"
        + (f", contained {contained:{STAMP}}" if contained else "")
        + (f", resolved {resolved:{STAMP}}" if resolved else ", not yet resolved")
        + "."
    )
    if rc:
        summary.append(f"Root cause ({rc.category.label}): {quoting.inline(rc.summary)}")
    return " ".join(summary)


def _impact(
    inc: Incident, report: dict[str, Any] | None, routes: list[dict[str, Any]], start: datetime
) -> str:
    started, t = start, inc.stage_times
    impact = [
        f"- Time to detect (MTTD, start to detection): {duration(_span(started, inc.detected_at))}",
        f"- Time to a commander: {duration(_span(inc.detected_at, inc.commander_at))}",
        f"- Time to contain (start to containment): {duration(_span(started, t.get('contained')))}",
        f"- Time to resolve (MTTR, start to resolution): "
        f"{duration(_span(started, t.get('fixed')))}",
    ]
    if inc.impact_scope:
        impact.append(f"- Affected: {quoting.inline(inc.impact_scope)}")
    if inc.business_impact:
        impact.append(f"- Business impact: {quoting.inline(inc.business_impact)}")
    if routes:
        impact.append("")
        impact.append(
            "| route | requests | errors before | errors during | p95 before | p95 during |"
        )
        impact.append("|---|---|---|---|---|---|")
        for r in routes:
            impact.append(
                f"| {r.get('route')} | {r.get('requests', r.get('requests_during', '--'))} | "
                f"{_pct(r.get('error_rate_before'))} | {_pct(r.get('error_rate_during'))} | "
                f"{r.get('p95_before_ms', '--')} ms | {r.get('p95_during_ms', '--')} ms |"
            )
    if report:
        counts = report.get("clients")
        if isinstance(counts, dict) and counts.get("affected") is not None:
            impact.append(
                f"- Clients affected: {counts['affected']}"
                + (
                    f" of {counts['active_since_onset']} active"
                    if counts.get("active_since_onset")
                    else ""
                )
                + (f" ({_pct(counts['share'])})" if counts.get("share") is not None else "")
                + (f", {counts['basis']}" if counts.get("basis") else "")
            )
        clients = names(counts, "client", "name", "ip", "user_agent", "key")
        if clients:
            impact.append(f"- Clients most affected: {', '.join(clients[:5])}")
        named = services(report)
        if named:
            impact.append(f"- Services: {', '.join(named[:10])}")
    return "\n".join(impact)


def _timeline(inc: Incident, events: list[timeline.Event], start: datetime) -> str:
    lines = [
        f"- {e.at:%Y-%m-%d %H:%M} UTC - {quoting.inline(e.in_words())} ({quoting.inline(e.actor)})"
        for e in events
        if e.kind not in NOISE_KINDS
    ]
    if start < inc.detected_at:
        lines.insert(0, f"- {start:%Y-%m-%d %H:%M} UTC - Impact began")
    return "\n".join(lines)


def _root_cause(
    events: list[timeline.Event], report: dict[str, Any] | None, rc: RootCause | None
) -> str:
    lines: list[str] = []
    if rc:
        lines.append(f"**{rc.category.label}**: {quoting.inline(rc.summary)}")
        factors = [quoting.inline(f) for f in rc.factors] + _tagged(events, "contributing")
        if factors:
            lines.append("")
            lines.append("Contributing factors:")
            lines.extend(f"- {f}" for f in factors)
    else:
        lines.append(
            "_No root cause recorded yet: record it on the incident (a category, a sentence "
            "and the contributing factors)._"
        )
    if report and report.get("suspects"):
        lines.append("")
        lines.append("Suspects ranked by triage:")
        for s in (report.get("suspects") or [])[:3]:
            if isinstance(s, dict):
                lines.append(
                    f"- {s.get('id')} ({suspect_kind(s)}, score {s.get('score')}): "
                    f"{s.get('reason', '')}".rstrip(": ")
                )
    if report and report.get("signatures"):
        sigs = signatures(report)
        if sigs:
            lines.append("")
            lines.append("Error signatures: " + "; ".join(f"`{s}`" for s in sigs[:3]))
    return "\n".join(lines)


def _actions_taken(events: list[timeline.Event]) -> str:
    done: list[str] = []
    for e in events:
        if (
            e.kind == "stage.changed"
            or e.kind.startswith(ACTION_PREFIXES)
            or e.kind == "role.commander_handoff"
            or (e.kind == "task.updated" and (e.data.get("changes") or {}).get("status") == "done")
        ):
            done.append(f"{e.at:%H:%M} {quoting.inline(e.in_words())} ({quoting.inline(e.actor)})")
    return (
        "\n".join(f"{n}. {line}" for n, line in enumerate(done, 1))
        or "_No actions recorded on the timeline._"
    )


def _action_items(items: list[actions.ActionItem], rc: RootCause | None) -> str:
    if items:
        return "\n".join(
            f"- {i.ref} [{i.type.value}, {i.priority}, {i.status.value}] "
            f"{quoting.inline(i.title)}"
            + (f" (owner {quoting.inline(i.owner)})" if i.owner else " (no owner)")
            + (f", due {i.due_at:%Y-%m-%d}" if i.due_at else "")
            + (f", {i.ticket_url}" if i.ticket_url else "")
            for i in items
        )
    if rc:
        return (
            "_None yet. Suggested for "
            + rc.category.label
            + ":_\n"
            + "\n".join(f"- ({kind}) {title}" for kind, title in LESSONS[rc.category][1])
        )
    return (
        "_None yet: add the action items that will stop this recurring (detective, "
        "preventive, corrective or mitigation)._"
    )


def _assess(
    inc: Incident, events: list[timeline.Event], report: dict[str, Any] | None, start: datetime
) -> tuple[list[str], list[str]]:
    """What went well and what didn't, from the numbers and the events."""
    well, bad = _tagged(events, "went_well"), _tagged(events, "went_badly")
    ttd = _span(start, inc.detected_at)
    if ttd is not None and ttd <= timedelta(minutes=15):
        well.append(f"Detected {duration(ttd)} after the impact began.")
    elif ttd is not None and ttd > timedelta(hours=1):
        bad.append(f"Took {duration(ttd)} to detect: nothing told us the impact had begun.")
    tta = _span(inc.detected_at, inc.commander_at)
    if tta is not None and tta <= timedelta(minutes=10):
        well.append(f"A commander ({inc.commander}) took charge within {duration(tta)}.")
    elif tta is None or tta > timedelta(minutes=30):
        bad.append(
            "No commander for the first 30 minutes." if tta else "No commander was ever named."
        )
    ttc = _span(inc.detected_at, inc.stage_times.get("contained"))
    if ttc is not None and ttc <= timedelta(hours=1):
        well.append(f"Impact contained {duration(ttc)} after detection.")
    elif ttc is not None and ttc > timedelta(hours=2):
        bad.append(f"Containment took {duration(ttc)} after detection.")
    if inc.skipped_stages:
        bad.append(f"Stages skipped: {', '.join(inc.skipped_stages)}.")
    for e in events:
        if e.kind == "incident.reopened":
            bad.append(f"Reopened: {e.data.get('reason', '')}")
        elif e.kind == "verification.overridden":
            bad.append(f"Recovery was not verified from the numbers: {e.data.get('reason')}")
        elif e.kind == "verification.recorded" and e.data.get("verdict") == "recovered":
            well.append("Recovery was verified from the numbers before closing.")
        elif (
            e.kind == "severity.changed"
            and e.data.get("from")
            and e.data.get("to")
            and str(e.data["to"]) < str(e.data["from"])
        ):
            bad.append(
                f"Severity was underestimated at first ({e.data['from']} -> {e.data['to']})."
            )
    punct = update_punctuality(events)
    if punct is not None:
        on_time, expected = punct
        if expected and on_time == expected:
            well.append(f"All {expected} promised status updates went out on time.")
        elif expected:
            bad.append(f"{expected - on_time} of {expected} status updates were late.")
    if report and report.get("suspects"):
        well.append("A triage report ranked the suspects from the logs and changes.")
    return list(dict.fromkeys(well)), list(dict.fromkeys(bad))


def _answers(
    inc: Incident,
    events: list[timeline.Event],
    report: dict[str, Any] | None,
    rc: RootCause | None,
    routes: list[dict[str, Any]],
    start: datetime,
) -> list[tuple[str, str]]:
    todo = "_To answer in review._"
    dark = _tagged(events, "dark") + (rc.factors if rc else [])
    process = [f"stage {s} skipped" for s in inc.skipped_stages]
    process += [
        f"reopened ({e.data.get('reason')})" for e in events if e.kind == "incident.reopened"
    ]
    if not inc.commander:
        process.append("no commander named")
    suspects = [s for s in (report or {}).get("suspects") or [] if isinstance(s, dict)]
    component = (
        rc.summary if rc else (f"{suspects[0].get('id')} (top triage suspect)" if suspects else "")
    )
    logs = (
        f"A triage report was built from the logs ({len((report or {}).get('routes') or [])}"
        " routes)."
        if report
        else "No log-based triage report is attached: were the logs needed available?"
    )
    ttd = _span(start, inc.detected_at)
    alerts = f"Detection took {duration(ttd)}; reported by {inc.reporter or 'unknown'}." + (
        " An alert should have fired sooner." if ttd and ttd > timedelta(minutes=15) else ""
    )
    ttr = _span(
        inc.detected_at, inc.stage_times.get("root_caused") or (rc.recorded_at if rc else None)
    )
    isolated = (
        f"{len(routes)} route(s) were hit (their error rate or latency changed): "
        + ", ".join(str(r.get("route")) for r in routes)
        if routes
        else inc.impact_scope or ""
    )
    where_else = _elsewhere(rc)
    return [
        (QUESTIONS[0], "; ".join(dark) or todo),
        (QUESTIONS[1], "; ".join(process) or "No process step was skipped."),
        (QUESTIONS[2], component or todo),
        (QUESTIONS[3], logs),
        (QUESTIONS[4], alerts),
        (QUESTIONS[5], f"{duration(ttd)} from the start of the impact to detection."),
        (
            QUESTIONS[6],
            f"{duration(ttr)} from detection to the root cause." if ttr is not None else todo,
        ),
        (QUESTIONS[7], isolated or todo),
        (QUESTIONS[8], where_else or todo),
    ]


# Where else the same failure can happen, for the categories where the method says so.
ELSEWHERE = {
    Category.UNINDEXED_QUERY: "any other query on the same tables without an index",
    Category.MISCONFIGURED_TIMEOUT: "every other client of the same dependency",
    Category.RETRY_STORM: "every caller that retries the same dependency",
    Category.MISSING_IDEMPOTENCY: "every other retried write path",
    Category.QUEUE_RACE: "every other consumer of the same queue",
}


def _elsewhere(rc: RootCause | None) -> str:
    if rc is None:
        return ""
    return ELSEWHERE.get(rc.category, f"other places exposed to {rc.category.label}")
