"""The evidence locker: files and text sealed as they were given, with a chain of custody.

    ev = seal(db, "INC-7", name="auth.log", content=raw, media_type="text/plain", actor="ana")
    item, data, copy = read(db, "INC-7", 1, actor="bob")   # copy: "original" or "scrubbed"

The original is stored byte for byte, by its sha256, and never changed; a scrubbed working
copy (secrets redacted) is kept beside it for text. Only the permitted (admins, the
incident's commander or security lead; and the server's own CLI, which holds the database)
get the original; everyone else who may see the incident gets the working copy. Every seal
and every read is an event on the incident's timeline with the sha256 of the bytes given:
the chain of custody, hash-chained with the rest of the timeline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom import incidents
from warroom.core import scrub
from warroom.core.clock import utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Forbidden, Hint, InvalidInput, NotFound
from warroom.core.refs import parse_number
from warroom.incidents import privacy, store, timeline
from warroom.incidents.artifacts import MAX_ARTIFACT_BYTES
from warroom.incidents.tables import blobs
from warroom.security.tables import evidence

SEALED = "evidence.sealed"
READ = "evidence.read"
EXPORTED = "evidence.exported"
CUSTODY_KINDS = (SEALED, READ, EXPORTED)
ORIGINAL, SCRUBBED = "original", "scrubbed"
SECURITY_LEAD = "security_lead"


@dataclass(frozen=True)
class Evidence:
    incident_key: str
    number: int
    name: str
    media_type: str
    sha256: str
    size: int
    scrubbed_sha256: str | None
    redacted: int
    description: str
    sealed_by: str
    sealed_at: datetime

    @property
    def ref(self) -> str:
        return f"E{self.number}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "number": self.number,
            "incident": self.incident_key,
            "name": self.name,
            "media_type": self.media_type,
            "sha256": self.sha256,
            "size": self.size,
            "scrubbed_sha256": self.scrubbed_sha256,
            "redacted": self.redacted,
            "description": self.description,
            "sealed_by": self.sealed_by,
            "sealed_at": self.sealed_at.isoformat(),
        }


def parse_ref(ref: str | int) -> int:
    """`E3`, `e3`, `3` -> 3."""
    return parse_number(ref, prefix="E", noun="evidence reference", field="evidence")


def _put_blob(conn: Connection, content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    if conn.execute(sa.select(blobs.c.sha256).where(blobs.c.sha256 == digest)).first() is None:
        conn.execute(blobs.insert().values(sha256=digest, size=len(content), content=content))
    return digest


def _from_row(key: str, r: Any) -> Evidence:
    return Evidence(
        key,
        r.number,
        r.name,
        r.media_type,
        r.sha256,
        r.size,
        r.scrubbed_sha256,
        r.redacted,
        r.description,
        r.sealed_by,
        r.sealed_at,
    )


def seal(
    db: Database,
    key: str | int,
    *,
    name: str,
    content: bytes,
    actor: str,
    media_type: str = "application/octet-stream",
    description: str = "",
    settings: Settings | None = None,
) -> Evidence:
    """Seal `content` as evidence E<n> of the incident; the seal is on the timeline."""
    name = (name or "").strip()[:200]
    if not name:
        raise InvalidInput("evidence needs a name (the file's name)", field="name")
    if not content:
        raise InvalidInput(f"evidence {name!r} is empty", field="content")
    if len(content) > MAX_ARTIFACT_BYTES:
        raise InvalidInput(
            f"evidence {name!r} is {len(content):,} bytes; the limit is "
            f"{MAX_ARTIFACT_BYTES:,}: keep the original in write-once storage and seal its "
            "hash list",
            field="content",
        )
    working: bytes | None = None
    redacted = 0
    if scrub.is_text_media(media_type):
        working, redacted = scrub.scrub_bytes(content, media_type=media_type, settings=settings)
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        digest = _put_blob(conn, content)
        working_digest = _put_blob(conn, working) if working is not None else None
        number = 1 + int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(evidence.c.number), 0)).where(
                    evidence.c.incident_id == row.id
                )
            ).scalar_one()
        )
        now = utcnow()
        values: dict[str, Any] = {
            "number": number,
            "name": name,
            "media_type": media_type[:100],
            "sha256": digest,
            "size": len(content),
            "scrubbed_sha256": working_digest,
            "redacted": redacted,
            "description": description.strip()[:2000],
            "sealed_by": actor,
            "sealed_at": now,
        }
        conn.execute(evidence.insert().values(incident_id=row.id, **values))
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=SEALED,
            at=now,
            data={k: v for k, v in values.items() if k not in ("sealed_by", "sealed_at")},
        )
        return Evidence(row.key, **values)


def list_for(db: Database, key: str | int) -> list[Evidence]:
    """The incident's evidence, E1 first (its hashes; no bytes)."""
    with db.read() as conn:
        incident_id = store.get_id(conn, key)
        rows = conn.execute(
            sa.select(evidence)
            .where(evidence.c.incident_id == incident_id)
            .order_by(evidence.c.number)
        ).all()
    k = f"INC-{store.parse_key(key)}"
    return [_from_row(k, r) for r in rows]


def blob(db: Database, digest: str) -> bytes:
    """Stored bytes by sha256, checked against it (an altered store is refused)."""
    with db.read() as conn:
        data = conn.execute(sa.select(blobs.c.content).where(blobs.c.sha256 == digest)).scalar()
    return _checked(None if data is None else bytes(data), digest)


def _checked(data: bytes | None, digest: str) -> bytes:
    if data is None or hashlib.sha256(data).hexdigest() != digest:
        raise InvalidInput(
            f"the stored bytes of {digest[:12]}... are missing or no longer match their sha256:"
            " the store was altered",
            field="evidence",
        )
    return data


def permitted(inc: incidents.Incident) -> bool:
    """Whether the current reader may have the sealed originals of `inc`: admins, its
    commander or security lead (and nobody in particular: the server's CLI)."""
    reader = privacy.current()
    if reader is None or reader.sees_all:
        return True
    return reader.name in {inc.commander, inc.roles.get(SECURITY_LEAD)} - {None}


def read(
    db: Database, key: str | int, ref: str | int, *, actor: str, scrubbed: bool = False
) -> tuple[Evidence, bytes, str]:
    """The bytes of evidence `ref`: the original for the permitted (unless `scrubbed`), the
    working copy for others; the read is recorded on the timeline with the bytes' sha256."""
    number = parse_ref(ref)
    inc = incidents.get(db, key)
    original = permitted(inc) and not scrubbed
    with db.transaction() as conn:
        row = store.lock(db, conn, inc.key)
        found = conn.execute(
            sa.select(evidence).where(evidence.c.incident_id == row.id, evidence.c.number == number)
        ).first()
        if found is None:
            raise NotFound(
                f"{inc.key} has no evidence E{number}",
                field="evidence",
                hint=Hint("list_evidence", "see the incident's evidence", incident=inc.key),
            )
        item = _from_row(inc.key, found)
        digest = item.sha256 if original else item.scrubbed_sha256
        if digest is None:
            raise Forbidden(
                f"E{number} ({item.name}) is sealed and has no scrubbed copy (it is not text): "
                "only an admin, the commander or the security lead may read it",
                hint=Hint(
                    "assign_role",
                    "name a security lead",
                    incident=inc.key,
                    params={"role": SECURITY_LEAD},
                ),
            )
        stored = conn.execute(sa.select(blobs.c.content).where(blobs.c.sha256 == digest)).scalar()
        data = _checked(None if stored is None else bytes(stored), digest)
        copy = ORIGINAL if original else SCRUBBED
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=READ,
            data={"number": number, "name": item.name, "copy": copy, "sha256": digest},
        )
    return item, data, copy
