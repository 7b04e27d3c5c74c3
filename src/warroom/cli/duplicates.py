"""`warroom logs duplicates FILE...`: keys that took effect twice (double charges), for refunds.

Thin: parses the rules and options, calls `warroom.triage.duplicates.find_duplicates`,
prints the groups and the first keys, writes the export (CSV or JSON). Registered on the
`logs` group by `warroom.cli.triage`, so it starts without the database stack.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from warroom.cli.common import emit_json, handle_errors
from warroom.core.errors import InvalidInput

if TYPE_CHECKING:  # polars loads when the command runs, not for every warroom command
    from warroom.triage.duplicates import Duplicates

FORMATS = ("terminal", "json", "csv")


def _when(iso: str) -> str:
    """`2026-11-20T12:02:27.867+00:00` -> `2026-11-20 12:02:27` (UTC)."""
    return iso[:19].replace("T", " ")


def print_duplicates(found: Duplicates, console: Console, *, limit: int = 20) -> None:
    """The groups with duplicated keys, then the first keys with their count and time span."""
    groups = [g for g in found.groups() if g["duplicated_keys"]]
    if not groups:
        console.print(f"no key took effect more than once ({found.lines} lines read)")
        return
    for g in groups:
        span = f"{_when(g['first'])} .. {_when(g['last'])}" if g["first"] else "no times"
        console.print(
            f"{g['duplicated_keys']:>7} {g['rule']} keys took effect more than once "
            f"({g['extra_effects']} extra, {g['source']} log, {span})",
            markup=False,
            highlight=False,
        )
        console.print(f"        {g['action']}", style="dim", markup=False, highlight=False)
    for d in found.duplicates[:limit]:
        first = d.first.isoformat(timespec="seconds") if d.first else "-"
        console.print(
            f"  {d.count}x {d.rule}={d.key} ({d.source}) first {first}",
            markup=False,
            highlight=False,
        )
        if d.examples:
            console.print(f"     {d.examples[0][:160]}", style="dim", markup=False, highlight=False)
    more = len(found.duplicates) - limit
    if more > 0:
        console.print(f"  ... and {more} more keys (export them with --out FILE.csv)")


@handle_errors
def duplicates_command(
    files: list[Path] = typer.Argument(..., help="App logs and access logs (.gz too)."),
    key: list[str] = typer.Option(
        [], "--key", help="Another kind of key, NAME=REGEX with a group (?P<key>...)."
    ),
    no_default_keys: bool = typer.Option(
        False, "--no-default-keys", help="Only the --key rules (no idempotency/order/payment ids)."
    ),
    effect: str | None = typer.Option(
        None, "--effect", help="Regex of an app-log line that says something took effect."
    ),
    not_effect: str | None = typer.Option(
        None, "--not-effect", help="Regex of an app-log line that says it did not (failed...)."
    ),
    min_count: int = typer.Option(2, "--min-count", help="Effects of one key that count."),
    output: str = typer.Option("terminal", "--format", help="terminal, json or csv."),
    json_: bool = typer.Option(False, "--json", help="Same as --format json."),
    out: Path | None = typer.Option(
        None, "--out", help="Write every duplicated key to FILE (.csv, else JSON)."
    ),
    limit: int = typer.Option(20, "--limit", help="Keys shown in the terminal."),
) -> None:
    """Keys that should take effect once but did twice: double charges, replayed requests.

    Idempotency keys and order, payment, charge and transaction ids are found in app-log
    lines and in access-log paths and query strings; an access line counts when a POST, PUT,
    PATCH or DELETE got a 2xx, an app line when it says success and not failure.
    """
    # lazy: polars loads when this command runs, not for every warroom command
    from warroom.triage import duplicates as dup

    if json_:
        output = "json"
    if output not in FORMATS:
        raise InvalidInput(f"unknown --format {output!r}: use one of {', '.join(FORMATS)}")
    if min_count < 2:
        raise InvalidInput("--min-count must be 2 or more", field="min_count")
    found = dup.find_duplicates(
        files,
        rules=dup.parse_rules(key, defaults=not no_default_keys),
        effect=effect or dup.EFFECT,
        not_effect=not_effect or dup.NOT_EFFECT,
        min_count=min_count,
    )
    if out is not None:
        with out.open("w", newline="") as f:
            if out.suffix.lower() == ".csv":
                found.write_csv(f)
            else:
                json.dump(found.to_dict(), f, indent=2)
                f.write("\n")
    if output == "json":
        emit_json(found.to_dict())
    elif output == "csv":
        found.write_csv(sys.stdout)
    else:
        console = Console()
        print_duplicates(found, console, limit=limit)
        if out is not None:
            console.print(f"{len(found.duplicates)} keys written to {out}", highlight=False)
