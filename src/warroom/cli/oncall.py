"""CLI of the on-call area: who, import/export, schedules and overrides, people and contacts,
policies and paging routes, acknowledging a page, calendar links."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, handle_errors
from warroom.core.clock import parse_time, utcnow
from warroom.oncall import acks, documents, links, pager, people, policies, schedules
from warroom.oncall.config import OncallConfig

oncall_app = typer.Typer(
    help="On call: who is on call, schedules, overrides, people, policies, acknowledging.",
    no_args_is_help=True,
)
override_app = typer.Typer(help="Cover someone's shift: add, remove.", no_args_is_help=True)
person_app = typer.Typer(help="People who can be paged: add, list.", no_args_is_help=True)
contact_app = typer.Typer(help="A person's contact methods: add, remove.", no_args_is_help=True)
oncall_app.add_typer(override_app, name="override")
oncall_app.add_typer(person_app, name="person")
oncall_app.add_typer(contact_app, name="contact")


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "--"


@oncall_app.command("who")
@handle_errors
def who_cmd(
    at: Annotated[str | None, typer.Option("--at", help="ISO-8601 time (default: now).")] = None,
    schedule: Annotated[str | None, typer.Option("--schedule", "-s", help="One schedule.")] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Who is on call now (or --at a time): until when, who is next, and the gaps."""
    sh = Shell(db, json_=json_)
    found = schedules.who(sh.db, at=parse_time(at, field="at"), schedule=schedule)

    def render() -> None:
        if not found:
            console.print("No on-call schedules yet: import a YAML document (see docs/oncall.md).")
            return
        table = Table(box=None, header_style="bold")
        for col in ("schedule", "on call", "until", "next", "zone"):
            table.add_column(col)
        for n in found:
            nxt = f"{n.next.person or 'nobody'} from {_when(n.next.start)}" if n.next else "--"
            person = escape(n.current.person) if n.current.person else "[bold red]NOBODY[/]"
            table.add_row(n.schedule, person, _when(n.until), escape(nxt), n.timezone)
        console.print(table)
        for n in found:
            if n.warning:
                console.print(f"[bold red]! {escape(n.warning)}[/]", highlight=False)

    sh.out([n.to_dict() for n in found], render)


@oncall_app.command("show")
@handle_errors
def show_cmd(
    schedule: Annotated[str, typer.Argument(help="Schedule name.")],
    days: Annotated[int, typer.Option(help="How many days ahead.", min=1, max=62)] = 7,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """A schedule's layers, overrides and who is on call for the coming days."""
    sh = Shell(db, json_=json_)
    s = schedules.get_schedule(sh.db, schedule)
    now = utcnow()
    segs = s.segments(now, now + timedelta(days=days))
    data = {**s.to_dict(), "overrides": [o.to_dict() for o in s.overrides]}
    data["segments"] = [g.to_dict() for g in segs]

    def render() -> None:
        console.print(f"[bold]{s.name}[/] ({s.timezone})")
        for g in segs:
            who = escape(g.person) if g.person else "[bold red]nobody[/]"
            console.print(
                f"  {_when(g.start)} -> {_when(g.end)}  {who}  [dim]{escape(g.source)}[/]"
            )
        for o in s.overrides:
            console.print(
                f"  override {o.id}: {escape(o.person)} {_when(o.starts_at)} -> "
                f"{_when(o.ends_at)} {escape(o.reason)}",
                highlight=False,
            )

    sh.out(data, render)


@oncall_app.command("import")
@handle_errors
def import_cmd(
    path: Annotated[str, typer.Argument(help="YAML file: people, schedules, policies, paging.")],
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Load an on-call YAML document (all or nothing); names already there are replaced."""
    sh = Shell(db, as_, json_)
    counts = documents.import_text(sh.db, documents.read_text(path), actor=sh.actor)
    sh.out(counts, lambda: console.print(", ".join(f"{v} {k}" for k, v in counts.items())))


@oncall_app.command("export")
@handle_errors
def export_cmd(
    secrets: Annotated[
        bool, typer.Option("--secrets", help="Include people and their contact URLs.")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Print everything as one YAML document (people only with --secrets)."""
    sh = Shell(db)
    console.print(documents.to_yaml(documents.export(sh.db, secrets=secrets)), highlight=False)


@oncall_app.command("policies")
@handle_errors
def policies_cmd(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Escalation policies and the services (and severities) they page for."""
    sh = Shell(db, json_=json_)
    pols, routes = policies.list_policies(sh.db), policies.list_routes(sh.db)

    def render() -> None:
        for p in pols:
            levels = " -> ".join(
                "+".join(f"{t.kind} {t.name}" for t in lv.targets) + f" ({lv.timeout})"
                for lv in p.levels
            )
            console.print(f"[bold]{p.name}[/] repeat {p.repeat}: {escape(levels)}")
        for r in routes:
            sevs = ",".join(s.value for s in r.severities)
            console.print(f"  {r.service} {sevs} -> {r.policy} ({r.urgency.value} urgency)")

    sh.out(
        {"policies": [p.to_dict() for p in pols], "paging": [r.to_dict() for r in routes]}, render
    )


@oncall_app.command("ack")
@handle_errors
def ack_cmd(
    key: Annotated[str, typer.Argument(help="Incident key, e.g. INC-7.")],
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Acknowledge the page for an incident: escalation stops."""
    sh = Shell(db, as_, json_)
    ack = acks.acknowledge(sh.db, key, actor=sh.actor, via="cli")
    sh.out(ack.to_dict(), lambda: console.print(f"{ack.incident} acknowledged by {ack.person}"))


@oncall_app.command("pages")
@handle_errors
def pages_cmd(
    key: Annotated[str, typer.Argument(help="Incident key.")],
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Where paging for an incident stands: each policy, its level, who acknowledged."""
    sh = Shell(db, json_=json_)
    found = pager.pagers(sh.db, key)

    def render() -> None:
        if not found:
            console.print("Nobody was paged for this incident.")
        for p in found:
            by = (
                f" by {p.acknowledged_by} at {_when(p.acknowledged_at)}"
                if p.acknowledged_by
                else ""
            )
            nxt = f", next level at {_when(p.next_at)}" if p.next_at else ""
            console.print(
                f"{p.policy} ({p.service}, {p.urgency}): {p.status}{by}, level {p.level} "
                f"round {p.round}{nxt}",
                highlight=False,
            )

    sh.out([p.to_dict() for p in found], render)


@oncall_app.command("calendar")
@handle_errors
def calendar_cmd(
    schedule: Annotated[str | None, typer.Option("--schedule", "-s")] = None,
    person: Annotated[str | None, typer.Option("--person", "-p")] = None,
    db: DbOpt = None,
) -> None:
    """The iCalendar feed URL of a schedule or a person (subscribe to it in a calendar app)."""
    sh = Shell(db)
    base = OncallConfig.from_settings(sh.settings).url
    if schedule:
        console.print(
            links.feed_url(sh.db, base, "schedule", schedules.get_schedule(sh.db, schedule).name)
        )
    if person:
        console.print(links.feed_url(sh.db, base, "person", people.get_person(sh.db, person).name))


@override_app.command("add")
@handle_errors
def override_add(
    schedule: Annotated[str, typer.Argument(help="Schedule name.")],
    person: Annotated[str, typer.Argument(help="Who covers.")],
    start: Annotated[str, typer.Option(help="From (schedule's local time, or with an offset).")],
    end: Annotated[str, typer.Option(help="Until (schedule's local time, or with an offset).")],
    reason: Annotated[str, typer.Option(help="Why (e.g. I cover Tuesday night).")] = "",
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """PERSON covers SCHEDULE from --start to --end."""
    sh = Shell(db, as_, json_)
    o = schedules.add_override(
        sh.db, schedule, person=person, start=start, end=end, actor=sh.actor, reason=reason
    )
    sh.out(
        o.to_dict(),
        lambda: console.print(
            f"override {o.id}: {o.person} on call {_when(o.starts_at)} -> {_when(o.ends_at)}"
        ),
    )


@override_app.command("remove")
@handle_errors
def override_remove(
    schedule: Annotated[str, typer.Argument(help="Schedule name.")],
    override_id: Annotated[int, typer.Argument(help="Override number (see `oncall show`).")],
    db: DbOpt = None,
) -> None:
    """Take an override back: the rotation applies again."""
    sh = Shell(db)
    schedules.remove_override(sh.db, schedule, override_id)
    console.print(f"override {override_id} removed")


@person_app.command("add")
@handle_errors
def person_add(
    name: Annotated[str, typer.Argument(help="The name they act under (as on incidents).")],
    timezone: Annotated[str | None, typer.Option(help="IANA zone, e.g. Europe/Lisbon.")] = None,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    contact: Annotated[
        list[str] | None, typer.Option("--contact", help="An apprise URL (repeatable).")
    ] = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a person (or change their zone or name); --contact adds contact methods."""
    sh = Shell(db, json_=json_)
    p = people.set_person(sh.db, name, timezone=timezone, display_name=display_name)
    for url in contact or []:
        p = people.add_contact(sh.db, name, url=url)
    sh.out(p.to_dict(), lambda: console.print(f"{p.name}: {len(p.contacts)} contact method(s)"))


@person_app.command("list")
@handle_errors
def person_list(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """People who can be paged, with their contact methods (secrets hidden)."""
    sh = Shell(db, json_=json_)
    found = people.list_people(sh.db)

    def render() -> None:
        for p in found:
            ways = ", ".join(
                f"{i}. {c.shown} ({'/'.join(u.value for u in c.urgencies)})"
                for i, c in enumerate(p.contacts, start=1)
            )
            console.print(f"[bold]{escape(p.name)}[/] {p.timezone}: {escape(ways) or 'no contact'}")

    sh.out([p.to_dict() for p in found], render)


@contact_app.command("add")
@handle_errors
def contact_add(
    name: Annotated[str, typer.Argument(help="Person.")],
    url: Annotated[str, typer.Argument(help="Apprise URL: mailto://, json://, ntfy://, ...")],
    urgency: Annotated[
        list[str] | None, typer.Option(help="high and/or low (default both; repeatable).")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Add a contact method to a person."""
    sh = Shell(db)
    p = people.add_contact(sh.db, name, url=url, urgencies=urgency)
    console.print(f"{p.name}: {len(p.contacts)} contact method(s)")


@contact_app.command("remove")
@handle_errors
def contact_remove(
    name: Annotated[str, typer.Argument(help="Person.")],
    number: Annotated[int, typer.Argument(help="Which one (1 is the first listed).")],
    db: DbOpt = None,
) -> None:
    """Remove a person's contact method."""
    sh = Shell(db)
    p = people.remove_contact(sh.db, name, number)
    console.print(f"{p.name}: {len(p.contacts)} contact method(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(oncall_app, name="oncall")
