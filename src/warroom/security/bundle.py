"""Evidence bundles: the sealed originals, a manifest of hashes and the whole timeline, in
one tar that anyone can check without the database.

    data = export(db, "INC-7", actor="ana")       # bytes of a tar
    result = verify(data)                          # result.ok, result.problems

The tar holds `manifest.json` (every item's sha256, size, who sealed it and when; the
custody events; the timeline's hash head), `timeline.jsonl` (every event of the incident,
hash-chained), `files/E<n>-<name>` (the originals) and `SHA256SUMS` over all of them.
`verify` recomputes every file's sha256, the sums, the timeline's hash chain from its first
event to the head the manifest names, and matches each item to the timeline event that
sealed it: a changed byte anywhere fails. Given a database, it also checks that the live
timeline has the same event at the head (a bundle rebuilt wholesale differs there).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.incidents import store, timeline
from warroom.security import access_log
from warroom.security import evidence as locker

FORMAT = "warroom-evidence-bundle/1"
MANIFEST, TIMELINE, SUMS = "manifest.json", "timeline.jsonl", "SHA256SUMS"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "file"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o444
    tar.addfile(info, io.BytesIO(data))


def export(db: Database, key: str | int, *, actor: str) -> bytes:
    """The bundle of the incident's evidence: the sealed originals for the permitted (admins,
    its commander and security lead), the scrubbed working copies for anyone else (binary
    items withheld, listed with their hashes).

    The export is itself a custody event, recorded before the timeline is read, so the
    bundle's head is the export."""
    inc = store.get(db, key)
    original = locker.permitted(inc)
    items = locker.list_for(db, inc.key)
    now = utcnow()
    with db.transaction() as conn:
        row = store.lock(db, conn, inc.key)
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=locker.EXPORTED,
            at=now,
            data={
                "items": [i.ref for i in items],
                "copy": locker.ORIGINAL if original else locker.SCRUBBED,
            },
        )
    events = timeline.read(db, inc.key)
    files: dict[str, bytes] = {}
    entries = []
    for item in items:
        # The export event names every item it carries: no read event per item.
        copy = locker.ORIGINAL if original else locker.SCRUBBED
        digest = item.sha256 if original else item.scrubbed_sha256
        entry = {**item.to_dict(), "copy": copy if digest else "withheld", "file_sha256": digest}
        if digest is not None:
            path = f"files/{item.ref}-{copy}-{_safe(item.name)}"
            files[path] = locker.blob(db, digest)
            entry["path"] = path
        entries.append(entry)
    lines = [
        json.dumps(
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "kind": e.kind,
                "data": e.data,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            },
            sort_keys=True,
        )
        for e in events
    ]
    timeline_bytes = ("\n".join(lines) + "\n").encode()
    last = events[-1]
    manifest = {
        "format": FORMAT,
        "incident": inc.key,
        "exported_at": now.isoformat(),
        "exported_by": actor,
        "head": {"seq": last.seq, "hash": last.hash},
        "evidence": entries,
        # Who read the incident while it was private (not hashed into the timeline: a record
        # kept beside it, see warroom.incidents.privacy).
        "access_log": [r.to_dict() for r in access_log.log_for(db, inc.key)],
        "custody": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "kind": e.kind,
                "data": e.data,
                "hash": e.hash,
            }
            for e in events
            if e.kind in locker.CUSTODY_KINDS
        ],
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    contents = {MANIFEST: manifest_bytes, TIMELINE: timeline_bytes, **files}
    sums = "".join(f"{_sha(data)}  {name}\n" for name, data in contents.items()).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in {**contents, SUMS: sums}.items():
            _add(tar, name, data, now.timestamp())
    return out.getvalue()


@dataclass
class Verification:
    """What `verify` found: ok, the problems in words, what was checked."""

    incident: str = ""
    head: dict[str, Any] = field(default_factory=dict)
    items: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "incident": self.incident,
            "head": self.head,
            "items": self.items,
            "events": self.events,
            "problems": self.problems,
        }


def _members(data: bytes) -> dict[str, bytes]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            out: dict[str, bytes] = {}
            for m in tar.getmembers():
                if not m.isfile():
                    continue
                f = tar.extractfile(m)
                out[m.name] = f.read() if f is not None else b""
            return out
    except (tarfile.TarError, EOFError) as exc:
        raise InvalidInput(f"not an evidence bundle (not a readable tar: {exc})") from exc


def _check_chain(lines: list[dict[str, Any]], result: Verification) -> dict[int, dict[str, Any]]:
    prev = ""
    by_seq: dict[int, dict[str, Any]] = {}
    for n, e in enumerate(lines, start=1):
        if e.get("seq") != n or e.get("prev_hash") != prev:
            result.problems.append(f"timeline event {n} is out of order or not linked")
            break
        at = datetime.fromisoformat(str(e["at"]))
        digest = timeline.event_hash(prev, n, at, e["actor"], e["kind"], e["data"])
        if digest != e.get("hash"):
            result.problems.append(f"timeline event {n} ({e['kind']}) does not match its hash")
            break
        prev = digest
        by_seq[n] = e
    return by_seq


def verify(data: bytes, *, db: Database | None = None) -> Verification:
    """Check a bundle (see the module docstring); with `db`, against the live timeline too."""
    members = _members(data)
    result = Verification()
    if MANIFEST not in members or SUMS not in members or TIMELINE not in members:
        result.problems.append(f"the bundle lacks {MANIFEST}, {TIMELINE} or {SUMS}")
        return result
    for line in members[SUMS].decode(errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        if name not in members:
            result.problems.append(f"{name} is listed in {SUMS} but missing")
        elif _sha(members[name]) != digest:
            result.problems.append(f"{name} does not match its sha256 in {SUMS}")
    listed = {ln.partition("  ")[2] for ln in members[SUMS].decode(errors="replace").splitlines()}
    for name in set(members) - listed - {SUMS}:
        result.problems.append(f"{name} is in the bundle but not in {SUMS}")
    try:
        manifest = json.loads(members[MANIFEST])
        lines = [json.loads(x) for x in members[TIMELINE].decode().splitlines() if x.strip()]
    except (ValueError, UnicodeDecodeError) as exc:
        result.problems.append(f"the manifest or the timeline is not JSON ({exc})")
        return result
    result.incident = str(manifest.get("incident", ""))
    result.head = dict(manifest.get("head") or {})
    result.events = len(lines)
    by_seq = _check_chain(lines, result)
    if lines and (lines[-1].get("seq"), lines[-1].get("hash")) != (
        result.head.get("seq"),
        result.head.get("hash"),
    ):
        result.problems.append("the timeline does not end at the manifest's head")
    sealed = {
        int(e["data"].get("number", 0)): e for e in by_seq.values() if e["kind"] == locker.SEALED
    }
    for item in manifest.get("evidence") or []:
        result.items += 1
        _check_item(item, members, sealed.get(int(item.get("number", 0))), result)
    if db is not None and result.incident:
        _check_live(db, result)
    return result


def _check_item(
    item: dict[str, Any],
    members: dict[str, bytes],
    event: dict[str, Any] | None,
    result: Verification,
) -> None:
    """The item's file has the hash the manifest names, which is the hash its seal event
    recorded for that copy (the original's, or the scrubbed working copy's)."""
    ref, copy = item.get("ref"), item.get("copy")
    if event is None or event["data"].get("sha256") != item.get("sha256"):
        result.problems.append(f"{ref} has no matching seal on the timeline")
        return
    if copy == "withheld":
        return
    field_name = "sha256" if copy == locker.ORIGINAL else "scrubbed_sha256"
    digest = event["data"].get(field_name)
    path = str(item.get("path"))
    if digest is None or item.get("file_sha256") != digest:
        result.problems.append(f"{ref}'s {copy} copy is not the one its seal recorded")
    elif path not in members or _sha(members[path]) != digest:
        result.problems.append(f"{ref} ({path}) does not match its sha256")


def _check_live(db: Database, result: Verification) -> None:
    seq = int(result.head.get("seq") or 0)
    live = [e for e in timeline.read(db, result.incident) if e.seq == seq]
    if not live or live[0].hash != result.head.get("hash"):
        result.problems.append(
            f"the live timeline of {result.incident} has another event at seq {seq}: the "
            "bundle is not the one this database recorded"
        )
