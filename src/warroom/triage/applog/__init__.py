"""Understand app logs without per-system configuration: headers, masks, templates.

`AppLogMiner.feed(line)` takes one raw line and returns its template (`Cluster`), its time
and whether it continued the event above (a stack trace line). Headers are recognised in
`headers`, variable tokens masked in `mask`, templates grown in `miner`::

    m = AppLogMiner()
    for line in lines:
        cluster, ts, continued = m.feed(line)
        if not continued:
            cluster.seen(ts, line)
    for c in m.clusters: print(c.count, c.template)
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from warroom.core.errors import InvalidInput
from warroom.triage.applog.headers import HeaderReader
from warroom.triage.applog.mask import Masker, structured
from warroom.triage.applog.miner import THRESHOLD, Cluster, Miner

__all__ = ["AppLogMiner", "Cluster", "read_lines"]

# lines that continue the event above when they carry no header of their own
_CONTINUATION = re.compile(
    r"(?:\s|at |Caused by|Traceback \(|\.\.\. \d+ (?:more|common)|During handling|"
    r"The above exception|[\w$.]+(?:Exception|Error|Throwable)\b|\}|\])"
)


class AppLogMiner:
    def __init__(
        self,
        *,
        year: int | None = None,
        threshold: float = THRESHOLD,
        header: str | None = None,
        time_format: str | None = None,
    ) -> None:
        self._headers = HeaderReader(year, header=header, time_format=time_format)
        self._masker = Masker()
        self._miner = Miner(threshold)
        self._last: Cluster | None = None
        self._last_ts: datetime | None = None

    @property
    def clusters(self) -> list[Cluster]:
        return self._miner.clusters

    def feed(self, line: str) -> tuple[Cluster, datetime | None, bool]:
        """(template of the line's event, the event's time, whether the line continued
        the event above rather than starting one). Counting is the caller's:
        `cluster.seen(ts, line)` for the events it keeps."""
        if self._last is not None and _CONTINUATION.match(line):
            return self._last, self._last_ts, True
        parsed = structured(line) if line[:1] == "{" or "=" in line else None
        if parsed is not None:
            ts, message = parsed
            headed = True
        else:
            ts, message, headed = self._headers.split(line)
        cluster = self._miner.add(self._masker.tokens(message))
        # only events that had a header can be continued: in a log without headers every
        # line is an event of its own
        self._last = cluster if headed else None
        self._last_ts = ts
        return cluster, ts, False


def read_lines(paths: list[str | Path]) -> Iterator[str]:
    """The non-blank lines of plain or gzip files, line ends taken off."""
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise InvalidInput(f"app log {path} does not exist: check the path")
        with path.open("rb") as raw:
            magic = raw.read(2)
        opener: Any = gzip.open if magic == b"\x1f\x8b" else open
        f: IO[str]
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\r\n")
                if line.strip():
                    yield line
