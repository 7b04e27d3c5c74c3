"""Input limits that hold on every path into storage, the same on SQLite and PostgreSQL.

`check_value` is what `warroom.core.db` runs on every statement's parameters before they
reach the driver (`guard_engine`); it refuses with InvalidInput naming the field:

* NUL characters in text (PostgreSQL cannot store them, SQLite would truncate them in some
  clients): refused on both stores, also inside JSON values;
* integers outside a signed 64-bit range (PostgreSQL has no wider integer; SQLite raises
  OverflowError);
* text longer than its column's declared length (PostgreSQL refuses it, SQLite keeps it:
  refused on both).

`check_json_depth` and `check_yaml_depth` refuse documents nested deeper than a limit before
a recursive parser (json, PyYAML, pydantic) meets them and overflows the stack.

    check_json_depth(b'[[[[1]]]]', limit=3, field="body")   # InvalidInput
"""

from __future__ import annotations

import re
from typing import Any

from warroom.core.errors import InvalidInput

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_JSON_DEPTH = 64
MAX_YAML_DEPTH = 64

_BIND_SUFFIX = re.compile(r"_\d+$")


def field_name(bind: str) -> str:
    """The column a bind parameter stands for (`title_1` -> `title`)."""
    return _BIND_SUFFIX.sub("", bind)


def check_value(name: str, value: Any, *, length: int | None = None, _depth: int = 0) -> None:
    """Refuse NUL characters, integers beyond 64 bits and text over `length` characters in
    `value` (a bind parameter's Python value: text, number, or JSON-like data)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(
                f"{name}: NUL characters (\\x00) are not allowed in text", field=name
            )
        if length is not None and len(value) > length:
            raise InvalidInput(
                f"{name}: at most {length} characters (got {len(value)})", field=name
            )
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidInput(
                f"{name}: the number {str(value)[:30]} is out of range (at most 2^63-1)",
                field=name,
            )
    elif isinstance(value, dict) and _depth < MAX_JSON_DEPTH:
        for key, item in value.items():
            check_value(name, key, _depth=_depth + 1)
            check_value(f"{name}.{key}", item, _depth=_depth + 1)
    elif isinstance(value, list | tuple) and _depth < MAX_JSON_DEPTH:
        for item in value:
            check_value(name, item, _depth=_depth + 1)


# --- nesting depth -------------------------------------------------------------------------------

_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth_over(body: bytes, limit: int) -> bool:
    """Whether JSON text `body` nests arrays/objects deeper than `limit` (strings skipped;
    no parsing, so a 50,000-deep document costs a scan, not a stack overflow)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # fewer openers than the limit: no need to scan (the common case)
    depth = 0
    for m in _JSON_TOKENS.finditer(body):
        ch = m.group(0)[:1]
        if ch in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif ch in (b"]", b"}"):
            depth -= 1
    return False


def check_json_depth(
    body: bytes | str, *, limit: int = MAX_JSON_DEPTH, field: str = "body"
) -> None:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if json_depth_over(data, limit):
        raise InvalidInput(
            f"{field}: JSON nested deeper than {limit} levels is not accepted", field=field
        )


def check_yaml_depth(text: str, *, limit: int = MAX_YAML_DEPTH, field: str = "yaml") -> None:
    """Refuse YAML nested deeper than `limit` (read as events, without building anything;
    a syntax error is left to the loader, which reports it with its line)."""
    import yaml  # Lazy on purpose: every command loads this module; few read YAML

    depth = 0
    starts = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    try:
        for ev in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(ev, starts):
                depth += 1
                if depth > limit:
                    raise InvalidInput(
                        f"{field}: YAML nested deeper than {limit} levels is not accepted",
                        field=field,
                    )
            elif isinstance(ev, ends):
                depth -= 1
    except yaml.YAMLError:
        return
