"""Reviewed repair: a SQL script that puts chosen rows back as they were at the recovery point.

    chosen = select(report, include={"deleted", "updated"}, keys=["accounts:5"])
    text = script(chosen, author="ana", incident="INC-7")

Each statement restores one row and says, in a comment above it, what the row is on live
now; `-- expect: 1` is how many rows it must touch. Deleted rows are inserted again,
updated rows set back (only the columns that changed, and only if they still hold the
values the diff saw), rows inserted since the recovery point deleted (only when asked:
most are good writes). Foreign keys are respected: deletes run children first, inserts
parents first. Nothing here runs the script: `apply` does, after a person has read it.
"""

from __future__ import annotations

import json
from dataclasses import replace

from warroom.core.clock import utcnow
from warroom.core.errors import InvalidInput
from warroom.recover.catalog import Column, qi
from warroom.recover.diff import KINDS, DamageReport, RowChange, TableDiff, Values
from warroom.recover.pg import SESSION

DEFAULT_INCLUDE = frozenset({"deleted", "updated"})


def parse_include(values: list[str] | None) -> set[str]:
    """`deleted,updated` (or repeated) -> a set of kinds; refused when one is unknown."""
    kinds = {v.strip() for text in values or [] for v in text.split(",") if v.strip()}
    unknown = kinds - set(KINDS)
    if unknown:
        raise InvalidInput(
            f"unknown kind of change {', '.join(sorted(unknown))}: use deleted, updated, inserted",
            field="include",
        )
    return kinds or set(DEFAULT_INCLUDE)


def _key_matches(table: TableDiff, change: RowChange, wanted: list[str]) -> bool:
    text = ",".join(str(v) for v in change.key.values())
    for w in wanted:
        name, sep, key = w.rpartition(":")
        if key == text and (not sep or name in (table.table, table.name)):
            return True
    return False


def select(
    report: DamageReport, *, include: set[str], keys: list[str] | None = None
) -> DamageReport:
    """The report with only the changes of the chosen kinds (and keys: `[TABLE:]KEY`)."""
    tables = []
    for t in report.tables:
        kept = [
            c for c in t.changes if c.kind in include and (not keys or _key_matches(t, c, keys))
        ]
        tables.append(replace(t, changes=kept))
    chosen = replace(report, tables=tables)
    if keys and not any(t.changes for t in tables):
        raise InvalidInput(
            f"no changed row has the key {', '.join(keys)} among the kinds "
            f"{', '.join(sorted(include))}",
            field="key",
        )
    return chosen


def literal(value: str | None, column: Column) -> str:
    """A value as SQL: `'100.00'::numeric(12,2)`, or NULL."""
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'::" + column.type


def _text(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _guard(columns: list[Column], values: Values) -> str:
    """The row still holds `values` (compared as text: every type has a text form)."""
    left = ", ".join(f"{qi(c.name)}::text" for c in columns)
    right = ", ".join(_text(values[c.name]) for c in columns)
    return f"ROW({left}) IS NOT DISTINCT FROM ROW({right})"


def _where(table: TableDiff, change: RowChange) -> str:
    cols = {c.name: c for c in table.columns}
    return " AND ".join(f"{qi(k)} = {literal(v, cols[k])}" for k, v in change.key.items())


def _live_comment(values: Values | None) -> str:
    if values is None:
        return "--   live now: (no such row)"
    return "--   live now: " + json.dumps(values, ensure_ascii=False)


def _insert(table: TableDiff, change: RowChange) -> list[str]:
    assert change.side is not None
    cols = [c for c in table.columns if not c.generated]
    overriding = " OVERRIDING SYSTEM VALUE" if any(c.identity == "a" for c in cols) else ""
    qualified = table.qualified
    values = ",\n    ".join(literal(change.side[c.name], c) for c in cols)
    return [
        f"-- {table.table} {change.key_text}: deleted since the recovery point; insert it again",
        _live_comment(None),
        "-- expect: 1",
        f"INSERT INTO {qualified} ({', '.join(qi(c.name) for c in cols)}){overriding}",
        f"  VALUES ({values});",
    ]


def _update(table: TableDiff, change: RowChange) -> list[str]:
    assert change.side is not None and change.live is not None
    writable = [
        c
        for c in table.columns
        if c.name in change.changed and not c.generated and c.identity != "a"
    ]
    skipped = [n for n in change.changed if n not in {c.name for c in writable}]
    qualified = table.qualified
    sets = ",\n    ".join(f"{qi(c.name)} = {literal(change.side[c.name], c)}" for c in writable)
    lines = [
        f"-- {table.table} {change.key_text}: updated since the recovery point "
        f"({', '.join(change.changed)}); set it back",
        _live_comment(change.live),
    ]
    if skipped:
        lines.append(f"--   not written (generated or identity): {', '.join(skipped)}")
    if not writable:
        return [*lines, "--   nothing to write", ""]
    return [
        *lines,
        "-- expect: 1",
        f"UPDATE {qualified} SET\n    {sets}",
        f"  WHERE {_where(table, change)}",
        f"    AND {_guard(writable, change.live)};",
    ]


def _delete(table: TableDiff, change: RowChange) -> list[str]:
    assert change.live is not None
    qualified = table.qualified
    return [
        f"-- {table.table} {change.key_text}: inserted since the recovery point; delete it",
        _live_comment(change.live),
        "-- expect: 1",
        f"DELETE FROM {qualified}",
        f"  WHERE {_where(table, change)}",
        f"    AND {_guard(table.columns, change.live)};",
    ]


def script(report: DamageReport, *, author: str, incident: str | None = None) -> str:
    """The repair script for every change left in `report`, for a person to review."""
    rank = {name: i for i, name in enumerate(report.parents_first)}
    tables = sorted(report.tables, key=lambda t: rank.get(t.table, len(rank)))
    counts = [
        f"--   {t.table}: " + ", ".join(f"{n} {k}" for k, n in t.counts.items() if n)
        for t in tables
        if t.changes
    ]
    if not counts:
        raise InvalidInput("no row to repair: the diff found no change of the chosen kinds")
    head = [
        "-- warroom data repair script: REVIEW EVERY STATEMENT before applying it",
        f"-- generated {utcnow().isoformat(timespec='seconds')} by {author}"
        + (f" for {incident}" if incident else ""),
        f"-- side copy recovered to {report.side.get('until')} "
        f"(base backup {report.side.get('backup')})",
        f"-- live database: {report.live}",
        "-- rows restored:",
        *counts,
        "--",
        "-- Each statement puts one row back as it was at the recovery point; the comment",
        "-- above it shows the row on live now. `-- expect: N` is the number of rows it must",
        "-- touch: the apply refuses the whole script if any count differs (someone changed",
        "-- the row since the diff). Apply it in one transaction with the apply command,",
        "-- which runs a dry run first; nothing is applied automatically.",
        "",
        *(f"SET {name} = '{value}';" for name, value in SESSION.items()),
        "",
    ]
    body: list[str] = []
    for t in reversed(tables):
        for c in t.changes:
            if c.kind == "inserted":
                body += [*_delete(t, c), ""]
    for t in tables:
        for c in t.changes:
            if c.kind == "updated":
                body += [*_update(t, c), ""]
    for t in tables:
        for c in t.changes:
            if c.kind == "deleted":
                body += [*_insert(t, c), ""]
    return "\n".join(head + body).rstrip() + "\n"
