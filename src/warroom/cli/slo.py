"""`warroom slo check|rules|validate`: SLOs, burn rates and Prometheus rules over access logs.

Like `warroom triage`, `warroom slo` starts without the rest of the CLI (`warroom.cli.entry`):
no database, no web stack.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from warroom.cli.common import JsonOpt, Shell, console, handle_errors
from warroom.core.clock import parse_time, utcnow
from warroom.core.config import Settings
from warroom.core.errors import InvalidInput
from warroom.detect import slo
from warroom.detect.slo.burn import SLOReport
from warroom.detect.slo.metrics import check_metrics
from warroom.detect.slo.model import DEFAULT_ALERTS, format_duration
from warroom.detect.slo.rules import rules_yaml
from warroom.detect.slo.spec import alerts_from_config, override_prometheus
from warroom.triage.metrics.config import MetricsSettings

PAGE_EXIT = 3

slo_app = typer.Typer(
    help="SLOs in business terms: check burn rates on access logs, generate Prometheus rules.",
    no_args_is_help=True,
)

SloOpt = Annotated[
    Path,
    typer.Option("--slo", help="SLO file: native warroom form or OpenSLO v1 YAML."),
]


def load_slos(path: Path, settings: Settings) -> list[slo.SLO]:
    """The SLOs of a file, with [detect] slo_alerts from warroom.toml where the file has none."""
    slos = slo.load_slo_file(path)
    configured = alerts_from_config(settings.section("detect").get("slo_alerts"))
    if configured:
        slos = [replace(s, alerts=configured) if s.alerts is DEFAULT_ALERTS else s for s in slos]
    return slos


def _human(value: timedelta) -> str:
    """7799 s -> 2h9m59s."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _pct(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _render(report: SLOReport) -> None:
    s = report.slo
    style = {"page": "bold white on red", "ticket": "bold yellow", "ok": "green"}.get(
        report.status, "dim"
    )
    console.print(
        f"[{style}] {report.status.upper()} [/] [bold]{s.name}[/] ({s.kind.value}, "
        f"{s.objective * 100:g}% over {format_duration(s.window)})"
        + (f"  service {s.service}" if s.service else ""),
        highlight=False,
    )
    if not report.events:
        console.print("  no matching requests in the logs")
        return
    console.print(
        f"  {report.window_events:,} requests, {report.window_bad:,} bad in the last "
        f"{_human(report.coverage)} of data: SLI {_pct(report.sli, 3)}, "
        f"burn {_x(report.burn_rate)}; error budget spent {_pct(report.budget_spent, 1)}, "
        f"left {_pct(report.budget_left, 1)}",
        highlight=False,
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("alert", "severity", "windows", "factor", "burn long/short", "now", "fired"):
        table.add_column(col)
    for a in report.alerts:
        fired = (
            "; ".join(
                f"{f.start:%Y-%m-%d %H:%M}-{f.end:%H:%M}" if f.end else f"{f.start:%Y-%m-%d %H:%M}-"
                for f in a.fired[:5]
            )
            + (f" (+{len(a.fired) - 5} more)" if len(a.fired) > 5 else "")
            or "never"
        )
        table.add_row(
            a.alert.name,
            a.alert.severity,
            f"{format_duration(a.alert.long)}/{format_duration(a.alert.short)}",
            f"{a.alert.factor:g}x",
            f"{_x(a.long_burn)}/{_x(a.short_burn)}",
            "FIRING" if a.firing else "ok",
            fired,
        )
    console.print(table)
    _render_confident(report)


def _render_confident(report: SLOReport) -> None:
    conf = report.confident
    if conf is None or conf.now is None:
        return
    firing = [a for a in conf.alerts if a.firing]
    warming = [a.alert.name for a in conf.alerts if a.warming_up]
    if firing:
        parts = [
            f"{a.alert.name} ({a.bad:,} of {a.total:,} bad"
            + (f", burn at least {a.burn_low:.1f}x" if a.burn_low else "")
            + ")"
            for a in firing
        ]
        word = "PAGE" if conf.paging else "TICKET"
        line = f"[bold]{word}[/] " + "; ".join(parts)
    else:
        line = "ok"
    console.print(
        f"  confident alerts (docs/detect.md): {line}"
        + (f"; warming up: {', '.join(warming)}" if warming else ""),
        highlight=False,
    )


def _render_all(reports: list[SLOReport]) -> None:
    for r in reports:
        _render(r)


@slo_app.command("check")
@handle_errors
def check_cmd(
    slo_file: SloOpt,
    log: Annotated[
        list[Path] | None, typer.Option("--log", help="Access log file (repeatable).")
    ] = None,
    prometheus: Annotated[
        str | None,
        typer.Option(
            "--prometheus",
            help="Read request metrics from this Prometheus-compatible URL instead of logs.",
        ),
    ] = None,
    selector: Annotated[
        str | None, typer.Option("--selector", help='Label matchers, e.g. job="shop".')
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Evaluate at this time (default: end of the logs, or now)."),
    ] = None,
    log_format: Annotated[str | None, typer.Option("--format", help="Log format.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Error budget, burn rates and burn-rate alerts of each SLO over access logs or metrics.

    Lists when each alert would have fired. Exits 3 when a page-level alert is firing at the
    end of the logs (or --at, or now for metrics), so cron can run it.
    """
    sh = Shell(json_=json_out)
    slos = load_slos(slo_file, sh.settings)
    section = sh.settings.section("sources").get("prometheus") or {}
    if log and prometheus:
        raise InvalidInput("read --log or --prometheus, not both", field="prometheus")
    if log:
        reports = slo.check_logs(log, slos, now=parse_time(at, field="at"), log_format=log_format)
    elif prometheus or section.get("url"):
        source = MetricsSettings.from_config(section, url=prometheus, selector=selector)
        now = parse_time(at, field="at") or utcnow()
        reports = check_metrics(source, slos, now=now)
    else:
        raise InvalidInput(
            "give access logs (--log) or a metrics store (--prometheus URL, or "
            "[sources.prometheus] url in warroom.toml)",
            field="log",
        )
    paging = any(r.page_firing for r in reports)
    sh.out(
        {"page_firing": paging, "slos": [r.to_dict() for r in reports]},
        lambda: _render_all(reports),
    )
    if paging:
        raise typer.Exit(PAGE_EXIT)


@slo_app.command("rules")
@handle_errors
def rules_cmd(
    slo_file: SloOpt,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default stdout).")
    ] = None,
    requests_metric: Annotated[
        str | None, typer.Option(help="Request counter (default http_requests_total).")
    ] = None,
    code_label: Annotated[
        str | None, typer.Option(help="Status code label of the counter (default code).")
    ] = None,
    latency_metric: Annotated[
        str | None,
        typer.Option(help="Latency histogram base name (default http_request_duration_seconds)."),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Label of a match key, e.g. route=handler (repeatable)."),
    ] = None,
    workbook_only: Annotated[
        bool,
        typer.Option("--workbook-only", help="Only the workbook's alerts, not the confident ones."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Prometheus recording and alerting rules (multi-window burn rates) for each SLO.

    The workbook's alerts (SLOErrorBudgetBurn) and the confident ones (SLOBurnConfident,
    docs/detect.md). Metric and label names come from the flags, else [detect.prometheus]
    in warroom.toml, else the file's `prometheus:` block, else the defaults.
    """
    labels: dict[str, str] = {}
    for item in label or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidInput(
                f"--label {item!r}: use KEY=LABEL, e.g. route=handler", field="label"
            )
        labels[key.strip()] = value.strip()
    sh = Shell(json_=json_out)
    slos = load_slos(slo_file, sh.settings)
    configured = sh.settings.section("detect").get("prometheus") or {}
    if not isinstance(configured, dict):
        raise InvalidInput(
            "[detect.prometheus] in warroom.toml must be a table", field="detect.prometheus"
        )
    slos = override_prometheus(
        slos,
        requests_metric=requests_metric or configured.get("requests_metric"),
        code_label=code_label or configured.get("code_label"),
        latency_metric=latency_metric or configured.get("latency_metric"),
        labels={**(configured.get("labels") or {}), **labels},
    )
    text = rules_yaml(slos, confident=not workbook_only)
    if output is not None:
        output.write_text(text, encoding="utf-8")

    def show() -> None:
        if output is None:
            typer.echo(text, nl=False)
        else:
            console.print(f"wrote rules for {len(slos)} SLO(s) to {output}")

    sh.out(
        {"slos": [s.name for s in slos], "output": str(output) if output else None, "rules": text},
        show,
    )


@slo_app.command("validate")
@handle_errors
def validate_cmd(slo_file: SloOpt, json_out: JsonOpt = False) -> None:
    """Parse an SLO file and show what it defines (exit 2 with the field when it is wrong)."""
    sh = Shell(json_=json_out)
    slos = load_slos(slo_file, sh.settings)
    sh.out([s.to_dict() for s in slos], lambda: _describe(slos))


def _describe(slos: list[slo.SLO]) -> None:
    for s in slos:
        extra = f", under {s.threshold_ms:g} ms" if s.threshold_ms else ""
        console.print(
            f"{s.name}: {s.kind.value}{extra}, {s.objective * 100:g}% over "
            f"{format_duration(s.window)} ({s.form}); alerts "
            + ", ".join(
                f"{a.severity} {a.factor:g}x {format_duration(a.long)}/{format_duration(a.short)}"
                for a in s.alerts
            ),
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(slo_app, name="slo")


def main() -> None:
    """`warroom slo` on its own (see `warroom.cli.entry`)."""
    app = typer.Typer(
        name="warroom",
        help="warroom slo",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    register(app)
    app()
