"""Signed links: the one-time acknowledgement link of a page and the calendar feeds' URLs.

A link carries an HMAC-SHA256 signature made with a server secret kept in the database
(created on first use, shared by every instance on that database), over what the link is
for: an acknowledgement link is bound to its incident and its page, and its nonce is stored
only as a hash, so a link cannot be forged, moved to another incident, or made from the
database's contents alone. Single use is the page's business (`acks`).

    token = ack_token(secret(db), "INC-7", page_id=12, nonce=nonce)   # "12.<nonce>.<sig>"
    page_id, nonce = verify_ack(secret(db), "INC-7", token)           # or Forbidden
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import quote

import sqlalchemy as sa

from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Forbidden, Hint
from warroom.oncall.tables import oncall_keys

KEY_NAME = "links"


def secret(db: Database) -> bytes:
    """The server's signing secret (made once, on first use, by whichever process is first)."""
    with db.read() as conn:
        found = conn.execute(
            sa.select(oncall_keys.c.secret).where(oncall_keys.c.name == KEY_NAME)
        ).scalar()
    if found is None:
        with db.transaction() as conn:
            found = conn.execute(
                sa.select(oncall_keys.c.secret).where(oncall_keys.c.name == KEY_NAME)
            ).scalar()
            if found is None:
                try:
                    with conn.begin_nested():
                        found = secrets.token_hex(32)
                        conn.execute(
                            oncall_keys.insert().values(
                                name=KEY_NAME, secret=found, created_at=utcnow()
                            )
                        )
                except sa.exc.IntegrityError:  # another process made it first: use theirs
                    found = conn.execute(
                        sa.select(oncall_keys.c.secret).where(oncall_keys.c.name == KEY_NAME)
                    ).scalar_one()
    return bytes.fromhex(str(found))


def sign(key: bytes, *parts: str) -> str:
    """URL-safe HMAC-SHA256 of the parts (joined with '|', which no part contains)."""
    mac = hmac.new(key, "|".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def new_nonce() -> tuple[str, str]:
    """A fresh nonce and the hash stored in its place."""
    nonce = secrets.token_urlsafe(16)
    return nonce, nonce_hash(nonce)


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def ack_token(key: bytes, incident: str, *, page_id: int, nonce: str) -> str:
    """The last part of an acknowledgement link: page, nonce, signature."""
    return f"{page_id}.{nonce}.{sign(key, 'ack', incident, str(page_id), nonce)}"


def invalid_link(incident: str) -> Forbidden:
    return Forbidden(
        f"this acknowledgement link is not valid for {incident}",
        hint=Hint("show_incident", "open the incident", incident=incident),
    )


def verify_ack(key: bytes, incident: str, token: str) -> tuple[int, str]:
    """(page id, nonce) of a link signed for `incident`; Forbidden for anything else."""
    parts = str(token or "").split(".")
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit() or len(parts[0]) > 9:
        raise invalid_link(incident)
    page, nonce, sig = parts
    expected = sign(key, "ack", incident, page, nonce)
    if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
        raise invalid_link(incident)
    return int(page), nonce


def feed_key(key: bytes, kind: str, name: str) -> str:
    """The `key` of a calendar feed's URL (a calendar app sends no credentials)."""
    return sign(key, "feed", kind, name)


def verify_feed(key: bytes, kind: str, name: str, given: str) -> None:
    if not hmac.compare_digest(feed_key(key, kind, name).encode(), str(given or "").encode()):
        raise Forbidden(
            "this calendar link is not valid: copy it again from the on-call page",
            hint=Hint("show_oncall", "see the on-call page"),
        )


def feed_url(db: Database, base: str, kind: str, name: str) -> str:
    """The calendar feed's address: `kind` is "schedule" or "person"."""
    key = feed_key(secret(db), kind, name)
    return f"{base}/oncall/calendar/{kind}/{quote(name, safe='')}.ics?key={key}"
