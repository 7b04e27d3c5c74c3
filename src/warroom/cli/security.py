"""CLI of security incidents: `warroom evidence ...`, `warroom clock ...`, `warroom private`,
`warroom types`.

The CLI holds the database itself, so it reads as nobody in particular: it sees private
incidents and gets sealed originals (see warroom.incidents.privacy); the web and the API
apply the rules per identity.
"""

from __future__ import annotations

import mimetypes
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from warroom import incidents
from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, handle_errors, read_bytes
from warroom.core.clock import parse_time, utcnow
from warroom.core.errors import InvalidInput
from warroom.incidents import incident_types
from warroom.security import access_log, bundle, clocks, evidence

evidence_app = typer.Typer(
    help="The evidence locker: seal, list, read, export and verify.", no_args_is_help=True
)
clock_app = typer.Typer(help="Regulatory clocks: start, list, record the notification.")
app = typer.Typer()


@evidence_app.command("add")
@handle_errors
def evidence_add(
    key: str,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="The file to seal.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="Text to seal instead.")] = None,
    name: Annotated[str | None, typer.Option(help="Its name (default: the file's).")] = None,
    description: Annotated[str, typer.Option(help="What it is, where it came from.")] = "",
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Seal a file (or text) as evidence: the original kept byte for byte, by sha256."""
    sh = Shell(db, as_, json_)
    if file is not None:
        content, media = read_bytes(file), mimetypes.guess_type(file.name)[0]
        label = name or file.name
    elif text is not None:
        content, media, label = text.encode(), "text/plain", name or "note.txt"
    else:
        raise InvalidInput("give --file PATH or --text TEXT", field="file")
    item = evidence.seal(
        sh.db,
        key,
        name=label,
        content=content,
        media_type=media or "application/octet-stream",
        description=description,
        actor=sh.actor,
        settings=sh.settings,
    )
    sh.out(
        item.to_dict(),
        lambda: console.print(f"Sealed {item.ref} {escape(item.name)} sha256 {item.sha256}"),
    )


@evidence_app.command("list")
@handle_errors
def evidence_list(key: str, db: DbOpt = None, json_: JsonOpt = False) -> None:
    """The incident's evidence with its hashes."""
    sh = Shell(db, json_=json_)
    items = evidence.list_for(sh.db, key)

    def render() -> None:
        table = Table("ref", "name", "size", "sha256", "sealed by", "redacted")
        for i in items:
            table.add_row(
                i.ref,
                escape(i.name),
                str(i.size),
                i.sha256,
                i.sealed_by,
                str(i.redacted) if i.scrubbed_sha256 else "no copy",
            )
        console.print(table)

    sh.out([i.to_dict() for i in items], render)


@evidence_app.command("get")
@handle_errors
def evidence_get(
    key: str,
    ref: Annotated[str, typer.Argument(help="E1, E2, ...")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")
    ] = None,
    scrubbed: Annotated[bool, typer.Option(help="The scrubbed working copy.")] = False,
    as_: AsOpt = None,
    db: DbOpt = None,
) -> None:
    """Read evidence (recorded on the timeline): the sealed original, or --scrubbed."""
    sh = Shell(db, as_)
    _item, data, _copy = evidence.read(sh.db, key, ref, actor=sh.actor, scrubbed=scrubbed)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)


@evidence_app.command("export")
@handle_errors
def evidence_export(
    key: str,
    out: Annotated[Path, typer.Option("--out", "-o", help="The bundle to write (.tar).")],
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write the evidence bundle: originals, manifest of hashes, custody, the timeline."""
    sh = Shell(db, as_, json_)
    data = bundle.export(sh.db, key, actor=sh.actor)
    out.write_bytes(data)
    result = bundle.verify(data)
    sh.out(
        {"path": str(out), **result.to_dict()},
        lambda: console.print(
            f"Wrote {out}: {result.items} item(s), head {result.head.get('hash', '')[:16]}"
        ),
    )


@evidence_app.command("verify")
@handle_errors
def evidence_verify(
    path: Path,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Also check the head against this database's timeline."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Check a bundle: every file's sha256, the sums, the hash chain, each item's seal."""
    content = read_bytes(path, field="path")
    sh = Shell(db, json_=json_)
    result = bundle.verify(content, db=sh.db if db else None)

    def render() -> None:
        if result.ok:
            console.print(
                f"OK {result.incident}: {result.items} item(s), {result.events} events, "
                f"head {result.head.get('hash')}"
            )
        for p in result.problems:
            console.print(f"[bold red]FAIL[/] {escape(p)}", highlight=False)

    sh.out(result.to_dict(), render)
    if not result.ok:
        raise typer.Exit(1)


@clock_app.command("start")
@handle_errors
def clock_start(
    key: str,
    name: Annotated[str | None, typer.Argument(help="gdpr, ... (default: the type's)")] = None,
    aware: Annotated[
        str | None, typer.Option(help="When you became aware (default: detection).")
    ] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Start a regulatory clock from the moment of awareness."""
    sh = Shell(db, as_, json_)
    found = clocks.start(
        sh.db,
        key,
        name=name,
        aware_at=parse_time(aware, field="aware_at"),
        actor=sh.actor,
        settings=sh.settings,
    )
    _show(sh, found)


@clock_app.command("list")
@handle_errors
def clock_list(key: str, db: DbOpt = None, json_: JsonOpt = False) -> None:
    """The incident's clocks: due when, notified or missed."""
    sh = Shell(db, json_=json_)
    _show(sh, clocks.list_for(sh.db, key))


@clock_app.command("notified")
@handle_errors
def clock_notified(
    key: str,
    name: str,
    to: Annotated[str, typer.Option("--to", help="The authority notified.")],
    at: Annotated[str | None, typer.Option(help="When (default: now).")] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record the notification to the authority: the clock stops."""
    sh = Shell(db, as_, json_)
    c = clocks.notified(sh.db, key, name=name, to=to, at=parse_time(at, field="at"), actor=sh.actor)
    _show(sh, [c])


def _show(sh: Shell, found: list[clocks.Clock]) -> None:
    now = utcnow()

    def render() -> None:
        for c in found:
            console.print(
                f"{c.incident_key} {c.name}: {c.state(now)}; due {c.due_at:%Y-%m-%d %H:%M} UTC"
                f" ({escape(c.label)})"
            )

    sh.out([c.to_dict(now) for c in found], render)


@app.command("private")
@handle_errors
def private(
    key: str,
    off: Annotated[bool, typer.Option("--off", help="Make it visible to all again.")] = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make an incident private: only its participants and admins see it."""
    sh = Shell(db, as_, json_)
    inc = incidents.set_private(sh.db, key, private=not off, actor=sh.actor)
    word = "private" if inc.private else "visible to every signed-in identity"
    sh.out(inc.to_dict(), lambda: console.print(f"{inc.key} is {word}"))


@app.command("access-log")
@handle_errors
def access_log_cmd(key: str, db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Who read a private incident through the web: when, by which route, opened or refused."""
    sh = Shell(db, json_=json_)
    reads = access_log.log_for(sh.db, key)

    def render() -> None:
        if not reads:
            console.print(f"no recorded reads of {key.upper()} (only private incidents' are)")
        for r in reads:
            outcome = "opened" if r.allowed else "[bold red]REFUSED[/]"
            console.print(
                f"{r.first_at:%Y-%m-%d %H:%M}-{r.last_at:%H:%M} UTC {escape(r.person)} "
                f"{outcome} via {r.via} ({r.reads} request{'s' if r.reads != 1 else ''})",
                highlight=False,
            )

    sh.out([r.to_dict() for r in reads], render)


@app.command("retype")
@handle_errors
def retype(
    key: str,
    type_: Annotated[str, typer.Argument(metavar="TYPE", help="security, data_loss, ...")],
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change an incident's type; the clocks the new type names start from now."""
    sh = Shell(db, as_, json_)
    inc = incidents.set_type(sh.db, key, type=type_, actor=sh.actor, settings=sh.settings)
    sh.out(inc.to_dict(), lambda: console.print(f"{inc.key} is a {inc.type} incident"))


@app.command("types")
@handle_errors
def types(json_: JsonOpt = False) -> None:
    """The incident types: required fields, runbooks, privacy, clocks."""
    sh = Shell(json_=json_)
    found = incident_types.configured(sh.settings)

    def render() -> None:
        for t in found.values():
            extra = ", ".join(
                f"{k}: {', '.join(v)}"
                for k, v in (("clocks", t.clocks), ("runbooks", t.runbooks), ("needs", t.required))
                if v
            )
            console.print(f"{t.name}{' (private)' if t.private else ''} {extra}")

    sh.out([t.to_dict() for t in found.values()], render)


def register(main: typer.Typer) -> None:
    main.add_typer(evidence_app, name="evidence")
    main.add_typer(clock_app, name="clock")
    main.registered_commands.extend(app.registered_commands)
