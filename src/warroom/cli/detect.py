"""`warroom alerts` and `warroom watch`: alert intake and live SLO detection.

`warroom slo check|rules|validate` live in `warroom.cli.slo` (light: no database).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from warroom.cli import slo as slo_cli
from warroom.cli.common import DbOpt, JsonOpt, Shell, console, handle_errors
from warroom.cli.slo import SloOpt, load_slos
from warroom.detect import alerts
from warroom.detect.watch import Change, Watcher


@handle_errors
def alerts_cmd(
    key: Annotated[str, typer.Argument(help="Incident key, e.g. INC-7.")],
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The monitoring alerts attached to an incident and whether each still fires."""
    sh = Shell(db, json_=json_out)
    rows = alerts.list_alerts(sh.db, key)
    sh.out(rows, lambda: _alerts_table(key, rows))


def _alerts_table(key: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print(f"no alerts on {key.upper()}")
        return
    table = Table(box=None, header_style="bold")
    for col in ("status", "alert", "labels", "since", "until"):
        table.add_column(col)
    for r in rows:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(r["labels"].items()) if k != "alertname")
        table.add_row(
            r["status"].upper(), r["name"], labels, r["starts_at"][:19], (r["ends_at"] or "")[:19]
        )
    console.print(table)


@handle_errors
def watch_cmd(
    slo_file: SloOpt,
    log: Annotated[list[Path], typer.Option("--log", help="Access log to follow (repeatable).")],
    state: Annotated[
        Path,
        typer.Option(help="Where offsets, counts and open pages are kept across restarts."),
    ] = Path("warroom-watch.json"),
    interval: Annotated[float, typer.Option(help="Seconds between evaluations.")] = 5.0,
    once: Annotated[
        bool, typer.Option("--once", help="Read what is there, evaluate, stop.")
    ] = False,
    log_format: Annotated[str | None, typer.Option("--format", help="Log format.")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Follow access logs (like tail -F) and page through the alert intake when an SLO burns.

    Evaluates the confident burn alerts (docs/detect.md) every --interval seconds at the time of
    the newest request; a page that starts opens or attaches to an incident, one that stops is
    sent resolved. Stop it with Ctrl-C or SIGTERM; it resumes from --state.
    """
    sh = Shell(db)
    slos = load_slos(slo_file, sh.settings)
    watcher = Watcher(
        sh.db,
        slos,
        [str(p) for p in log],
        state_path=state,
        routing=alerts.Routing.from_settings(sh.settings),
        log_format=log_format,
    )
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    try:
        while not stopping:
            for change in watcher.poll():
                if json_out:  # one line per change: a stream a script reads as it comes
                    typer.echo(json.dumps(change.to_dict()))
                else:
                    _show_change(change)
            if once:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.close()


def _show_change(change: Change) -> None:
    word = "[bold white on red] PAGE [/]" if change.status == "firing" else "[green] RESOLVED [/]"
    what = ", ".join(change.alerts) or "no alert firing"
    console.print(
        f"{change.at:%Y-%m-%d %H:%M:%S} {word} {change.slo}: {what} -> "
        f"{change.incident or 'no incident'} ({change.outcome})",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    slo_cli.register(app)
    app.command("alerts")(alerts_cmd)
    app.command("watch")(watch_cmd)
