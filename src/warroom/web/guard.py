"""Every route declares who may call it: one action of the policy table, or public.

    @router.post("/incidents/{key}/notes", dependencies=[require("incident.note")])
    @router.get("/status", dependencies=[PUBLIC])
    @router.post("/alerts/alertmanager", dependencies=[intake("alertmanager")])

The declaration is a FastAPI dependency that enforces it: the identity the access middleware
resolved (`warroom.web.security`) must hold a role the policy allows for the action
(`warroom.access.policy`), and a request authenticated by the session cookie that changes
something must carry its CSRF token, whatever its body type. Routes whose action depends on
their input (a move to *verified* or *closed*, naming the commander) declare it with
`STAGE_FORM`/`STAGE_JSON`, `ROLE_FORM`/`ROLE_JSON`/`ROLE_PATH`: the action is decided from the
very value FastAPI parsed for the handler, never from a second reading of the body.

`seal(app)` (called by `create_app`) refuses to build an app with a route that declares
nothing, and gives the middleware the public routes, so that it resolves no identity (and
reads no database) for them.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from starlette.routing import Mount, get_route_path
from starlette.types import Scope

from warroom.access import policy
from warroom.access.identity import Identity
from warroom.core.errors import AuthFailed, Forbidden, Hint
from warroom.core.registry import RegistryError
from warroom.web import identity as who

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Access:
    """What a route declares: its action (None for a public route), the other actions its
    input may choose instead, or the webhook source whose token it takes."""

    action: str | None
    refined: tuple[str, ...] = ()
    intake: str | None = None

    @property
    def public(self) -> bool:
        return self.action is None

    def actions(self) -> tuple[str, ...]:
        return tuple(a for a in (self.action, *self.refined) if a is not None)


class Guard:
    """Base of the declarations; `access` says what the route declared."""

    access: Access


def identity_of(request: Request) -> Identity:
    """The identity the access middleware resolved for this request."""
    found = getattr(request.state, "identity", None)
    if not isinstance(found, Identity):  # a route the middleware took for a public one
        raise AuthFailed("sign in first", hint=Hint("sign_in", "sign in, or send an API token"))
    return found


async def authorize(request: Request, action: str) -> None:
    """Refuse unless this request's identity may do `action`, with its CSRF token if needed."""
    identity = identity_of(request)
    policy.check(identity, action)
    await check_csrf(request, identity)


async def check_csrf(request: Request, identity: Identity) -> None:
    """A change made with the session cookie carries the session's CSRF token: as the
    `csrf_token` field of a form (the form Starlette parsed for the route, whatever the case
    of its media type) or as the X-CSRF-Token header (any body: JSON, text, none)."""
    if request.method not in UNSAFE or identity.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = (identity.csrf_token or "").encode()
    if not sent or not hmac.compare_digest(sent.encode(), expected):
        raise Forbidden(
            "the form is stale or came from elsewhere (no valid CSRF token): reload and retry",
            hint=Hint("retry", "reload the page and submit again"),
        )


class _Require(Guard):
    def __init__(self, action: str) -> None:
        policy.rule(action)  # a misspelled action fails when the router is imported
        self.access = Access(action)

    async def __call__(self, request: Request) -> None:
        await authorize(request, str(self.access.action))


class _Public(Guard):
    access = Access(None)

    async def __call__(self) -> None:
        return None


def require(action: str) -> Any:
    """`dependencies=[require("incident.note")]`: only roles the policy allows for it."""
    return Depends(_Require(action))


PUBLIC: Any = Depends(_Public())


# --- routes whose action depends on their input ------------------------------------------------


class _StageBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    to: str = ""


class _RoleBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = ""


_STAGE = Access("incident.stage", refined=tuple(policy.STAGE_ACTIONS.values()))
_ROLE = Access("incident.assign", refined=(policy.COMMAND_ACTION,))


class _StageForm(Guard):
    access = _STAGE

    async def __call__(self, request: Request, to: Annotated[str, Form()] = "") -> None:
        await authorize(request, policy.stage_action(to))


class _StageJson(Guard):
    # Named `body` like the handler's own parameter, so FastAPI reads one body for both.
    access = _STAGE

    async def __call__(self, request: Request, body: _StageBody) -> None:
        await authorize(request, policy.stage_action(body.to))


class _RoleForm(Guard):
    access = _ROLE

    async def __call__(self, request: Request, role: Annotated[str, Form()] = "") -> None:
        await authorize(request, policy.role_action(role))


class _RoleJson(Guard):
    access = _ROLE

    async def __call__(self, request: Request, body: _RoleBody) -> None:
        await authorize(request, policy.role_action(body.role))


class _RolePath(Guard):
    access = _ROLE

    async def __call__(self, request: Request, role: str) -> None:
        await authorize(request, policy.role_action(role))


# --- services: contacts, public flag and replacing an entry need admin (issue 13) -------------

_SERVICE = Access("service.edit", refined=("service.admin",))
_OFF = (None, False, 0, "", "0", "false", "no", "off")


def service_action(contact: Any, public: Any, replace: Any) -> str:
    """Adding a plain service is `service.edit`; giving it a contact (where its updates are
    sent), making it public or replacing an existing entry is `service.admin`. Any value the
    handler could read as set counts as set."""
    given = [str(contact or "").strip(), public, replace]
    on = [v not in _OFF and str(v).strip().lower() not in _OFF for v in given]
    return "service.admin" if any(on) else "service.edit"


class _ServiceBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    contact: Any = ""
    public: Any = False
    replace: Any = False


class _ServiceForm(Guard):
    access = _SERVICE

    async def __call__(
        self,
        request: Request,
        contact: Annotated[str, Form()] = "",
        public: Annotated[str, Form()] = "",
        replace: Annotated[str, Form()] = "",
    ) -> None:
        await authorize(request, service_action(contact, public, replace))


class _ServiceJson(Guard):
    access = _SERVICE

    async def __call__(self, request: Request, body: _ServiceBody) -> None:
        await authorize(request, service_action(body.contact, body.public, body.replace))


SERVICE_FORM: Any = Depends(_ServiceForm())
SERVICE_JSON: Any = Depends(_ServiceJson())
STAGE_FORM: Any = Depends(_StageForm())
STAGE_JSON: Any = Depends(_StageJson())
ROLE_FORM: Any = Depends(_RoleForm())
ROLE_JSON: Any = Depends(_RoleJson())
ROLE_PATH: Any = Depends(_RolePath())


# --- webhook intake: its own token --------------------------------------------------------------


class _Intake(Guard):
    def __init__(self, source: str | None) -> None:
        self.source = source
        self.access = Access(None, intake=source or "generic")

    async def __call__(self, request: Request) -> None:
        """Only a live token made for this source; without one only while none is required
        (loopback mode and no token for the source)."""
        source = self.source or f"generic:{request.path_params.get('source', '')}"
        secret = who.bearer(request.headers)
        if secret is None:
            state = await who.current_access_state(request.app)
            if state.accounts or source in state.sources:
                raise AuthFailed(
                    f"this intake needs a bearer token for {source}",
                    hint=Hint(
                        "create_token", f"create a token for {source}", params={"source": source}
                    ),
                )
            return
        found = await who.token_identity(request.app, secret)
        if found is None or found.source != source:
            raise AuthFailed(
                f"the bearer token is not a live token for {source}",
                hint=Hint(
                    "create_token", f"create a token for {source}", params={"source": source}
                ),
            )
        request.state.identity = found


def intake(source: str | None = None) -> Any:
    """A webhook intake: `intake("alertmanager")`, or `intake()` for generic:<{source}>."""
    return Depends(_Intake(source))


# --- the app's routes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    methods: frozenset[str]
    path: str
    access: Access
    documented: bool  # in the OpenAPI document
    path_regex: re.Pattern[str]


DOCS = Access("desk.read")


def _declared(route: Any, app: FastAPI) -> Access | None:
    guards = [
        d.dependency.access
        for d in getattr(route, "dependencies", None) or ()
        if isinstance(getattr(d, "dependency", None), Guard)
    ]
    if len(guards) == 1:
        return guards[0]
    if guards:
        return None  # two declarations: which one holds is not clear, so neither does
    if isinstance(route.original_route, Mount) and isinstance(route.app, StaticFiles):
        return Access(None)
    # FastAPI's own documentation routes: for any signed-in identity.
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    if getattr(route, "path", None) in docs - {None}:
        return DOCS
    return None


def routes(app: FastAPI) -> Iterator[Declared]:
    """Every route of `app` with what it declares; RegistryError naming any that declares
    nothing (or more than one thing)."""
    missing = []
    for route in iter_route_contexts(app.routes):
        methods = frozenset(getattr(route, "methods", None) or ())
        path = str(getattr(route, "path", ""))
        access = _declared(route, app)
        if access is None:
            missing.append(f"{'|'.join(sorted(methods)) or 'ANY'} {path}")
            continue
        documented = bool(getattr(route, "include_in_schema", False)) and access is not DOCS
        yield Declared(methods, path, access, documented, route.path_regex)
    if missing:
        raise RegistryError(
            "routes that declare no access (add dependencies=[require('<action>')] from "
            "warroom.access.policy.POLICY, or [PUBLIC]; exactly one): " + ", ".join(missing)
        )


def seal(app: FastAPI) -> None:
    """Check that every route declares its access; hand the public ones to the middleware."""
    public = [(d.path_regex, d.methods) for d in routes(app) if d.access.public]
    app.state.public_routes = tuple(public)


def is_public(scope: Scope) -> bool:
    """Whether the request goes to a route declared public (a sealed app's; else none is)."""
    public = getattr(scope["app"].state, "public_routes", ())
    path = get_route_path(scope)
    method = "GET" if scope["method"] == "HEAD" else scope["method"]
    return any((not m or method in m) and regex.match(path) for regex, m in public)
