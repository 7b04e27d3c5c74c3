"""Access commands: `warroom user add|role|list|disable|enable|password`, `warroom token
create|list|revoke`.

Whoever can run these has the database, so they need no account themselves; the first
account switches the web server from loopback mode to accounts mode.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from warroom.access import accounts
from warroom.cli.common import (
    AsOpt,
    DbOpt,
    JsonOpt,
    actor,
    console,
    emit_json,
    handle_errors,
    open_db,
)
from warroom.core.errors import InvalidInput

user_app = typer.Typer(
    help="Accounts for the web desk: add, role, list, disable, enable, password.",
    no_args_is_help=True,
)
token_app = typer.Typer(
    help="API and webhook tokens: create (shown once), list, revoke.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Account name.")]
RoleOpt = Annotated[str, typer.Option("--role", help="viewer, responder, commander or admin.")]
StdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    second = typer.prompt("Repeat", hide_input=True)
    if first != second:
        raise InvalidInput("the two passwords differ: try again", field="password")
    return str(first)


def _print_account(a: accounts.Account, verb: str) -> None:
    state = " (disabled)" if a.disabled else ""
    console.print(f"{verb} [bold]{a.name}[/]: {a.role.value}{state}", highlight=False)


@user_app.command("add")
@handle_errors
def user_add(
    name: NameArg,
    role: RoleOpt = "responder",
    password_stdin: StdinOpt = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add an account (argon2id password hash). The first account turns on web login."""
    database = open_db(db)
    first = not accounts.any_accounts(database)
    account = accounts.add_user(
        database, name, role=role, password=_password(password_stdin), actor=actor(as_)
    )
    if json_:
        emit_json(account.to_dict())
        return
    _print_account(account, "Added")
    if first:
        console.print(
            "This is the first account: the web desk now asks everyone to sign in, and "
            "`warroom serve` may bind a non-loopback address (put TLS in front: docs/security.md)."
        )


@user_app.command("role")
@handle_errors
def user_role(
    name: NameArg,
    role: Annotated[str, typer.Argument(help="viewer, responder, commander or admin.")],
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change an account's role."""
    account = accounts.set_role(open_db(db), name, role=role, actor=actor(as_))
    if json_:
        emit_json(account.to_dict())
        return
    _print_account(account, "Now")


@user_app.command("list")
@handle_errors
def user_list(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """List accounts."""
    rows = accounts.list_users(open_db(db))
    if json_:
        emit_json([a.to_dict() for a in rows])
        return
    if not rows:
        console.print("no accounts: the web desk is in loopback mode")
        return
    table = Table("name", "role", "state", "created")
    for a in rows:
        table.add_row(
            a.name,
            a.role.value,
            "disabled" if a.disabled else "active",
            f"{a.created_at:%Y-%m-%d %H:%M} by {a.created_by}",
        )
    console.print(table)


@user_app.command("disable")
@handle_errors
def user_disable(
    name: NameArg, as_: AsOpt = None, db: DbOpt = None, json_: JsonOpt = False
) -> None:
    """Disable an account: it cannot sign in and its open sessions end."""
    account = accounts.disable_user(open_db(db), name, actor=actor(as_))
    if json_:
        emit_json(account.to_dict())
        return
    _print_account(account, "Disabled")


@user_app.command("enable")
@handle_errors
def user_enable(name: NameArg, as_: AsOpt = None, db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Enable a disabled account again."""
    account = accounts.disable_user(open_db(db), name, actor=actor(as_), disabled=False)
    if json_:
        emit_json(account.to_dict())
        return
    _print_account(account, "Enabled")


@user_app.command("password")
@handle_errors
def user_password(
    name: NameArg,
    password_stdin: StdinOpt = False,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Set a new password; the account's open sessions end."""
    account = accounts.set_password(
        open_db(db), name, password=_password(password_stdin), actor=actor(as_)
    )
    if json_:
        emit_json(account.to_dict())
        return
    _print_account(account, "New password for")


@token_app.command("create")
@handle_errors
def token_create(
    name: Annotated[str, typer.Argument(help="Token name (who uses it: ci, alertmanager).")],
    role: RoleOpt = "responder",
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Webhook intake only: alertmanager, or generic:<name> for "
            "/api/v1/alerts/webhook/<name>.",
        ),
    ] = None,
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create an API token. The secret is printed once; only its hash is stored."""
    secret, token = accounts.create_token(
        open_db(db), name, role=role, source=source, actor=actor(as_)
    )
    if json_:
        emit_json({**token.to_dict(), "token": secret})
        return
    what = f"webhook token for {token.source}" if token.source else f"{token.role.value} token"
    console.print(f"Created {what} [bold]{token.name}[/]. It is shown only this once:")
    # Plain print: no wrapping or markup inside the secret.
    sys.stdout.write(secret + "\n")
    console.print("Send it as: Authorization: Bearer <token>")


@token_app.command("list")
@handle_errors
def token_list(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """List tokens (never their secrets)."""
    rows = accounts.list_tokens(open_db(db))
    if json_:
        emit_json([t.to_dict() for t in rows])
        return
    if not rows:
        console.print("no tokens")
        return
    table = Table("name", "role", "source", "created", "last used", "state")
    for t in rows:
        table.add_row(
            t.name,
            t.role.value,
            t.source or "",
            f"{t.created_at:%Y-%m-%d %H:%M} by {t.created_by}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
            f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live",
        )
    console.print(table)


@token_app.command("revoke")
@handle_errors
def token_revoke(
    name: Annotated[str, typer.Argument(help="Token name.")],
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Revoke a token: refused from the next request on."""
    token = accounts.revoke_token(open_db(db), name, actor=actor(as_))
    if json_:
        emit_json(token.to_dict())
        return
    console.print(f"Revoked [bold]{token.name}[/].", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
