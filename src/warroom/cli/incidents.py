"""CLI of the incidents core: declare, list, show, stage, severity, role, note, timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from warroom import incidents
from warroom.cli import hints
from warroom.cli.common import (
    AsOpt,
    DbOpt,
    JsonOpt,
    Shell,
    console,
    emit_json,
    handle_errors,
    read_bytes,
)
from warroom.cli.tasks import print_task
from warroom.comms import catalog
from warroom.core import severity
from warroom.core.clock import ago, parse_time
from warroom.core.errors import Hint, InvalidInput
from warroom.incidents import artifacts, desk, listing, timeline
from warroom.security import clocks

app = typer.Typer()  # the commands below are added to the main app by `register`

SEV_STYLE = {"P0": "bold white on red", "P1": "bold red", "P2": "yellow", "P3": "cyan", "P4": "dim"}


def _sev(value: str | None) -> str:
    if not value:
        return "[dim]--[/]"
    return f"[{SEV_STYLE.get(value, '')}] {value} [/]"


def _print_nags(key: str, nags: list[incidents.Nag]) -> None:
    """`! INC-7: NO COMMANDER on a P1: name one now (warroom role INC-7 commander NAME)`."""
    for n in nags:
        step = f" ({hints.command(n.hint)})" if n.hint else ""
        console.print(f"[bold red]! {key}: {escape(n.text + step)}[/]", highlight=False)


def _print_warnings(inc: incidents.Incident) -> None:
    _print_nags(inc.key, inc.nags)


# --- declare / list / show -------------------------------------------------------------------


@app.command()
@handle_errors
def declare(
    title: Annotated[str, typer.Argument(help="Short title: what is broken, for whom.")],
    severity_: Annotated[
        str | None, typer.Option("--severity", "-s", help="P0-P4 (see `warroom severity`).")
    ] = None,
    description: Annotated[str, typer.Option(help="Problem description.")] = "",
    started: Annotated[
        str | None,
        typer.Option(help="When the impact started (ISO-8601; may be before detection)."),
    ] = None,
    impact: Annotated[str, typer.Option(help="Who and what is affected.")] = "",
    business_impact: Annotated[str, typer.Option(help="Business impact (money, users).")] = "",
    errors_seen: Annotated[str, typer.Option("--errors", help="Error messages seen.")] = "",
    changes: Annotated[str, typer.Option(help="Recent changes suspected.")] = "",
    reporter: Annotated[str | None, typer.Option(help="Who reported it.")] = None,
    contact: Annotated[str, typer.Option(help="How to reach the reporter.")] = "",
    security: Annotated[bool, typer.Option("--security", help="A security incident.")] = False,
    commander: Annotated[str | None, typer.Option(help="Incident commander.")] = None,
    type_: Annotated[
        str | None,
        typer.Option("--type", help="availability, performance, security, data_loss, ..."),
    ] = None,
    private: Annotated[
        bool | None,
        typer.Option("--private/--internal", help="Only participants and admins see it."),
    ] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Declare an incident (the intake questions of the method)."""
    sh = Shell(db, as_, json_)
    inc = incidents.declare(
        sh.db,
        title=title,
        actor=sh.actor,
        description=description,
        started_at=parse_time(started, field="started_at"),
        severity=severity_,
        impact_scope=impact,
        business_impact=business_impact,
        error_messages=errors_seen,
        suspected_changes=changes,
        reporter=reporter,
        reporter_contact=contact,
        security=security,
        commander=commander,
        type=type_,
        private=private,
        settings=sh.settings,
    )

    def render() -> None:
        sev = inc.severity.value if inc.severity else None
        console.print(f"Declared [bold]{inc.key}[/] {_sev(sev)} {escape(inc.title)}")
        if inc.private:
            console.print(f"Private {inc.type} incident: only its participants and admins see it")
        console.print(f"Next: {inc.next_step}")
        _print_warnings(inc)

    sh.out(inc.to_dict(), render)


@app.command("list")
@handle_errors
def list_(
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    severity_: Annotated[
        str, typer.Option("--severity", help="P0-P4 or none, comma-separated.")
    ] = "",
    stage: Annotated[str, typer.Option(help="One stage (detected ... closed).")] = "",
    service: Annotated[str, typer.Option(help="A service the incident affects.")] = "",
    search: Annotated[str, typer.Option("--search", "-q", help="Words in the title.")] = "",
    since: Annotated[str, typer.Option(help="Started at or after (ISO-8601).")] = "",
    until: Annotated[str, typer.Option(help="Started before (ISO-8601).")] = "",
    type_: Annotated[str, typer.Option("--type", help="real, drill or security.")] = "",
    limit: Annotated[int, typer.Option(help="Closed incidents per page.")] = (
        listing.DEFAULT_LIMIT
    ),
    cursor: Annotated[str, typer.Option(help="The next page, as the last one said.")] = "",
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Open incidents in priority order (by severity, factors, then age), then the most
    recently closed ones a page at a time, with the next status update due and postmortem
    state."""
    sh = Shell(db, json_=json_)
    filters = listing.Filters.from_text(
        severity=severity_,
        stage=stage,
        q=search,
        since=since,
        until=until,
        type=type_,
        open_only=open_only,
        where=(catalog.affecting(service),) if service.strip() else (),
    )
    shown = desk.page(sh.read_db, settings=sh.settings, filters=filters, cursor=cursor, limit=limit)
    notices = desk.notices(sh.read_db, settings=sh.settings)

    def render() -> None:
        _print_list(shown.entries)
        if shown.next_cursor:
            console.print(f"[dim]More closed incidents: add --cursor {shown.next_cursor}[/]")
        _print_nags("notice", notices)

    sh.out([e.to_dict() for e in shown.entries], render)


def _print_list(entries: list[desk.Entry]) -> None:
    if not entries:
        console.print("No incidents. Declare one with `warroom declare TITLE --severity P1`.")
        return
    table = Table(box=None, header_style="bold")
    for col in ("key", "sev", "stage", "commander", "age", "next update", "postmortem", "title"):
        table.add_column(col)
    for e in entries:
        i = e.incident
        beat = ""
        hb = e.columns.get("heartbeat")
        if hb is not None and hb.due_at is not None:
            style = {"due": "yellow", "overdue": "bold red", "escalated": "bold red"}.get(
                hb.state.value, ""
            )
            beat = (
                f"[{style}]{hb.state.value} {hb.due_at:%H:%M}[/]" if style else f"{hb.due_at:%H:%M}"
            )
        pm = ""
        if e.columns.get("postmortem"):
            post = e.columns["postmortem"]
            pm = ("[bold red]OVERDUE[/] " if post["overdue"] else "") + post["status"]
        table.add_row(
            i.key,
            _sev(i.severity.value if i.severity else None),
            i.stage.value,
            escape(i.commander) if i.commander else ("[bold red]NONE[/]" if i.is_open else "-"),
            ago(i.started_at),
            beat,
            pm,
            escape(i.title) + (" [dim](drill)[/]" if i.drill else ""),
            style=None if i.is_open else "dim",
        )
    console.print(table)
    for e in entries:
        _print_nags(e.incident.key, e.all_nags())


@app.command()
@handle_errors
def show(
    key: Annotated[str, typer.Argument(help="Incident key, e.g. INC-7.")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """One incident: summary, stage and next step, roles, tasks, recent timeline."""
    sh = Shell(db, json_=json_)
    inc = incidents.get(sh.read_db, key)
    # A clock the incident's type expects but that is not running (the desk says it too).
    gap = clocks.gaps(sh.read_db, [inc], sh.settings).get(inc.id)
    out = inc.to_dict() | {"clock_warnings": [gap.to_dict()] if gap else []}

    def render() -> None:
        events = timeline.window(sh.read_db, inc.key, latest=True, limit=10).events
        _print_incident(inc, events)
        if gap:
            _print_nags(inc.key, [gap])

    sh.out(out, render)


def _print_incident(inc: incidents.Incident, events: list[timeline.Event]) -> None:
    sev = _sev(inc.severity.value if inc.severity else None)
    console.print(f"[bold]{inc.key}[/] {sev} {escape(inc.title)}", highlight=False)
    bar = "  ".join(
        (
            f"[bold reverse] {s.label} [/]"
            if s is inc.stage
            else f"[green]{s.label}[/]"
            if s.index < inc.stage.index and s.value not in inc.skipped_stages
            else f"[dim]{s.label}[/]"
        )
        for s in incidents.Stage
    )
    console.print(bar)
    console.print(f"Next: {inc.next_step}")
    console.print(
        f"Started {inc.started_at:%Y-%m-%d %H:%M} UTC ({ago(inc.started_at)} ago), "
        f"detected {inc.detected_at:%H:%M} UTC"
    )
    if inc.impact_scope or inc.business_impact:
        console.print(escape(f"Impact: {inc.impact_scope} {inc.business_impact}".strip()))
    roles = ", ".join(f"{r.replace('_', ' ')}: {p}" for r, p in inc.roles.items())
    participants = f"; participants: {', '.join(inc.participants)}" if inc.participants else ""
    console.print(escape(f"Roles: {roles or 'none'}{participants}"), highlight=False)
    for t in inc.tasks:
        print_task(t, indent="  ")
    if events:
        console.print("[bold]Recent timeline[/]")
        for e in events:
            console.print(
                escape(f"  #{e.seq} {e.at:%H:%M:%S} {e.actor}: {e.summary()}"), highlight=False
            )
    _print_warnings(inc)


# --- stage / severity / roles / tasks / notes ------------------------------------------------


@app.command()
@handle_errors
def stage(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    to: Annotated[
        str | None,
        typer.Argument(help="contained, root_caused, fixed, verified or closed."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Why (required to reopen or to override verification).")
    ] = None,
    reopen: Annotated[bool, typer.Option("--reopen", help="Reopen a resolved incident.")] = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Move an incident forward through detected -> contained -> ... -> closed."""
    sh = Shell(db, as_, json_)
    if reopen:
        if not reason:
            raise InvalidInput(
                "reopening needs --reason: what came back?",
                field="reason",
                hint=Hint("reopen", "say what came back", incident=key.upper()),
            )
        inc = incidents.reopen(sh.db, key, actor=sh.actor, reason=reason)
    else:
        if not to:
            raise InvalidInput(
                "give the stage to move to (contained, root_caused, fixed, verified, closed) "
                "or --reopen",
                field="to",
            )
        inc = incidents.move(sh.db, key, to=to, actor=sh.actor, reason=reason)

    def render() -> None:
        skipped = f" (skipped: {', '.join(inc.skipped_stages)})" if inc.skipped_stages else ""
        console.print(
            f"{inc.key} is now [bold]{inc.stage.value}[/]{skipped}. Next: {inc.next_step}"
        )
        _print_warnings(inc)

    sh.out(inc.to_dict(), render)


@app.command("severity")
@handle_errors
def severity_cmd(
    key: Annotated[
        str | None,
        typer.Argument(help="Incident key (INC-7), or `suggest` to propose a severity."),
    ] = None,
    level: Annotated[str | None, typer.Argument(help="P0-P4.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why it changed.")] = None,
    business_impact: Annotated[
        str, typer.Option(help="[suggest] none, low, medium, high, critical (key flow down).")
    ] = "low",
    users: Annotated[
        str, typer.Option(help="[suggest] affected users: none, few, some, many, most.")
    ] = "few",
    data_loss: Annotated[
        str, typer.Option(help="[suggest] data-loss risk: none, possible, confirmed.")
    ] = "none",
    security_: Annotated[
        str,
        typer.Option(
            "--security", help="[suggest] security implication: none, possible, confirmed."
        ),
    ] = "none",
    workaround: Annotated[
        bool,
        typer.Option("--workaround/--no-workaround", help="[suggest] is a workaround available?"),
    ] = False,
    complexity: Annotated[
        str, typer.Option(help="[suggest] recovery complexity: low, medium, high.")
    ] = "low",
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Severity: definitions (no arguments), set one (`INC-7 P1`), or `suggest` one from the
    six prioritisation factors."""
    sh = Shell(db, as_, json_)
    if key is None:
        definitions = {k.value: v for k, v in severity.DEFINITIONS.items()}
        sh.out(definitions, _print_definitions)
        return
    if key.lower() == "suggest":
        factors = {
            "business_impact": business_impact,
            "affected_users": users,
            "data_loss_risk": data_loss,
            "security": security_,
            "workaround": workaround,
            "recovery_complexity": complexity,
        }
        result = severity.suggest(severity.Factors.from_dict(factors))
        sh.out(result.to_dict(), lambda: _print_suggestion(result))
        return
    if level is None:
        raise InvalidInput("give the new severity: warroom severity INC-7 P1", field="severity")
    inc = incidents.set_severity(sh.db, key, severity=level, actor=sh.actor, reason=reason)

    def render() -> None:
        console.print(f"{inc.key} is now {_sev(inc.severity.value if inc.severity else None)}")
        _print_warnings(inc)

    sh.out(inc.to_dict(), render)


def _print_definitions() -> None:
    for sev, text in severity.DEFINITIONS.items():
        console.print(f"{_sev(sev.value)} {text}", highlight=False)


def _print_suggestion(result: severity.Suggestion) -> None:
    console.print(
        f"Suggested {_sev(result.severity.value)} decided by [bold]{result.deciding_factor}[/]",
        highlight=False,
    )
    console.print(result.reason, highlight=False)
    console.print(f"[dim]{severity.DEFINITIONS[result.severity]}[/]", highlight=False)
    for line in result.considered:
        console.print(f"  - {line}", highlight=False)


@app.command()
@handle_errors
def role(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    role_: Annotated[
        str,
        typer.Argument(
            metavar="ROLE",
            help="commander, ops_lead, comms_lead, scribe, liaison or participant.",
        ),
    ],
    person: Annotated[str, typer.Argument(help="Who takes the role.")],
    remove: Annotated[bool, typer.Option("--remove", help="Take the role back.")] = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Assign a role; naming a new commander hands command over (one at a time)."""
    sh = Shell(db, as_, json_)
    if remove:
        inc = incidents.remove_role(sh.db, key, role=role_, person=person, actor=sh.actor)
    else:
        inc = incidents.assign_role(sh.db, key, role=role_, person=person, actor=sh.actor)

    def render() -> None:
        roles = ", ".join(f"{r.replace('_', ' ')}: {p}" for r, p in inc.roles.items())
        console.print(f"{inc.key} roles: {roles or 'none'}", highlight=False)
        _print_warnings(inc)

    sh.out(inc.to_dict(), render)


@app.command()
@handle_errors
def note(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    text: Annotated[str | None, typer.Argument(help="The note.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Attach a file to the incident.")
    ] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write a note on the timeline, or attach a file (--file) as an artifact."""
    sh = Shell(db, as_, json_)
    if file is not None:
        content = read_bytes(file)
        art = artifacts.attach(
            sh.db,
            key,
            actor=sh.actor,
            kind="attachment",
            name=file.name,
            content=content,
            summary=text or "",
            settings=sh.settings,
        )
        sh.out(
            art.to_dict(),
            lambda: console.print(
                escape(
                    f"Attached {art.name} ({art.size:,} bytes, sha256 {art.sha256[:12]})"
                    + (f"; {art.redacted} secret(s) redacted" if art.redacted else "")
                ),
                highlight=False,
            ),
        )
        return
    if text is None:
        raise InvalidInput("give the note text, or --file PATH to attach a file", field="text")
    seq = incidents.add_note(sh.db, key, text=text, actor=sh.actor)
    redacted = timeline.redacted_in(sh.db, key, seq)
    said = f" {redacted} secret(s) redacted: the note shows [REDACTED] where." if redacted else ""
    sh.out(
        {"incident": f"INC-{incidents.parse_key(key)}", "seq": seq, "redacted": redacted},
        lambda: console.print(f"Noted as #{seq}.{said}"),
    )


@app.command("timeline")
@handle_errors
def timeline_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    format_: Annotated[str, typer.Option("--format", help="text, json or markdown.")] = "text",
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The incident's timeline, every event in order; export as JSON or Markdown."""
    sh = Shell(db, json_=json_)
    events = timeline.read(sh.read_db, key)
    fmt = "json" if sh.json else format_.lower()
    if fmt == "json":
        emit_json([e.to_dict() for e in events])
    elif fmt in ("markdown", "md"):
        inc = incidents.get(sh.read_db, key)
        typer.echo(timeline.markdown(inc.key, inc.title, inc.severity, inc.stage, events))
    elif fmt == "text":
        for e in events:
            console.print(
                f"#{e.seq:<4} {e.at:%Y-%m-%d %H:%M:%S}Z  {e.actor:<12} {e.kind:<24} {e.summary()}",
                highlight=False,
            )
    else:
        raise InvalidInput(
            f"unknown format {format_!r}: use text, json or markdown", field="format"
        )


def register(main: typer.Typer) -> None:
    for command in app.registered_commands:
        main.registered_commands.append(command)
