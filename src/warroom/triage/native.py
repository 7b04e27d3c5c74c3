"""Fold combined/common access logs with the compiled scanner (`_scan.c`).

The scanner reads every plain line in C, without the GIL, and folds it at once into counts
per (minute, route, status), latency histograms per (minute, route, bucket) and each client's
last-seen and last-5xx minutes: the same partial aggregates as `sli.aggregate_frame`, with no
per-line Python or polars work. One `Aggregator` per worker thread; their results merge at the
end. Lines the scanner does not judge (escaped quotes, odd times, non-ASCII paths) go through
the careful Python parser, so results do not depend on which path read a line.

Without a C compiler at install time the module is absent and `available()` is False: triage
then parses with polars alone (slower, same results). Client keys of the lines the careful
parser read are hashed with the scanner's hash, so a client counts once whichever path read
its lines.
"""

from __future__ import annotations

import math
import os
import queue
from typing import Any

import numpy as np
import polars as pl

from warroom.triage.lineparse import TIME_UNITS
from warroom.triage.parse import _parse_slow
from warroom.triage.reader import Block, FileSpec, LineStats

try:  # built by setup.py when a C compiler is available
    from warroom.triage import _scan
except ImportError:  # pragma: no cover - exercised on machines without a compiler
    _scan = None  # type: ignore[assignment]

MINUTE = pl.Datetime("us", "UTC")
DISABLE_ENV = "WARROOM_NO_NATIVE"


def available() -> bool:
    """True when the compiled scanner is installed and not disabled by WARROOM_NO_NATIVE=1."""
    return _scan is not None and os.environ.get(DISABLE_ENV, "") in ("", "0")


class NativeFold:
    """Aggregators shared by the block-parsing threads (each used by one thread at a time).

    `feed` is `parse.iter_parsed_blocks`' `text_blocks`: it returns the aggregates of the
    lines the careful parser had to read (or None) and the line accounting; `frames()` gives
    the folded rest at the end, as `sli.aggregate_frame` would have.
    """

    def __init__(
        self, fold: Any, *, input_bytes: int = 0, workers: int = 2, status_only: bool = False
    ) -> None:
        """`status_only`: count (minute, route, status) alone, as `fold` must then do too."""
        assert _scan is not None
        self.fold = fold
        level = client_level_for(input_bytes)
        self.aggregators = [
            _scan.Aggregator(level, status_only=status_only) for _ in range(workers + 1)
        ]
        self._free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for a in self.aggregators:
            self._free.put(a)

    def feed(
        self, spec: FileSpec, block: Block, first_line: int, fields: dict[str, tuple[str, ...]]
    ) -> tuple[tuple[pl.DataFrame, ...] | None, LineStats]:
        factor = TIME_UNITS[spec.time_unit or "s"]
        agg = self._free.get()
        try:
            read, blank, bad = agg.feed(block, factor)
        finally:
            self._free.put(agg)
        stats = LineStats(read=read - blank, physical=read)
        if not bad:
            stats.parsed = stats.read
            return None, stats
        triples = np.frombuffer(bad, np.int64).reshape(-1, 3)
        lines: list[str | None] = [
            bytes(block[int(s) : int(e)]).decode("utf-8", "replace").rstrip("\r")
            for s, e in triples[:, 1:]
        ]
        numbers = (triples[:, 0] + first_line).tolist()
        rows, slow = _parse_slow(spec, lines, first_line, fields, numbers=numbers)
        stats.parsed = stats.read - len(lines) + slow.parsed
        stats.skipped = slow.skipped
        stats.samples = slow.samples
        if not rows.height:
            return None, stats
        keys = zip(rows["user"].to_list(), rows["client"].to_list(), strict=True)
        hashes = [_scan.client_hash(user if user is not None else client) for user, client in keys]
        return self.fold(rows.with_columns(client_hash=pl.Series(hashes, dtype=pl.UInt64))), stats

    def frames(self) -> tuple[list[tuple[pl.DataFrame, ...]], int]:
        """The aggregates of every aggregator, and the highest client sampling level."""
        results = [a.result() for a in self.aggregators]
        return [_frames(r) for r in results], max(r["client_level"] for r in results)


BYTES_PER_LINE = 150  # a short combined line; longer lines only make the estimate safer


def client_level_for(input_bytes: int) -> int:
    """The client sampling level to start at: exact (0) while the expected distinct clients fit
    in `_scan.MAX_CLIENTS`, else one more halving per doubling of the input.

    Starting there rather than climbing to it keeps the client table small and in cache from
    the first line: every line of a 1 GB log would otherwise probe a table of 500,000 clients.
    """
    assert _scan is not None
    lines = input_bytes / BYTES_PER_LINE
    return (
        max(0, math.ceil(math.log2(lines / _scan.MAX_CLIENTS))) if lines > _scan.MAX_CLIENTS else 0
    )


def _frames(result: dict[str, Any]) -> tuple[pl.DataFrame, ...]:
    names = pl.Series("route", result["routes"], dtype=pl.String)
    hashes = names.hash()

    def counts(columns: tuple[bytes, bytes, bytes, bytes], sub: str, dtype: Any) -> pl.DataFrame:
        minute, route, value, n = (
            np.frombuffer(c, t) for c, t in zip(columns, COUNT_TYPES, strict=True)
        )
        return pl.DataFrame(
            {
                "minute": pl.Series(minute.astype(np.int64) * 60_000_000).cast(MINUTE),
                "route": names.gather(route),
                sub: pl.Series(value).cast(dtype),
                "n": pl.Series(n).cast(pl.UInt32),
            }
        )

    status = counts(result["status"], "status", pl.Int64)
    latency = counts(result["latency"], "bucket", pl.Int32)
    last_error = pl.Series(np.frombuffer(result["last_error"], np.int32))
    clients = pl.DataFrame(
        {
            "client": np.frombuffer(result["client"], np.uint64),
            "route": hashes.gather(np.frombuffer(result["client_route"], np.int32)),
            "last_seen": np.frombuffer(result["last_seen"], np.int32),
            "last_error": pl.select(
                pl.when(last_error != _scan.NO_MINUTE).then(last_error)
            ).to_series(),
        }
    )
    ids = pl.DataFrame(
        schema={"minute": MINUTE, "route": pl.String, "n_ids": pl.UInt32, "n_unique": pl.UInt32}
    )
    return status, latency, clients, ids


COUNT_TYPES = (np.int32, np.int32, np.int32, np.int64)
