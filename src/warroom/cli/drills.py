"""CLI for drills: `warroom drill SCENARIO` starts one, `warroom drills [INC --end]` scores it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, handle_errors
from warroom.cli.contain import say
from warroom.contain import drills
from warroom.core.clock import utcnow

STAGES = ("contained", "root_caused", "fixed", "verified", "closed")


def drill_cmd(
    scenario: Annotated[
        str,
        typer.Argument(
            help="Scenario: deploy_5xx, migration_latency, retry_storm, "
            "upstream_timeout, latency_creep, healthy."
        ),
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for the generated evidence.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (same seed, same logs).")] = None,
    severity: Annotated[str | None, typer.Option(help="Severity of the drill incident.")] = None,
    commander: Annotated[str | None, typer.Option(help="Commander for the drill.")] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Start a drill: generate a realistic incident's logs and declare it, marked as a drill."""
    sh = Shell(db, as_, json_)
    directory = out or Path(f"drill-{scenario}-{utcnow():%Y%m%d-%H%M%S}")
    d = drills.start(
        sh.db,
        scenario,
        actor=sh.actor,
        out_dir=directory,
        seed=seed,
        severity=severity,
        commander=commander,
    )

    def render() -> None:
        console.print(
            f"[bold]Drill {d.incident_key}[/] ({escape(scenario)}, seed {d.seed}) declared. "
            "The clock is running.",
            highlight=False,
        )
        for name, path in d.files.items():
            say(f"  {name.replace('_', ' ')}: {path}")
        log = d.files.get("access_log", "ACCESS_LOG")
        say(
            f"Start with: warroom triage {log} --app-log {d.files.get('app_log', '')} "
            f"--changes {d.files.get('changes', '')} --incident {d.incident_key}\n"
            f"End and score it with: warroom drills {d.incident_key} --end"
        )

    sh.out(d.to_dict(), render)


def _print_card(d: drills.Drill, card: dict[str, Any]) -> None:
    console.print(
        f"[bold]Drill {d.incident_key}[/] {escape(d.scenario)}: {card.get('elapsed_minutes')} min",
        highlight=False,
    )
    for stage in STAGES:
        t = card.get(stage)
        say(f"  {stage:12} " + ("-" if t is None else f"+{t} min"))
    for k in ("triage_report", "suspect_found", "route_found"):
        if k in card:
            say(f"  {k.replace('_', ' '):12} {'yes' if card[k] else 'no'}")
    if d.ended_at:
        t = d.truth
        say(
            f"Truth: onset {t.get('onset')}, route {t.get('top_route')}, "
            f"suspect {t.get('top_suspect')}"
        )


def drills_cmd(
    key: Annotated[str | None, typer.Argument(help="A drill incident (omit to list).")] = None,
    end: Annotated[bool, typer.Option("--end", help="End the drill and score it.")] = False,
    after_fix: Annotated[
        bool,
        typer.Option(
            "--after-fix",
            help="Write the traffic of the 30 minutes after the fix (the lever pulled) into "
            "the drill's directory, for warroom verify.",
        ),
    ] = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List drills, show a drill's timings, or end it (--end) for the scorecard and truth."""
    sh = Shell(db, as_, json_)
    if key is None:
        items = drills.list_drills(sh.read_db)

        def render_list() -> None:
            if not items:
                say("No drills yet (warroom drill deploy_5xx).")
            for d in items:
                state = "ended" if d.ended_at else "running"
                say(
                    f"{d.incident_key} {d.scenario} {state} started "
                    f"{d.started_at:%Y-%m-%d %H:%M} by {d.started_by}"
                )

        sh.out([d.to_dict() for d in items], render_list)
        return
    if after_fix:
        path, healthy, fix = drills.after_fix(sh.db, key)
        d = drills.get(sh.db, key)
        logs = " ".join(f"--log {d.files[k]}" for k in ("access_log", "after_fix_log"))

        def render_traffic() -> None:
            say(
                f"Wrote {path}: {drills.AFTER_FIX_MINUTES} minutes of traffic from the fix "
                f"({fix:%Y-%m-%d %H:%M} UTC), {'healthy' if healthy else 'still failing'}."
            )
            say(f"Judge it with: warroom verify {d.incident_key} {logs}")

        sh.out({"file": str(path), "healthy": healthy, "fix_at": fix.isoformat()}, render_traffic)
        return
    if end:
        d = drills.end(sh.db, key, actor=sh.actor)
        card = d.score or {}
    else:
        d = drills.get(sh.db, key)
        card = d.score or drills.timings(sh.db, key)
    sh.out({**d.to_dict(), "timings": card}, lambda: _print_card(d, card))


def register(app: typer.Typer) -> None:
    app.command("drill")(handle_errors(drill_cmd))
    app.command("drills")(handle_errors(drills_cmd))
