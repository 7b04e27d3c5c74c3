"""The timeline: one append-only event for every change to an incident.

Events carry a gapless `seq` per incident, UTC time, actor, kind and data, and are
hash-chained (each carries the hash of the one before) so later edits are detectable.
`append` must run inside the transaction that makes the change it records.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core import quoting, scrub
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import ledger, privacy, store
from warroom.incidents.tables import events, incidents

MAX_NOTE_CHARS = 20_000


class Kind(StrEnum):
    DECLARED = "incident.declared"
    FIELDS_UPDATED = "incident.updated"
    STAGE_CHANGED = "stage.changed"
    STAGE_SKIPPED = "stage.skipped"
    REOPENED = "incident.reopened"
    SEVERITY_CHANGED = "severity.changed"
    ROLE_ASSIGNED = "role.assigned"
    COMMANDER_HANDOFF = "role.commander_handoff"
    ROLE_REMOVED = "role.removed"
    TASK_ADDED = "task.added"
    TASK_UPDATED = "task.updated"
    NOTE = "note.added"
    ARTIFACT_ATTACHED = "artifact.attached"
    VERIFICATION = "verification.recorded"
    VERIFICATION_OVERRIDDEN = "verification.overridden"


@dataclass(frozen=True)
class Event:
    incident_key: str
    seq: int
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_key,
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "kind": self.kind,
            "data": self.data,
            "hash": self.hash,
        }

    def summary(self) -> str:
        """One line a person can read."""
        return summarise(self.kind, self.data)

    def in_words(self) -> str:
        """The summary with the event's kind in words where it names it: "Root cause
        recorded: ..." rather than "rootcause.recorded: ..." (pages and postmortems)."""
        return in_words(self.kind, self.summary())


def event_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, kind: str, data: dict[str, Any]
) -> str:
    """sha256 over the previous hash and a canonical form of the event."""
    body = json.dumps(
        {
            "prev": prev_hash,
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor,
            "kind": kind,
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Head:
    """Where an incident's chain ends: its last event's seq and hash (0 and "" before any)."""

    seq: int = 0
    hash: str = ""


def chain(
    head: Head, *, actor: str, at: datetime, items: list[tuple[str, dict[str, Any] | None]]
) -> tuple[list[dict[str, Any]], Head]:
    """The event rows (kind, data) that follow `head`, without incident_id, and the new head.

    Pure: callers that know the head (an incident they just inserted, a row they locked) build
    the rows before or without reading it back.
    """
    rows: list[dict[str, Any]] = []
    for kind, raw in items:
        data = json.loads(json.dumps(raw or {}, default=str))
        # Every path into the timeline is scrubbed here, before the hash: notes, updates,
        # alert annotations, tasks... A secret pasted anywhere never reaches the append-only
        # store; the event says how many were redacted (its text shows [REDACTED] where).
        data, redacted = scrub.scrub_data(data)
        if redacted:
            data["redacted"] = int(data.get("redacted") or 0) + redacted
        seq = head.seq + 1
        digest = event_hash(head.hash, seq, at, actor, kind, data)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "kind": kind,
                "data": data,
                "prev_hash": head.hash,
                "hash": digest,
            }
        )
        head = Head(seq, digest)
    return rows, head


# Built once: appending is on the alert intake hot path.
_HEAD = sa.select(incidents.c.last_seq, incidents.c.last_hash).where(
    incidents.c.id == sa.bindparam("iid")
)
_INSERT = events.insert()
_ADVANCE = (
    incidents.update()
    .where(incidents.c.id == sa.bindparam("iid"))
    .values(
        last_seq=sa.bindparam("new_seq"),
        last_hash=sa.bindparam("new_hash"),
        updated_at=sa.bindparam("when"),
    )
)


def head(conn: Connection, incident_id: int) -> Head:
    """The incident's chain head as stored (read it under the incident row lock)."""
    row = conn.execute(_HEAD, {"iid": incident_id}).one()
    return Head(int(row.last_seq), str(row.last_hash))


def insert_events(conn: Connection, incident_id: int, rows: list[dict[str, Any]]) -> None:
    """Store rows from `chain` (the caller also moves the incident's head to the last one)."""
    conn.execute(_INSERT, [{**r, "incident_id": incident_id} for r in rows])
    if rows:  # the incident's new head goes into the ledger when the transaction commits
        ledger.note(conn, incident_id, rows[-1]["seq"], rows[-1]["hash"])


def append(
    conn: Connection,
    incident_id: int,
    *,
    actor: str,
    kind: str,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one event to an incident inside the caller's transaction; returns its seq.

    The caller must hold the incident row lock (see `store.lock`), which makes `seq`
    gapless under concurrency.
    """
    return append_after(
        conn, incident_id, head(conn, incident_id), actor=actor, items=[(kind, data)], at=at
    ).seq


def append_after(
    conn: Connection,
    incident_id: int,
    after: Head,
    *,
    actor: str,
    items: list[tuple[str, dict[str, Any] | None]],
    at: datetime | None = None,
) -> Head:
    """Append events (kind, data) after the head the caller read under the incident row lock,
    in two statements; returns the new head."""
    when = at or utcnow()
    rows, new = chain(after, actor=actor, at=when, items=items)
    insert_events(conn, incident_id, rows)
    conn.execute(
        _ADVANCE, {"iid": incident_id, "new_seq": new.seq, "new_hash": new.hash, "when": when}
    )
    return new


def read(
    db: Database, incident_key: str, *, since_seq: int = 0, kinds: list[str] | None = None
) -> list[Event]:
    """The incident's events in order (optionally after `since_seq`, of some kinds)."""
    with db.read() as conn:
        incident_id = store.get_id(conn, incident_key)
        stmt = sa.select(events).where(events.c.incident_id == incident_id)
        if since_seq:
            stmt = stmt.where(events.c.seq > since_seq)
        if kinds:
            # Ordered as the index (incident_id, kind, seq) is, then by seq here: ordered by
            # seq alone, SQLite walks the whole timeline on the (incident_id, seq) index.
            stmt = stmt.where(events.c.kind.in_(kinds)).order_by(events.c.kind, events.c.seq)
        else:
            stmt = stmt.order_by(events.c.seq)
        rows = sorted(conn.execute(stmt), key=lambda r: int(r.seq))
    key = f"INC-{store.parse_key(incident_key)}"
    return [_event(key, r) for r in rows]


DEFAULT_WINDOW = 500
MAX_WINDOW = 5000


@dataclass
class Window:
    """A run of an incident's events in seq order, and where the neighbouring runs start.

    `earlier`: pass as `before=` for the events before these (None: these start at seq 1);
    `later`: pass as `since=` for the events after these (None: these are the newest)."""

    events: list[Event]
    earlier: int | None
    later: int | None


def window(
    db: Database,
    incident_key: str,
    *,
    since: int = 0,
    before: int | None = None,
    latest: bool = False,
    limit: int = DEFAULT_WINDOW,
) -> Window:
    """At most `limit` events in seq order: the last ones before seq `before` (or the very
    latest with `latest=True`), else the first ones after seq `since`.
    Two statements on the (incident_id, seq) index: a deep page costs what the first does."""
    if not 1 <= limit <= MAX_WINDOW:
        raise InvalidInput(f"limit must be between 1 and {MAX_WINDOW}", field="limit")
    key = f"INC-{store.parse_key(incident_key)}"
    c = events.c
    with db.read() as conn:
        number = store.parse_key(incident_key)
        row = conn.execute(
            sa.select(
                incidents.c.id,
                incidents.c.last_seq,
                incidents.c.private,
                incidents.c.created_by,
                incidents.c.commander,
            ).where(incidents.c.number == number)
        ).first()
        if row is None or not privacy.sees(conn, row):
            raise store.missing(number)
        last = int(row.last_seq)
        if latest and before is None:
            before = last + 1
        base = sa.select(events).where(c.incident_id == row.id)
        if before is not None:
            rows = list(
                reversed(
                    conn.execute(
                        base.where(c.seq < before).order_by(c.seq.desc()).limit(limit)
                    ).all()
                )
            )
        else:
            rows = list(conn.execute(base.where(c.seq > since).order_by(c.seq).limit(limit)))
    items = [_event(key, r) for r in rows]
    first = items[0].seq if items else None
    end = items[-1].seq if items else None
    return Window(
        events=items,
        earlier=first if first is not None and first > 1 else None,
        later=end if end is not None and end < last else None,
    )


def _event(key: str, r: Any) -> Event:
    return Event(
        incident_key=key,
        seq=r.seq,
        at=r.at,
        actor=r.actor,
        kind=r.kind,
        data=r.data,
        prev_hash=r.prev_hash,
        hash=r.hash,
    )


def redacted_in(db: Database, incident_key: str, seq: int) -> int:
    """How many secrets were redacted from the event `seq` of an incident."""
    found = read(db, incident_key, since_seq=seq - 1)
    value = found[0].data.get("redacted") if found and found[0].seq == seq else None
    return value if isinstance(value, int) else 0


def markdown(key: str, title: str, severity: object, stage: object, items: list[Event]) -> str:
    """The timeline as a Markdown document with one table row per event."""
    sev = getattr(severity, "value", severity) or "none"
    lines = [
        f"# {key}: {quoting.inline(title)}",
        "",
        f"Severity {sev}, stage {getattr(stage, 'value', stage)}.",
        "",
        "| # | time (UTC) | who | what |",
        "|---|---|---|---|",
    ]
    for e in items:
        what, who = quoting.inline(e.summary()), quoting.inline(e.actor)
        lines.append(f"| {e.seq} | {e.at:%Y-%m-%d %H:%M:%S} | {who} | {what} |")
    return "\n".join(lines) + "\n"


def check_note(text: str) -> str:
    """The note's text, stripped; refused when empty or too long."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a note needs some text", field="text")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(
            f"the note is {len(text):,} characters; the limit is {MAX_NOTE_CHARS:,}: "
            "attach long text as a file instead",
            field="text",
        )
    return text


# Nouns of event kinds that are not one word in English ("rootcause.recorded").
KIND_NOUNS = {"rootcause": "root cause"}


def kind_words(kind: str) -> str:
    """An event kind in words: "rootcause.recorded" -> "Root cause recorded"."""
    noun, _, verb = kind.partition(".")
    words = f"{KIND_NOUNS.get(noun, noun)} {verb}".replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def kind_and_text(kind: str, summary: str) -> tuple[str, str]:
    """(the kind in words, or "" when the summary already says it; the summary without the
    raw kind in front): what a page shows of an event."""
    if summary == kind:
        return "", kind_words(kind)
    prefix = f"{kind}: "
    if not summary.startswith(prefix):
        return "", summary
    rest = summary[len(prefix) :]
    words = kind_words(kind)
    return ("" if rest.lower().startswith(words.lower()) else words), rest


def in_words(kind: str, summary: str) -> str:
    """One line with the kind in words: "Mitigation applied: M1 lever ... applied"."""
    tag, text = kind_and_text(kind, summary)
    return f"{tag}: {text}" if tag else text


def summarise(kind: str, data: dict[str, Any]) -> str:
    """A one-line human summary of an event; says how many secrets were redacted from it."""
    line = _summarise(kind, data)
    redacted = data.get("redacted")
    if isinstance(redacted, int) and redacted > 0:
        line += f" ({redacted} secret{'s' if redacted != 1 else ''} redacted)"
    return line


def _summarise(kind: str, data: dict[str, Any]) -> str:
    d = data
    match kind:
        case Kind.DECLARED:
            sev = d.get("severity") or "no severity"
            return f"Declared ({sev}): {d.get('title', '')}"
        case Kind.STAGE_CHANGED:
            return f"Stage {d.get('from')} -> {d.get('to')}" + (
                f" ({d['reason']})" if d.get("reason") else ""
            )
        case Kind.STAGE_SKIPPED:
            return f"Stage {d.get('stage')} skipped"
        case Kind.REOPENED:
            return f"Reopened from {d.get('from')}: {d.get('reason', '')}"
        case Kind.SEVERITY_CHANGED:
            return f"Severity {d.get('from') or 'none'} -> {d.get('to')}" + (
                f" ({d['reason']})" if d.get("reason") else ""
            )
        case Kind.ROLE_ASSIGNED:
            return f"{d.get('person')} is {str(d.get('role', '')).replace('_', ' ')}"
        case Kind.COMMANDER_HANDOFF:
            return f"Command handed from {d.get('from')} to {d.get('to')}"
        case Kind.ROLE_REMOVED:
            return f"{d.get('person')} no longer {str(d.get('role', '')).replace('_', ' ')}"
        case Kind.TASK_ADDED:
            who = f" -> {d['assignee']}" if d.get("assignee") else ""
            return f"Task T{d.get('number')}: {d.get('title')}{who}"
        case Kind.TASK_UPDATED:
            changes = ", ".join(f"{k} {v}" for k, v in d.get("changes", {}).items())
            return f"Task T{d.get('number')} {changes}"
        case Kind.NOTE:
            text = str(d.get("text", ""))
            return text if len(text) <= 160 else text[:157] + "..."
        case Kind.ARTIFACT_ATTACHED:
            return f"Attached {d.get('kind')} {d.get('name')} ({str(d.get('sha256', ''))[:12]})"
        case Kind.FIELDS_UPDATED:
            return "Updated " + ", ".join(sorted(d.get("fields", {})))
        case Kind.VERIFICATION:
            return f"Verification: {d.get('verdict')} {d.get('summary', '')}".strip()
        case Kind.VERIFICATION_OVERRIDDEN:
            return f"Verification overridden: {d.get('reason')}"
    if kind.startswith(("evidence.", "clock.")):
        return _custody(kind, d)
    title = d.get("summary") or d.get("text") or d.get("title")
    return f"{kind}: {title}" if title else kind


def _custody(kind: str, d: dict[str, Any]) -> str:
    """Evidence and regulatory clock events (warroom.security) in words."""
    sha = str(d.get("sha256") or "")[:12]
    due = str(d.get("due_at") or "")[:16].replace("T", " ")
    items = ", ".join(d.get("items") or []) or "no items"
    words = {
        "evidence.sealed": f"Evidence E{d.get('number')} sealed: {d.get('name')} "
        f"({d.get('size')} bytes, sha256 {sha})",
        "evidence.read": f"Evidence E{d.get('number')} read: {d.get('copy')} copy (sha256 {sha})",
        "evidence.exported": f"Evidence bundle exported: {items} ({d.get('copy')} copies)",
        "clock.started": f"Clock {d.get('name')} started: {d.get('label')}; due {due} UTC",
        "clock.reminder": f"Clock {d.get('name')}: reminder sent (due {due} UTC)",
        "clock.missed": f"Clock {d.get('name')}: deadline MISSED ({due} UTC)",
        "clock.notified": f"Clock {d.get('name')}: notified {d.get('to')}"
        + (" after the deadline" if d.get("late") else ""),
    }
    return words.get(kind, kind)
