"""Show a `TriageReport`: rich terminal output, markdown, sparklines."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from warroom.triage.report import TriageReport

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


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:,.0f}"


def render_terminal(report: TriageReport, console: Console) -> None:
    """The report for a person at a terminal."""
    style = "bold red" if report.incident else "bold green"
    console.print(f"[{style}]{report.headline()}[/]", highlight=False)
    d = report.to_dict()
    w = report.window
    if report.incident:
        state = "ongoing" if w.get("ongoing") else f"until {w.get('end')}"
        console.print(f"onset {d['onset']}  window {w.get('minutes')} min, {state}")
        sev = report.severity or {}
        console.print(
            f"severity [bold]{sev.get('severity')}[/]: {sev.get('reason')} ({sev.get('evidence')})",
            highlight=False,
        )
        c = report.clients
        console.print(
            f"clients affected: {c.get('affected')} of {c.get('active_since_onset')} "
            f"active ({c.get('share', 0):.0%}, {c.get('basis')})"
        )
    if report.series is not None:
        s = report.series
        console.print(f"5xx rate  {sparkline(list(s.error_rate))}")
        if report.latency_available:
            console.print(f"p95       {sparkline(list(s.p95))}")
        console.print(f"requests  {sparkline(list(s.requests))}")
    if not report.latency_available:
        console.print("[dim]latency: not available (no request-time field in the logs)[/]")
    if report.routes:
        t = Table(title="routes by impact", title_justify="left")
        for col in (
            "route",
            "req before",
            "req during",
            "5xx before",
            "5xx during",
            "p95 before ms",
            "p95 during ms",
            "impact",
        ):
            t.add_column(col, justify="left" if col == "route" else "right", no_wrap=col == "route")
        for r in report.routes:
            b = r.before
            t.add_row(
                ("* " if r.affected else "  ") + r.route,
                str(b.requests if b else 0),
                str(r.during.requests),
                _pct(r.error_rate_before),
                _pct(r.error_rate_during),
                _ms(b.p95_ms if b else None),
                _ms(r.during.p95_ms),
                f"{r.impact:,.0f}",
            )
        console.print(t)
    if report.signatures:
        console.print("[bold]log signatures new or surging since the onset[/]")
        for sig in report.signatures[:8]:
            console.print(
                f"  {sig.status:8} {sig.before:>6} -> {sig.during:<6} {sig.template[:110]}",
                highlight=False,
                markup=False,
            )
    if report.incident:
        if report.suspects:
            console.print("[bold]suspect changes[/]")
            for x in report.suspects[:5]:
                console.print(f"  {x.score:.2f}  {x.change.id}  {x.reason}", highlight=False)
        else:
            console.print(f"suspect changes: none fits ({report.changes_considered} considered)")
        console.print("[bold]containment, in order[/]")
        for i, step in enumerate(report.containment, start=1):
            console.print(f"  {i}. {step.action}\n     [dim]{step.evidence}[/]", highlight=False)
    ln = report.lines
    console.print(f"[dim]lines: {ln.read} read, {ln.parsed} parsed, {ln.skipped} skipped[/]")
    for sk in ln.samples:
        console.print(
            f"[dim]  skipped {sk.file}:{sk.line}: {sk.reason}: {sk.text[:100]}[/]",
            markup=True,
            highlight=False,
        )


def render_markdown(report: TriageReport) -> str:
    """The report as markdown, to paste into a ticket or the incident channel."""
    out = [f"## {report.headline()}", ""]
    w = report.window
    if report.incident:
        sev = report.severity or {}
        out += [
            f"- **Onset:** {report.onset.isoformat() if report.onset else '-'}",
            f"- **Window:** {w.get('start')} to {w.get('end')}"
            + (" (ongoing)" if w.get("ongoing") else ""),
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
                f"| `{r.route}`{' *' if r.affected else ''} | {_pct(r.error_rate_before)} | "
                f"{_pct(r.error_rate_during)} | {_ms(b.p95_ms if b else None)} | "
                f"{_ms(r.during.p95_ms)} | {r.during.requests} |"
            )
        out.append("")
        if report.signatures:
            out.append("### Log signatures since the onset")
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
    ln = report.lines
    out.append(f"_Lines: {ln.read} read, {ln.parsed} parsed, {ln.skipped} skipped._")
    return "\n".join(out) + "\n"
