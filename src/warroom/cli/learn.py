"""CLI of the learning area: rootcause, postmortem, action items, recurrence, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from warroom.cli.common import (
    AsOpt,
    DbOpt,
    JsonOpt,
    Shell,
    console,
    err_console,
    handle_errors,
    read_bytes,
)
from warroom.core.clock import parse_time, utcnow
from warroom.core.errors import InvalidInput
from warroom.learn import actions, export, postmortems, recurrence, reports
from warroom.learn.drafting import SECTION_NAMES
from warroom.learn.rootcause import Category, record_root_cause

action_app = typer.Typer(help="Action items: add, update, list.", no_args_is_help=True)

OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"Wrote {output} ({len(text.encode('utf-8')):,} bytes).")


@handle_errors
def rootcause_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    category: Annotated[
        str,
        typer.Option(help="One of: " + ", ".join(c.value for c in Category)),
    ],
    summary: Annotated[str, typer.Option(help="The root cause in a sentence.")],
    factor: Annotated[
        list[str] | None, typer.Option("--factor", help="A contributing factor (repeatable).")
    ] = None,
    stage: Annotated[
        bool, typer.Option("--stage/--no-stage", help="Also move the incident to root_caused.")
    ] = True,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record the root cause (category, summary, contributing factors)."""
    sh = Shell(db, as_, json_)
    rc = record_root_cause(
        sh.db,
        key,
        category=category,
        summary=summary,
        factors=factor,
        actor=sh.actor,
        move_stage=stage,
    )
    sh.out(
        rc.to_dict(),
        lambda: console.print(
            f"{key.upper()} root cause: {rc.category.label}: {rc.summary}", highlight=False
        ),
    )


@handle_errors
def postmortem_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    format_: Annotated[str, typer.Option("--format", help="markdown, html or json.")] = (
        "markdown"
    ),
    redraft: Annotated[
        bool, typer.Option("--redraft", help="Rebuild a draft from the timeline.")
    ] = False,
    output: OutputOpt = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Draft (first time) and print the postmortem: Markdown, HTML (with chart) or JSON."""
    sh = Shell(db, as_, json_)
    pm = postmortems.draft(sh.db, key, actor=sh.actor, redraft=redraft, settings=sh.settings)
    fmt = "json" if json_ else format_.lower()
    if fmt == "json":
        _write(json.dumps(pm.to_dict(), indent=2) + "\n", output)
    elif fmt in ("markdown", "md"):
        _write(export.render_markdown(pm), output)
    elif fmt == "html":
        _write(export.render_html(sh.db, pm), output)
    else:
        raise InvalidInput(
            f"unknown format {format_!r}: use markdown, html or json", field="format"
        )
    if fmt != "json":
        for section, found in pm.findings.items():
            for f in found:
                err_console.print(
                    f'[yellow]blameless ({section}):[/] "{f.sentence}" -> {f.suggestion}',
                    highlight=False,
                )


@handle_errors
def postmortem_edit_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    section: Annotated[
        str, typer.Argument(help=", ".join(SECTION_NAMES) + " (compliance: security types)")
    ],
    text: Annotated[str | None, typer.Option(help="The new text of the section.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read it from a file.")] = (
        None
    ),
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Replace one section of the postmortem; warns about blaming language."""
    if file is not None:
        try:
            text = read_bytes(file).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{file} is not UTF-8 text", field="file") from exc
    if text is None:
        raise InvalidInput("give --text or --file", field="text")
    sh = Shell(db, as_, json_)
    pm = postmortems.update_section(
        sh.db, key, section=section, text=text, actor=sh.actor, settings=sh.settings
    )
    found = pm.findings.get(section.lower().replace("-", "_"), [])

    def render() -> None:
        console.print(f"{pm.key}: section {section} saved.")
        for f in found:
            console.print(
                f'[yellow]blameless:[/] "{f.sentence}"\n  suggestion: {f.suggestion}',
                highlight=False,
            )

    sh.out({"postmortem": pm.to_dict(), "warnings": [f.to_dict() for f in found]}, render)


@handle_errors
def postmortem_status_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    status: Annotated[str, typer.Argument(help="draft, in_review (review) or published.")],
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Move the postmortem draft -> in_review -> published."""
    sh = Shell(db, as_, json_)
    pm = postmortems.set_status(sh.db, key, status=status, actor=sh.actor, settings=sh.settings)
    sh.out(pm.to_dict(), lambda: console.print(f"{pm.key} postmortem is {pm.status.value}."))


@handle_errors
def postmortems_cmd(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones.")] = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Postmortems due (P0/P1, 48 h after resolution) and not yet published."""
    sh = Shell(db, None, json_)
    items = postmortems.due_list(sh.read_db, overdue_only=overdue, settings=sh.settings)

    def render() -> None:
        if not items:
            console.print("No postmortems due.")
        for d in items:
            flag = "[bold red]OVERDUE[/]" if d.overdue else "due"
            console.print(
                f"{d.key} {d.severity} {flag} {d.due_at:%Y-%m-%d %H:%M} UTC [{d.status}] {d.title}",
                highlight=False,
            )

    sh.out([d.to_dict() for d in items], render)


@action_app.command("add")
@handle_errors
def action_add(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    title: Annotated[str, typer.Argument(help="What will be done.")],
    type_: Annotated[
        str, typer.Option("--type", "-t", help="detective, preventive, corrective, mitigation.")
    ] = "preventive",
    owner: Annotated[str | None, typer.Option(help="Who owns it.")] = None,
    due: Annotated[str | None, typer.Option(help="Due date/time (ISO-8601).")] = None,
    priority: Annotated[str, typer.Option(help="P0-P3.")] = "P2",
    ticket: Annotated[str | None, typer.Option(help="URL of the Jira/GitHub ticket.")] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add an action item to an incident."""
    sh = Shell(db, as_, json_)
    item = actions.add(
        sh.db,
        key,
        title=title,
        type=type_,
        owner=owner,
        due_at=parse_time(due, field="due"),
        priority=priority,
        ticket_url=ticket,
        actor=sh.actor,
    )
    sh.out(
        item.to_dict(),
        lambda: console.print(
            f"{item.ref} ({item.type.value}, {item.priority}) {item.title}", highlight=False
        ),
    )


@action_app.command("update")
@handle_errors
def action_update(
    ref: Annotated[str, typer.Argument(help="Action item, e.g. AI-3.")],
    status: Annotated[str | None, typer.Option(help="open, in_progress, done, cancelled.")] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    due: Annotated[str | None, typer.Option(help="ISO-8601.")] = None,
    priority: Annotated[str | None, typer.Option()] = None,
    ticket: Annotated[str | None, typer.Option()] = None,
    title: Annotated[str | None, typer.Option()] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change an action item (status, owner, due date, priority, ticket, title)."""
    sh = Shell(db, as_, json_)
    item = actions.update(
        sh.db,
        ref,
        status=status,
        owner=owner,
        due_at=parse_time(due, field="due"),
        priority=priority,
        ticket_url=ticket,
        title=title,
        actor=sh.actor,
    )
    sh.out(
        item.to_dict(),
        lambda: console.print(f"{item.ref} [{item.status.value}] {item.title}", highlight=False),
    )


@handle_errors
def actions_cmd(
    all_: Annotated[bool, typer.Option("--all", help="Include done and cancelled.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue items.")] = False,
    incident: Annotated[str | None, typer.Option(help="Only this incident's items.")] = None,
    format_: Annotated[str, typer.Option("--format", help="text, csv or json.")] = "text",
    output: OutputOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Open and overdue action items across all incidents; export CSV/JSON for import."""
    sh = Shell(db, None, json_)
    now = utcnow()
    items = actions.list_items(
        sh.read_db, incident=incident, open_only=not all_, overdue_only=overdue, now=now
    )
    fmt = "json" if json_ else format_.lower()
    if fmt == "json":
        _write(actions.export_json(items, now), output)
        return
    if fmt == "csv":
        _write(actions.export_csv(items, now), output)
        return
    if fmt != "text":
        raise InvalidInput(f"unknown format {format_!r}: use text, csv or json", field="format")
    if not items:
        console.print("No open action items.")
        return
    table = Table(box=None, header_style="bold")
    for col in ("id", "incident", "type", "prio", "status", "owner", "due", "title"):
        table.add_column(col)
    for i in items:
        due_text = f"{i.due_at:%Y-%m-%d}" if i.due_at else "--"
        table.add_row(
            i.ref,
            i.incident_key,
            i.type.value,
            i.priority,
            i.status.value,
            i.owner or "[bold red]none[/]",
            f"[bold red]{due_text} OVERDUE[/]" if i.is_overdue(now) else due_text,
            i.title,
        )
    console.print(table)


@handle_errors
def recurrence_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    all_: Annotated[
        bool, typer.Option("--all", help="Compare with every closed incident, not the latest.")
    ] = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Does this incident repeat a past one? Records it and escalates open action items."""
    sh = Shell(db, as_, json_)
    matches = recurrence.check(sh.db, key, actor=sh.actor, everything=all_)

    def render() -> None:
        if not matches:
            console.print(f"{key.upper()} does not look like a past incident.")
        for m in matches:
            console.print(
                f"[bold yellow]{key.upper()} {m.message}[/] (similarity {m.score:.2f})",
                highlight=False,
            )
            for r in m.reasons:
                console.print(f"  - {r}", highlight=False)

    sh.out([m.to_dict() for m in matches], render)


@handle_errors
def report_cmd(
    since: Annotated[str, typer.Option(help="Period: 90d, 12w, 6m or an ISO date.")] = "90d",
    until: Annotated[str | None, typer.Option(help="End (ISO-8601; default now).")] = None,
    format_: Annotated[str, typer.Option("--format", help="text, markdown, html or json.")] = (
        "text"
    ),
    output: OutputOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Counts, MTTD/MTTA/MTTC/MTTR (median, p90), punctuality, action items, recurrences."""
    sh = Shell(db, None, json_)
    rep = reports.build(
        sh.read_db, since=reports.parse_since(since), until=parse_time(until, field="until")
    )
    fmt = "json" if json_ else format_.lower()
    if fmt == "json":
        _write(json.dumps(rep.to_dict(), indent=2) + "\n", output)
    elif fmt in ("markdown", "md", "text"):
        _write(reports.render_markdown(rep), output)
    elif fmt == "html":
        _write(reports.render_html(rep), output)
    else:
        raise InvalidInput(
            f"unknown format {format_!r}: use text, markdown, html or json", field="format"
        )


def register(app: typer.Typer) -> None:
    app.command("rootcause")(rootcause_cmd)
    app.command("postmortem")(postmortem_cmd)
    app.command("postmortem-edit")(postmortem_edit_cmd)
    app.command("postmortem-status")(postmortem_status_cmd)
    app.command("postmortems")(postmortems_cmd)
    app.add_typer(action_app, name="action")
    app.command("actions")(actions_cmd)
    app.command("recurrence")(recurrence_cmd)
    app.command("report")(report_cmd)
