"""Show a `TriageReport` as text: markdown and sparklines (the terminal view is the CLI's)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only annotations: the CLI imports this module at start, without polars
    from warroom.triage.model import TriageReport

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """Unicode sparkline of `values` resampled to at most `width` characters (NaN: space)."""
    vals = [float(v) for v in values]
    if not vals:
        return ""
    step = max(1, math.ceil(len(vals) / width))
    groups = [vals[i : i + step] for i in range(0, len(vals), step)]
    pooled = [max((v for v in g if math.isfinite(v)), default=math.nan) for g in groups]
    finite = [v for v in pooled if math.isfinite(v)]
    if not finite:
        return " " * len(pooled)
    lo, hi = min(finite), max(finite)
    span = hi - lo or 1.0
    return "".join(
        " " if not math.isfinite(v) else BARS[int((v - lo) / span * (len(BARS) - 1))]
        for v in pooled
    )


def pct(v: float | None) -> str:
    """A rate as a percentage with one decimal, or "-"."""
    return "-" if v is None else f"{v:.1%}"


def ms_figure(v: float | None) -> str:
    """Milliseconds with thousands separators, or "n/a"."""
    return "n/a" if v is None else f"{v:,.0f}"


def render_markdown(report: TriageReport) -> str:
    """The report as markdown, to paste into a ticket or the incident channel."""
    out = [f"## {report.headline()}", ""]
    w = report.window
    if report.incident:
        sev = report.severity or {}
        out += [
            f"- **Onset:** {report.onset.isoformat() if report.onset else '-'}",
            f"- **Window:** {w.get('start')} to {w.get('end')}"
            + (" (ongoing)" if w.get("ongoing") else " (ended)"),
            f"- **First sign:** {w.get('first_signal')}",
            f"- **Suggested severity:** {sev.get('severity')}: {sev.get('reason')}",
            f"- **Clients affected:** {report.clients.get('affected')} of "
            f"{report.clients.get('active_since_onset')} ({report.clients.get('share', 0):.0%})",
            "",
            "| route | 5xx before | 5xx during | p95 before ms | p95 during ms | requests during |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in report.routes:
            b = r.before
            out.append(
                f"| `{r.route}`{' *' if r.affected else ''} | {pct(r.error_rate_before)} | "
                f"{pct(r.error_rate_during)} | {ms_figure(b.p95_ms if b else None)} | "
                f"{ms_figure(r.during.p95_ms)} | {r.during.requests} |"
            )
        out.append("")
        if report.signatures:
            out.append("### Log signatures since the onset")
            clock = report.app_log_clock or {}
            if clock.get("source") in ("given", "estimated"):
                out.append(f"_App-log times read at UTC{clock['offset']}: {clock['evidence']}._")
            for s in report.signatures[:8]:
                out.append(f"- {s.status}, {s.before} -> {s.during}: `{s.template[:150]}`")
            out.append("")
        out.append("### Suspect changes")
        if report.suspects:
            for x in report.suspects[:5]:
                out.append(f"- **{x.change.id}** (score {x.score}): {x.reason}")
        else:
            out.append(f"- none fits ({report.changes_considered} changes considered)")
        out += ["", "### Containment"]
        for i, step in enumerate(report.containment, start=1):
            out.append(f"{i}. {step.action} — {step.evidence}")
        out.append("")
    else:
        out += [report.summary, ""]
    if report.duplicates is not None and report.duplicates.duplicates:
        out += ["### Duplicate effects", f"- {report.duplicates.headline()}", ""]
    ln = report.lines
    asked = report.window.get("metrics")  # read from a metrics store (triage.metrics)
    if asked:
        out.append(f"_Source: {', '.join(report.formats)}, step {asked['step_seconds']} s._")
    if ln.read or not asked:
        out.append(f"_Lines: {ln.read} read, {ln.parsed} parsed, {ln.skipped} skipped._")
    return "\n".join(out) + "\n"
