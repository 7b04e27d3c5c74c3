"""Backups of warroom's own data: take, verify, restore (optionally as of a moment).

    backup(db, "wr.bak")                     # SQLite: online backup API; PostgreSQL: export
    verify("wr.bak")                         # restore into a temporary database and check it
    restore(new_db, "wr.bak", until=when)    # rebuild the state as of `when` from the timeline

A backup file is either a SQLite database (starts with "SQLite format 3") or a warroom export
(JSON lines, see `transfer`); `kind_of` tells which, so every function takes both.

Restore with `until` (see docs/trust.md for the full list):
- incidents declared after `until` are left out, with every row that references them;
- each remaining incident keeps the events up to the first one after `until`, and its row,
  roles and tasks are rebuilt by replaying those events (`projection`), so `audit` passes;
- rows of the other tables are kept when their creation time (created_at, at, posted_at, ...)
  is at or before `until`; their later edits (an action item closed after `until`) are not
  rolled back, because only incidents have a timeline to replay;
- counters are kept, so numbers handed out after `until` are not reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core import migrate
from warroom.core.clock import ensure_utc
from warroom.core.db import Database
from warroom.core.errors import NotFound, UnknownFormat
from warroom.incidents import ledger
from warroom.incidents.tables import (
    artifacts,
    blobs,
    events,
    incident_ledger,
    incidents,
    roles,
    tasks,
)
from warroom.trust import audit, projection, transfer

SQLITE_MAGIC = b"SQLite format 3\x00"
# The column that says when a row came to be, first match wins.
CREATED_COLUMNS = (
    "created_at",
    "at",
    "posted_at",
    "added_at",
    "received_at",
    "recorded_at",
    "started_at",
    "assigned_at",
    "sent_at",
)

Row = dict[str, Any]


def kind_of(path: str | Path) -> str:
    """ "sqlite" or "export"; UnknownFormat for anything else."""
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"backup file {p} does not exist", field="file")
    with p.open("rb") as f:
        start = f.read(len(SQLITE_MAGIC))
    if start == SQLITE_MAGIC:
        return "sqlite"
    transfer.read_header(p)
    return "export"


@dataclass
class BackupResult:
    path: str
    kind: str
    bytes: int
    tables: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "bytes": self.bytes, "tables": self.tables}


def backup(db: Database, dest: str | Path) -> BackupResult:
    """A consistent copy taken while warroom runs (writers are not stopped)."""
    path = Path(dest)
    path.parent.mkdir(parents=True, exist_ok=True)
    if db.is_sqlite:
        tmp = path.with_name(path.name + ".partial")
        tmp.unlink(missing_ok=True)
        raw = db.engine.raw_connection()
        try:
            target = sqlite3.connect(tmp)
            try:
                # The backup API copies a consistent snapshot page by page; writers that
                # commit meanwhile make it restart, never produce a torn copy.
                raw.driver_connection.backup(target)  # type: ignore[union-attr]
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                present = {r[0] for r in target.execute("SELECT name FROM sqlite_master")}
                counts = {
                    t.name: int(target.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0])
                    for t in transfer.load_all_tables()
                    if t.name in present
                }
            finally:
                target.close()
        finally:
            raw.close()
        _seal_sqlite(tmp)
        tmp.replace(path)
        kind = "sqlite"
    else:
        head = transfer.export(db, path)
        counts = dict(head["tables"])
        kind = "export"
    return BackupResult(str(path), kind, path.stat().st_size, counts)


MANIFEST = "_warroom_backup"  # a table of the backup file only: what it promises


def _seal_sqlite(path: Path) -> None:
    """Write the content digest of every table into the copy (`MANIFEST`), so `verify` finds
    a row edited in the file later (SQLite's integrity check sees only broken pages)."""
    copy = Database(f"sqlite:///{path}")
    try:
        with copy.read() as conn:
            digests = transfer.table_digests(conn)
    finally:
        copy.dispose()
    target = sqlite3.connect(path)
    try:
        target.execute(f"CREATE TABLE {MANIFEST} (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        target.execute(f"INSERT INTO {MANIFEST} VALUES ('digests', ?)", (json.dumps(digests),))
        target.commit()
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file again
    finally:
        target.close()


def _promised_digests(conn: Connection, path: str | Path, kind: str) -> dict[str, str]:
    if kind == "export":
        return dict(transfer.read_header(path).get("digests") or {})
    if not sa.inspect(conn).has_table(MANIFEST):
        return {}  # a backup taken before backups carried digests
    value = conn.execute(sa.text(f"SELECT value FROM {MANIFEST} WHERE name = 'digests'")).scalar()
    return dict(json.loads(value)) if value else {}


def _check_content(conn: Connection, path: str | Path, kind: str) -> list[str]:
    """Tables whose content is not what the backup promised; blobs that do not match their
    sha256."""
    problems: list[str] = []
    promised = _promised_digests(conn, path, kind)
    have = transfer.table_digests(conn)
    for name, digest in sorted(promised.items()):
        if have.get(name) != digest:
            problems.append(
                f"table {name}: its content differs from what the backup recorded when it was "
                "taken (a row was edited, added or removed)"
            )
    for row in conn.execute(sa.select(blobs.c.sha256, blobs.c.size, blobs.c.content)):
        content = bytes(row.content or b"")
        if hashlib.sha256(content).hexdigest() != row.sha256 or len(content) != row.size:
            problems.append(
                f"attachment blob {row.sha256[:12]}: its content does not match its sha256"
            )
    return problems


@contextlib.contextmanager
def damaged_as_error(path: str | Path) -> Iterator[None]:
    """A backup or export that cannot be read is a clear error naming the file, not a
    traceback: undecodable bytes, rows the database refuses, values of the wrong type."""
    try:
        yield
    except (sa.exc.SQLAlchemyError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise UnknownFormat(
            f"{path} is damaged and cannot be read ({type(exc).__name__}: "
            f"{(detail[0] if detail else '')[:200]})",
            field="file",
        ) from None


@contextlib.contextmanager
def opened(path: str | Path) -> Iterator[Database]:
    """A temporary, migrated SQLite database holding the backup's content."""
    kind = kind_of(path)
    with tempfile.TemporaryDirectory(prefix="warroom-restore-") as tmp:
        target = Path(tmp) / "restore.db"
        if kind == "sqlite":
            _copy_sqlite(path, target)
        temp_db = Database(f"sqlite:///{target}")
        try:
            if kind == "sqlite":
                _integrity(temp_db, path)
                migrate.upgrade(temp_db)  # a backup from an older warroom is brought up
            else:
                transfer.import_(temp_db, path)
            yield temp_db
        finally:
            temp_db.dispose()


def _copy_sqlite(path: str | Path, target: Path) -> None:
    """Copy through SQLite (not the file system) so a -wal file next to it is included."""
    src = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    except sqlite3.DatabaseError as exc:
        raise UnknownFormat(f"{path} is a damaged SQLite file: {exc}", field="file") from None
    finally:
        dst.close()
        src.close()


def _integrity(db: Database, path: str | Path) -> str:
    try:
        with db.engine.connect() as conn:
            result = str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())
    except sa.exc.DatabaseError as exc:
        raise UnknownFormat(f"{path} is a damaged SQLite file: {exc.orig}", field="file") from None
    if result != "ok":
        raise UnknownFormat(f"{path} fails SQLite's integrity check: {result}", field="file")
    return result


@dataclass
class VerifyResult:
    path: str
    kind: str
    tables: dict[str, int]
    audits: list[audit.Report] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.audits)

    @property
    def incidents(self) -> int:
        """Incidents audited (the ledger's report is not one)."""
        return sum(r.key != audit.LEDGER for r in self.audits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "ok": self.ok,
            "tables": self.tables,
            "incidents": self.incidents,
            "broken": [r.to_dict() for r in self.audits if not r.ok],
            "problems": self.problems,
        }


def verify(path: str | Path) -> VerifyResult:
    """Restore the backup into a temporary database; check counts, integrity, the content of
    every table against the digests it recorded, attachment blobs, hash chains and ledger."""
    with damaged_as_error(path):
        return _verify(path)


def _verify(path: str | Path) -> VerifyResult:
    kind = kind_of(path)
    with opened(path) as temp_db:
        with temp_db.read() as conn:
            counts = transfer.table_counts(conn)
            result = VerifyResult(str(path), kind, counts)
            incident_count = counts.get("incidents", 0)
            event_total = counts.get("events", 0)
            last_seqs = conn.execute(sa.select(sa.func.sum(incidents.c.last_seq))).scalar() or 0
            if int(last_seqs) != event_total:
                result.problems.append(
                    f"the incidents account for {last_seqs} events, the file holds {event_total}"
                )
            result.problems += _check_content(conn, path, kind)
        if kind == "export":
            head = transfer.read_header(path)
            want = {k: v for k, v in head["tables"].items() if v}
            have = {k: v for k, v in counts.items() if v}
            if want != have:
                result.problems.append(f"the header promises {want}, the restore holds {have}")
        result.audits = audit.audit_all(temp_db, ledger_too=True)
        if result.incidents != incident_count:
            result.problems.append("not every incident could be audited")
    return result


@dataclass
class RestoreResult:
    path: str
    until: datetime | None
    tables: dict[str, int]
    dropped_incidents: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "until": self.until.isoformat() if self.until else None,
            "tables": self.tables,
            "dropped_incidents": self.dropped_incidents,
        }


def restore(db: Database, path: str | Path, *, until: datetime | None = None) -> RestoreResult:
    """Load a backup into an empty database; with `until`, as things stood at that moment."""
    until = ensure_utc(until) if until is not None else None
    with damaged_as_error(path), opened(path) as source, transfer.snapshot(source) as sconn:
        dropped: list[str] = []
        rows = transfer.iter_rows(sconn)
        if until is not None:
            rows = _as_of(sconn, rows, until, dropped)
        if migrate.pending(db):
            migrate.upgrade(db)
        have, want = migrate.current(db), migrate.current(source)
        with db.transaction() as conn:
            transfer.check_target(conn, want, have)
            counts = transfer.write_rows(db, conn, rows)
            if until is not None:  # incidents were rewound on purpose: the ledger starts again
                counts[incident_ledger.name] = ledger.rebuild(conn)
    db.analyze([name for name, n in counts.items() if n])
    return RestoreResult(str(path), until, counts, dropped)


def _as_of(
    sconn: Connection,
    rows: Iterator[tuple[sa.Table, Row]],
    until: datetime,
    dropped_keys: list[str],
) -> Iterator[tuple[sa.Table, Row]]:
    """Filter and rewrite a backup's rows to the state at `until` (see the module doc)."""
    kept: dict[int, projection.State] = {}
    for incident_id, key in sconn.execute(
        sa.select(incidents.c.id, incidents.c.key).order_by(incidents.c.number)
    ):
        prefix = []
        for e in projection.load_events(sconn, incident_id):
            if e.at > until:
                break  # a prefix: the chain stays whole even if clocks disagreed
            prefix.append(e)
        if prefix:
            kept[incident_id] = projection.project(prefix)
        else:
            dropped_keys.append(key)
    kept_blobs = set(
        sconn.execute(
            sa.select(artifacts.c.sha256).where(
                artifacts.c.incident_id.in_(list(kept)), artifacts.c.created_at <= until
            )
        ).scalars()
    )
    gone: dict[str, set[Any]] = {}  # table -> primary keys left out

    def leave_out(table: sa.Table, row: Row) -> None:
        pk = list(table.primary_key.columns)
        if len(pk) == 1:
            gone.setdefault(table.name, set()).add(row[pk[0].name])

    for table, row in rows:
        if table is incidents:
            state = kept.get(row["id"])
            if state is None:
                leave_out(table, row)
                continue
            yield table, {**row, **state.row}
            continue
        if table is events:
            state = kept.get(row["incident_id"])
            if state is not None and row["seq"] <= state.row["last_seq"]:
                yield table, row
            continue
        if table is roles or table is tasks:
            continue  # rebuilt from the replay below
        if table is blobs:
            if row["sha256"] in kept_blobs:
                yield table, row
            else:
                leave_out(table, row)
            continue
        created = next((c for c in CREATED_COLUMNS if c in table.c), None)
        born = row[created] if created is not None else None
        if isinstance(born, datetime) and ensure_utc(born) > until:
            leave_out(table, row)
            continue
        keep = True
        for fk in table.foreign_keys:
            col = fk.parent
            if row.get(col.name) is not None and row[col.name] in gone.get(
                fk.column.table.name, set()
            ):
                if col.nullable:
                    row = {**row, col.name: None}
                else:
                    keep = False
        if keep:
            yield table, row
        else:
            leave_out(table, row)
    for incident_id, state in kept.items():
        for r in state.roles:
            yield roles, {"incident_id": incident_id, **r}
    for incident_id, state in kept.items():
        for t in state.tasks.values():
            yield tasks, {"incident_id": incident_id, **t}
