"""Export every warroom table to JSON lines and import it into another database.

    export(db, "warroom.jsonl")             # SQLite or PostgreSQL
    import_(other_db, "warroom.jsonl")      # into an empty, migrated database; ids kept

The file is one header line, then one line per row::

    {"format": "warroom-export", "version": 1, "revisions": [...], "tables": {"incidents": 3}}
    {"table": "incidents", "row": {"id": 1, "key": "INC-1", "started_at": "2026-...+00:00"}}

Values are portable: datetimes ISO-8601 with their UTC offset, bytes base64, JSON columns
as JSON. Tables are every table on `warroom.tables.metadata` (the core and each area's
`tables_<area>` module) in foreign-key order, so an import never references a missing row.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import warroom
from warroom.core import migrate, registry
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, UnknownFormat
from warroom.incidents.tables import metadata

FORMAT = "warroom-export"
VERSION = 1
BATCH = 500

Row = dict[str, Any]


def load_all_tables() -> list[sa.Table]:
    """Every table of every registered area, parents before children."""
    registry.active().tables()  # importing each area's tables module defines them on metadata
    return list(metadata.sorted_tables)


def existing_tables(conn: Connection) -> list[sa.Table]:
    """The tables of `load_all_tables` that this database has (all, once migrated)."""
    present = set(sa.inspect(conn).get_table_names())
    return [t for t in load_all_tables() if t.name in present]


# --- value encoding --------------------------------------------------------------------------


def _is_datetime(col: sa.Column[Any]) -> bool:
    t = col.type
    impl = getattr(t, "impl", t)
    return isinstance(impl, sa.DateTime) or isinstance(t, sa.DateTime)


def encode(col: sa.Column[Any], value: Any) -> Any:
    """A column value as JSON (datetime ISO with offset, bytes base64, decimals as text)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (ensure_utc(value) if _is_datetime(col) else value).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def decode(col: sa.Column[Any], value: Any) -> Any:
    """The inverse of `encode`, by the column's type."""
    if value is None:
        return None
    t = col.type
    impl = getattr(t, "impl", t)
    if _is_datetime(col):
        return dt.datetime.fromisoformat(value)
    if isinstance(impl, sa.Date):
        return dt.date.fromisoformat(value)
    if isinstance(impl, sa.Time):
        return dt.time.fromisoformat(value)
    if isinstance(impl, sa.LargeBinary):
        return base64.b64decode(value)
    if isinstance(impl, sa.Numeric) and not isinstance(impl, sa.Float):
        return decimal.Decimal(value)
    return value


# --- reading and writing rows ----------------------------------------------------------------


@contextlib.contextmanager
def snapshot(db: Database) -> Iterator[Connection]:
    """A read connection that sees one consistent moment (PostgreSQL REPEATABLE READ)."""
    if db.is_sqlite:
        with db.read() as conn:
            yield conn
        return
    with db.engine.connect() as raw:
        conn = raw.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def iter_rows(conn: Connection) -> Iterator[tuple[sa.Table, Row]]:
    """Every row of every table, parents first, each table ordered by primary key."""
    for table in existing_tables(conn):
        order = list(table.primary_key.columns) or list(table.columns)
        for r in conn.execute(sa.select(table).order_by(*order)):
            yield table, dict(r._mapping)


def table_counts(conn: Connection) -> dict[str, int]:
    return {
        t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        for t in existing_tables(conn)
    }


def table_digests(conn: Connection) -> dict[str, str]:
    """A sha256 of every table's content (each row as exported, in primary-key order): what
    a backup promises, so that `backup verify` finds an edited row in any table."""
    out: dict[str, str] = {}
    for table in existing_tables(conn):
        h = hashlib.sha256()
        order = list(table.primary_key.columns) or list(table.columns)
        for r in conn.execute(sa.select(table).order_by(*order)):
            data = {k: encode(table.c[k], v) for k, v in r._mapping.items()}
            h.update(json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode())
            h.update(b"\n")
        out[table.name] = h.hexdigest()
    return out


def is_empty(conn: Connection) -> bool:
    return not any(table_counts(conn).values())


def write_rows(
    db: Database, conn: Connection, rows: Iterable[tuple[sa.Table, Row]]
) -> dict[str, int]:
    """Insert rows (parents first) keeping their ids; then move PostgreSQL sequences past them."""
    counts: dict[str, int] = {}
    batch: list[Row] = []
    current: sa.Table | None = None

    def flush() -> None:
        if current is not None and batch:
            conn.execute(current.insert(), batch)
            counts[current.name] = counts.get(current.name, 0) + len(batch)
            batch.clear()

    for table, row in rows:
        if table is not current or len(batch) >= BATCH:
            flush()
            current = table
        batch.append(row)
    flush()
    if not db.is_sqlite:
        reset_sequences(conn)
    return counts


def reset_sequences(conn: Connection) -> None:
    """Point every serial column's sequence after the largest id present (PostgreSQL)."""
    for table in existing_tables(conn):
        for col in table.primary_key.columns:
            if not isinstance(col.type, sa.Integer) or col.autoincrement is False:
                continue
            seq = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": table.name, "c": col.name},
            ).scalar()
            if seq is None:
                continue
            conn.execute(
                sa.text(
                    f'SELECT setval(:seq, COALESCE((SELECT max("{col.name}") FROM '
                    f'"{table.name}"), 1), (SELECT max("{col.name}") FROM "{table.name}") '
                    "IS NOT NULL)"
                ),
                {"seq": seq},
            )


# --- the file --------------------------------------------------------------------------------


def header(db: Database, conn: Connection) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "warroom": warroom.__version__,
        "source": db.dialect,
        "exported_at": utcnow().isoformat(),
        "revisions": migrate.current(db),
        "tables": table_counts(conn),
        "digests": table_digests(conn),
    }


def export(db: Database, dest: str | Path | IO[str]) -> dict[str, Any]:
    """Write every table to `dest` (a path, or an open text stream); returns the header."""
    with snapshot(db) as conn:
        head = header(db, conn)
        with _open_out(dest) as out:
            out.write(json.dumps(head, separators=(",", ":")) + "\n")
            for table, row in iter_rows(conn):
                data = {k: encode(table.c[k], v) for k, v in row.items()}
                out.write(
                    json.dumps({"table": table.name, "row": data}, separators=(",", ":")) + "\n"
                )
    return head


@contextlib.contextmanager
def _open_out(dest: str | Path | IO[str]) -> Iterator[IO[str]]:
    if isinstance(dest, str | Path):
        path = Path(dest)
        tmp = path.with_name(path.name + ".partial")
        with tmp.open("w", encoding="utf-8") as out:
            yield out
        tmp.replace(path)  # a crash mid-export never leaves a truncated file under the name
    else:
        yield dest


def read_header(path: str | Path) -> dict[str, Any]:
    """The header line of an export file, or UnknownFormat."""
    with Path(path).open("rb") as f:
        first = f.readline(1_000_000)
    try:
        head = json.loads(first.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        head = None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise UnknownFormat(
            f"{path} is not a warroom export (its first line is not a {FORMAT} header): "
            "give a file written by warroom's export",
            field="file",
        )
    if head.get("version") != VERSION:
        raise UnknownFormat(
            f"{path} is a version {head.get('version')} export, and this release of warroom "
            f"reads only version {VERSION}",
            field="file",
        )
    return head


def read_rows(path: str | Path) -> Iterator[tuple[sa.Table, Row]]:
    """The rows of an export file, decoded by column type."""
    tables = {t.name: t for t in load_all_tables()}
    with Path(path).open(encoding="utf-8") as f:
        f.readline()
        for lineno, line in enumerate(f, start=2):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                table = tables[item["table"]]
                row = {k: decode(table.c[k], v) for k, v in item["row"].items()}
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise UnknownFormat(
                    f"{path} line {lineno} is not a row of a known table "
                    f"({type(exc).__name__}: {exc}): {line[:120]!r}",
                    field="file",
                ) from None
            yield table, row


def check_target(conn: Connection, revisions: list[str], have: list[str]) -> None:
    """Refuse a target that is not empty or not at the export's schema revisions.

    `have` is the target's revisions, read before the write transaction (on SQLite a second
    connection inside it would wait for the write lock the transaction holds).
    """
    if sorted(revisions) != sorted(have):
        raise InvalidInput(
            f"the file was made at schema revisions {', '.join(sorted(revisions))}, the "
            f"target database is at {', '.join(have) or 'none'}: upgrade both databases to "
            "the same warroom version",
            field="file",
        )
    counts = {k: v for k, v in table_counts(conn).items() if v}
    if counts:
        listed = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        raise InvalidInput(
            f"the target database is not empty ({listed}): import and restore only into a new "
            "database (another database URL, or a new SQLite file)",
            field="db",
        )


def import_(
    db: Database,
    src: str | Path,
    *,
    transform: Callable[[Iterator[tuple[sa.Table, Row]]], Iterable[tuple[sa.Table, Row]]]
    | None = None,
) -> dict[str, int]:
    """Load an export file into an empty, migrated database in one transaction."""
    head = read_header(src)
    if migrate.pending(db):
        migrate.upgrade(db)
    rows: Iterable[tuple[sa.Table, Row]] = read_rows(src)
    if transform is not None:
        rows = transform(read_rows(src))
    expected = {k: v for k, v in (head.get("tables") or {}).items() if v}
    have = migrate.current(db)
    with db.transaction() as conn:
        check_target(conn, list(head.get("revisions") or []), have)
        counts = write_rows(db, conn, rows)
        if transform is None and counts != expected:
            # Raised inside the transaction: nothing of a cut file is kept.
            raise InvalidInput(
                f"{src} promised rows {expected} but held {counts}: the file is cut short",
                field="file",
            )
    db.analyze([name for name, n in counts.items() if n])
    return counts


def export_text(db: Database) -> str:
    """The whole export as a string (small databases, tests)."""
    buf = io.StringIO()
    export(db, buf)
    return buf.getvalue()
