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


def verify_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    log: Annotated[list[str], typer.Option("--log", "-l", help="Access log(s), repeatable.")],
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
    """Judge recovery from access logs: after the fix vs the baseline and the incident window.

    Records the verdict (recovered / not_recovered / inconclusive) with its numbers on the
    timeline; `warroom stage INC verified` needs a recovered one (or --reason).
    """
    for path in log:
        if path != "-" and not Path(path).is_file():
            raise InvalidInput(f"access log {path} does not exist", field="log")
    sh = Shell(db, as_, json_)
    v = verify.verify(
        sh.db,
        key,
        log,
        actor=sh.actor,
        baseline=verify.parse_range(baseline) if baseline else None,
        after=parse_time(after, field="after"),
        soak=verify.parse_duration(soak),
        routes=route or None,
        min_requests=min_requests,
        log_format=log_format,
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
            say(f"  {name:9} {w.start:%Y-%m-%d %H:%M:%S} .. {w.end:%H:%M:%S} UTC")
        if moved is not None:
            say(f"{moved.key} is now verified.")
        elif v.verdict == verify.RECOVERED:
            say(f"Move it on: warroom stage {key.upper()} verified")

    sh.out({**v.to_dict(), "stage": moved.stage.value if moved else None}, render)


def register(app: typer.Typer) -> None:
    app.command("verify")(handle_errors(verify_cmd))
