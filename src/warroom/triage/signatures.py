"""App-log templates and the error signatures that are new or surging since an onset.

Each line's header (time, level, logger; see `applog.headers`) is taken off before mining,
variable tokens are masked (`applog.mask`), and stack traces fold into their event, so that
`order 123 failed` and `order 456 failed` are one template `order <*> failed`::

    mined = mine_templates(["app.log"])
    for t in mined.templates: print(t.count, t.template)
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from warroom.triage.applog import AppLogMiner, read_lines

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}
_TIME_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^\[?(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?"
            r"\s*(Z|[+-]\d{2}:?\d{2})?\]?\s*"
        ),
        "iso",
    ),
    (re.compile(r"^\[?(\d{2}/\w{3}/\d{4}):(\d{2}:\d{2}:\d{2}) ([+-]\d{4})\]?\s*"), "clf"),
    (re.compile(r"^(\w{3}) +(\d{1,2}) (\d{2}:\d{2}:\d{2})\s+"), "syslog"),
    (re.compile(r"^(\d{6}) (\d{6})\s+"), "hdfs"),
    (re.compile(r"^(\d{10})(?:\.(\d+))?\s+"), "epoch"),
]


def split_timestamp(line: str, *, year: int | None = None) -> tuple[datetime | None, str]:
    """(time at the start of the line or None, the rest of the line)."""
    for rx, kind in _TIME_PATTERNS:
        m = rx.match(line)
        if not m:
            continue
        try:
            ts = _to_time(kind, m, year)
        except (ValueError, KeyError):
            continue
        return ts, line[m.end() :]
    return None, line


def _to_time(kind: str, m: re.Match[str], year: int | None) -> datetime:
    if kind == "iso":
        frac = (m.group(3) or "0")[:6].ljust(6, "0")
        ts = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}.{frac}")
        tz = m.group(4)
        if tz and tz != "Z":
            ts = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}.{frac}{tz}")
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    if kind == "clf":
        return datetime.strptime(
            f"{m.group(1)}:{m.group(2)} {m.group(3)}", "%d/%b/%Y:%H:%M:%S %z"
        ).astimezone(UTC)
    if kind == "syslog":
        month = _MONTHS[m.group(1).lower()]
        h, mi, s = (int(x) for x in m.group(3).split(":"))
        y = year or datetime.now(UTC).year
        return datetime(y, month, int(m.group(2)), h, mi, s, tzinfo=UTC)
    if kind == "hdfs":
        d, t = m.group(1), m.group(2)
        return datetime(
            2000 + int(d[:2]),
            int(d[2:4]),
            int(d[4:]),
            int(t[:2]),
            int(t[2:4]),
            int(t[4:]),
            tzinfo=UTC,
        )
    return datetime.fromtimestamp(int(m.group(1)), UTC)


@dataclass
class Template:
    id: int
    template: str
    count: int
    first: datetime | None
    last: datetime | None
    example: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "template": self.template,
            "count": self.count,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "example": self.example,
        }


@dataclass
class Mined:
    templates: list[Template]
    assignments: list[int | None] = field(default_factory=list)  # per input line, in order
    lines: int = 0


def mine_templates(
    paths: list[str | Path],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    assign: bool = False,
    year: int | None = None,
    header: str | None = None,
    time_format: str | None = None,
) -> Mined:
    """Mine templates from app logs, most frequent first; optionally the template id of
    every non-blank line in the time range (a stack-trace line: its event's template).
    `header`/`time_format`: a header the built-in styles do not know (`applog.headers`)."""
    miner = AppLogMiner(year=year, header=header, time_format=time_format)
    ids = array("l")
    n = 0
    for raw in read_lines(paths):
        cluster, ts, continued = miner.feed(raw)
        if (since and ts and ts < since) or (until and ts and ts >= until):
            continue  # mined for the shape, not counted
        if not continued:
            cluster.seen(ts, raw)
        n += 1
        if assign:
            ids.append(cluster.id)
    templates = [
        Template(c.id, c.template, c.count, c.first, c.last, c.example)
        for c in miner.clusters
        if c.count > 0
    ]
    templates.sort(key=lambda t: (-t.count, t.id))
    return Mined(templates, list(ids) if assign else [], n)


_ERRORISH = re.compile(
    r"error|exception|fail|fatal|panic|timed? ?out|refused|critical|"
    r"traceback|denied|unavailable|warn",
    re.IGNORECASE,
)


@dataclass
class Signature:
    template: str
    before: int
    during: int
    status: str  # "new" or "surging"
    ratio: float | None  # per-minute rate during / before
    example: str
    first_seen: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "status": self.status,
            "count_before": self.before,
            "count_during": self.during,
            "rate_ratio": round(self.ratio, 1) if self.ratio is not None else None,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "example": self.example,
        }


def signatures_since(
    paths: list[str | Path],
    *,
    onset: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    min_during: int = 3,
    surge: float = 3.0,
) -> list[Signature]:
    """Templates new since `onset`, or whose per-minute rate grew `surge`-fold, busiest first.

    `start`/`end` bound the baseline and the window (default: the app log's own span).
    """
    miner = AppLogMiner(year=onset.year)
    counts: dict[int, list[int]] = {}
    examples: dict[int, str] = {}
    first_during: dict[int, datetime] = {}
    t_min: datetime | None = None
    t_max: datetime | None = None
    for raw in read_lines(paths):
        cluster, ts, continued = miner.feed(raw)
        if continued or ts is None or (start and ts < start) or (end and ts >= end):
            continue
        t_min = ts if t_min is None or ts < t_min else t_min
        t_max = ts if t_max is None or ts > t_max else t_max
        c = counts.setdefault(cluster.id, [0, 0])
        if ts < onset:
            c[0] += 1
        else:
            c[1] += 1
            if cluster.id not in examples:
                examples[cluster.id] = raw
                first_during[cluster.id] = ts
    if t_min is None or t_max is None:
        return []
    t_first = start or t_min
    t_last = end or t_max
    before_min = max((onset - t_first) / timedelta(minutes=1), 1.0)
    during_min = max((t_last - onset) / timedelta(minutes=1), 1.0)
    out: list[Signature] = []
    templates = {c.id: c.template for c in miner.clusters}
    for cid, (before, during) in counts.items():
        if during < min_during:
            continue
        ratio = None
        if before == 0:
            status = "new"
        else:
            ratio = (during / during_min) / (before / before_min)
            if ratio < surge:
                continue
            status = "surging"
        out.append(
            Signature(
                templates[cid], before, during, status, ratio, examples[cid], first_during.get(cid)
            )
        )
    out.sort(key=lambda s: (not _ERRORISH.search(s.template), -s.during))
    return out
