"""Who acts: the account roles, and the identity a request acts as.

Role.parse("Responder").allows(Role.VIEWER)    # True: each role includes the ones before
Identity(name="ana", role=Role.RESPONDER, via="session", session_token="...").csrf_token
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from warroom.core.choices import Choice


class Role(Choice):
    """An account's or token's role; each includes the ones before it."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    COMMANDER = "commander"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Identity:
    """Who a request acts as: an account (session), an API token, or loopback mode's user."""

    name: str
    role: Role
    via: str  # "session" | "token" | "loopback"
    source: str | None = None  # webhook source of a token
    session_token: str | None = None
    named: bool = True  # False: loopback mode and nobody said who they are (see web.identity)

    @property
    def csrf_token(self) -> str | None:
        """The per-session form token (derived from the session id, which it does not reveal)."""
        if self.session_token is None:
            return None
        return hmac.new(self.session_token.encode(), b"warroom-csrf", hashlib.sha256).hexdigest()
