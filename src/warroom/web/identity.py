"""Who a request acts as: a bearer API token, else the session cookie, else loopback mode.

Every database read here runs in a worker thread, never on the event loop: one waiting for a
pooled connection would stall every other request of this process. Whether accounts exist
and which webhook sources have tokens is read at most once a second per app (and at once
after a change made in this process), so requests without credentials cost no query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from warroom.access import accounts, sessions, tokens
from warroom.access.identity import Identity, Role
from warroom.core.config import current_user
from warroom.core.db import Database
from warroom.core.errors import AuthFailed, Hint

COOKIE = "warroom_session"
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
    # Loopback mode: no account exists, so the desk acts for whoever it is told, as before.
    return Identity(
        name=current_user(headers.get("x-warroom-user")), role=Role.ADMIN, via="loopback"
    )
