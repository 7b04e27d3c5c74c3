"""The access middleware: security headers, cross-site refusal, and who the request is.

`AccessMiddleware` runs once per request, before routing, and never reads the body:

* security headers on every response (CSP without inline scripts, frame-ancestors none,
  nosniff, same-origin referrer; `Cache-Control: no-store` except on /status* and /static/*);
* cross-site refusal of unsafe methods: a browser request is accepted when `Sec-Fetch-Site`
  is same-origin/none or `Origin` matches `Host`; clients that send neither (curl, scripts)
  pass; requests authenticated by a bearer token are not subject to it;
* identity, for every route not declared public (`warroom.web.guard`): a bearer API token,
  else the session cookie; with no account in the database ("loopback mode") the
  X-Warroom-User header or the name the desk asked for (a cookie; a browser that has not
  said who it is goes to /who first), never the server's user. Without an identity in
  accounts mode, pages redirect to /login and the API answers 401; webhook tokens open
  nothing but their intake.

What the identity may do is each route's declaration (`warroom.web.guard`), checked against
the policy (`warroom.access.policy`) with the CSRF token. The identity is stored on
`request.state.identity`; `warroom.web.deps.get_actor` returns its name, so every timeline
event's actor is the authenticated identity.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders

from warroom.access.identity import Role
from warroom.core.errors import AuthFailed, Forbidden, Hint, WarroomError
from warroom.incidents import privacy
from warroom.web import errors, guard
from warroom.web import identity as who

log = logging.getLogger("warroom.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# Swagger UI (/docs) and ReDoc (/redoc) are pages FastAPI renders with an inline script and
# assets from a CDN; they get their own, wider policy, and only they.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def caches_allowed(path: str) -> bool:
    return path in ("/status", "/status.json") or path.startswith(("/status/", "/static/"))


def same_origin(headers: Any) -> bool:
    """False only for a browser request that says it comes from another site."""
    site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    if site in ("same-origin", "none"):
        return True
    if origin:
        parts = urlsplit(origin)
        host = headers.get("host", "")
        return bool(parts.netloc) and parts.netloc.lower() == host.lower()
    return site is None


def route_kind(path: str) -> str:
    """Which route a read of an incident comes by, for its access log: evidence (the locker
    and its bundle), export (timeline and postmortem files), api, or page."""
    if "/evidence" in path:
        return "evidence"
    if path.endswith((".md", ".html", ".tar", ".json")) and "/incidents/" in path:
        return "export"
    return "api" if path.startswith("/api/") else "page"


class AccessMiddleware:
    """See the module docstring."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._headers(scope["path"], send)
        request = Request(scope)
        try:
            answer = await self._check(scope, request)
        except WarroomError as exc:
            answer = _refusal(request, exc)
        if answer is not None:
            await answer(scope, receive, send)
            return
        # Who reads, for the store's private-incident rule (warroom.incidents.privacy).
        identity = scope.get("state", {}).get("identity")
        reader = (
            None
            if identity is None
            else privacy.Reader(
                identity.name, sees_all=identity.role is Role.ADMIN, via=route_kind(scope["path"])
            )
        )
        token = privacy.enter(reader)
        try:
            await self.app(scope, receive, send)
        finally:
            privacy.leave(token)
            if reader is not None and reader.seen:  # reads of private incidents, recorded
                try:
                    await run_in_threadpool(privacy.record, scope["app"].state.db, reader)
                except Exception:  # noqa: BLE001 - the answer is sent; the log keeps the read
                    log.exception("recording the reads of %s failed", reader.name)

    @staticmethod
    def _headers(path: str, send: Send) -> Send:
        policy = DOCS_CSP if path in DOCS_PATHS else CSP
        no_store = not caches_allowed(path)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = policy
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        return with_headers

    @staticmethod
    async def _check(scope: Scope, request: Request) -> Response | None:
        unsafe = scope["method"] in guard.UNSAFE
        if unsafe and who.bearer(request.headers) is None and not same_origin(request.headers):
            raise Forbidden("cross-site request refused")
        if guard.is_public(scope):
            return None
        identity = await who.resolve(scope["app"], request.headers, request.cookies)
        if identity is None:
            return _unauthenticated(request)
        if identity.source is not None:
            raise Forbidden(
                f"{identity.name} is a webhook token for {identity.source} only",
                hint=Hint(
                    "create_token", "use an API token with a role", params={"role": "viewer"}
                ),
            )
        scope.setdefault("state", {})["identity"] = identity
        if not identity.named and _asks_name(request):
            return _ask_name(request)
        return None


def _refusal(request: Request, exc: WarroomError) -> Response:
    if isinstance(exc, AuthFailed) and not errors.wants_html(request):
        return errors.json_response(exc, **{"WWW-Authenticate": "Bearer"})
    return errors.render(request, exc)


WHO_PATH = "/who"


def _asks_name(request: Request) -> bool:
    """A person in a browser who has not said who they are, on their way to a desk page or
    about to change something (browsers send Sec-Fetch-Mode; scripts and the API do not)."""
    path = request.url.path
    if path == WHO_PATH or path.startswith("/api/") or "sec-fetch-mode" not in request.headers:
        return False
    if request.method in guard.UNSAFE:
        return True
    return request.headers.get("sec-fetch-dest") == "document"


def _ask_name(request: Request) -> Response:
    """To the page that asks a name, then back: to this page, or (after a form post, whose
    fields are lost) to the page the form was on."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method in guard.UNSAFE:
        referer = urlsplit(request.headers.get("referer", ""))
        same = referer.netloc == request.headers.get("host", "")
        target = (referer.path or "/") if same else "/"
    return RedirectResponse(f"{WHO_PATH}?next={quote(target, safe='')}", status_code=303)


def _unauthenticated(request: Request) -> Response:
    if request.url.path.startswith("/api/"):
        return _refusal(
            request,
            AuthFailed(
                "sign in first: send an API token as Authorization: Bearer <token>",
                hint=Hint("sign_in", "send an API token, or sign in on the desk"),
            ),
        )
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    nxt = target if request.method == "GET" else "/"
    return RedirectResponse(f"/login?next={quote(nxt, safe='')}", status_code=303)
