"""App-log templates (drain3) and the error signatures that are new or surging since an onset.

Each line's leading timestamp is recognised (ISO-8601, syslog, Apache, HDFS, epoch) and taken
off before mining; numbers, ids, hex, IPs and UUIDs are masked so that
`order 123 failed` and `order 456 failed` are one template `order <NUM> failed`::

    mined = mine_templates(["app.log"])
    for t in mined.templates: print(t.count, t.template)
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from warroom.core.errors import InvalidInput

_B = r"(?<![A-Za-z0-9_.-])"  # token start
_E = r"(?![A-Za-z0-9_-])"  # token end
MASKS: list[tuple[str, str]] = [
    (
        rf"{_B}[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-"
        rf"[0-9a-fA-F]{{12}}{_E}",
        "UUID",
    ),
    (rf"{_B}\d{{1,3}}\.\d{{1,3}}\.\d{{1,3}}\.\d{{1,3}}(?::\d+)?{_E}", "IP"),
    (rf"{_B}(?:[0-9a-fA-F]{{2}}:){{5}}[0-9a-fA-F]{{2}}{_E}", "MAC"),
    (rf"{_B}0x[0-9a-fA-F]+{_E}", "HEX"),
    (r"blk_-?\d+", "BLK"),
    (rf"{_B}(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{{8,}}{_E}", "HEX"),
    (rf"(?<=[=:#/-])[A-Za-z]*\d[\w.-]*{_E}", "ID"),
    (rf"{_B}[-+]?\d+(?:\.\d+)?(?:ms|s|us|ns|kb|mb|gb|b|%)?{_E}", "NUM"),
]

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


def make_miner() -> TemplateMiner:
    """A drain3 miner with masks and similarity that work across common log styles."""
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, name) for p, name in MASKS]
    config.drain_sim_th = 0.4
    config.drain_depth = 4
    config.drain_extra_delimiters = ["=", ","]
    config.parametrize_numeric_tokens = True
    config.profiling_enabled = False
    return TemplateMiner(config=config)


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


@dataclass
class _Line:
    ts: datetime | None
    text: str
    raw: str


def _read_lines(paths: list[str | Path]) -> Iterator[str]:
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise InvalidInput(f"app log {path} does not exist: check the path")
        with path.open("rb") as raw:
            magic = raw.read(2)
        opener: Any = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                yield line.rstrip("\r\n")


def mine_templates(
    paths: list[str | Path],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    assign: bool = False,
) -> Mined:
    """Mine templates from app logs, most frequent first; optionally the id of every line."""
    miner = make_miner()
    kept: list[_Line] = []
    last_ts: datetime | None = None
    for raw in _read_lines(paths):
        if not raw.strip():
            continue
        ts, text = split_timestamp(raw)
        ts = ts or last_ts  # continuation lines (stack traces) belong to the line above
        last_ts = ts
        if (since and ts and ts < since) or (until and ts and ts >= until):
            continue
        miner.add_log_message(text.strip())
        kept.append(_Line(ts, text.strip(), raw))
    stats: dict[int, Template] = {}
    ids: list[int | None] = []
    for line in kept:
        cluster = miner.match(line.text, full_search_strategy="fallback")
        if cluster is None:
            ids.append(None)
            continue
        cid = cluster.cluster_id
        ids.append(cid)
        t = stats.get(cid)
        if t is None:
            stats[cid] = Template(cid, cluster.get_template(), 1, line.ts, line.ts, line.raw)
        else:
            t.count += 1
            if line.ts and (t.first is None or line.ts < t.first):
                t.first = line.ts
            if line.ts and (t.last is None or line.ts > t.last):
                t.last = line.ts
    templates = sorted(stats.values(), key=lambda t: (-t.count, t.id))
    return Mined(templates, ids if assign else [], len(kept))


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
    miner = make_miner()
    counts: dict[int, list[int]] = {}
    examples: dict[int, str] = {}
    first_during: dict[int, datetime] = {}
    lines: list[tuple[datetime | None, str, str]] = []
    last_ts: datetime | None = None
    for raw in _read_lines(paths):
        if not raw.strip():
            continue
        ts, text = split_timestamp(raw, year=onset.year)
        ts = ts or last_ts
        last_ts = ts
        if ts is None or (start and ts < start) or (end and ts >= end):
            continue
        miner.add_log_message(text.strip())
        lines.append((ts, text.strip(), raw))
    if not lines:
        return []
    t_first = start or min(t for t, _, _ in lines if t)
    t_last = end or max(t for t, _, _ in lines if t)
    for ts, text, raw in lines:
        cluster = miner.match(text, full_search_strategy="fallback")
        if cluster is None or ts is None:
            continue
        c = counts.setdefault(cluster.cluster_id, [0, 0])
        if ts < onset:
            c[0] += 1
        else:
            c[1] += 1
            if cluster.cluster_id not in examples:
                examples[cluster.cluster_id] = raw
                first_during[cluster.cluster_id] = ts
    before_min = max((onset - t_first) / timedelta(minutes=1), 1.0)
    during_min = max((t_last - onset) / timedelta(minutes=1), 1.0)
    out: list[Signature] = []
    templates = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
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
