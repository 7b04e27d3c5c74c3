"""Access control for the web app: one middleware, the login/logout pages, `csrf_field()`.

`AccessMiddleware` runs once per request, before routing:

* security headers on every response (CSP without inline scripts, frame-ancestors none,
  nosniff, same-origin referrer; `Cache-Control: no-store` except on /status* and /static/*);
* cross-site refusal of unsafe methods: a browser request is accepted when `Sec-Fetch-Site`
  is same-origin/none or `Origin` matches `Host`; clients that send neither (curl, scripts)
  pass; requests authenticated by a bearer token are not subject to it;
* identity: a bearer API token, else the session cookie; with no account in the database
  ("loopback mode") the X-Warroom-User header or the server's user, as before accounts;
* roles: viewer reads; responder writes; commander also moves to verified/closed, reopens,
  hands off command and changes severity; admin everything (accounts and tokens: CLI);
* the per-session CSRF token on form posts that carry the session cookie;
* webhook intake (Alertmanager, generic) only with a token created for that source when
  accounts exist or when such a token exists.

The identity is stored on `request.state.identity`; `warroom.web.deps.get_actor` returns its
name, so every timeline event's actor is the authenticated identity.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import pass_context
from markupsafe import Markup
from starlette.datastructures import MutableHeaders

from warroom.access import accounts
from warroom.access.accounts import Identity, Role
from warroom.core.config import current_user
from warroom.core.db import Database
from warroom.core.errors import AuthFailed, InvalidInput, TooManyAttempts, WarroomError
from warroom.web import errors
from warroom.web.deps import templates

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

COOKIE = "warroom_session"
CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATE_TTL = 1.0  # seconds a process trusts its view of "accounts exist / webhook tokens"
MAX_FORM_BODY = 8 * 1024 * 1024

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

_INCIDENT = r"^(?:/api/v1)?/incidents/[^/]+"
_COMMANDER_ALWAYS = re.compile(_INCIDENT + r"/(?:reopen|severity)$")
_STAGE = re.compile(_INCIDENT + r"/stage$")
_ROLES = re.compile(_INCIDENT + r"/roles$")
_ROLE_DELETE = re.compile(_INCIDENT + r"/roles/(?P<role>[^/]+)$")
_AM_PATH = "/api/v1/alerts/alertmanager"
_WEBHOOK = re.compile(r"^/api/v1/alerts/webhook/(?P<source>[^/]+)$")
# POSTs that change nothing (a computation), open to viewers.
_READ_POSTS = frozenset({"/api/v1/severity/suggest", "/logout"})
COMMANDER_STAGES = frozenset({"verified", "closed"})


def is_public(path: str) -> bool:
    """Paths open without an identity: the status page, health, static files, login."""
    return (
        path in ("/healthz", "/login", "/favicon.ico", "/status", "/status.json")
        or path.startswith("/status/")
        or path.startswith("/static/")
    )


def caches_allowed(path: str) -> bool:
    return path in ("/status", "/status.json") or path.startswith(("/status/", "/static/"))


def webhook_source(path: str) -> str | None:
    """`alertmanager` or `generic:<name>` for the intake endpoints, else None."""
    if path == _AM_PATH:
        return "alertmanager"
    m = _WEBHOOK.match(path)
    return f"generic:{m.group('source')}" if m else None


# --- "accounts mode" and webhook tokens, cached per app -------------------------------------


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
    now = time.monotonic()
    fresh = AccessState(
        accounts=accounts.any_accounts(db),
        sources=accounts.sources_with_tokens(db),
        checked=now,
        generation=accounts.generation,
    )
    app_state.access = fresh
    return fresh


# --- origin check -----------------------------------------------------------------------------


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


# --- which role a request needs ---------------------------------------------------------------


def _field(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def needed_role(method: str, path: str, fields: dict[str, Any] | None = None) -> Role:
    """The least role that may make this request (`fields`: the body, when it matters)."""
    if method not in UNSAFE or path in _READ_POSTS:
        return Role.VIEWER
    if _COMMANDER_ALWAYS.match(path):
        return Role.COMMANDER
    fields = fields or {}
    if _STAGE.match(path):
        to = _field(fields, "to").strip().lower()
        return Role.COMMANDER if to in COMMANDER_STAGES else Role.RESPONDER
    if _ROLES.match(path):
        role = _field(fields, "role").strip().lower().replace("-", "_").replace(" ", "_")
        commander = role in ("commander", "ic", "incident_commander")
        return Role.COMMANDER if commander else Role.RESPONDER
    m = _ROLE_DELETE.match(path)
    if m and m.group("role").lower() in ("commander", "ic", "incident_commander"):
        return Role.COMMANDER
    return Role.RESPONDER


def _needs_body(path: str) -> bool:
    return bool(_STAGE.match(path) or _ROLES.match(path))


# --- the middleware ---------------------------------------------------------------------------


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class AccessMiddleware:
    """See the module docstring."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        send = self._headers(path, send)
        try:
            answer, receive = await self._check(scope, receive)
        except WarroomError as exc:
            answer = errors.json_response(exc)
        if answer is not None:
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)

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

    async def _check(self, scope: Scope, receive: Receive) -> tuple[Response | None, Receive]:
        request = Request(scope)
        path: str = scope["path"]
        method: str = scope["method"]
        api = path.startswith("/api/")
        auth = request.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None

        if method in UNSAFE and bearer is None and not same_origin(request.headers):
            return _refuse(request, 403, "cross-site request refused"), receive
        if is_public(path):
            return None, receive

        # Database reads run in a worker thread, never on the event loop: one waiting for a
        # pooled connection would stall every other request of this process.
        db: Database = scope["app"].state.db
        app_state = scope["app"].state
        state = cached_access_state(app_state)
        if state is None:
            state = await run_in_threadpool(access_state, app_state, db)

        source = webhook_source(path)
        if source is not None and method == "POST":
            if bearer is None:
                return self._webhook(scope, request, None, state, source, None), receive
            found = await run_in_threadpool(accounts.token_identity, db, bearer)
            return self._webhook(scope, request, found, state, source, bearer), receive

        identity: Identity | None = None
        if bearer is not None:
            identity = await run_in_threadpool(accounts.token_identity, db, bearer)
            if identity is None:
                return _refuse(request, 401, "unknown or revoked API token"), receive
            if identity.source is not None:
                return _refuse(
                    request,
                    403,
                    f"{identity.name} is a webhook token for {identity.source} only",
                ), receive
        elif (cookie := request.cookies.get(COOKIE)) is not None:
            identity = await run_in_threadpool(accounts.session_identity, db, cookie)
        if identity is None:
            if state.accounts:
                return _unauthenticated(request, api), receive
            identity = Identity(
                name=current_user(request.headers.get("x-warroom-user")),
                role=Role.ADMIN,
                via="loopback",
            )

        fields: dict[str, Any] = {}
        form_post = method in UNSAFE and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        )
        check_csrf = identity.via == "session" and form_post
        if check_csrf or (_needs_body(path) and not identity.role.allows(Role.COMMANDER)):
            body = await _read_body(receive, MAX_FORM_BODY)
            if body is None:
                return _refuse(request, 413, "the request body is too large"), receive
            receive = _replay(body, receive)
            fields = await _fields(scope, body, form_post)
        needed = needed_role(method, path, fields)
        if not identity.role.allows(needed):
            return _refuse(
                request,
                403,
                f"{identity.name} is {identity.role.value}: this needs the {needed.value} role "
                "(ask an admin: warroom user role NAME ROLE)",
            ), receive
        if check_csrf:
            sent = fields.get(CSRF_FIELD)
            expected = identity.csrf_token or ""
            if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
                return _refuse(
                    request, 403, "the form is stale or came from elsewhere: reload and retry"
                ), receive
        scope.setdefault("state", {})["identity"] = identity
        return None, receive

    @staticmethod
    def _webhook(
        scope: Scope,
        request: Request,
        identity: Identity | None,
        state: AccessState,
        source: str,
        bearer: str | None,
    ) -> Response | None:
        """The decision for a webhook intake; `identity` is the bearer token's, looked up."""
        required = state.accounts or source in state.sources
        if bearer is None:
            if required:
                return _refuse(
                    request,
                    401,
                    f"this intake needs a bearer token for {source}: "
                    f"warroom token create NAME --source {source}",
                )
            return None
        if identity is None or identity.source != source:
            return _refuse(request, 401, f"the bearer token is not a live token for {source}")
        scope.setdefault("state", {})["identity"] = identity
        return None


async def _fields(scope: Scope, body: bytes, form_post: bool) -> dict[str, Any]:
    """The body's fields: a form, or a JSON object; {} when it is neither."""
    if form_post:
        request = Request(scope, _replay(body, _no_more))
        try:
            form = await request.form()
        except Exception:  # noqa: BLE001 - a malformed form gets no fields (and fails CSRF)
            return {}
        return {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def _no_more() -> Message:
    return {"type": "http.disconnect"}


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _refuse(request: Request, status: int, message: str) -> Response:
    if _wants_page(request) and "text/html" in request.headers.get("accept", ""):
        return templates.TemplateResponse(
            request, "error.html", {"message": message}, status_code=status
        )
    error = {401: "AuthFailed", 403: "Forbidden", 413: "InvalidInput"}.get(status, "Error")
    return JSONResponse({"error": error, "detail": message}, status_code=status)


def _unauthenticated(request: Request, api: bool) -> Response:
    if api:
        return JSONResponse(
            {
                "error": "AuthFailed",
                "detail": "sign in first: send Authorization: Bearer <token> "
                "(warroom token create NAME --role ROLE)",
            },
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    nxt = target if request.method == "GET" else "/"
    return RedirectResponse(f"/login?next={quote(nxt, safe='')}", status_code=303)


# --- CSRF field for templates -----------------------------------------------------------------


@pass_context
def csrf_field(context: Any) -> Markup:
    """A hidden input with the session's CSRF token (empty without a session)."""
    request = context.get("request")
    identity = getattr(getattr(request, "state", None), "identity", None)
    token = identity.csrf_token if isinstance(identity, Identity) else None
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


@pass_context
def current_identity(context: Any) -> Identity | None:
    request = context.get("request")
    identity = getattr(getattr(request, "state", None), "identity", None)
    return identity if isinstance(identity, Identity) else None


templates.env.globals["csrf_field"] = csrf_field
templates.env.globals["current_identity"] = current_identity


# --- login / logout ---------------------------------------------------------------------------

router = APIRouter()


def _safe_next(value: str | None) -> str:
    """Only a local path: never another site (`//evil`, `https://...`, `/\\evil`)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def _secure(request: Request) -> bool:
    setting = request.app.state.settings.section("access").get("secure_cookies", "auto")
    if isinstance(setting, bool):
        return setting
    if str(setting).lower() not in ("auto", ""):
        raise InvalidInput(
            f'[access] secure_cookies = {setting!r}: use true, false or "auto"',
            field="secure_cookies",
        )
    return request.url.scheme == "https"


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "name": ""}
    )


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login_submit(
    request: Request,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    db: Database = request.app.state.db
    client = request.client.host if request.client else "unknown"
    context = {"next": _safe_next(next), "name": name}
    try:
        account = accounts.authenticate(db, name, password, client=client)
    except TooManyAttempts as exc:
        return templates.TemplateResponse(
            request,
            "login.html",
            {**context, "error": exc.message},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except AuthFailed as exc:
        return templates.TemplateResponse(
            request, "login.html", {**context, "error": exc.message}, status_code=401
        )
    token = accounts.create_session(db, account)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    cookie = request.cookies.get(COOKIE)
    if cookie:
        accounts.end_session(request.app.state.db, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/api/v1/whoami", tags=["access"])
def whoami(request: Request) -> dict[str, Any]:
    """Who this request acts as and with which role."""
    identity = getattr(request.state, "identity", None)
    if not isinstance(identity, Identity):
        return {"name": None, "role": None, "via": None}
    return {"name": identity.name, "role": identity.role.value, "via": identity.via}
