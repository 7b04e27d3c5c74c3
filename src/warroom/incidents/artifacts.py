"""Artifacts: files attached to an incident (triage reports, log excerpts, evidence).

Content-addressed by sha256: the same bytes are stored once, and the hash on the timeline
proves what was attached.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from warroom.core import registry, scrub
from warroom.core.clock import utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, NotFound
from warroom.incidents import lifecycle, store, timeline
from warroom.incidents.tables import artifacts, blobs
from warroom.incidents.timeline import Kind

MAX_ARTIFACT_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Artifact:
    id: int
    incident_key: str
    sha256: str
    kind: str
    name: str
    media_type: str
    size: int
    created_by: str
    created_at: datetime
    redacted: int = 0  # secrets redacted from the content before it was stored

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident": self.incident_key,
            "sha256": self.sha256,
            "kind": self.kind,
            "name": self.name,
            "media_type": self.media_type,
            "size": self.size,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "redacted": self.redacted,
        }


def attach(
    db: Database,
    key: str | int,
    *,
    actor: str,
    kind: str,
    name: str,
    content: bytes,
    media_type: str = "application/octet-stream",
    summary: str = "",
    settings: Settings | None = None,
) -> Artifact:
    """Store `content` once by its sha256 and record the attachment on the timeline.

    Text is scrubbed of secrets first, with the extra `[scrub]` patterns of `settings`.
    """
    if not content:
        raise InvalidInput(f"artifact {name!r} is empty", field="content")
    if len(content) > MAX_ARTIFACT_BYTES:
        raise InvalidInput(
            f"artifact {name!r} is {len(content):,} bytes; the limit is "
            f"{MAX_ARTIFACT_BYTES:,}: attach an excerpt",
            field="content",
        )
    redacted: int | None = None
    if scrub.is_text_media(media_type) or scrub.looks_like_text(content):
        # Secrets never reach the store: the hash is of the scrubbed bytes. Text is known by
        # its content too, so a log named .bin or sent as octet-stream is scrubbed as well.
        encoding = "utf-16" if content.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8"
        content, redacted = scrub.scrub_bytes(
            content, media_type=media_type, encoding=encoding, settings=settings
        )
    digest = hashlib.sha256(content).hexdigest()
    with db.transaction() as conn:
        row = store.lock(db, conn, key)
        if conn.execute(sa.select(blobs.c.sha256).where(blobs.c.sha256 == digest)).first() is None:
            conn.execute(blobs.insert().values(sha256=digest, size=len(content), content=content))
        now = utcnow()
        artifact_id = conn.execute(
            artifacts.insert()
            .values(
                incident_id=row.id,
                sha256=digest,
                kind=kind,
                name=name[:200],
                media_type=media_type,
                created_by=actor,
                created_at=now,
            )
            .returning(artifacts.c.id)
        ).scalar_one()
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=Kind.ARTIFACT_ATTACHED,
            at=now,
            data={
                "artifact_id": artifact_id,
                "kind": kind,
                "name": name[:200],
                "sha256": digest,
                "size": len(content),
                "summary": summary[:500],
                **({"redacted": redacted} if redacted is not None else {}),
            },
        )
        art = Artifact(
            artifact_id,
            row.key,
            digest,
            kind,
            name[:200],
            media_type,
            len(content),
            actor,
            now,
            redacted or 0,
        )
    lifecycle.run_hooks(registry.active().after_attach(), db, art, actor)
    return art


def list_for(db: Database, key: str | int, *, kind: str | None = None) -> list[Artifact]:
    """An incident's artifacts, oldest first."""
    with db.read() as conn:
        incident_id = store.get_id(conn, key)
        stmt = (
            sa.select(artifacts, blobs.c.size)
            .join(blobs, blobs.c.sha256 == artifacts.c.sha256)
            .where(artifacts.c.incident_id == incident_id)
            .order_by(artifacts.c.id)
        )
        if kind:
            stmt = stmt.where(artifacts.c.kind == kind)
        rows = conn.execute(stmt).all()
    k = f"INC-{store.parse_key(key)}"
    return [
        Artifact(
            r.id, k, r.sha256, r.kind, r.name, r.media_type, r.size, r.created_by, r.created_at
        )
        for r in rows
    ]


def content(db: Database, sha256: str) -> bytes:
    """The bytes of a stored artifact."""
    with db.read() as conn:
        row = conn.execute(sa.select(blobs.c.content).where(blobs.c.sha256 == sha256)).first()
    if row is None:
        raise NotFound(f"no artifact with sha256 {sha256}", field="sha256")
    return bytes(row.content)


def latest(db: Database, key: str | int, *, kind: str) -> tuple[Artifact, bytes] | None:
    """The newest artifact of a kind on an incident with its bytes, or None."""
    items = list_for(db, key, kind=kind)
    if not items:
        return None
    return items[-1], content(db, items[-1].sha256)


TRIAGE_KINDS = ("triage-report", "triage")


def attach_triage_report(
    db: Database,
    key: str | int,
    report: dict[str, Any],
    *,
    actor: str,
    settings: Settings | None = None,
) -> Artifact:
    """Attach a triage report (its JSON form) to an incident, named by its headline."""
    return attach(
        db,
        key,
        actor=actor,
        kind=TRIAGE_KINDS[0],
        name="triage.json",
        content=json.dumps(report, indent=2, default=str).encode(),
        media_type="application/json",
        summary=str(report.get("headline") or ""),
        settings=settings,
    )


def latest_triage_report(db: Database, key: str | int) -> dict[str, Any] | None:
    """The newest triage report attached to an incident (kind `triage-report` or `triage`),
    parsed; None when there is none or it is not a JSON object."""
    found = [a for a in list_for(db, key) if a.kind in TRIAGE_KINDS]
    if not found:
        return None
    try:
        data = json.loads(content(db, found[-1].sha256).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def latest_triage_reports(db: Database, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The newest triage report of each of `ids`, parsed (absent: none, or not an object).
    Two statements for any number of incidents (recurrence compares many at once)."""
    if not ids:
        return {}
    with db.read() as conn:
        newest = dict(
            conn.execute(
                sa.select(artifacts.c.incident_id, sa.func.max(artifacts.c.id))
                .where(artifacts.c.incident_id.in_(ids), artifacts.c.kind.in_(TRIAGE_KINDS))
                .group_by(artifacts.c.incident_id)
            ).all()
        )
        if not newest:
            return {}
        rows = conn.execute(
            sa.select(artifacts.c.incident_id, blobs.c.content)
            .join(blobs, blobs.c.sha256 == artifacts.c.sha256)
            .where(artifacts.c.id.in_(list(newest.values())))
        ).all()
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        try:
            data = json.loads(bytes(r.content).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict):
            out[int(r.incident_id)] = data
    return out
