"""CLI for triage: `warroom triage LOG...` and `warroom logs templates FILE...`.

Thin: parses options, calls `warroom.triage.report.triage` / `signatures.mine_templates`,
renders (the terminal view and the reading bar are drawn here, with rich; the engine draws
nothing). `register(app)` adds both to the main app; `warroom.cli.entry` runs them on their
own, without the database stack, when the command line starts with `triage` or `logs`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from warroom.cli.common import Shell, emit_json, handle_errors
from warroom.cli.duplicates import duplicates_command, print_duplicates
from warroom.core.clock import parse_time, utcnow
from warroom.core.config import load_settings
from warroom.core.errors import InvalidInput
from warroom.triage.formats import declare_formats
from warroom.triage.metrics.config import MetricsSettings
from warroom.triage.render import ms_figure, pct, render_markdown, sparkline

if TYPE_CHECKING:  # the engine (polars, numpy) loads only when a command runs
    from warroom.triage.model import TriageReport

OUTPUT_FORMATS = ("terminal", "json", "markdown")

logs_app = typer.Typer(help="Work with application logs: mine templates, count signatures.")
logs_app.command("duplicates")(duplicates_command)


class RichProgress:
    """The engine's `ReadProgress` as a rich bar on stderr, drawn only when it is a terminal."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        if not sys.stderr.isatty():
            return
        self._bar = Progress(
            "reading logs",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("read", total=total or None)

    def advance(self, n: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def store_report(
    report: TriageReport, sh: Shell, *, open_incident: bool, incident_key: str | None
) -> str:
    """Attach the report to an incident (declaring one first with --open); return its key."""
    # lazy: SQLAlchemy and the incidents area load only for --open/--incident, so triage
    # starts without the database stack (tests/test_triage_native.py checks it)
    from warroom import incidents
    from warroom.incidents import artifacts

    if open_incident and incident_key:
        raise InvalidInput("use --open to declare a new incident or --incident INC-n, not both")
    db = sh.db
    key = incident_key
    if open_incident:
        if not report.incident:
            raise InvalidInput(
                "no incident detected, so --open has nothing to declare: drop --open, or "
                "declare by hand (warroom declare) if you know better"
            )
        inc = incidents.declare(
            db,
            title=report.headline(),
            actor=sh.actor,
            started_at=report.onset,
            severity=report.severity["severity"] if report.severity else None,
            impact_scope=", ".join(r.route for r in report.routes if r.affected),
            error_messages="\n".join(s.template for s in report.signatures[:5]),
            suspected_changes="\n".join(f"{s.change.id}: {s.reason}" for s in report.suspects[:3]),
        )
        key = inc.key
    assert key is not None
    artifacts.attach(
        db,
        key,
        actor=sh.actor,
        kind="triage-report",
        name="triage.json",
        content=json.dumps(report.to_dict(), indent=2, default=str).encode(),
        media_type="application/json",
        summary=report.headline(),
        settings=sh.settings,  # its [scrub] patterns apply
    )
    return key


def _fields(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        role, sep, name = v.partition("=")
        if not sep or not role or not name:
            raise InvalidInput(f"--field {v!r}: write ROLE=NAME, e.g. --field ts=@t")
        out[role.strip()] = name.strip()
    return out


@handle_errors
def triage_command(
    access_logs: list[str] = typer.Argument(
        None,
        help="Access logs (combined, common, JSON lines; .gz too), or - for stdin "
        "(optional with --prometheus).",
        show_default=False,
    ),
    prometheus: str | None = typer.Option(
        None,
        "--prometheus",
        help="Prometheus-compatible query API URL (Prometheus, Thanos, Mimir, VictoriaMetrics);"
        " the rest from \\[sources.prometheus] in warroom.toml.",
    ),
    selector: str | None = typer.Option(
        None, "--selector", help='Label matchers for every metric, e.g. job="shop".'
    ),
    since: str | None = typer.Option(
        None, "--since", help="With --prometheus: window start (default: 3 hours before --until)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="With --prometheus: window end (default: now)."
    ),
    app_log: list[Path] = typer.Option(
        [], "--app-log", help="App log to mine for new or surging error signatures."
    ),
    changes: Path | None = typer.Option(
        None, "--changes", help="Changes as JSON lines: id, at, kind, service, paths, ..."
    ),
    git: Path | None = typer.Option(
        None, "--git", help="Git repository whose commits before the onset are suspects."
    ),
    log_format: str | None = typer.Option(
        None,
        "--log-format",
        help="Force the format (default: detect): combined, json, w3c, alb, ... (docs/triage.md).",
    ),
    time_unit: str | None = typer.Option(
        None, "--time-unit", help="Unit of the request-time field: s, ms or us."
    ),
    field: list[str] = typer.Option(
        [], "--field", help="JSON field name for a role, ROLE=NAME (ts, client, path, ...)."
    ),
    app_log_tz: str | None = typer.Option(
        None,
        "--app-log-tz",
        help="Time zone of app-log times without an offset (+01:00, Europe/Paris); "
        "default: estimated from matching error bursts.",
    ),
    output: str = typer.Option("terminal", "--format", help="terminal, json or markdown."),
    json_: bool = typer.Option(False, "--json", help="Same as --format json."),
    chart: Path | None = typer.Option(
        None, "--chart", help="Also draw 5xx rate and p95 over time into FILE.png or .svg."
    ),
    open_incident: bool = typer.Option(
        False, "--open", help="Declare an incident from the report and attach it."
    ),
    incident: str | None = typer.Option(
        None, "--incident", help="Attach the report to this incident (INC-n)."
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database URL for --open/--incident (default: as every command finds it, "
        "see `warroom db status`).",
    ),
    actor: str | None = typer.Option(
        None, "--as", "--actor", help="Who is acting (default: $WARROOM_USER, then the OS user)."
    ),
) -> None:
    """Tell from raw logs (or request metrics) when an incident started, what is hit, how badly,
    and the suspect."""
    if json_:
        output = "json"
    if output not in OUTPUT_FORMATS:
        raise InvalidInput(f"unknown --format {output!r}: use one of {', '.join(OUTPUT_FORMATS)}")
    # lazy: the engine (polars, numpy, matplotlib) loads when triage runs, not for
    # every warroom command (the CLI registers this module at start)
    from warroom.triage.chart import write_chart
    from warroom.triage.metrics.source import triage_mixed, triage_prometheus
    from warroom.triage.report import triage

    _declared_formats()
    sh = Shell(db, actor, output == "json")
    logs = list(access_logs or [])
    source = _metrics_settings(sh, prometheus, selector)
    if source is not None and not logs:
        report = triage_prometheus(
            source,
            since=parse_time(since, field="since"),
            until=parse_time(until, field="until") or utcnow(),
            app_logs=list(app_log),
            changes=changes,
            git_repo=git,
            app_log_tz=app_log_tz,
        )
    elif source is not None:
        report = triage_mixed(
            logs,
            source,
            app_logs=list(app_log),
            changes=changes,
            git_repo=git,
            log_format=log_format,
            time_unit=time_unit,
            progress=RichProgress(),
            json_fields=_fields(field),
            app_log_tz=app_log_tz,
        )
    else:
        if not logs:
            raise InvalidInput(
                "give access logs, or --prometheus URL (or [sources.prometheus] url in "
                "warroom.toml) to read request metrics instead",
                field="access_logs",
            )
        report = triage(
            logs,
            app_logs=list(app_log),
            changes=changes,
            git_repo=git,
            log_format=log_format,
            time_unit=time_unit,
            progress=RichProgress(),
            json_fields=_fields(field),
            app_log_tz=app_log_tz,
        )
    if chart is not None:
        write_chart(report, chart)
    stored = None
    if open_incident or incident:
        stored = store_report(report, sh, open_incident=open_incident, incident_key=incident)
    if output == "json":
        data = report.to_dict()
        if stored:
            data["stored_on"] = stored
        emit_json(data)
    elif output == "markdown":
        sys.stdout.write(render_markdown(report))
    else:
        console = Console()
        render_terminal(report, console)
        if stored:
            console.print(f"report attached to {stored}")


def _metrics_settings(sh: Shell, url: str | None, selector: str | None) -> MetricsSettings | None:
    """The metrics source to read, from --prometheus and [sources.prometheus]; None when
    neither names a URL."""
    section = sh.settings.section("sources").get("prometheus")
    if section is not None and not isinstance(section, dict):
        raise InvalidInput("[sources.prometheus] in warroom.toml must be a table", field="sources")
    if url is None and not (section or {}).get("url"):
        if selector:
            raise InvalidInput("--selector needs --prometheus URL", field="selector")
        return None
    return MetricsSettings.from_config(section, url=url, selector=selector)


@logs_app.command("templates")
@handle_errors
def templates_command(
    files: list[Path] = typer.Argument(..., help="App log files (.gz too)."),
    since: str | None = typer.Option(None, "--since", help="Only lines at or after (ISO-8601)."),
    until: str | None = typer.Option(None, "--until", help="Only lines before (ISO-8601)."),
    output: str = typer.Option("terminal", "--format", help="terminal or json."),
    json_: bool = typer.Option(False, "--json", help="Same as --format json."),
    assign: bool = typer.Option(
        False, "--assign", help="Also give the template id of every input line, in order."
    ),
    limit: int = typer.Option(50, "--limit", help="Templates shown in the terminal."),
    header: str | None = typer.Option(
        None,
        "--header",
        help="Regex of a header the built-in styles miss; (?P<ts>...) is its time.",
    ),
    time_format: str | None = typer.Option(
        None, "--time-format", help="strptime format of the --header's ts group."
    ),
) -> None:
    """Templates of an app log with counts, first and last time, an example; busiest first."""
    # lazy: the app-log miner loads when this command runs, not for every warroom command
    from warroom.triage.signatures import mine_templates

    if json_:
        output = "json"
    if output not in ("terminal", "json"):
        raise InvalidInput(f"unknown --format {output!r}: use terminal or json")
    mined = mine_templates(
        list(files),
        since=parse_time(since, field="since"),
        until=parse_time(until, field="until"),
        assign=assign,
        header=header,
        time_format=time_format,
    )
    if output == "json":
        data: dict[str, Any] = {
            "lines": mined.lines,
            "templates": [t.to_dict() for t in mined.templates],
        }
        if assign:
            data["assignments"] = mined.assignments
        emit_json(data)
        return
    console = Console()
    console.print(f"{len(mined.templates)} templates in {mined.lines} lines")
    for t in mined.templates[:limit]:
        span = f"{t.first:%Y-%m-%d %H:%M:%S}..{t.last:%H:%M:%S}" if t.first and t.last else "-"
        console.print(
            f"{t.count:>8}  #{t.id:<4} {span}  {t.template}", markup=False, highlight=False
        )
        console.print(f"{'':>15}e.g. {t.example[:140]}", style="dim", markup=False, highlight=False)
    if assign:
        for i, cid in enumerate(mined.assignments, start=1):
            console.print(f"{i}\t{cid if cid is not None else '-'}", markup=False)


def _declared_formats() -> None:
    """Access-log formats declared in warroom.toml ([triage.formats.NAME])."""
    settings = load_settings()
    declared = settings.section("triage").get("formats", {})
    if declared:
        declare_formats(declared, str(settings.config_path))


def render_terminal(report: TriageReport, console: Console) -> None:
    """The report for a person at a terminal: headline, sparklines, routes, steps."""
    style = "bold red" if report.incident else "bold green"
    console.print(f"[{style}]{report.headline()}[/]", highlight=False)
    d = report.to_dict()
    w = report.window
    if report.incident:
        state = "ongoing" if w.get("ongoing") else f"until {w.get('end')}"
        console.print(f"onset {d['onset']}  window {w.get('minutes')} min, {state}")
        if w.get("first_signal"):
            console.print(f"first sign: {w['first_signal']}", highlight=False)
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
                pct(r.error_rate_before),
                pct(r.error_rate_during),
                ms_figure(b.p95_ms if b else None),
                ms_figure(r.during.p95_ms),
                f"{r.impact:,.0f}",
            )
        console.print(t)
    if report.signatures:
        console.print("[bold]log signatures new or surging since the onset[/]")
        clock = report.app_log_clock or {}
        if clock.get("source") in ("given", "estimated"):
            console.print(
                f"  app-log times read at UTC{clock['offset']}: {clock['evidence']}",
                highlight=False,
                markup=False,
            )
        for sig in report.signatures[:8]:
            console.print(
                f"  {sig.status:8} {sig.before:>6} -> {sig.during:<6} {sig.template[:110]}",
                highlight=False,
                markup=False,
            )
    if report.duplicates is not None and report.duplicates.duplicates:
        console.print("[bold]duplicate effects[/]")
        print_duplicates(report.duplicates, console, limit=5)
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
    asked = report.window.get("metrics")
    if asked:
        console.print(
            f"[dim]source: {', '.join(report.formats)}; step {asked['step_seconds']} s, "
            f"{asked['series']['requests']} request series, {asked['requests_made']} queries[/]",
            highlight=False,
        )
    if report.corroboration:
        c = report.corroboration
        word = "agree" if c.get("agrees") else "DISAGREE"
        console.print(
            f"metrics {word}: {c.get('headline')} [dim]({c.get('source')})[/]", highlight=False
        )
    ln = report.lines
    if asked and not ln.read:
        return
    console.print(f"[dim]lines: {ln.read} read, {ln.parsed} parsed, {ln.skipped} skipped[/]")
    for sk in ln.samples:
        console.print(
            f"[dim]  skipped {sk.file}:{sk.line}: {sk.reason}: {sk.text[:100]}[/]",
            markup=True,
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    """Add `triage` and `logs templates` to the main CLI."""
    app.command("triage")(triage_command)
    app.add_typer(logs_app, name="logs")


def main() -> None:
    """`warroom triage` / `warroom logs` on their own (see `warroom.cli.entry`)."""
    app = typer.Typer(
        name="warroom",
        help="warroom triage and log templates",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    register(app)
    app()


if __name__ == "__main__":
    main()
