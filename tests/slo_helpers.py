"""Generated access logs with a known burn, for the SLO tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


def log_line(ts: datetime, path: str, status: int, seconds: float, method: str = "GET") -> str:
    stamp = ts.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return (
        f'10.0.0.1 - - [{stamp}] "{method} {path} HTTP/1.1" {status} 123 "-" "curl/8" '
        f"{seconds:.3f}\n"
    )


def write_log(
    path: Path,
    *,
    duration: timedelta,
    route: str = "/checkout",
    status: Callable[[int, datetime], int] = lambda i, t: 200,
    latency: Callable[[int, datetime], float] = lambda i, t: 0.120,
    every: timedelta = timedelta(seconds=1),
    start: datetime = START,
    method: str = "GET",
) -> Path:
    """One request every `every` for `duration`; status and latency per request."""
    n = int(duration / every)
    with path.open("w") as fh:
        for i in range(n):
            ts = start + i * every
            fh.write(log_line(ts, route, status(i, ts), latency(i, ts), method))
    return path
