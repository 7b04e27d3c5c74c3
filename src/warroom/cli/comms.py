"""CLI of the comms area: update, updates, heartbeat, reminders, worker, service, maintenance,
outbox."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from warroom.cli import hints
from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, handle_errors
from warroom.comms import catalog, heartbeat, notify, statuspage, updates
from warroom.comms.config import CommsConfig
from warroom.core.clock import parse_time
from warroom.core.errors import InvalidInput
from warroom.core.worker import worker_name

service_app = typer.Typer(
    help="Service catalog: add, list, import YAML, mark affected, show impact.",
    no_args_is_help=True,
)
maintenance_app = typer.Typer(
    help="Scheduled maintenance on the status page.", no_args_is_help=True
)
outbox_app = typer.Typer(
    help="Notification delivery: list the outbox, retry a row.",
    invoke_without_command=True,
)

BEAT_STYLE = {
    "none": "dim",
    "ok": "green",
    "due": "bold yellow",
    "overdue": "bold red",
    "escalated": "bold white on red",
}


@handle_errors
def update_cmd(
    key: Annotated[str, typer.Argument(help="Incident key, e.g. INC-7.")],
    audience: Annotated[
        str, typer.Option("--audience", "-a", help="internal, stakeholder or public.")
    ] = "stakeholder",
    kind: Annotated[
        str,
        typer.Option(help="initial, progress, eta, resolution or followup (the template)."),
    ] = "progress",
    conditions: Annotated[
        str, typer.Option("--conditions", "-c", help="What is happening / who is affected.")
    ] = "",
    actions: Annotated[str, typer.Option(help="What we are doing.")] = "",
    needs: Annotated[str, typer.Option(help="What we need (decisions, people, access).")] = "",
    impact: Annotated[
        str | None,
        typer.Option("--impact", help="Business impact line (default: the incident's)."),
    ] = None,
    prevention: Annotated[str, typer.Option(help="Prevention recommendations (follow-up).")] = "",
    headline: Annotated[
        str, typer.Option(help="Public headline (public updates; the title stays internal).")
    ] = "",
    eta: Annotated[str | None, typer.Option(help="Expected resolution time, ISO-8601.")] = None,
    next_update: Annotated[
        str | None, typer.Option("--next-update", help="Time of the next update, ISO-8601.")
    ] = None,
    next_in: Annotated[
        int | None, typer.Option("--next-in", help="Minutes until the next update.")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            help="Component state for the status page (public): operational, "
            "degraded_performance, partial_outage, major_outage, under_maintenance.",
        ),
    ] = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Post a status update (internal, stakeholder or public); it resets the heartbeat."""
    sh = Shell(db, as_, json_)
    u = updates.post_update(
        sh.db,
        key,
        audience=audience,
        kind=kind,
        actor=sh.actor,
        conditions=conditions,
        actions=actions,
        needs=needs,
        business_impact=impact,
        prevention=prevention,
        headline=headline,
        eta=parse_time(eta, field="eta"),
        next_update_at=parse_time(next_update, field="next_update"),
        next_update_minutes=next_in,
        component_state=state,
        config=CommsConfig.from_settings(sh.settings),
    )
    sh.out(u.to_dict(), lambda: _show_update(u, header=True))


def _show_update(u: updates.StatusUpdate, *, header: bool) -> None:
    if header:
        console.print(f"[bold]{u.incident}[/] update #{u.number} ({u.kind_label}) to {u.audience}:")
    else:
        console.print(
            f"[bold]#{u.number}[/] {u.posted_at:%Y-%m-%d %H:%M}Z {u.audience} "
            f"{u.kind_label} by {u.author}",
            highlight=False,
        )
    console.print(u.text, highlight=False)


@handle_errors
def updates_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    audience: Annotated[str | None, typer.Option("--audience", "-a")] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List an incident's status updates."""
    sh = Shell(db, json_=json_)
    items = updates.list_updates(sh.read_db, key, audience=audience)
    sh.out([u.to_dict() for u in items], lambda: _show_updates(items))


def _show_updates(items: list[updates.StatusUpdate]) -> None:
    for u in items:
        _show_update(u, header=False)
        console.print()


@handle_errors
def heartbeat_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """When the next update is due, and how punctual the updates have been."""
    sh = Shell(db, json_=json_)
    cfg = CommsConfig.from_settings(sh.settings)
    beat = heartbeat.heartbeat(sh.db, key, config=cfg)
    punct = heartbeat.punctuality(sh.db, key, config=cfg)
    sh.out(
        {"heartbeat": beat.to_dict(), "punctuality": punct.to_dict()},
        lambda: _show_beat(beat, punct),
    )


def _show_beat(beat: heartbeat.Heartbeat, punct: heartbeat.Punctuality) -> None:
    style = BEAT_STYLE[beat.state.value]
    console.print(f"[{style}]{beat.state.value.upper()}[/] {beat.text}", highlight=False)
    console.print(
        f"{punct.updates} updates, longest silence {punct.longest_silence_minutes:.0f} min, "
        f"overdue {punct.overdue_count} times, {punct.reminders_sent} reminders sent"
    )


@handle_errors
def reminders_cmd(
    send: Annotated[
        bool, typer.Option("--send", help="Also record and queue the ones not sent yet.")
    ] = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """What is due or overdue now: updates, missing commanders and severities, stale tasks."""
    sh = Shell(db, json_=json_)
    cfg = CommsConfig.from_settings(sh.settings)
    if send:
        heartbeat.send_reminders(sh.db, config=cfg, worker=worker_name())
    items = heartbeat.due_reminders(sh.db, config=cfg)
    sh.out([r.to_dict() for r in items], lambda: _show_reminders(items))


def _show_reminders(items: list[heartbeat.Reminder]) -> None:
    if not items:
        console.print("Nothing due: every open incident is on cadence.")
        return
    table = Table("incident", "kind", "sent", "message", "next", show_lines=False)
    for r in items:
        style = "yellow" if r.kind is heartbeat.ReminderKind.UPDATE_DUE else "red"
        table.add_row(
            r.incident,
            f"[{style}]{r.kind.value}[/]",
            "yes" if r.sent else ("-" if not r.sendable else "no"),
            r.message,
            escape(hints.command(r.hint)) if r.hint else "",
        )
    console.print(table)


# --- services ---------------------------------------------------------------------------------


@service_app.command("add")
@handle_errors
def service_add(
    name: Annotated[str, typer.Argument(help="Service name, e.g. checkout-api.")],
    owner: Annotated[str, typer.Option(help="Owning team or person.")] = "",
    tier: Annotated[int, typer.Option(help="1 (most critical) to 3.")] = 2,
    depends_on: Annotated[
        list[str] | None, typer.Option("--depends-on", "-d", help="A service it needs (repeat).")
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Show it as a component on the status page.")
    ] = False,
    display_name: Annotated[str | None, typer.Option(help="Name shown to people.")] = None,
    description: Annotated[str, typer.Option(help="One line about it.")] = "",
    contact: Annotated[
        str, typer.Option(help="Apprise URL of the owners (told about its incidents).")
    ] = "",
    replace: Annotated[bool, typer.Option("--replace", help="Update it if it exists.")] = False,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a service to the catalog."""
    sh = Shell(db, json_=json_)
    s = catalog.add_service(
        sh.db,
        name=name,
        owner=owner,
        tier=tier,
        depends_on=depends_on or [],
        public=public,
        display_name=display_name,
        description=description,
        contact=contact,
        replace=replace,
    )
    sh.out(
        s.to_dict(),
        lambda: console.print(f"service {s.name} (tier {s.tier}, owner {s.owner or 'none'}) saved"),
    )


@service_app.command("list")
@handle_errors
def service_list(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """The catalog."""
    sh = Shell(db, json_=json_)
    items = catalog.list_services(sh.db)
    sh.out([s.to_dict() for s in items], lambda: _services_table(items))


def _services_table(items: list[catalog.Service]) -> None:
    table = Table("name", "tier", "owner", "depends on", "status page")
    for s in items:
        table.add_row(
            s.name, str(s.tier), s.owner, ", ".join(s.depends_on), "yes" if s.public else ""
        )
    console.print(table)


@service_app.command("import")
@handle_errors
def service_import(
    file: Annotated[str, typer.Argument(help="YAML file (a list or `services:` list).")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Import or update services from YAML."""
    sh = Shell(db, json_=json_)
    items = catalog.import_yaml(sh.db, file)
    sh.out([s.to_dict() for s in items], lambda: console.print(f"{len(items)} services imported"))


@service_app.command("affect")
@handle_errors
def service_affect(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    names: Annotated[list[str], typer.Argument(help="Affected services.")],
    db: DbOpt = None,
    as_: AsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Mark services as affected by an incident."""
    sh = Shell(db, as_, json_)
    catalog.affect(sh.db, key, names=names, actor=sh.actor)
    _print_impact(sh, key)


@service_app.command("impact")
@handle_errors
def service_impact(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Affected services and the services downstream of them."""
    _print_impact(Shell(db, json_=json_), key)


def _print_impact(sh: Shell, key: str) -> None:
    imp = catalog.impact(sh.db, key)

    def show() -> None:
        console.print("affected: " + (", ".join(s.name for s in imp.affected) or "none"))
        console.print("downstream: " + (", ".join(s.name for s in imp.downstream) or "none"))

    sh.out(imp.to_dict(), show)


# --- maintenance ------------------------------------------------------------------------------


@maintenance_app.command("add")
@handle_errors
def maintenance_add(
    title: Annotated[str, typer.Option(help="Public title.")],
    start: Annotated[str, typer.Option(help="Start, ISO-8601.")],
    end: Annotated[str, typer.Option(help="End, ISO-8601.")],
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Component affected (repeat).")
    ] = None,
    description: Annotated[str, typer.Option(help="Public description.")] = "",
    db: DbOpt = None,
    as_: AsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Schedule maintenance for the status page."""
    sh = Shell(db, as_, json_)
    starts, ends = parse_time(start, field="start"), parse_time(end, field="end")
    if starts is None or ends is None:
        raise InvalidInput("give --start and --end", field="start")
    m = statuspage.add_maintenance(
        sh.db,
        title=title,
        starts_at=starts,
        ends_at=ends,
        actor=sh.actor,
        description=description,
        services=service or [],
    )
    sh.out(m.to_dict(), lambda: console.print(f"maintenance #{m.id} scheduled: {m.title}"))


@maintenance_app.command("list")
@handle_errors
def maintenance_list(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Upcoming and current maintenance."""
    sh = Shell(db, json_=json_)
    page = statuspage.build(sh.db)
    sh.out([m.to_dict() for m in page.maintenance], lambda: _show_maintenance(page))


def _show_maintenance(page: statuspage.StatusPage) -> None:
    for m in page.maintenance:
        now = " (in progress)" if m.in_progress else ""
        console.print(f"#{m.id} {m.starts_at:%Y-%m-%d %H:%M}-{m.ends_at:%H:%M}Z {m.title}{now}")


# --- outbox -----------------------------------------------------------------------------------


@outbox_app.callback()
@handle_errors
def outbox_list(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Option("--incident", "-i", help="Only this incident.")] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Notifications and their delivery state (pending, sending, sent, failed)."""
    if ctx.invoked_subcommand is not None:
        return
    sh = Shell(db, json_=json_)
    items = notify.deliveries(sh.db, key)
    sh.out([i.to_dict() for i in items], lambda: _outbox_table(items))


def _outbox_table(items: list[notify.OutboxItem]) -> None:
    table = Table("id", "incident", "channel", "status", "attempts", "last error")
    for i in items:
        table.add_row(
            str(i.id), i.incident or "", i.channel, i.status, str(i.attempts), i.last_error[:80]
        )
    console.print(table)


@outbox_app.command("retry")
@handle_errors
def outbox_retry(
    row_id: Annotated[int, typer.Argument(help="Outbox row id (warroom outbox lists them).")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Retry a failed or waiting notification now."""
    sh = Shell(db, json_=json_)
    notify.retry_now(sh.db, row_id)
    sh.out({"retried": row_id}, lambda: console.print(f"outbox row {row_id} queued again"))


def register(app: typer.Typer) -> None:
    app.command("update")(update_cmd)
    app.command("updates")(updates_cmd)
    app.command("heartbeat")(heartbeat_cmd)
    app.command("reminders")(reminders_cmd)
    app.add_typer(service_app, name="service")
    app.add_typer(maintenance_app, name="maintenance")
    app.add_typer(outbox_app, name="outbox")
