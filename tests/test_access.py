"""Access domain and CLI: argon2 hashes, login rate limit, API tokens, serve's bind check."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from warroom.access import accounts, login, sessions, tokens
from warroom.access.identity import Role
from warroom.access.tables import accounts as accounts_t
from warroom.access.tables import api_tokens, login_failures
from warroom.cli.main import app as cli_app
from warroom.core.db import Database
from warroom.core.errors import AuthFailed, Conflict, InvalidInput, NotFound, TooManyAttempts

PASSWORD = "correct horse battery"


def test_password_is_stored_as_an_argon2id_hash(db: Database, clock: Any) -> None:
    accounts.add_user(db, "ana", role="responder", password=PASSWORD, actor="root")
    with db.read() as conn:
        stored = conn.execute(sa.select(accounts_t.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert login.authenticate(db, "ana", PASSWORD, client="10.0.0.1").role is Role.RESPONDER
    with pytest.raises(AuthFailed):
        login.authenticate(db, "ana", PASSWORD + "x", client="10.0.0.1")
    with pytest.raises(AuthFailed):
        login.authenticate(db, "nobody", PASSWORD, client="10.0.0.1")
    with pytest.raises(Conflict):
        accounts.add_user(db, "ana", role="viewer", password=PASSWORD, actor="root")
    with pytest.raises(InvalidInput, match="too short"):
        accounts.add_user(db, "bo", role="viewer", password="short", actor="root")
    with pytest.raises(InvalidInput, match="unknown role"):
        accounts.add_user(db, "bo", role="god", password=PASSWORD, actor="root")


def test_five_failures_in_five_minutes_lock_that_account_from_that_client(
    db: Database, clock: Any
) -> None:
    accounts.add_user(db, "ana", role="viewer", password=PASSWORD, actor="root")
    for _ in range(login.MAX_FAILURES):
        clock.advance(seconds=10)
        with pytest.raises(AuthFailed):
            login.authenticate(db, "ana", "wrong password", client="10.0.0.9")
    with pytest.raises(TooManyAttempts) as refused:
        login.authenticate(db, "ana", PASSWORD, client="10.0.0.9")  # even the right one
    # The first failure was 40 s ago: the window of 300 s ends in 260 s.
    assert refused.value.retry_after == 261
    assert "try again in 261 seconds" in refused.value.message
    assert login.authenticate(db, "ana", PASSWORD, client="10.0.0.10").name == "ana"
    with db.read() as conn:
        recorded = conn.execute(sa.select(sa.func.count()).select_from(login_failures)).scalar_one()
    assert recorded == login.MAX_FAILURES
    clock.advance(seconds=261)
    assert login.authenticate(db, "ana", PASSWORD, client="10.0.0.9").name == "ana"


def test_disabled_account_cannot_sign_in_and_loses_its_sessions(db: Database, clock: Any) -> None:
    account = accounts.add_user(db, "ana", role="admin", password=PASSWORD, actor="root")
    session = sessions.create_session(db, account)
    identity = sessions.session_identity(db, session)
    assert identity is not None and identity.name == "ana" and identity.role is Role.ADMIN
    accounts.disable_user(db, "ana", actor="root")
    assert sessions.session_identity(db, session) is None
    with pytest.raises(AuthFailed):
        login.authenticate(db, "ana", PASSWORD, client="c")
    accounts.disable_user(db, "ana", actor="root", disabled=False)
    assert login.authenticate(db, "ana", PASSWORD, client="c").name == "ana"
    session = sessions.create_session(db, account)
    clock.advance(hours=13)
    assert sessions.session_identity(db, session) is None  # expired


def test_token_is_shown_once_stored_hashed_revocable_and_records_last_use(
    db: Database, clock: Any
) -> None:
    secret, token = tokens.create_token(db, "ci", role="responder", actor="root")
    assert secret.startswith("wr_") and len(secret) > 40
    assert token.last_used_at is None and token.source is None
    with db.read() as conn:
        row = conn.execute(sa.select(api_tokens)).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(row._asdict(), default=str)
    assert secret not in json.dumps([t.to_dict() for t in tokens.list_tokens(db)])

    identity = tokens.token_identity(db, secret)
    assert identity is not None
    assert (identity.name, identity.role, identity.via) == ("token:ci", Role.RESPONDER, "token")
    first_use = tokens.get_token(db, "ci").last_used_at
    assert first_use == clock.now
    clock.advance(seconds=30)
    tokens.token_identity(db, secret)
    assert tokens.get_token(db, "ci").last_used_at == first_use  # throttled: once a minute
    clock.advance(seconds=31)
    tokens.token_identity(db, secret)
    assert tokens.get_token(db, "ci").last_used_at == clock.now

    assert tokens.token_identity(db, secret[:-2] + "xx") is None
    tokens.revoke_token(db, "ci", actor="root")
    assert tokens.token_identity(db, secret) is None
    with pytest.raises(Conflict, match="already revoked"):
        tokens.revoke_token(db, "ci", actor="root")
    with pytest.raises(NotFound):
        tokens.revoke_token(db, "nope", actor="root")


def test_webhook_sources_are_checked(db: Database, clock: Any) -> None:
    tokens.create_token(db, "am", source="alertmanager", actor="root")
    tokens.create_token(db, "mon", source="generic:nagios", actor="root")
    assert tokens.sources_with_tokens(db) == {"alertmanager", "generic:nagios"}
    with pytest.raises(InvalidInput, match="unknown webhook source"):
        tokens.create_token(db, "bad", source="pagerduty", actor="root")
    tokens.revoke_token(db, "mon", actor="root")
    assert tokens.sources_with_tokens(db) == {"alertmanager"}


def test_serve_binds_any_address_only_once_an_account_exists() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        assert accounts.check_bind(host, accounts_exist=False, insecure_bind=False) is None
    with pytest.raises(InvalidInput, match="refusing to bind 0.0.0.0"):
        accounts.check_bind("0.0.0.0", accounts_exist=False, insecure_bind=False)
    warning = accounts.check_bind("0.0.0.0", accounts_exist=False, insecure_bind=True)
    assert warning is not None and "without authentication" in warning
    assert accounts.check_bind("0.0.0.0", accounts_exist=True, insecure_bind=False) is None
    assert accounts.check_bind("10.1.2.3", accounts_exist=True, insecure_bind=False) is None


def test_serve_command_refuses_a_public_bind_without_accounts(sqlite_url: str) -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--db", sqlite_url])
    assert result.exit_code == 2
    assert "refusing to bind 0.0.0.0" in result.output


def _cli(url: str, *args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(cli_app, [*args, "--db", url], input=input)
    return result


def test_user_and_token_commands(db_url: str, clock: Any) -> None:
    out = _cli(
        db_url, "user", "add", "ana", "--role", "admin", "--password-stdin", input=PASSWORD + "\n"
    )
    assert out.exit_code == 0, out.output
    assert "first account" in out.output
    out = _cli(db_url, "user", "add", "bo", "--role", "viewer", input="a long password\n" * 2)
    assert out.exit_code == 0, out.output  # prompted twice
    out = _cli(db_url, "user", "add", "cy", input="a long password\nanother one!!\n")
    assert out.exit_code == 2 and "differ" in out.output
    assert _cli(db_url, "user", "role", "bo", "commander").exit_code == 0
    assert _cli(db_url, "user", "disable", "bo").exit_code == 0
    listed = json.loads(_cli(db_url, "user", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["disabled"]) for u in listed] == [
        ("ana", "admin", False),
        ("bo", "commander", True),
    ]
    assert _cli(db_url, "user", "role", "zed", "viewer").exit_code == 1

    created = _cli(db_url, "token", "create", "ci", "--role", "viewer")
    assert created.exit_code == 0, created.output
    secret = next(line for line in created.stdout.splitlines() if line.startswith("wr_"))
    am = json.loads(
        _cli(db_url, "token", "create", "am", "--source", "alertmanager", "--json").stdout
    )
    assert am["token"].startswith("wr_") and am["source"] == "alertmanager"
    listing = _cli(db_url, "token", "list", "--json").stdout
    assert secret not in listing and am["token"] not in listing
    assert [t["name"] for t in json.loads(listing)] == ["am", "ci"]
    assert _cli(db_url, "token", "revoke", "ci").exit_code == 0
    assert _cli(db_url, "token", "revoke", "ci").exit_code == 1
    database = Database(db_url)
    try:
        assert tokens.token_identity(database, secret) is None
        assert login.authenticate(database, "ana", PASSWORD, client="cli").role is Role.ADMIN
    finally:
        database.dispose()
