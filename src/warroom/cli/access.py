"""Access commands: `warroom user add|role|list|disable|enable|password`, `warroom token
create|list|revoke`.

Whoever can run these has the database, so they need no account themselves (the policy's
`account.admin` is what they do); the first account switches the web server from loopback
mode to accounts mode.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from warroom.access import accounts, tokens
from warroom.access.identity import Role
from warroom.cli.common import AsOpt, DbOpt, JsonOpt, Shell, console, handle_errors
from warroom.core.errors import InvalidInput

user_app = typer.Typer(
    help="Accounts for the web desk: add, role, list, disable, enable, password.",
    no_args_is_help=True,
)
token_app = typer.Typer(
    help="API and webhook tokens: create (shown once), list, revoke.", no_args_is_help=True
)

ROLES = ", ".join(r.value for r in Role)
NameArg = Annotated[str, typer.Argument(help="Account name.")]
RoleOpt = Annotated[str, typer.Option("--role", help=f"One of {ROLES}.")]
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


def _show(sh: Shell, a: accounts.Account, verb: str) -> None:
    state = " (disabled)" if a.disabled else ""
    sh.out(
        a.to_dict(),
        lambda: console.print(f"{verb} [bold]{a.name}[/]: {a.role.value}{state}", highlight=False),
    )


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
    sh = Shell(db, as_, json_)
    first = not accounts.any_accounts(sh.db)
    account = accounts.add_user(
        sh.db, name, role=role, password=_password(password_stdin), actor=sh.actor
    )
    _show(sh, account, "Added")
    if first and not sh.json:
        console.print(
            "This is the first account: the web desk now asks everyone to sign in, and "
            "`warroom serve` may bind a non-loopback address (put TLS in front: docs/security.md)."
        )


@user_app.command("role")
@handle_errors
def user_role(
    name: NameArg,
    role: Annotated[str, typer.Argument(help=f"One of {ROLES}.")],
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change an account's role."""
    sh = Shell(db, as_, json_)
    _show(sh, accounts.set_role(sh.db, name, role=role, actor=sh.actor), "Now")


@user_app.command("list")
@handle_errors
def user_list(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """List accounts."""
    sh = Shell(db, None, json_)
    rows = accounts.list_users(sh.db)

    def render() -> None:
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

    sh.out([a.to_dict() for a in rows], render)


@user_app.command("disable")
@handle_errors
def user_disable(
    name: NameArg, as_: AsOpt = None, db: DbOpt = None, json_: JsonOpt = False
) -> None:
    """Disable an account: it cannot sign in and its open sessions end."""
    sh = Shell(db, as_, json_)
    _show(sh, accounts.disable_user(sh.db, name, actor=sh.actor), "Disabled")


@user_app.command("enable")
@handle_errors
def user_enable(name: NameArg, as_: AsOpt = None, db: DbOpt = None, json_: JsonOpt = False) -> None:
    """Enable a disabled account again."""
    sh = Shell(db, as_, json_)
    _show(sh, accounts.disable_user(sh.db, name, actor=sh.actor, disabled=False), "Enabled")


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
    sh = Shell(db, as_, json_)
    account = accounts.set_password(sh.db, name, password=_password(password_stdin), actor=sh.actor)
    _show(sh, account, "New password for")


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
    sh = Shell(db, as_, json_)
    secret, token = tokens.create_token(sh.db, name, role=role, source=source, actor=sh.actor)

    def render() -> None:
        what = f"webhook token for {token.source}" if token.source else f"{token.role.value} token"
        console.print(f"Created {what} [bold]{token.name}[/]. It is shown only this once:")
        # Plain print: no wrapping or markup inside the secret.
        sys.stdout.write(secret + "\n")
        console.print("Send it as: Authorization: Bearer <token>")

    sh.out({**token.to_dict(), "token": secret}, render)


@token_app.command("list")
@handle_errors
def token_list(db: DbOpt = None, json_: JsonOpt = False) -> None:
    """List tokens (never their secrets)."""
    sh = Shell(db, None, json_)
    rows = tokens.list_tokens(sh.db)

    def render() -> None:
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

    sh.out([t.to_dict() for t in rows], render)


@token_app.command("revoke")
@handle_errors
def token_revoke(
    name: Annotated[str, typer.Argument(help="Token name.")],
    as_: AsOpt = None,
    db: DbOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Revoke a token: refused from the next request on."""
    sh = Shell(db, as_, json_)
    token = tokens.revoke_token(sh.db, name, actor=sh.actor)
    sh.out(
        token.to_dict(),
        lambda: console.print(f"Revoked [bold]{token.name}[/].", highlight=False),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
