"""Signing in and out of the desk, saying who you are without accounts (`/who`), `whoami`,
and what templates know of the identity.

The middleware that resolves identities is `warroom.web.security`; what each route allows is
its declaration in `warroom.web.guard`. Templates get `csrf_field()` (the hidden input every
post form starts with) and `current_identity()`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import pass_context
from markupsafe import Markup
from pydantic import BaseModel

from warroom.access import accounts, login, policy, sessions, tokens
from warroom.access.identity import Identity
from warroom.core.db import Database
from warroom.core.errors import AuthFailed, InvalidInput, InvalidTransition, TooManyAttempts
from warroom.web import forms
from warroom.web.deps import templates
from warroom.web.guard import CSRF_FIELD, PUBLIC, identity_of, require
from warroom.web.identity import COOKIE, NAME_COOKIE, check_name


def _identity(context: Any) -> Identity | None:
    request = context.get("request")
    found = getattr(getattr(request, "state", None), "identity", None)
    return found if isinstance(found, Identity) else None


@pass_context
def csrf_field(context: Any) -> Markup:
    """A hidden input with the session's CSRF token (empty without a session)."""
    identity = _identity(context)
    token = identity.csrf_token if identity is not None else None
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


@pass_context
def current_identity(context: Any) -> Identity | None:
    return _identity(context)


templates.env.globals["csrf_field"] = csrf_field
templates.env.globals["current_identity"] = current_identity


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


@router.get("/login", response_class=HTMLResponse, include_in_schema=False, dependencies=[PUBLIC])
def login_page(request: Request, next: str = "/") -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "name": ""}
    )


@router.post("/login", response_class=HTMLResponse, include_in_schema=False, dependencies=[PUBLIC])
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
        account = login.authenticate(db, name, password, client=client)
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
    token = sessions.create_session(db, account)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(sessions.SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/logout", include_in_schema=False, dependencies=[require("account.self")])
def logout(request: Request) -> Response:
    cookie = request.cookies.get(COOKIE)
    if cookie:
        sessions.end_session(request.app.state.db, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


NAME_LIFETIME = 400 * 24 * 3600  # seconds: the longest a browser keeps a cookie


@router.get(
    "/who",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[require("account.self")],
)
def who_page(request: Request, next: str = "/") -> Response:
    """Who you are on this desk: a name to give (without accounts) or your account."""
    return templates.TemplateResponse(
        request, "who.html", {"next": _safe_next(next), "me": identity_of(request)}
    )


@router.post("/who", include_in_schema=False, dependencies=[require("account.self")])
def who_submit(
    request: Request, name: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    """Remember the name this browser's person gave; every change they make carries it."""
    back = f"/who?next={quote(_safe_next(next), safe='')}"
    me = identity_of(request)
    try:
        if me.via != "loopback":
            raise InvalidTransition(
                f"you are signed in as {me.name}: the desk records your account's name",
                field="name",
            )
        given = check_name(name)
    except (InvalidInput, InvalidTransition) as exc:
        return forms.refused(back, exc)
    response = forms.see_other(_safe_next(next))
    response.set_cookie(
        NAME_COOKIE,
        quote(given, safe=""),
        max_age=NAME_LIFETIME,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


@router.get(
    "/access",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[require("account.self")],
)
def access_page(request: Request) -> Response:
    """Who you are, what your role may do, and (for an admin) the accounts and API tokens."""
    me = identity_of(request)
    db: Database = request.app.state.db
    admin = policy.may(me.role, "account.admin")
    return templates.TemplateResponse(
        request,
        "access.html",
        {
            "me": me,
            "allowed": [(a, r.covers) for a, r in policy.POLICY.items() if policy.may(me.role, a)],
            "users": accounts.list_users(db) if admin else None,
            "tokens": tokens.list_tokens(db) if admin else None,
        },
    )


class WhoAmI(BaseModel):
    name: str | None
    role: str | None
    via: str | None


@router.get(
    "/api/v1/whoami", tags=["access"], response_model=WhoAmI, dependencies=[require("account.self")]
)
def whoami(request: Request) -> dict[str, Any]:
    """Who this request acts as and with which role."""
    identity = getattr(request.state, "identity", None)
    if not isinstance(identity, Identity):
        return {"name": None, "role": None, "via": None}
    return {"name": identity.name, "role": identity.role.value, "via": identity.via}
