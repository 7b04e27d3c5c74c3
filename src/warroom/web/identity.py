"""Who a request acts as: a bearer API token, else the session cookie, else loopback mode.

In loopback mode (no account exists) the person says who they are: the desk asks a name once
and keeps it in the `warroom_name` cookie; scripts send the X-Warroom-User header. Nobody
named is `anonymous`, never the server's OS user.

Every database read here runs in a worker thread, never on the event loop: one waiting for a
pooled connection would stall every other request of this process. Whether accounts exist
and which webhook sources have tokens is read at most once a second per app (and at once
after a change made in this process), so requests without credentials cost no query.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from warroom.access import accounts, sessions, tokens
from warroom.access.identity import Identity, Role
from warroom.core.db import Database
from warroom.core.errors import AuthFailed, Hint, InvalidInput
from warroom.incidents.model import MAX_NAME, clean_text

COOKIE = "warroom_session"
NAME_COOKIE = "warroom_name"  # loopback mode: the name this browser's person gave
ANONYMOUS = "anonymous"  # loopback mode, nobody said who they are
STATE_TTL = 1.0  # seconds a process trusts its view of "accounts exist / webhook tokens"


@dataclass
class AccessState:
    accounts: bool
    sources: frozenset[str]
    checked: float
    generation: int


def cached_access_state(app_state: Any) -> AccessState | None:
    """The access state read less than a second ago (and since no account change), if any."""
    cached: AccessState | None = getattr(app_state, "access", None)
    if (
        cached is not None
        and cached.generation == accounts.generation
        and time.monotonic() - cached.checked < STATE_TTL
    ):
        return cached
    return None


def access_state(app_state: Any, db: Database) -> AccessState:
    """Whether accounts exist and which webhook sources have tokens (re-read each second)."""
    cached = cached_access_state(app_state)
    if cached is not None:
        return cached
    fresh = AccessState(
        accounts=accounts.any_accounts(db),
        sources=tokens.sources_with_tokens(db),
        checked=time.monotonic(),
        generation=accounts.generation,
    )
    app_state.access = fresh
    return fresh


async def current_access_state(app: Any) -> AccessState:
    """The access state, read off the event loop when the cached one is stale."""
    state = cached_access_state(app.state)
    if state is None:
        state = await run_in_threadpool(access_state, app.state, app.state.db)
    return state


def bearer(headers: Headers) -> str | None:
    """The token of an `Authorization: Bearer ...` header, else None."""
    auth = headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


async def token_identity(app: Any, secret: str) -> Identity | None:
    return await run_in_threadpool(tokens.token_identity, app.state.db, secret)


async def resolve(app: Any, headers: Headers, cookies: dict[str, str]) -> Identity | None:
    """The identity of these credentials; None without any (or with a stale cookie) in
    accounts mode. An unknown or revoked bearer token is refused (AuthFailed)."""
    secret = bearer(headers)
    if secret is not None:
        found = await token_identity(app, secret)
        if found is None:
            raise AuthFailed(
                "unknown or revoked API token",
                hint=Hint("list_tokens", "see which tokens are live"),
            )
        return found
    cookie = cookies.get(COOKIE)
    if cookie is not None:
        found = await run_in_threadpool(sessions.session_identity, app.state.db, cookie)
        if found is not None:
            return found
    if (await current_access_state(app)).accounts:
        return None
    # Loopback mode: no account exists, so the desk acts for whoever says who they are.
    name = said_name(headers, cookies)
    return Identity(name=name or ANONYMOUS, role=Role.ADMIN, via="loopback", named=name is not None)


def check_name(value: str | None) -> str:
    """A person's name as the desk records it: stripped, 1 to 200 printable characters."""
    name = clean_text("name", value, limit=MAX_NAME, required=True)
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidInput("a name is printable text (no control characters)", field="name")
    return name


def said_name(headers: Headers, cookies: dict[str, str]) -> str | None:
    """The name a person gave: the X-Warroom-User header (scripts), else the name cookie the
    desk set when it asked; None when neither holds a usable name."""
    for raw in (headers.get("x-warroom-user"), unquote(cookies.get(NAME_COOKIE, ""))):
        try:
            return check_name(raw)
        except InvalidInput:
            continue
    return None
