"""Form posts on the desk: run one verb, then redirect (303) back with what happened.

A refused change comes back as a *flash*: the message and its hint, carried in a short-lived
cookie set by this server's own redirect and shown once by `base.html`. Nothing is read back
from the URL, so a crafted link cannot make the desk show a warning it did not give.

    return forms.act(f"/incidents/{key}", lambda: incidents.move(db, key, to=..., actor=actor))
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import pass_context
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.core.errors import NotFound, WarroomError
from warroom.web import errors
from warroom.web.deps import templates

FLASH_COOKIE = "warroom_flash"
FLASH_MAX = 3000  # characters of JSON; a browser cookie holds about 4 KB


def see_other(url: str) -> RedirectResponse:
    """Redirect after a post (303: the browser follows with GET)."""
    return RedirectResponse(url, status_code=303)


def refused(url: str, exc: WarroomError) -> RedirectResponse:
    """Back to `url`, with the error's message and hint shown once there."""
    response = see_other(url)
    payload = json.dumps(errors.page_context(exc))
    if len(payload) > FLASH_MAX:
        payload = json.dumps({"message": exc.message[:1500], "hint": None})
    response.set_cookie(
        FLASH_COOKIE, payload, max_age=60, httponly=True, samesite="strict", path="/"
    )
    return response


def act(back: str, fn: Callable[[], Any], *, ok: str | None = None) -> Response:
    """Run `fn`; on success go to `ok` (formatted with `result`) or `back`; when the rules
    refuse, go `back` with the reason. A missing incident or item is a 404 page."""
    try:
        result = fn()
    except NotFound:
        raise
    except WarroomError as exc:
        return refused(back, exc)
    return see_other(ok.format(result=result) if ok else back)


def flash(request: Request) -> dict[str, Any] | None:
    """The message a redirect left for this page, if any (templates call this)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return None
    return data


@pass_context
def _flash_global(context: Any) -> dict[str, Any] | None:
    request = context.get("request")
    return flash(request) if request is not None else None


templates.env.globals["flash"] = _flash_global


class FlashMiddleware:
    """Forget a flash once an HTML page has been answered while it was set (pure ASGI: a
    request without the cookie costs one header scan)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_flash(scope):
            await self.app(scope, receive, send)
            return

        async def send_clearing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.append(
                        "set-cookie", f"{FLASH_COOKIE}=; Max-Age=0; Path=/; SameSite=strict"
                    )
            await send(message)

        await self.app(scope, receive, send_clearing)


def _has_flash(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"cookie" and FLASH_COOKIE.encode() in value:
            return True
    return False
