"""Errors on the web: HTTP statuses and hints as links, mapped here once.

The API answers `WarroomError.to_dict()` (with `hint` as JSON); pages render the message
with the hint as a link to the place on the desk that does the next step.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from warroom.core.errors import (
    AuthFailed,
    Conflict,
    Forbidden,
    Hint,
    InvalidInput,
    InvalidTransition,
    NotFound,
    StorageUnavailable,
    TooLarge,
    TooManyAttempts,
    WarroomError,
)
from warroom.web.deps import templates

HTTP_STATUS: dict[type[WarroomError], int] = {
    TooLarge: 413,
    InvalidInput: 422,
    NotFound: 404,
    InvalidTransition: 409,
    Conflict: 409,
    AuthFailed: 401,
    Forbidden: 403,
    TooManyAttempts: 429,
    StorageUnavailable: 503,
}


def http_status(exc: WarroomError) -> int:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


# action -> (label, URL) on the desk; {incident} and the hint's params are filled in.
# tests/test_architecture.py checks that every hint action has one; tests/test_desk_pages.py
# that every link leads to a page that answers, and to the anchor it names.
LINKS: dict[str, tuple[str, str]] = {
    "list_incidents": ("See the incidents", "/"),
    "show_incident": ("Open {incident}", "/incidents/{incident}"),
    "declare": ("Declare an incident", "/incidents/new"),
    "move": ("Move {incident} to {to}", "/incidents/{incident}#stage"),
    "reopen": ("Reopen {incident}", "/incidents/{incident}#reopen"),
    "assign_role": ("Name the {role}", "/incidents/{incident}#roles"),
    "set_severity": ("Set the severity", "/incidents/{incident}#severity"),
    "add_task": ("Add a task", "/incidents/{incident}#tasks"),
    "update_task": ("Update the task", "/incidents/{incident}#tasks"),
    "post_update": ("Post an update", "/incidents/{incident}#comms"),
    "verify": ("Verify recovery", "/incidents/{incident}#verify"),
    "give_reason": ("Give a reason", "/incidents/{incident}#stage"),
    "declare_lever": ("How to declare a lever", "/levers#declare"),
    "list_levers": ("See the levers", "/incidents/{incident}#contain"),
    "list_mitigations": ("See the mitigations", "/incidents/{incident}#contain"),
    "list_services": ("See the services", "/services"),
    "add_service": ("Add a service", "/services#add"),
    "replace_service": ("Replace the service's entry", "/services#add"),
    "list_drills": ("See the drills", "/drills"),
    "draft_postmortem": ("Draft the postmortem", "/incidents/{incident}/postmortem"),
    "set_postmortem_status": ("Open the postmortem", "/incidents/{incident}/postmortem"),
    "record_root_cause": ("Record the root cause", "/incidents/{incident}#learn"),
    "add_action": ("Add an action item", "/incidents/{incident}#learn"),
    "list_actions": ("See the action items", "/actions"),
    "list_users": ("See the accounts", "/access#accounts"),
    "set_user_role": ("Ask an admin to change your role", "/access#accounts"),
    "add_user": ("How accounts work", "/access#accounts"),
    "list_tokens": ("See the API tokens", "/access#tokens"),
    "create_token": ("How API tokens work", "/access#tokens"),
    "sign_in": ("Sign in", "/login"),
    "public_bind": ("See the incidents", "/"),  # a CLI refusal (serve); never on a page
    "severity_help": ("Read the severity definitions", "/incidents/new#severity"),
    "retry": ("Try again", ""),
    "show_oncall": ("See who is on call", "/oncall"),
    "add_person": ("Add a person to on call", "/oncall#people"),
    # the data commands run where the product database's backups are: CLI steps, not pages
    "data_restore": ("See the incidents", "/"),
    "data_cleanup": ("See the incidents", "/"),
    "data_dry_run": ("Open {incident}", "/incidents/{incident}"),
    "list_evidence": ("See the evidence", "/incidents/{incident}#security"),
    "start_clock": ("Start the clock", "/incidents/{incident}#security"),
    "record_notification": ("Record the notification", "/incidents/{incident}#security"),
}

# Where a link goes when its hint names no incident (the desk-wide page of the same thing).
WITHOUT_INCIDENT: dict[str, str] = {"list_levers": "/levers"}

_DEFAULTS = {"incident": "", "to": "the next stage", "role": "role"}


def link(hint: Hint) -> dict[str, str]:
    """{"label": ..., "href": ..., "text": ...} for a page to show as a link."""
    values = {**_DEFAULTS, **dict(hint.params)}
    if hint.incident:
        values["incident"] = hint.incident
    label, href = LINKS[hint.action]
    if "{incident}" in href and not values["incident"]:
        href = WITHOUT_INCIDENT.get(hint.action, "/")
    return {
        "label": label.format(**values).strip(),
        "href": href.format(**values),
        "text": hint.text,
    }


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def json_response(exc: WarroomError, **headers: str) -> JSONResponse:
    """The API's answer to an error: its fields as JSON, its status from `HTTP_STATUS`."""
    extra = dict(headers)
    if isinstance(exc, TooManyAttempts):
        extra.setdefault("Retry-After", str(exc.retry_after))
    return JSONResponse(exc.to_dict(), status_code=http_status(exc), headers=extra or None)


def page_context(exc: WarroomError) -> dict[str, Any]:
    """What `error.html` needs: the message and, when there is one, the hint as a link."""
    return {"message": exc.message, "hint": link(exc.hint) if exc.hint else None}


def render(request: Request, exc: WarroomError) -> Response:
    """An error page for a browser, JSON for everyone else."""
    if wants_html(request):
        return templates.TemplateResponse(
            request, "error.html", page_context(exc), status_code=http_status(exc)
        )
    return json_response(exc)
