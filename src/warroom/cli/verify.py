"""CLI for verifying recovery from the numbers: `warroom verify INC --log FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from warroom import incidents
from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, handle_errors
from warroom.cli.contain import say
from warroom.contain import verify
from warroom.core.clock import parse_time
from warroom.core.errors import InvalidInput
from warroom.triage.metrics.config import MetricsSettings


def verify_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    log: Annotated[
        list[str] | None, typer.Option("--log", "-l", help="Access log(s), repeatable.")
    ] = None,
    prometheus: Annotated[
        str | None,
        typer.Option(
            "--prometheus",
            help="Judge from a Prometheus-compatible store instead of logs (URL; the rest from "
            "\\[sources.prometheus]).",
        ),
    ] = None,
    selector: Annotated[
        str | None, typer.Option("--selector", help='Label matchers, e.g. job="shop".')
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="With --prometheus: end of the after window.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Baseline window START..END (default: hour before onset).")
    ] = None,
    after: Annotated[
        str | None,
        typer.Option(help="When the fix took effect (default: last mitigation/contain/fix)."),
    ] = None,
    soak: Annotated[str, typer.Option(help="Wait this long after the fix: 30s, 10m, 1h.")] = "10m",
    route: Annotated[
        list[str] | None, typer.Option("--route", help="Only these routes, repeatable.")
    ] = None,
    min_requests: Annotated[
        int, typer.Option(help="Fewer requests in a window is inconclusive.")
    ] = 200,
    log_format: Annotated[
        str | None,
        typer.Option("--format", help="Access-log format (default: detect), see docs/triage.md."),
    ] = None,
    move: Annotated[
        bool, typer.Option("--move", help="Move the incident to verified when recovered.")
    ] = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Judge recovery from access logs or request metrics: after the fix vs the baseline and
    the incident window.

    Records the verdict (recovered / not_recovered / inconclusive) with its numbers on the
    timeline; `warroom stage INC verified` needs a recovered one (or --reason).
    """
    for path in log or []:
        if path != "-" and not Path(path).is_file():
            raise InvalidInput(f"access log {path} does not exist", field="log")
    sh = Shell(db, as_, json_)
    section = sh.settings.section("sources").get("prometheus") or {}
    window = verify.parse_range(baseline) if baseline else None
    fixed = parse_time(after, field="after")
    soaked = verify.parse_duration(soak)
    if log and prometheus:
        raise InvalidInput("judge from --log or from --prometheus, not both", field="prometheus")
    if log:
        v = verify.verify(
            sh.db,
            key,
            log,
            actor=sh.actor,
            baseline=window,
            after=fixed,
            soak=soaked,
            routes=route or None,
            min_requests=min_requests,
            log_format=log_format,
        )
    elif prometheus or section.get("url"):
        v = verify.verify_metrics(
            sh.db,
            key,
            MetricsSettings.from_config(section, url=prometheus, selector=selector),
            actor=sh.actor,
            baseline=window,
            after=fixed,
            soak=soaked,
            routes=route or None,
            min_requests=min_requests,
            until=parse_time(until, field="until"),
        )
    else:
        raise InvalidInput(
            "give access logs (--log) or a metrics store (--prometheus URL, or [sources.prometheus]"
            " url in warroom.toml)",
            field="log",
        )
    moved = None
    if move and v.verdict == verify.RECOVERED:
        moved = incidents.move(sh.db, key, to="verified", actor=sh.actor)

    def render() -> None:
        style = {"recovered": "bold green", "not_recovered": "bold red"}.get(
            v.verdict, "bold yellow"
        )
        console.print(
            f"[{style}]{v.verdict.replace('_', ' ')}[/]: {escape(v.summary)}",
            highlight=False,
            soft_wrap=True,
        )
        for r in v.reasons:
            say(f"  - {r}")
        for name, w in v.windows.items():
            # The end's date only when it differs (a drill's fix can be days after its logs).
            end = (
                f"{w.end:%H:%M:%S}"
                if w.end.date() == w.start.date()
                else f"{w.end:%Y-%m-%d %H:%M:%S}"
            )
            say(f"  {name:9} {w.start:%Y-%m-%d %H:%M:%S} .. {end} UTC")
        if moved is not None:
            say(f"{moved.key} is now verified.")
        elif v.verdict == verify.RECOVERED:
            say(f"Move it on: warroom stage {key.upper()} verified")

    sh.out({**v.to_dict(), "stage": moved.stage.value if moved else None}, render)


def register(app: typer.Typer) -> None:
    app.command("verify")(handle_errors(verify_cmd))
