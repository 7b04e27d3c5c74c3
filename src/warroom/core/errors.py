"""One error hierarchy for warroom; errors are data, rendered by each shell.

An error says what was wrong (`message`, in words, never shell syntax), which input it was
about (`field`), a stable machine `code`, and what to do next as a structured `Hint`. The
CLI renders the hint as a command, the web as a link or button, the API as JSON; exit codes
and HTTP statuses are mapped in the shells (`warroom.cli.common`, `warroom.web.errors`)::

    WarroomError             code "error"               (CLI exit 1, HTTP 500)
    ├── InvalidInput         code "invalid_input"       (exit 2, 422: bad field, file, argument)
    │   ├── UnknownFormat    code "unknown_format"      (exit 2, 422: a file we cannot read)
    │   └── TooLarge         code "too_large"           (exit 2, 413: over a size limit)
    ├── NotFound             code "not_found"           (exit 1, 404)
    ├── InvalidTransition    code "invalid_transition"  (exit 2, 409: the rules forbid the move)
    ├── Conflict             code "conflict"            (exit 1, 409: someone changed it first)
    ├── AuthFailed           code "auth_failed"         (exit 1, 401)
    ├── Forbidden            code "forbidden"           (exit 1, 403)
    ├── TooManyAttempts      code "too_many_attempts"   (exit 1, 429, with retry_after)
    └── StorageUnavailable   code "storage_unavailable" (exit 1, 503)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Hint:
    """What to do next, as data.

    `action` names a step every shell knows how to offer (see `ACTIONS`); `text` says it in
    words; `incident` and `params` fill it in. The CLI turns `Hint("reopen", "reopen it",
    incident="INC-7")` into `warroom stage INC-7 --reopen --reason '...'`, the web into the
    reopen form of INC-7, the API into `{"action": "reopen", "incident": "INC-7", ...}`.
    """

    action: str
    text: str
    incident: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown hint action {self.action!r}: add it to ACTIONS")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "text": self.text}
        if self.incident:
            out["incident"] = self.incident
        if self.params:
            out["params"] = dict(self.params)
        return out


# The next steps a hint may name, with what each needs in `params`. Every shell renders each
# one (a test checks that the CLI and the web know them all).
ACTIONS: dict[str, str] = {
    "list_incidents": "see the incidents",
    "show_incident": "open the incident",
    "declare": "declare an incident",
    "move": "move the incident to params['to']",
    "reopen": "reopen the incident",
    "assign_role": "name a person for params['role']",
    "set_severity": "set a severity (params['severity'] suggested)",
    "add_task": "add a task",
    "update_task": "update task params['task']",
    "post_update": "post a status update (params['audience'])",
    "verify": "verify recovery from the numbers",
    "give_reason": "give a reason (recorded on the timeline)",
    "declare_lever": "declare a lever in warroom.toml",
    "list_levers": "see the declared levers",
    "list_mitigations": "see the incident's mitigations",
    "list_services": "see the services",
    "add_service": "add a service",
    "replace_service": "replace a service's entry in the catalog",
    "list_drills": "see the drills",
    "draft_postmortem": "draft the postmortem",
    "set_postmortem_status": "change the postmortem's status",
    "record_root_cause": "record the root cause",
    "add_action": "add an action item (params['type'])",
    "list_actions": "see the action items",
    "list_users": "see the accounts",
    "set_user_role": "change an account's role",
    "add_user": "create an account",
    "list_tokens": "see the API tokens",
    "create_token": "create an API token (params['role'] or params['source'])",
    "sign_in": "sign in",
    "public_bind": "serve on params['host']: create an account first, or accept no sign-in",
    "severity_help": "read the severity definitions",
    "retry": "try again",
    "show_oncall": "see who is on call: schedules, policies, gaps",
    "add_person": "add params['name'] to on call, with a contact method",
    "data_restore": "restore a side copy of the product database to a point in time",
    "data_cleanup": "stop and remove the side copy of the product database",
    "data_dry_run": "dry-run the repair script params['file'] on the incident",
    "list_evidence": "see the incident's sealed evidence",
    "start_clock": "start the incident's regulatory clocks",
    "record_notification": "record the notification of clock params['name'] to its authority",
}


class WarroomError(Exception):
    """Base of every error warroom raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, field: str | None = None, hint: Hint | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The error as the API sends it (the HTTP status is the shell's)."""
        out: dict[str, Any] = {
            "error": type(self).__name__,
            "code": self.code,
            "detail": self.message,
        }
        if self.field:
            out["field"] = self.field
        if self.hint:
            out["hint"] = self.hint.to_dict()
        return out


class InvalidInput(WarroomError):
    """A value given by a person or a file is not acceptable."""

    code = "invalid_input"


class UnknownFormat(InvalidInput):
    """A file whose format could not be recognised."""

    code = "unknown_format"


class TooLarge(InvalidInput):
    """A body, file or value over its size limit."""

    code = "too_large"


class NotFound(WarroomError):
    """The thing asked for does not exist."""

    code = "not_found"


class InvalidTransition(WarroomError):
    """A move the incident rules forbid; the hint says what to do instead."""

    code = "invalid_transition"


class Conflict(WarroomError):
    """A concurrent change won; try again."""

    code = "conflict"


class AuthFailed(WarroomError):
    """No identity, or a wrong name/password/token."""

    code = "auth_failed"


class Forbidden(WarroomError):
    """An identity whose role does not allow the request."""

    code = "forbidden"


class TooManyAttempts(WarroomError):
    """Too many failed logins for one account from one client."""

    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, hint=Hint("retry", f"try again in {retry_after} s"))
        self.retry_after = retry_after


class StorageUnavailable(WarroomError):
    """The database cannot be reached or written."""

    code = "storage_unavailable"
