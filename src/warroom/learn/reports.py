"""Reports over the incident history: counts, MTTD/MTTA/MTTC/MTTR, punctuality, follow-ups.

    rep = build(db, since=utcnow() - timedelta(days=90))
    rep.durations["mttr"]["all"]        # {"n": 4, "median": 5400.0, "p90": 9720.0}

Definitions (seconds): MTTD = start -> detection; MTTA = first page -> first acknowledgement
for an incident that paged someone (the `page.sent` and `page.acknowledged` events), else
detection -> first commander;
MTTC = start -> containment; MTTR = start -> resolution (the `fixed` stage). Medians and
p90 use linear interpolation between closest ranks (numpy's default). Drills are excluded.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from warroom.core.clock import duration, ensure_utc, parse_time, utcnow
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import artifacts, privacy, timeline
from warroom.incidents.lifecycle import Incident
from warroom.incidents.store import from_row, load_details
from warroom.incidents.tables import events as events_t
from warroom.incidents.tables import incidents as incidents_t
from warroom.learn import actions, charts, recurrence
from warroom.learn.export import figure, html_document, markdown_to_html
from warroom.learn.facts import impact_start, update_punctuality
from warroom.learn.rootcause import root_causes_by_incident

METRICS = {
    "mttd": "MTTD (start to detection)",
    "mtta": "MTTA (page to acknowledgement; unpaged: detection to a commander)",
    "mttc": "MTTC (start to containment)",
    "mttr": "MTTR (start to resolution)",
}

_SINCE_RE = re.compile(r"^\s*(\d+)\s*([hdwm])\s*$", re.IGNORECASE)


def parse_since(value: str, *, now: datetime | None = None) -> datetime:
    """`90d`, `12w`, `6m` (30-day months), `48h`, or an ISO date/time."""
    now = now or utcnow()
    m = _SINCE_RE.match(value or "")
    if m:
        n, unit = int(m.group(1)), m.group(2).lower()
        days = {"h": 1 / 24, "d": 1, "w": 7, "m": 30}[unit] * n
        return now - timedelta(days=days)
    try:
        when = parse_time(value, field="since")
    except InvalidInput:
        when = None
    if when is None:
        raise InvalidInput(
            f"{value!r} is not a period: use 90d, 12w, 6m, 48h or an ISO date like 2026-09-01",
            field="since",
        )
    return when


def _span(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds()


PAGE_SENT, PAGE_ACKNOWLEDGED = "page.sent", "page.acknowledged"


def metric_values(
    inc: Incident,
    paged: tuple[datetime, datetime | None] | None = None,
    start: datetime | None = None,
) -> dict[str, float | None]:
    """The incident's durations in seconds; `paged`: (first page, first acknowledgement)
    when it paged; `start`: when the impact began (`facts.impact_start`: the triage onset
    when earlier), the incident's start by default."""
    t = inc.stage_times
    began = start or inc.started_at
    return {
        "mttd": _span(began, inc.detected_at),
        "mtta": _span(*paged) if paged else _span(inc.detected_at, inc.commander_at),
        "mttc": _span(began, t.get("contained")),
        "mttr": _span(began, t.get("fixed")),
    }


def stats(values: list[float]) -> dict[str, Any]:
    """n, median and p90 (linear interpolation) of a list of seconds."""
    if not values:
        return {"n": 0, "median": None, "p90": None}
    arr = np.asarray(values, dtype=float)
    return {
        "n": len(values),
        "median": float(np.percentile(arr, 50)),
        "p90": float(np.percentile(arr, 90)),
    }


@dataclass
class Report:
    since: datetime
    until: datetime
    incidents: list[str]
    by_severity: dict[str, int]
    by_service: dict[str, int]
    by_category: dict[str, int]
    durations: dict[str, dict[str, dict[str, Any]]]  # metric -> group -> stats
    punctuality: dict[str, Any]
    action_items: dict[str, Any]
    recurrences: list[dict[str, Any]] = field(default_factory=list)
    # Regulatory deadlines missed (clock.missed events: warroom.security.clocks).
    missed_deadlines: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "incidents": self.incidents,
            "count": len(self.incidents),
            "by_severity": self.by_severity,
            "by_service": self.by_service,
            "by_root_cause": self.by_category,
            "durations_seconds": self.durations,
            "update_punctuality": self.punctuality,
            "action_items": self.action_items,
            "recurrences": self.recurrences,
            "missed_deadlines": self.missed_deadlines,
        }


def _paged(db: Database, ids: list[int]) -> dict[int, tuple[datetime, datetime | None]]:
    """incident id -> (first page, first acknowledgement) for the incidents that paged."""
    if not ids:
        return {}
    with db.read() as conn:
        rows = conn.execute(
            sa.select(events_t.c.incident_id, events_t.c.kind, sa.func.min(events_t.c.at))
            .where(
                events_t.c.incident_id.in_(ids),
                events_t.c.kind.in_([PAGE_SENT, PAGE_ACKNOWLEDGED]),
            )
            .group_by(events_t.c.incident_id, events_t.c.kind)
        ).all()
    first: dict[int, dict[str, datetime]] = {}
    for iid, kind, at in rows:
        first.setdefault(iid, {})[kind] = ensure_utc(at)
    return {
        iid: (times[PAGE_SENT], times.get(PAGE_ACKNOWLEDGED))
        for iid, times in first.items()
        if PAGE_SENT in times
    }


def _started_between(db: Database, since: datetime, until: datetime) -> list[Incident]:
    """Incidents (not drills) that started in [since, until), oldest first, with details."""
    c = incidents_t.c
    with db.read() as conn:
        items = [
            from_row(r)
            for r in conn.execute(
                sa.select(incidents_t)
                .where(c.started_at >= since, c.started_at < until, c.drill.is_(False))
                .order_by(c.started_at, c.id)
            )
        ]
        load_details(conn, items)
    reader = privacy.current()  # private incidents count for those who may see them
    return [i for i in items if privacy.allowed(reader, private=i.private, people=i.people)]


def build(db: Database, *, since: datetime, until: datetime | None = None) -> Report:
    """The figures for incidents that started in [since, until), drills left out."""
    until = until or utcnow()
    since = ensure_utc(since)
    # The period's incidents only, on the started_at index: a report of last month costs
    # the same after ten years of history; reports and causes read for them all at once.
    chosen = _started_between(db, since, until)
    ids_chosen = [i.id for i in chosen]
    causes = root_causes_by_incident(db, ids_chosen)
    reports = artifacts.latest_triage_reports(db, ids_chosen)
    by_sev = Counter(i.severity.value if i.severity else "none" for i in chosen)
    by_cat = Counter(causes[i.id].category.value if i.id in causes else "unknown" for i in chosen)
    by_service: Counter[str] = Counter()
    for i in chosen:
        for s in sorted(recurrence.report_services(reports.get(i.id))) or ["unknown"]:
            by_service[s] += 1

    paged = _paged(db, [i.id for i in chosen])
    groups: dict[str, dict[str, list[float]]] = {m: {} for m in METRICS}
    for i in chosen:
        labels = [
            "all",
            f"severity {i.severity.value if i.severity else 'none'}",
            f"month {i.started_at:%Y-%m}",
        ]
        start = impact_start(i, reports.get(i.id))
        for m, v in metric_values(i, paged.get(i.id), start).items():
            if v is None:
                continue
            for label in labels:
                groups[m].setdefault(label, []).append(v)
    durations = {m: {g: stats(v) for g, v in sorted(groups[m].items())} for m in METRICS}

    on_time = expected = 0
    recurrences: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    ids = {i.id: i for i in chosen}
    if ids:
        with db.read() as conn:
            rows = conn.execute(
                sa.select(
                    events_t.c.incident_id,
                    events_t.c.seq,
                    events_t.c.at,
                    events_t.c.actor,
                    events_t.c.kind,
                    events_t.c.data,
                )
                .where(
                    events_t.c.incident_id.in_(list(ids)),
                    events_t.c.kind.in_(["update.posted", "recurrence.detected", "clock.missed"]),
                )
                .order_by(events_t.c.incident_id, events_t.c.seq)
            ).all()
        per: dict[int, list[timeline.Event]] = {}
        for r in rows:
            ev = timeline.Event(
                ids[r.incident_id].key, r.seq, r.at, r.actor, r.kind, r.data, "", ""
            )
            per.setdefault(r.incident_id, []).append(ev)
        for iid, evs in per.items():
            p = update_punctuality(evs)
            if p is not None:
                on_time += p[0]
                expected += p[1]
            missed += [
                {
                    "incident": e.incident_key,
                    "clock": e.data.get("name"),
                    "due_at": e.data.get("due_at"),
                }
                for e in evs
                if e.kind == "clock.missed"
            ]
            rec = [e for e in evs if e.kind == "recurrence.detected"]
            if rec:
                matches = rec[-1].data.get("matches") or []
                recurrences.append(
                    {"incident": ids[iid].key, "looks_like": [m.get("incident") for m in matches]}
                )
    punctuality = {
        "on_time": on_time,
        "expected": expected,
        "rate": (on_time / expected) if expected else None,
    }

    now = utcnow()
    keys = {i.key for i in chosen}
    items = [
        a
        for a in actions.list_items(db, now=now)
        if a.incident_key in keys and a.status is not actions.ActionStatus.CANCELLED
    ]
    done = sum(1 for a in items if a.status is actions.ActionStatus.DONE)
    overdue = sum(1 for a in items if a.is_overdue(now))
    ai = {
        "total": len(items),
        "done": done,
        "open": len(items) - done,
        "overdue": overdue,
        "completion_rate": (done / len(items)) if items else None,
    }

    return Report(
        since,
        until,
        [i.key for i in chosen],
        dict(sorted(by_sev.items())),
        dict(by_service.most_common()),
        dict(by_cat.most_common()),
        durations,
        punctuality,
        ai,
        recurrences,
        missed,
    )


# --- rendering ----------------------------------------------------------------------------------


def fmt_seconds(seconds: float | None) -> str:
    """A number of seconds as `core.clock.duration` writes it ('1h05m'; '--' when unknown)."""
    return duration(None if seconds is None else timedelta(seconds=seconds))


def _rate(value: float | None) -> str:
    return "--" if value is None else f"{value * 100:.0f}%"


def render_markdown(rep: Report) -> str:
    out = [
        f"# Incident report {rep.since:%Y-%m-%d} to {rep.until:%Y-%m-%d}",
        "",
        f"{len(rep.incidents)} incidents (drills excluded).",
        "",
    ]
    for title, counts in (
        ("By severity", rep.by_severity),
        ("By service", rep.by_service),
        ("By root cause", rep.by_category),
    ):
        out += [f"## {title}", ""]
        out += [f"- {k}: {v}" for k, v in counts.items()] or ["- none"]
        out.append("")
    out += [
        "## Response times",
        "",
        "| metric | group | n | median | p90 |",
        "|---|---|---|---|---|",
    ]
    for m, label in METRICS.items():
        for group, s in rep.durations[m].items():
            median, p90 = fmt_seconds(s["median"]), fmt_seconds(s["p90"])
            out.append(f"| {label} | {group} | {s['n']} | {median} | {p90} |")
    p, a = rep.punctuality, rep.action_items
    out += [
        "",
        "## Status updates",
        "",
        f"Punctuality: {p['on_time']} of {p['expected']} on time ({_rate(p['rate'])}).",
        "",
        "## Action items",
        "",
        f"{a['done']} of {a['total']} done ({_rate(a['completion_rate'])}); "
        f"{a['overdue']} overdue.",
        "",
        "## Recurrences",
        "",
    ]
    out += [
        f"- {r['incident']} looks like {', '.join(r['looks_like'])}" for r in rep.recurrences
    ] or ["- none"]
    if rep.missed_deadlines:
        out += ["", "## Missed regulatory deadlines", ""]
        out += [
            f"- {m['incident']}: {m['clock']} (due {m['due_at']})" for m in rep.missed_deadlines
        ]
    return "\n".join(out) + "\n"


def report_charts(rep: Report) -> list[tuple[str, str]]:
    """(caption, SVG data URI) for the HTML report: counts by severity, MTTR per month."""
    plt = charts.pyplot()
    out: list[tuple[str, str]] = []
    if rep.by_severity:
        fig, ax = plt.subplots(figsize=(5, 2.6))
        ax.bar(list(rep.by_severity), list(rep.by_severity.values()), color="#555")
        ax.set_ylabel("incidents")
        out.append(("Incidents by severity", charts.svg_uri(fig)))
    months = {
        g.split(" ", 1)[1]: s
        for g, s in rep.durations["mttr"].items()
        if g.startswith("month ") and s["median"] is not None
    }
    if months:
        fig, ax = plt.subplots(figsize=(5, 2.6))
        xs = sorted(months)
        ax.plot(xs, [months[x]["median"] / 60 for x in xs], marker="o", label="median")
        ax.plot(xs, [months[x]["p90"] / 60 for x in xs], marker="s", label="p90")
        ax.set_ylabel("MTTR (minutes)")
        ax.legend()
        out.append(("MTTR per month (minutes)", charts.svg_uri(fig)))
    return out


def render_html(rep: Report) -> str:
    """The report as a standalone HTML document with its charts."""
    figures = "".join(figure(c, uri) for c, uri in report_charts(rep))
    return html_document("warroom report", markdown_to_html(render_markdown(rep)) + figures)
