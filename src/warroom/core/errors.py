"""One error hierarchy for warroom.

Every message names what was wrong and, where there is one, what to do instead.
The CLI maps these to exit codes and the API to HTTP statuses, each in one place::

    WarroomError                 exit 1, HTTP 500
    ├── InvalidInput             exit 2, HTTP 422  (bad field, bad file, bad argument)
    │   └── UnknownFormat        exit 2, HTTP 422  (a file in a format we cannot read)
    ├── NotFound                 exit 1, HTTP 404  (an incident, task, artifact that does not exist)
    ├── InvalidTransition        exit 2, HTTP 409  (a stage move or role change the rules forbid)
    ├── Conflict                 exit 1, HTTP 409  (someone else changed it first)
    ├── AuthFailed               exit 1, HTTP 401  (no identity, wrong password or token)
    ├── Forbidden                exit 1, HTTP 403  (the identity's role does not allow it)
    ├── TooManyAttempts          exit 1, HTTP 429  (failed logins; wait and try again)
    └── StorageUnavailable       exit 1, HTTP 503  (the database cannot be reached or written)
"""

from __future__ import annotations


class WarroomError(Exception):
    """Base of every error warroom raises on purpose."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class InvalidInput(WarroomError):
    """A value given by a person or a file is not acceptable."""

    exit_code = 2
    http_status = 422


class UnknownFormat(InvalidInput):
    """A file whose format could not be recognised."""


class NotFound(WarroomError):
    """The thing asked for does not exist."""

    exit_code = 1
    http_status = 404


class InvalidTransition(WarroomError):
    """A move the incident rules forbid; the message says what to do instead."""

    exit_code = 2
    http_status = 409


class Conflict(WarroomError):
    """A concurrent change won; try again."""

    exit_code = 1
    http_status = 409


class AuthFailed(WarroomError):
    """No identity, or a wrong name/password/token."""

    exit_code = 1
    http_status = 401


class Forbidden(WarroomError):
    """An identity whose role does not allow the request."""

    exit_code = 1
    http_status = 403


class TooManyAttempts(WarroomError):
    """Too many failed logins for one account from one client."""

    exit_code = 1
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageUnavailable(WarroomError):
    """The database cannot be reached or written."""

    exit_code = 1
    http_status = 503
