"""Run a reviewed repair script on the live database: one transaction, counts checked.

    result = run_script(live_dsn, text, commit=False)     # dry run: rolled back
    result.ok, result.rows                                  # every `-- expect: N` met?
    run_script(live_dsn, text, commit=True)                 # commits only if result.ok

The script is split into statements by a small lexer that knows PostgreSQL's quoting
(strings, E'' strings, quoted names, dollar quotes, comments), so a `;` inside a value does
not split it. Only INSERT, UPDATE and DELETE (and SET of the formatting settings the
generated script starts with) are accepted: a script that commits, alters a table or
copies a file is refused before anything runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import psycopg

from warroom.core.errors import InvalidInput
from warroom.recover.pg import SESSION, connect

VERBS = ("INSERT", "UPDATE", "DELETE", "SET")
SETTABLE = {name.lower() for name in SESSION} | {"lock_timeout", "statement_timeout"}
_EXPECT_RE = re.compile(r"--\s*expect:\s*(\d+)", re.IGNORECASE)
_NAME = r'(?:"(?:[^"]|"")*"|[A-Za-z_][\w$]*)'
_TARGET_RE = re.compile(
    rf"^(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?({_NAME}(?:\s*\.\s*{_NAME})?)",
    re.IGNORECASE,
)
_SET_RE = re.compile(r"^SET\s+(?:LOCAL\s+|SESSION\s+)?([A-Za-z_][\w.]*)\s*(?:=|TO)\s", re.I)
_DOLLAR_RE = re.compile(r"\$([A-Za-z_]\w*)?\$")


@dataclass
class Statement:
    line: int
    text: str
    verb: str
    target: str
    expect: int | None
    rows: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "verb": self.verb,
            "target": self.target,
            "expect": self.expect,
            "rows": self.rows,
        }


@dataclass
class ApplyResult:
    sha256: str
    dry_run: bool
    statements: list[Statement]
    committed: bool = False
    error: str | None = None
    error_line: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> list[Statement]:
        return [
            s
            for s in self.statements
            if s.expect is not None and s.rows is not None and s.rows != s.expect
        ]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.mismatches

    @property
    def rows(self) -> dict[str, dict[str, int]]:
        """Rows touched per table and verb: {'public.accounts': {'UPDATE': 4, 'INSERT': 2}}."""
        out: dict[str, dict[str, int]] = {}
        for s in self.statements:
            if s.verb != "SET" and s.rows is not None:
                per = out.setdefault(s.target, {})
                per[s.verb] = per.get(s.verb, 0) + s.rows
        return out

    def summary(self) -> str:
        verb = "dry run" if self.dry_run else ("applied" if self.committed else "not applied")
        touched = "; ".join(f"{t}: {rows_text(per)}" for t, per in self.rows.items())
        state = "ok" if self.ok else (self.error or f"{len(self.mismatches)} counts differ")
        return f"Repair {self.sha256[:12]} {verb}: {touched or 'no row'} ({state})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "committed": self.committed,
            "summary": self.summary(),
            "rows": self.rows,
            "error": self.error,
            "error_line": self.error_line,
            "mismatches": [s.to_dict() for s in self.mismatches],
            "statements": [s.to_dict() for s in self.statements],
        }


DONE = {"INSERT": "inserted", "UPDATE": "updated", "DELETE": "deleted"}


def rows_text(per: dict[str, int]) -> str:
    """{'UPDATE': 4, 'INSERT': 2} -> '4 rows updated, 2 inserted'."""
    parts = [f"{n} {DONE.get(v, v.lower())}" for v, n in per.items()]
    if parts:
        parts[0] = parts[0].replace(" ", " rows " if sum(per.values()) != 1 else " row ", 1)
    return ", ".join(parts)


def _skip_quoted(text: str, i: int, quote: str, backslash: bool) -> int:
    """The index just after the closing quote of the literal or name opened at `i`."""
    j = i + 1
    while j < len(text):
        ch = text[j]
        if backslash and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < len(text) and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    raise InvalidInput("the script ends inside a quoted value", field="script")


def _escape_string(text: str, i: int) -> bool:
    """Is the quote at `i` the start of an E'...' string (backslash escapes)?"""
    return (
        i > 0
        and text[i - 1] in "eE"
        and (i == 1 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
    )


def split(text: str) -> list[tuple[int, str, str]]:
    """(line, statement, the comments before it) for each statement of `text`."""
    out: list[tuple[int, str, str]] = []
    i, start, comments = 0, None, []
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            if start is None:
                comments.append(text[i:end])
            i = end
        elif ch == "/" and text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise InvalidInput("the script ends inside a /* comment", field="script")
            i = j
        elif ch.isspace():
            i += 1
        elif ch == ";":
            if start is not None:
                out.append(_piece(text, start, i, comments))
            start, comments = None, []
            i += 1
        else:
            if start is None:
                start = i
            if ch in "'\"":
                i = _skip_quoted(text, i, ch, ch == "'" and _escape_string(text, i))
            elif ch == "$" and (m := _DOLLAR_RE.match(text, i)):
                close = text.find(m.group(0), m.end())
                if close < 0:
                    raise InvalidInput(
                        "the script ends inside a dollar-quoted value", field="script"
                    )
                i = close + len(m.group(0))
            else:
                i += 1
    if start is not None:
        out.append(_piece(text, start, n, comments))
    return out


def _piece(text: str, start: int, end: int, comments: list[str]) -> tuple[int, str, str]:
    return text.count("\n", 0, start) + 1, text[start:end].strip(), "\n".join(comments)


def parse_script(text: str) -> list[Statement]:
    """The statements of a repair script; refused when one is not a row change."""
    statements: list[Statement] = []
    for line, body, comments in split(text):
        verb = body.split(None, 1)[0].upper() if body else ""
        if verb not in VERBS:
            raise InvalidInput(
                f"line {line}: {verb or 'an empty statement'} is not allowed in a repair "
                "script: only INSERT, UPDATE and DELETE (the apply owns the transaction)",
                field="script",
            )
        target = ""
        if verb == "SET":
            m = _SET_RE.match(body)
            if not m or m.group(1).lower() not in SETTABLE:
                raise InvalidInput(
                    f"line {line}: only SET of {', '.join(sorted(SETTABLE))} is allowed",
                    field="script",
                )
            target = m.group(1)
        else:
            m = _TARGET_RE.match(body)
            target = m.group(1).replace('"', "") if m else "?"
        expect = _EXPECT_RE.findall(comments)
        statements.append(Statement(line, body, verb, target, int(expect[-1]) if expect else None))
    if not any(s.verb != "SET" for s in statements):
        raise InvalidInput("the script changes no row", field="script")
    return statements


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run_script(dsn: str, text: str, *, commit: bool, lock_timeout: str = "5s") -> ApplyResult:
    """Run every statement in one transaction; commit only if `commit` and all counts match."""
    statements = parse_script(text)
    result = ApplyResult(sha256=digest(text), dry_run=not commit, statements=statements)
    with connect(dsn, writable=True) as conn:
        current: Statement | None = None
        try:
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (lock_timeout,))
            for current in statements:
                cur = conn.execute(current.text.encode())  # bytes: no placeholders to parse
                current.rows = cur.rowcount if current.verb != "SET" else None
        except psycopg.Error as exc:
            conn.rollback()
            said = str(exc).strip()
            result.error = said.splitlines()[0] if said else type(exc).__name__
            result.error_line = current.line if current is not None else None
            return result
        if commit and result.ok:
            conn.commit()
            result.committed = True
        else:
            conn.rollback()
    return result
