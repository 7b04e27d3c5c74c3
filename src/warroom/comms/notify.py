"""Notifications: channels, the outbox, and delivery with retries, leases and idempotency keys.

A change writes its notifications into `outbox` in the same transaction (`enqueue`); the worker
delivers them later (`deliver_pending`), so a failing channel never blocks or loses a change::

    with db.transaction() as conn:
        ...change the incident...
        enqueue(conn, key="update:7:3:ops", incident_id=7, channel=ch, title=..., body=...)
    deliver_pending(db, config=NotifyConfig.from_settings(settings))   # the worker's job

Delivery is at-least-once with a per-row idempotency key: a row is claimed (status `sending`
with a lease), sent, then marked `sent`. A worker that dies between sending and marking leaves
the lease to expire and the row is sent again with the same key, which the receiver can use
to drop the duplicate (generic webhooks get it as the `X-Idempotency-Key` header and in the
JSON body). A row marked `sent` is never sent again.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.comms.tables import outbox
from warroom.core.clock import utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, NotFound
from warroom.core.severity import Severity
from warroom.incidents.tables import incidents as incidents_t

log = logging.getLogger(__name__)

AUDIENCES = ("internal", "stakeholder", "public", "escalation")
# Generic webhook schemes of apprise that accept extra headers (+Name=value) and payload
# fields (:name=value) in the URL: the idempotency key travels in both.
GENERIC_SCHEMES = ("json", "jsons", "form", "forms", "xml", "xmls")


class Delivery(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Channel:
    """Where notifications go: an apprise URL for some audiences from a minimum severity."""

    name: str
    url: str
    audiences: tuple[str, ...] = ("internal",)
    min_severity: Severity | None = None

    def accepts(self, audience: str, severity: Severity | str | None) -> bool:
        """True when this channel wants `audience` messages about an incident of `severity`."""
        if audience not in self.audiences:
            return False
        if self.min_severity is None:
            return True
        if severity is None:
            return False
        return Severity.parse(severity).rank <= self.min_severity.rank


@dataclass(frozen=True)
class NotifyConfig:
    """The `[notify]` table plus `[[comms.channels]]` and `[comms.contacts]` of warroom.toml."""

    channels: tuple[Channel, ...] = ()
    contacts: dict[str, str] = field(default_factory=dict)
    max_attempts: int = 8
    lease_seconds: int = 60
    backoff_seconds: int = 15
    max_backoff_seconds: int = 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> NotifyConfig:
        """The channels, contacts and delivery timings of this deployment's settings."""
        comms = settings.section("comms")
        raw = settings.section("notify")
        channels = []
        for i, item in enumerate(comms.get("channels", []) or []):
            if not isinstance(item, dict) or not item.get("url"):
                raise InvalidInput(
                    f"[[comms.channels]] entry {i + 1} needs a url (an apprise URL such as "
                    "slack://... or json://host/path)",
                    field="channels",
                )
            audiences = tuple(item.get("audiences", ["internal"]))
            bad = [a for a in audiences if a not in AUDIENCES]
            if bad:
                raise InvalidInput(
                    f"channel {item.get('name') or i + 1}: unknown audience {bad[0]!r}; use "
                    f"{', '.join(AUDIENCES)}",
                    field="audiences",
                )
            sev = item.get("min_severity")
            channels.append(
                Channel(
                    name=str(item.get("name") or f"channel-{i + 1}"),
                    url=str(item["url"]),
                    audiences=audiences,
                    min_severity=Severity.parse(sev) if sev else None,
                )
            )
        contacts = {str(k): str(v) for k, v in (comms.get("contacts", {}) or {}).items()}
        return cls(
            channels=tuple(channels),
            contacts=contacts,
            max_attempts=int(raw.get("max_attempts", 8)),
            lease_seconds=int(raw.get("lease_seconds", 60)),
            backoff_seconds=int(raw.get("backoff_seconds", 15)),
            max_backoff_seconds=int(raw.get("max_backoff_seconds", 3600)),
        )

    def channels_for(self, audience: str, severity: Severity | str | None) -> list[Channel]:
        return [c for c in self.channels if c.accepts(audience, severity)]

    def contact(self, person: str | None) -> Channel | None:
        """A person's own channel (`[comms.contacts]`), if configured."""
        if person and person in self.contacts:
            return Channel(name=f"@{person}", url=self.contacts[person], audiences=AUDIENCES)
        return None


@dataclass
class OutboxItem:
    id: int
    key: str
    incident: str | None
    channel: str
    title: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "incident": self.incident,
            "channel": self.channel,
            "title": self.title,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


def _without_private_title(
    conn: Connection, incident_id: int | None, title: str, body: str
) -> tuple[str, str]:
    """A message about a private incident carries its key, never its internal title (the
    outbox is the one way out, so every page, reminder and update passes here)."""
    if incident_id is None:
        return title, body
    inc = conn.execute(
        sa.select(incidents_t.c.key, incidents_t.c.title, incidents_t.c.private).where(
            incidents_t.c.id == incident_id
        )
    ).first()
    if inc is None or not inc.private:
        return title, body
    hidden = f"{inc.key} (private incident)"
    if inc.title:
        title, body = title.replace(inc.title, hidden), body.replace(inc.title, hidden)
    if inc.key not in title:
        title = f"{hidden}: {title}"
    return title, body


def enqueue(
    conn: Connection,
    *,
    key: str,
    incident_id: int | None,
    channel: Channel,
    title: str,
    body: str,
    not_before: datetime | None = None,
) -> bool:
    """Queue one message inside the caller's transaction; False if `key` is already queued.

    `not_before`: hold it until then (a low-urgency page waits for working hours)."""
    exists = conn.execute(sa.select(outbox.c.id).where(outbox.c.key == key)).first()
    if exists is not None:
        return False
    title, body = _without_private_title(conn, incident_id, title, body)
    now = utcnow()
    try:
        with conn.begin_nested():
            conn.execute(
                outbox.insert().values(
                    key=key[:200],
                    incident_id=incident_id,
                    channel=channel.name,
                    url=channel.url,
                    title=title[:300],
                    body=body,
                    status=Delivery.PENDING.value,
                    attempts=0,
                    next_attempt_at=max(now, not_before) if not_before else now,
                    last_error="",
                    created_at=now,
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True


def deliveries(db: Database, key: str | None = None, *, limit: int = 200) -> list[OutboxItem]:
    """Outbox rows, newest first (of one incident when `key` is given)."""
    with db.read() as conn:
        stmt = (
            sa.select(outbox, incidents_t.c.key.label("incident_key"))
            .select_from(outbox.outerjoin(incidents_t, incidents_t.c.id == outbox.c.incident_id))
            .order_by(outbox.c.id.desc())
            .limit(limit)
        )
        if key is not None:
            stmt = stmt.where(outbox.c.incident_id == incidents.get_id(conn, key))
        rows = conn.execute(stmt).all()
    return [
        OutboxItem(
            id=r.id,
            key=r.key,
            incident=r.incident_key,
            channel=r.channel,
            title=r.title,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            created_at=r.created_at,
            sent_at=r.sent_at,
        )
        for r in rows
    ]


def with_idempotency_key(url: str, key: str) -> str:
    """Add the key as a header and a payload field to generic webhook URLs."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in GENERIC_SCHEMES:
        return url
    sep = "&" if "?" in url else "?"
    k = quote(key, safe="")
    return f"{url}{sep}+X-Idempotency-Key={k}&:idempotency_key={k}"


def _apprise() -> Any:
    # apprise imports the deprecated `imghdr` module on Python 3.11/3.12; that warning is
    # theirs, and must not turn into an error where warnings are errors (the test suite).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise
    return apprise


def apprise_send(url: str, title: str, body: str, key: str) -> tuple[bool, str]:
    """Send one message through apprise; (ok, error text)."""
    apprise = _apprise()
    # Plugins load lazily on first use and some import deprecated modules (see `_apprise`).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        target = apprise.Apprise()
        if not target.add(with_idempotency_key(url, key)):
            return False, "not a valid apprise URL"
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            ok = bool(target.notify(body=body, title=title))
            detail = captured.getvalue().strip() if not ok else ""
    return ok, (detail.splitlines()[-1] if detail else ("" if ok else "delivery failed"))


Sender = Callable[[str, str, str, str], tuple[bool, str]]


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "retried": self.retried, "failed": self.failed}


def claim(
    db: Database, *, config: NotifyConfig, limit: int = 20
) -> list[tuple[int, str, str, str, str, str]]:
    """Lease up to `limit` due rows to this worker: (id, token, key, url, title, body)."""
    now = utcnow()
    token = uuid.uuid4().hex
    due = sa.or_(
        sa.and_(outbox.c.status == Delivery.PENDING.value, outbox.c.next_attempt_at <= now),
        sa.and_(outbox.c.status == Delivery.SENDING.value, outbox.c.lease_until < now),
    )
    stmt = sa.select(outbox).where(due).order_by(outbox.c.id).limit(limit)
    if not db.is_sqlite:
        stmt = stmt.with_for_update(skip_locked=True)
    out = []
    with db.transaction() as conn:
        for r in conn.execute(stmt).all():
            if r.attempts >= config.max_attempts:
                conn.execute(
                    outbox.update()
                    .where(outbox.c.id == r.id)
                    .values(status=Delivery.FAILED.value, lease_until=None)
                )
                continue
            conn.execute(
                outbox.update()
                .where(outbox.c.id == r.id)
                .values(
                    status=Delivery.SENDING.value,
                    attempts=r.attempts + 1,
                    lease_until=now + timedelta(seconds=config.lease_seconds),
                    lease_token=token,
                )
            )
            out.append((r.id, token, r.key, r.url, r.title, r.body))
    return out


def _finish(db: Database, row_id: int, token: str, values: dict[str, Any]) -> None:
    with db.transaction() as conn:
        conn.execute(
            outbox.update()
            .where(
                outbox.c.id == row_id,
                outbox.c.lease_token == token,
                outbox.c.status == Delivery.SENDING.value,
            )
            .values(**values)
        )


def deliver_pending(
    db: Database,
    *,
    config: NotifyConfig,
    sender: Sender | None = None,
    limit: int = 20,
) -> DeliveryStats:
    """Send what is due in the outbox once; failures are rescheduled with backoff."""
    send = sender or apprise_send
    stats = DeliveryStats()
    for row_id, token, key, url, title, body in claim(db, config=config, limit=limit):
        try:
            ok, error = send(url, title, body, key)
        except Exception as exc:  # noqa: BLE001 - a broken channel must not stop the worker
            ok, error = False, f"{type(exc).__name__}: {exc}"
        now = utcnow()
        if ok:
            _finish(
                db,
                row_id,
                token,
                {
                    "status": Delivery.SENT.value,
                    "sent_at": now,
                    "lease_until": None,
                    "last_error": "",
                },
            )
            stats.sent += 1
            continue
        with db.read() as conn:
            attempts = conn.execute(
                sa.select(outbox.c.attempts).where(outbox.c.id == row_id)
            ).scalar_one()
        if attempts >= config.max_attempts:
            _finish(
                db,
                row_id,
                token,
                {"status": Delivery.FAILED.value, "lease_until": None, "last_error": error[:2000]},
            )
            stats.failed += 1
            log.warning("giving up on outbox row %s after %s attempts: %s", key, attempts, error)
        else:
            delay = min(config.backoff_seconds * 2 ** (attempts - 1), config.max_backoff_seconds)
            _finish(
                db,
                row_id,
                token,
                {
                    "status": Delivery.PENDING.value,
                    "lease_until": None,
                    "next_attempt_at": now + timedelta(seconds=delay),
                    "last_error": error[:2000],
                },
            )
            stats.retried += 1
    return stats


def retry_now(db: Database, row_id: int) -> None:
    """Put a failed or waiting row back at the front of the queue."""
    with db.transaction() as conn:
        result = conn.execute(
            outbox.update()
            .where(outbox.c.id == row_id, outbox.c.status != Delivery.SENT.value)
            .values(status=Delivery.PENDING.value, next_attempt_at=utcnow(), attempts=0)
        )
        if not result.rowcount:
            raise NotFound(
                f"no unsent outbox row {row_id}: sent rows are never sent again",
                field="id",
            )
