"""A product table as the diff and the repair need it: columns, primary key, timestamp, order.

t = describe(conn, "orders")          # or "public.orders"
t.key, t.time_column, t.qualified     # ('id',), 'updated_at', '"public"."orders"'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from warroom.core.errors import InvalidInput, NotFound

# The column whose value says when a row last changed, first match wins (--since uses it).
TIME_COLUMNS = (
    "updated_at",
    "modified_at",
    "changed_at",
    "last_modified",
    "updated",
    "modified",
    "created_at",
    "inserted_at",
    "created",
)
TIME_TYPES = ("timestamp with time zone", "timestamp without time zone", "date")


def qi(name: str) -> str:
    """An identifier, always quoted (`"order"`, `"Mixed""Case"`)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as format_type writes it: numeric(12,2), timestamp with time zone, ...
    identity: str = ""  # '' | 'a' (GENERATED ALWAYS) | 'd' (BY DEFAULT)
    generated: bool = False  # a stored generated column: never written

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "identity": self.identity,
            "generated": self.generated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Column:
        return cls(
            data["name"], data["type"], data.get("identity", ""), data.get("generated", False)
        )


@dataclass(frozen=True)
class Table:
    oid: int
    schema: str
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    time_column: str | None

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def qualified(self) -> str:
        return f"{qi(self.schema)}.{qi(self.name)}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def describe(conn: psycopg.Connection, name: str, *, time_column: str | None = None) -> Table:
    """The table `name` (search_path applies) on this connection; refused without a key."""
    row = conn.execute(
        "SELECT c.oid, n.nspname, c.relname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.oid = to_regclass(%s) AND c.relkind IN ('r', 'p')",
        (name,),
    ).fetchone()
    if row is None:
        raise NotFound(f"there is no table {name!r} in this database", field="table")
    oid, schema, relname = int(row[0]), str(row[1]), str(row[2])
    columns = tuple(
        Column(str(r[0]), str(r[1]), str(r[2] or ""), bool(r[3]))
        for r in conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attidentity::text,"
            " attgenerated <> '' FROM pg_attribute"
            " WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (oid,),
        )
    )
    key = tuple(
        str(r[0])
        for r in conn.execute(
            "SELECT a.attname FROM pg_index i"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.ord",
            (oid,),
        )
    )
    if not key:
        raise InvalidInput(
            f"table {schema}.{relname} has no primary key: rows can only be compared by one",
            field="table",
        )
    return Table(oid, schema, relname, columns, key, _time_column(columns, time_column, relname))


def _time_column(columns: tuple[Column, ...], wanted: str | None, table: str) -> str | None:
    by_name = {c.name: c for c in columns}
    if wanted:
        col = by_name.get(wanted)
        if col is None or col.type not in TIME_TYPES:
            raise InvalidInput(
                f"table {table} has no timestamp column {wanted!r}", field="time_column"
            )
        return wanted
    for name in TIME_COLUMNS:
        col = by_name.get(name)
        if col is not None and col.type in TIME_TYPES:
            return name
    return None


def parents_first(conn: psycopg.Connection, oids: list[int]) -> list[int]:
    """The tables `oids` ordered so that each comes after those its foreign keys point to."""
    edges = conn.execute(
        "SELECT conrelid, confrelid FROM pg_constraint WHERE contype = 'f'"
        " AND conrelid = ANY(%s) AND confrelid = ANY(%s) AND conrelid <> confrelid",
        (oids, oids),
    ).fetchall()
    needs = {o: {int(p) for c, p in edges if int(c) == o} for o in oids}
    ordered: list[int] = []
    while len(ordered) < len(oids):
        ready = [o for o in oids if o not in ordered and needs[o] <= set(ordered)]
        # a cycle of foreign keys: the rest in the order given
        ordered += ready or [o for o in oids if o not in ordered]
    return ordered
