"""Duplicate effects: keys that should take effect once but took effect twice (double charges).

    found = find_duplicates(["payments.log", "access.log"])
    for g in found.groups(): print(g["duplicated_keys"], g["rule"], g["source"])
    found.write_csv(open("refunds.csv", "w"))

A rule names a kind of key and a regular expression with a group `key`: idempotency keys,
order, payment, charge and transaction ids as `name=value` (or `"name": "value"`) in a
line or a query string, and order ids in paths like `/orders/123/pay`. A line counts as an
effect when it says something happened:

* an access-log line (combined/common, or JSON with a path and a status): a POST, PUT,
  PATCH or DELETE answered 2xx; its keys are read from the request path and query;
* any other line (an app log): a word of success (`charged`, `captured`, `succeeded`,
  `completed`, ...) and no word of failure (`failed`, `declined`, `timeout`, `already`, ...).

What happened is the line's shape: its text with the key and every token holding a digit
masked (`charge succeeded order_id=<key> payment_id=<*> amount=<*>`; for an access line the
method and the path). A key that took the same shape of effect twice or more is a duplicate,
with its count, first and last time and first lines; a charge and the receipt mailed for it
are two shapes, not a duplicate. App logs and access logs are counted apart: the same charge
is often in both. Reading is prefiltered in polars (the rules over every line of a block, on all
cores), so only the lines that name a key are parsed in Python.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import polars as pl

from warroom.core import quoting
from warroom.core.errors import InvalidInput
from warroom.triage.lineparse import CLF_RE, CLF_TIME, JSON_FIELDS, lookup, parse_timestamp
from warroom.triage.signatures import split_timestamp

BLOCK = 8 << 20
MAX_EXAMPLES = 3
MAX_EXAMPLE_CHARS = 300
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_VALUE = r"""["']?\s*[=:]\s*["']?(?P<key>[A-Za-z0-9_.:-]+)"""


@dataclass(frozen=True)
class KeyRule:
    """A kind of key that should take effect once, and how to find it in a line."""

    name: str
    pattern: str

    def compiled(self) -> re.Pattern[str]:
        try:
            rx = re.compile(self.pattern)
        except re.error as exc:
            raise InvalidInput(
                f"key rule {self.name}: {self.pattern!r} is not a regular expression ({exc})",
                field="key",
            ) from None
        if rx.groups < 1:
            raise InvalidInput(
                f"key rule {self.name}: the pattern needs a group for the key, e.g. "
                r"order=(?P<key>\d+)",
                field="key",
            )
        return rx


DEFAULT_RULES: tuple[KeyRule, ...] = (
    KeyRule("idempotency_key", r"(?i)\bidempotency[_-]?key" + _VALUE),
    KeyRule("order_id", r"(?i)\border[_-]?id" + _VALUE),
    KeyRule(
        "order_id",
        r"(?i)/orders?/(?P<key>[A-Za-z0-9_.:-]+)/"
        r"(?:pay|payments?|charges?|capture|checkout|confirm|complete|refunds?)\b",
    ),
    KeyRule("payment_id", r"(?i)\bpayment[_-]?id" + _VALUE),
    KeyRule("charge_id", r"(?i)\bcharge[_-]?id" + _VALUE),
    KeyRule("transaction_id", r"(?i)\b(?:transaction|txn)[_-]?id" + _VALUE),
)
EFFECT = (
    r"(?i)\b(?:charged|captured|paid|succeeded|successful(?:ly)?|completed|confirmed|settled|"
    r"refunded|created|placed|shipped|sent|applied|processed|approved|debited|credited|"
    r"booked|issued|fulfilled)\b"
)
NOT_EFFECT = (
    r"(?i)\b(?:fail(?:ed|ure|ing)?|errors?|declined|denied|rejected|time[ds]? ?out|timeout|"
    r"abort(?:ed)?|cancell?ed|already|skipp(?:ed|ing)|ignor(?:ed|ing)|not)\b"
)


def parse_rules(values: list[str], *, defaults: bool = True) -> tuple[KeyRule, ...]:
    """`NAME=REGEX` options as rules (after the defaults unless `defaults` is False)."""
    rules = list(DEFAULT_RULES if defaults else ())
    for value in values:
        name, sep, pattern = value.partition("=")
        if not sep or not name.strip() or not pattern:
            raise InvalidInput(
                f"--key {value!r}: write NAME=REGEX with a group for the key, e.g. "
                r"invoice=inv-(?P<key>\d+)",
                field="key",
            )
        rules.append(KeyRule(name.strip(), pattern))
    if not rules:
        raise InvalidInput("no key rule: give at least one NAME=REGEX", field="key")
    return tuple(rules)


@dataclass
class Duplicate:
    """One key that took effect more than once."""

    rule: str
    source: str  # app | access
    action: str  # the shape of the line: what took effect
    key: str
    count: int
    first: datetime | None
    last: datetime | None
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "source": self.source,
            "action": self.action,
            "key": self.key,
            "count": self.count,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "examples": self.examples,
        }


@dataclass
class _Seen:
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    examples: list[str] = field(default_factory=list)

    def add(self, ts: datetime | None, example: str) -> None:
        self.count += 1
        if ts is not None:
            self.first = ts if self.first is None or ts < self.first else self.first
            self.last = ts if self.last is None or ts > self.last else self.last
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)


@dataclass
class Duplicates:
    """What a scan found: effects per kind of key, and the keys that took effect twice."""

    lines: int = 0
    files: list[str] = field(default_factory=list)
    seen: dict[tuple[str, str, str, str], _Seen] = field(default_factory=dict)
    min_count: int = 2

    @property
    def duplicates(self) -> list[Duplicate]:
        """Keys counted at least `min_count` times, most first, then by first time."""
        out = [
            Duplicate(rule, source, action, key, s.count, s.first, s.last, list(s.examples))
            for (rule, source, action, key), s in self.seen.items()
            if s.count >= self.min_count
        ]
        out.sort(key=lambda d: (-d.count, d.first.timestamp() if d.first else 0.0, d.key))
        return out

    def groups(self) -> list[dict[str, Any]]:
        """Per kind of key, source and action: effects, keys, keys duplicated, extra effects,
        time span; the most duplicated first."""
        out: dict[tuple[str, str, str], dict[str, Any]] = {}
        for (rule, source, action, _), s in self.seen.items():
            g = out.setdefault(
                (rule, source, action),
                {"rule": rule, "source": source, "action": action, "effects": 0, "keys": 0,
                 "duplicated_keys": 0, "extra_effects": 0, "first": None, "last": None},
            )  # fmt: skip
            g["effects"] += s.count
            g["keys"] += 1
            if s.count >= self.min_count:
                g["duplicated_keys"] += 1
                g["extra_effects"] += s.count - 1
                if s.first and (g["first"] is None or s.first < g["first"]):
                    g["first"] = s.first
                if s.last and (g["last"] is None or s.last > g["last"]):
                    g["last"] = s.last
        ordered = sorted(out.values(), key=lambda g: (-g["duplicated_keys"], g["rule"]))
        for g in ordered:
            for k in ("first", "last"):
                g[k] = g[k].isoformat() if g[k] else None
        return ordered

    def headline(self) -> str:
        """'778 order_id keys took effect more than once (app log, 12:03:02 to 12:41:10 UTC):
        charge succeeded order_id=<key> ...'."""
        hit = [g for g in self.groups() if g["duplicated_keys"]]
        if not hit:
            return "no key took effect more than once"
        g = hit[0]
        span = f", {g['first'][11:19]} to {g['last'][11:19]} UTC" if g["first"] else ""
        action = g["action"] if len(g["action"]) <= 80 else g["action"][:77] + "..."
        return (
            f"{g['duplicated_keys']} {g['rule']} keys took effect more than once "
            f"({g['source']} log{span}): {action}"
        )

    def to_dict(self, *, limit: int | None = None) -> dict[str, Any]:
        dups = self.duplicates
        return {
            "headline": self.headline(),
            "lines": self.lines,
            "files": self.files,
            "groups": self.groups(),
            "duplicates": [d.to_dict() for d in (dups if limit is None else dups[:limit])],
            "total_duplicates": len(dups),
        }

    def write_csv(self, out: IO[str]) -> int:
        """One row per duplicated key (for refunds); returns the rows written."""
        w = csv.writer(out)
        w.writerow(["rule", "source", "key", "count", "first", "last", "action", "example"])
        dups = self.duplicates
        for d in dups:
            first = d.first.isoformat() if d.first else ""
            last = d.last.isoformat() if d.last else ""
            example = d.examples[0] if d.examples else ""
            row = [d.rule, d.source, d.key, d.count, first, last, d.action, example]
            w.writerow([quoting.csv_cell(v) for v in row])  # log text is never a formula
        return len(dups)


def _blocks(path: Path) -> Iterator[bytes]:
    """The file in blocks of whole lines (.gz read through)."""
    with path.open("rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if gz else path.open("rb") as f:
        rest = b""
        while chunk := f.read(BLOCK):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            if cut:
                yield data[:cut]
                rest = data[cut:]
            else:
                rest = data
        if rest:
            yield rest + b"\n"


def _prefilter(rules: Iterable[KeyRule]) -> str | None:
    """One pattern for polars that any line naming a key matches (None: no prefilter)."""
    parts = [re.sub(r"\(\?P<\w+>", "(", r.pattern) for r in rules]
    pattern = "|".join(f"(?:{p})" for p in parts)
    try:
        pl.Series(["x"]).str.contains(pattern)
    except Exception:  # noqa: BLE001 - a Python-only construct (lookaround): read every line
        return None
    return pattern


def _access(line: str) -> tuple[bool, datetime | None, str, str] | None:
    """(is an effect, time, text keys are read from, method) of an access-log line; None for
    a line of another kind. The time is read only for an effect (it is the slow part)."""
    try:
        if line.startswith("{"):
            obj = json.loads(line)
            if not isinstance(obj, dict):
                return None
            _, path = lookup(obj, JSON_FIELDS["path"])
            _, status = lookup(obj, JSON_FIELDS["status"])
            if path is None or status is None:
                return None  # structured app log
            _, method = lookup(obj, JSON_FIELDS["method"])
            verb = str(method or "").upper()
            if verb not in MUTATING or not 200 <= int(status) < 300:
                return False, None, str(path), verb
            _, ts = lookup(obj, JSON_FIELDS["ts"])
            return True, parse_timestamp(ts) if ts is not None else None, str(path), verb
        m = CLF_RE.match(line)
        if m is None:
            return None
        verb, _, rest = m.group("request").partition(" ")
        path = rest.rsplit(" ", 1)[0] if " HTTP/" in rest else rest
        if verb not in MUTATING or not 200 <= int(m.group("status")) < 300:
            return False, None, path, verb
        return True, _clf_time(m.group("ts")), path, verb
    except (ValueError, TypeError):
        return None


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


def _clf_time(text: str) -> datetime:
    """`20/Nov/2026:12:00:01 +0100` as UTC; by position (strptime costs 100 us a call)."""
    try:
        zone = int(text[22:24]) * 60 + int(text[24:26])
        offset = timedelta(minutes=zone if text[21] == "+" else -zone)
        local = datetime(
            int(text[7:11]), _MONTHS[text[3:6]], int(text[0:2]),
            int(text[12:14]), int(text[15:17]), int(text[18:20]), tzinfo=UTC,
        )  # fmt: skip
        return local - offset
    except (KeyError, ValueError, IndexError):
        return datetime.strptime(text, CLF_TIME).astimezone(UTC)


_VARIABLE = re.compile(r"""[^\s=:,;"'()\[\]{}<>]*\d[^\s=:,;"'()\[\]{}<>]*""")


def shape(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the key spans as <key> and every token holding a digit as <*>."""
    out, at = [], 0
    for a, b in sorted(spans):
        if a >= at:
            out += [_VARIABLE.sub("<*>", text[at:a]), "<key>"]
            at = b
    out.append(_VARIABLE.sub("<*>", text[at:]))
    return " ".join("".join(out).split())


def _compile(pattern: str, name: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(f"{pattern!r} is not a regular expression ({exc})", field=name) from None


def find_duplicates(
    paths: Iterable[str | Path],
    *,
    rules: tuple[KeyRule, ...] = DEFAULT_RULES,
    effect: str = EFFECT,
    not_effect: str = NOT_EFFECT,
    min_count: int = 2,
) -> Duplicates:
    """Scan app and access logs for keys that took effect `min_count` times or more."""
    compiled = [(r.name, r.compiled()) for r in rules]
    effect_rx, not_rx = _compile(effect, "effect"), _compile(not_effect, "not_effect")
    prefilter = _prefilter(rules)
    found = Duplicates(min_count=min_count)
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise InvalidInput(f"log {path} does not exist: check the path", field="files")
        found.files.append(str(path))
        number = 0
        for block in _blocks(path):
            lines = pl.Series([block.decode("utf-8", "replace")]).str.split("\n").explode()
            count = len(lines) - 1  # the block ends with a newline: the last piece is empty
            hits: Iterable[int] = range(count)
            if prefilter is not None:
                hits = lines.head(count).str.contains(prefilter).arg_true().to_list()
            for i in hits:
                _scan_line(
                    found, compiled, effect_rx, not_rx, lines[i], f"{path.name}:{number + i + 1}"
                )
            number += count
        found.lines += number
    return found


def _scan_line(
    found: Duplicates,
    rules: list[tuple[str, re.Pattern[str]]],
    effect_rx: re.Pattern[str],
    not_rx: re.Pattern[str],
    line: str,
    where: str,
) -> None:
    line = line.rstrip("\r")
    access = _access(line)
    if access is not None:
        is_effect, ts, text, method = access
        source, prefix = "access", method + " "
    else:
        if not effect_rx.search(line) or not_rx.search(line):
            return
        is_effect, (ts, text) = True, split_timestamp(line)
        source, prefix = "app", ""
    if not is_effect:
        return
    keys: dict[tuple[str, str], tuple[int, int]] = {}
    for name, rx in rules:
        group = "key" if "key" in rx.groupindex else 1
        for m in rx.finditer(text):
            if m.group(group):
                keys.setdefault((name, m.group(group)), m.span(group))
    if not keys:
        return
    if source == "access":
        cut = text.find("?")
        keep = [s for s in keys.values() if cut < 0 or s[1] <= cut]
        action = prefix + shape(text if cut < 0 else text[:cut], keep)
    else:
        action = shape(text, list(keys.values()))
    example = f"{where}: {line[:MAX_EXAMPLE_CHARS]}"
    for name, key in keys:
        found.seen.setdefault((name, source, action, key), _Seen()).add(ts, example)
