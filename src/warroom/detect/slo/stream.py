"""`slo check` without the rows: triage's compiled scanner and per-minute partial aggregates.

`warroom triage` folds access logs block by block into counts per (minute, route, status)
(`triage.sli.aggregate_access_logs`), never holding the rows; an availability or ratio SLO
needs nothing more. Its requests per minute become SLI events (ts = the minute, good, total),
which the workbook evaluation takes as they are and the confident alerts take spread evenly
over the minute's six 10-second steps (as Prometheus sees a counter: the same per-minute
counts, so the burst cap works as in the rules of `promql.py`).

    events = minute_events(aggregates, slo)       # ts (minute), good, total
    streamable(slo)                               # False: latency, method or path matchers
    status = fold_block(spec, data, first_line)   # one block (watch's backlog), or None

SLOs that need more than (route, status) - latency thresholds, methods, path prefixes - are
read from rows instead (`logs.sli_events`).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from warroom.detect.slo.logs import match_expr, status_expr
from warroom.detect.slo.model import SLO, SLOKind
from warroom.detect.slo.tracker import STEP_S
from warroom.triage import native
from warroom.triage.lineparse import JSON_FIELDS
from warroom.triage.parse import Block, FileSpec
from warroom.triage.sli import status_frame

STEPS_PER_MINUTE = 60 // STEP_S
ROUTE_KEYS = {"route", "route_regex"}
LAST_STEP = timedelta(seconds=60 - STEP_S)  # from a minute's start to its last step


def streamable(slo: SLO) -> bool:
    """Whether per-minute (route, status) counts are enough for `slo`."""
    if slo.kind is SLOKind.LATENCY or set(slo.match) - ROUTE_KEYS:
        return False
    # an OpenSLO ratio without status matchers is refused, with its field, by logs.sli_events
    return slo.form != "openslo" or bool(slo.good.get("status") or slo.bad.get("status"))


def minute_events(status: pl.DataFrame, slo: SLO) -> pl.DataFrame:
    """Good and total requests of `slo` per minute from (minute, route, status, n) counts."""
    rows = status.filter(match_expr(slo.match))
    if slo.good:
        good = status_expr(slo.good["status"])
    else:
        good = ~status_expr(slo.bad.get("status", ["5xx"]))
    return (
        rows.group_by("minute")
        .agg(
            (pl.col("n").cast(pl.Int64) * good.cast(pl.Int64)).sum().alias("good"),
            pl.col("n").cast(pl.Int64).sum().alias("total"),
        )
        .rename({"minute": "ts"})
        .sort("ts")
    )


def spread(events: pl.DataFrame) -> pl.DataFrame:
    """Each minute's counts split evenly (in whole requests) over its 10-second steps."""
    events = events.with_columns((pl.col("total") - pl.col("good")).alias("bad"))
    parts = []
    for i in range(STEPS_PER_MINUTE):

        def share(col: str, i: int = i) -> pl.Expr:
            c = pl.col(col)
            return c // STEPS_PER_MINUTE + (c % STEPS_PER_MINUTE > i).cast(pl.Int64)

        parts.append(
            events.select(
                (pl.col("ts") + pl.duration(seconds=i * STEP_S)).alias("ts"),
                (share("total") - share("bad")).alias("good"),
                share("total").alias("total"),
            )
        )
    return pl.concat(parts).filter(pl.col("total") > 0).sort("ts")


def fold_block(spec: FileSpec, block: Block, first_line: int) -> pl.DataFrame | None:
    """(minute, route, status, n) counts of one block of a combined/common log, read by the
    compiled scanner (None: JSON lines, or no scanner: parse the rows instead)."""
    if spec.log_format == "json" or not native.available():
        return None
    fold = native.NativeFold(status_frame, input_bytes=len(block), workers=0, status_only=True)
    slow, _stats = fold.feed(spec, block, first_line, JSON_FIELDS)
    parts, _level = fold.frames()
    frames = [p[0] for p in parts] + ([slow[0]] if slow is not None else [])
    return pl.concat(frames).group_by("minute", "route", "status").agg(pl.col("n").sum())
