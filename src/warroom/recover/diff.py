"""Damage diff: the rows of chosen tables inserted, updated and deleted since the recovery point.

    report = diff(live_dsn, side, ["accounts", "orders"], since=when)
    report.tables[0].counts        # {'inserted': 1, 'updated': 4, 'deleted': 2}
    json.dumps(report.to_dict())

Rows are matched by primary key. Each side is read in one snapshot (the live one in a
read-only REPEATABLE READ transaction): first a hash of every row, then the full rows of
those that differ. Values are kept as PostgreSQL prints them (`col::text`), so a repair can
write them back exactly. Columns that exist on one side only are left out of the
comparison and named. `since` narrows inserted and updated rows to those whose timestamp
column (updated_at, modified_at, ... or the one given) is at or after it on live; deleted
rows are always listed: they have no live timestamp.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from warroom.core.clock import utcnow
from warroom.core.errors import NotFound
from warroom.recover.catalog import Column, Table, describe, parents_first, qi
from warroom.recover.config import redact
from warroom.recover.pg import connect
from warroom.recover.sidestate import SideServer

KINDS = ("deleted", "updated", "inserted")
BATCH = 2000
Values = dict[str, str | None]
Key = tuple[str, ...]


def natural(key: Key) -> tuple[tuple[int, int | str], ...]:
    """Sort keys numerically where they are numbers ('9' before '10')."""
    return tuple((0, int(v)) if v.lstrip("-").isdigit() else (1, v) for v in key)


@dataclass
class RowChange:
    kind: str  # deleted | updated | inserted
    key: Values
    side: Values | None  # the row at the recovery point
    live: Values | None  # the row now
    changed: list[str] = field(default_factory=list)

    @property
    def key_text(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.key.items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "changed": self.changed,
            "side": self.side,
            "live": self.live,
        }


@dataclass
class TableDiff:
    table: str  # schema.name, to show
    name: str
    qualified: str  # "schema"."name", for SQL
    oid: int
    key: list[str]
    columns: list[Column]  # compared: on both sides
    only_live: list[str]
    only_side: list[str]
    time_column: str | None
    since_applied: bool
    side_rows: int
    live_rows: int
    changes: list[RowChange]

    @property
    def counts(self) -> dict[str, int]:
        return {k: sum(1 for c in self.changes if c.kind == k) for k in KINDS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": self.key,
            "columns": [c.to_dict() for c in self.columns],
            "only_live": self.only_live,
            "only_side": self.only_side,
            "time_column": self.time_column,
            "since_applied": self.since_applied,
            "side_rows": self.side_rows,
            "live_rows": self.live_rows,
            "counts": self.counts,
            "changes": [c.to_dict() for c in self.changes],
        }


@dataclass
class DamageReport:
    live: str  # the live connection string, without its password
    side: dict[str, Any]  # until, backup, recovered_to, stopped_at
    since: datetime | None
    taken_at: datetime
    tables: list[TableDiff]
    parents_first: list[str] = field(default_factory=list)  # tables, for the repair's order

    @property
    def total(self) -> dict[str, int]:
        return {k: sum(t.counts[k] for t in self.tables) for k in KINDS}

    def summary(self) -> str:
        parts = [
            f"{t.table}: " + ", ".join(f"{n} {k}" for k, n in t.counts.items() if n)
            for t in self.tables
            if t.changes
        ]
        head = f"Damage since {self.side.get('until')}"
        return head + (": " + "; ".join(parts) if parts else ": no row differs")

    def to_dict(self) -> dict[str, Any]:
        return {
            "live": self.live,
            "side": self.side,
            "since": self.since.isoformat() if self.since else None,
            "taken_at": self.taken_at.isoformat(),
            "summary": self.summary(),
            "total": self.total,
            "parents_first": self.parents_first,
            "tables": [t.to_dict() for t in self.tables],
        }


def _hashes(
    conn: psycopg.Connection, table: Table, columns: list[Column], since: datetime | None
) -> Iterator[tuple[Key, str, bool]]:
    """(key, md5 of the row's text, changed at or after `since`) for every row."""
    keys = ", ".join(f"{qi(k)}::text" for k in table.key)
    row = "ROW(" + ", ".join(qi(c.name) for c in columns) + ")::text"
    recent = "true"
    params: list[Any] = []
    if since is not None and table.time_column:
        recent = f"coalesce({qi(table.time_column)} >= %s, true)"
        params.append(since)
    query = f"SELECT {keys}, md5({row}), {recent} FROM {table.qualified}"
    with conn.cursor(name=f"warroom_diff_{table.oid}") as cur:
        cur.itersize = 10_000
        cur.execute(query, params)  # type: ignore[arg-type]
        for r in cur:
            n = len(table.key)
            yield tuple(str(v) for v in r[:n]), str(r[n]), bool(r[n + 1])


def fetch_rows(
    conn: psycopg.Connection, table: Table, columns: list[Column], keys: Iterable[Key]
) -> dict[Key, Values]:
    """The rows with these keys, every value as PostgreSQL prints it."""
    wanted = list(keys)
    names = [c.name for c in columns]
    select = ", ".join(f"t.{qi(n)}::text" for n in names)
    arrays = ", ".join("%s::text[]" for _ in table.key)
    aliases = ", ".join(f"k{i}" for i in range(len(table.key)))
    on = " AND ".join(
        f"t.{qi(k)} = k.k{i}::{table.column(k).type}" for i, k in enumerate(table.key)
    )
    query = (
        f"SELECT {select} FROM {table.qualified} AS t JOIN unnest({arrays}) AS k({aliases}) ON {on}"
    )
    out: dict[Key, Values] = {}
    index = [names.index(k) for k in table.key]
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        params = [[k[i] for k in batch] for i in range(len(table.key))]
        for r in conn.execute(query, params):  # type: ignore[arg-type]
            values = {n: (None if v is None else str(v)) for n, v in zip(names, r, strict=True)}
            out[tuple(str(r[i]) for i in index)] = values
    return out


def diff_table(
    live: psycopg.Connection,
    side: psycopg.Connection,
    name: str,
    *,
    since: datetime | None = None,
    time_column: str | None = None,
) -> TableDiff:
    """The rows of one table that differ between the side copy and live."""
    t_live = describe(live, name, time_column=time_column)
    try:
        t_side = describe(side, t_live.label)
    except NotFound:
        raise NotFound(
            f"table {t_live.label} did not exist at the recovery point", field="table"
        ) from None
    side_names = {c.name for c in t_side.columns}
    columns = [c for c in t_live.columns if c.name in side_names]
    side_h = {k: h for k, h, _ in _hashes(side, t_side, columns, None)}
    live_h = {k: (h, recent) for k, h, recent in _hashes(live, t_live, columns, since)}
    deleted = [k for k in side_h if k not in live_h]
    inserted = [k for k, (_, recent) in live_h.items() if k not in side_h and recent]
    updated = [k for k, (h, recent) in live_h.items() if k in side_h and side_h[k] != h and recent]
    side_rows = fetch_rows(side, t_side, columns, deleted + updated)
    live_rows = fetch_rows(live, t_live, columns, inserted + updated)
    changes: list[RowChange] = []
    for kind, keys in (("deleted", deleted), ("updated", updated), ("inserted", inserted)):
        for k in sorted(keys, key=natural):
            before, after = side_rows.get(k), live_rows.get(k)
            changed = (
                [c.name for c in columns if before[c.name] != after[c.name]]
                if before is not None and after is not None
                else []
            )
            key_values: Values = dict(zip(t_live.key, k, strict=True))
            changes.append(RowChange(kind, key_values, before, after, changed))
    return TableDiff(
        table=t_live.label,
        name=t_live.name,
        qualified=t_live.qualified,
        oid=t_live.oid,
        key=list(t_live.key),
        columns=columns,
        only_live=[c.name for c in t_live.columns if c.name not in side_names],
        only_side=sorted(side_names - {c.name for c in t_live.columns}),
        time_column=t_live.time_column,
        since_applied=since is not None and t_live.time_column is not None,
        side_rows=len(side_h),
        live_rows=len(live_h),
        changes=changes,
    )


def diff(
    live_dsn: str,
    side: SideServer,
    tables: list[str],
    *,
    since: datetime | None = None,
    time_column: str | None = None,
) -> DamageReport:
    """Compare the chosen tables between the side copy and live; reads only."""
    results: list[TableDiff] = []
    with connect(live_dsn) as live, connect(side.dsn(live_dsn)) as copy:
        live.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        copy.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        for name in tables:
            results.append(diff_table(live, copy, name, since=since, time_column=time_column))
        by_oid = {t.oid: t.table for t in results}
        order = [by_oid[o] for o in parents_first(live, list(by_oid))]
        live.rollback()
        copy.rollback()
    return DamageReport(
        live=redact(live_dsn),
        side={
            "until": side.until,
            "backup": side.backup.get("label") or side.backup.get("path"),
            "recovered_to": side.recovered_to,
            "stopped_at": side.stopped_at,
        },
        since=since,
        taken_at=utcnow(),
        tables=results,
        parents_first=order,
    )
