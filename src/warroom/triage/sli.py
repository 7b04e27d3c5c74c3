"""Service-level indicators from access logs: small aggregates first, then series and stats.

Every block of parsed rows is folded at once into counts per (minute, route, status), latency
histograms per (minute, route, log-spaced bucket), per-client last-seen minutes and request-id
counts, so a gigabyte of log becomes frames of a few hundred thousand rows. Percentiles are read
from the histograms (buckets 10 % wide, so p95 is within about 5 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from warroom.core.errors import UnknownFormat
from warroom.triage import native
from warroom.triage.parse import (
    LineStats,
    ReadProgress,
    empty_frame,
    input_size,
    iter_parsed_blocks,
)

LATENCY_BASE = 1.1
MIN_LATENCY_MS = 0.01

MINUTE = pl.Datetime("us", "UTC")
CONTIGUOUS = timedelta(minutes=5)  # minutes this close together are one stretch of data


def latency_bucket(ms: pl.Expr) -> pl.Expr:
    """Log-spaced bucket number of a latency in milliseconds."""
    return (ms.clip(MIN_LATENCY_MS).log(LATENCY_BASE)).floor().cast(pl.Int32)


def bucket_ms(bucket: pl.Expr) -> pl.Expr:
    """A representative latency (geometric middle) of a bucket, in milliseconds."""
    return pl.lit(LATENCY_BASE).pow(bucket.cast(pl.Float64) + 0.5)


@dataclass
class Aggregates:
    """Everything triage needs from the access logs, in small frames."""

    status: pl.DataFrame  # minute, route, status, n
    latency: pl.DataFrame  # minute, route, bucket, n
    clients: pl.DataFrame  # client (hash), route (hash), last_seen, last_error (epoch minutes)
    request_ids: pl.DataFrame  # minute, route, n_ids, n_unique
    lines: LineStats = field(default_factory=LineStats)
    formats: dict[str, str] = field(default_factory=dict)
    client_sample_level: int = 0  # clients kept: those whose hash ends in this many 0 bits

    @property
    def latency_available(self) -> bool:
        return self.latency.height > 0

    @property
    def requests(self) -> int:
        return int(self.status["n"].sum()) if self.status.height else 0


def _status_counts(df: pl.DataFrame) -> pl.DataFrame:
    """Requests per (minute, route, status)."""
    minute = pl.col("ts").dt.truncate("1m").alias("minute")
    return df.group_by(minute, "route", "status").agg(n=pl.len())


def aggregate_frame(df: pl.DataFrame) -> tuple[pl.DataFrame, ...]:
    """Fold parsed rows into the four partial aggregates."""
    df = df.with_columns(
        minute=pl.col("ts").dt.truncate("1m"),
        client_key=pl.coalesce("user", "client"),
    )
    error = pl.col("status") >= 500
    status = _status_counts(df)
    latency = (
        df.filter(pl.col("latency_ms").is_not_null())
        .group_by("minute", "route", bucket=latency_bucket(pl.col("latency_ms")))
        .agg(n=pl.len())
    )
    # clients and routes as 64-bit hashes and minutes as int32: a log with millions of
    # distinct clients must not hold millions of strings
    epoch_min = (pl.col("minute").dt.epoch("s") // 60).cast(pl.Int32)
    # (`client_hash` is given by the compiled scanner's careful path, to hash as it does)
    key = pl.col("client_hash") if "client_hash" in df.columns else pl.col("client_key").hash()
    clients = df.group_by(key.alias("client"), pl.col("route").hash().alias("route")).agg(
        last_seen=epoch_min.max(),
        last_error=epoch_min.filter(error).max(),
    )
    ids = (
        df.filter(pl.col("request_id").is_not_null())
        .group_by("minute", "route")
        .agg(n_ids=pl.len(), n_unique=pl.col("request_id").n_unique())
    )
    return status, latency, clients, ids


def status_frame(df: pl.DataFrame) -> tuple[pl.DataFrame, ...]:
    """Only the counts per (minute, route, status), and the other three partials empty: what an
    availability SLO reads. A month-long log holds 43,200 minutes; its latency histograms per
    (minute, route) took 2 GB where these counts take a few MB."""
    _, latency, clients, ids = aggregate_frame(empty_frame())
    return _status_counts(df), latency, clients, ids


def _merge_one(kind: int, frames: list[pl.DataFrame]) -> pl.DataFrame:
    f = pl.concat(frames)
    if kind == 0:
        return f.group_by("minute", "route", "status").sum()
    if kind == 1:
        return f.group_by("minute", "route", "bucket").sum()
    if kind == 2:
        return f.group_by("client", "route").agg(
            pl.col("last_seen").max(), pl.col("last_error").max()
        )
    return f.group_by("minute", "route").sum()


MAX_CLIENT_ROWS = 500_000


def _sampled(level: int) -> pl.Expr:
    return (pl.col("client") & ((1 << level) - 1)) == 0


class _Accumulator:
    """Partial aggregates, merged when the unmerged rows outgrow the merged ones (so each row
    is re-aggregated only a logarithmic number of times and memory stays near the result)."""

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.level = 0  # client sampling level (kind 2 only)
        self.merged: pl.DataFrame | None = None
        self.pending: list[pl.DataFrame] = []
        self.pending_rows = 0

    def add(self, frame: pl.DataFrame) -> None:
        if self.level:
            frame = frame.filter(_sampled(self.level))
        self.pending.append(frame)
        self.pending_rows += frame.height
        base = self.merged.height if self.merged is not None else 0
        if self.pending_rows > max(base, 200_000) or len(self.pending) >= 64:
            self.merged = self.result()
            self.pending, self.pending_rows = [], 0
            # distinct sampling: past the limit keep only clients whose hash ends in one more
            # zero bit; counts are scaled back by 2**level, so memory stays bounded
            while self.kind == 2 and self.merged.height > MAX_CLIENT_ROWS:
                self.level += 1
                self.merged = self.merged.filter(_sampled(self.level))

    def sample_at_least(self, level: int) -> None:
        """Keep only clients sampled at `level` (another source sampled that far)."""
        if level > self.level:
            self.level = level
            if self.merged is not None:
                self.merged = self.merged.filter(_sampled(level))
            self.pending = [f.filter(_sampled(level)) for f in self.pending]
            self.pending_rows = sum(f.height for f in self.pending)

    def result(self) -> pl.DataFrame:
        frames = ([self.merged] if self.merged is not None else []) + self.pending
        return _merge_one(self.kind, frames)


def aggregate_access_logs(
    paths: list[str],
    *,
    log_format: str | None = None,
    time_unit: str | None = None,
    progress: ReadProgress | None = None,
    json_fields: dict[str, str] | None = None,
    status_only: bool = False,
) -> Aggregates:
    """Read access logs block by block into `Aggregates`, never holding all rows.

    `status_only`: the counts per (minute, route, status) alone (memory bounded by minutes x
    routes x statuses whatever the log's span), the other partials empty."""
    fold_frame = status_frame if status_only else aggregate_frame
    accs = [_Accumulator(k) for k in range(4)]
    lines = LineStats()
    formats: dict[str, str] = {}
    per_file: dict[str, list[Any]] = {}  # label -> [read, parsed, first skipped line]
    fold = None
    if native.available():
        fold = native.NativeFold(fold_frame, input_bytes=input_size(paths), status_only=status_only)
    for spec, part, stats in iter_parsed_blocks(
        paths,
        log_format=log_format,
        time_unit=time_unit,
        progress=progress,
        json_fields=json_fields,
        transform=fold_frame,
        text_blocks=fold.feed if fold is not None else None,
    ):
        formats[spec.label] = spec.log_format
        lines.add(stats)
        counts = per_file.setdefault(spec.label, [0, 0, None])
        counts[0] += stats.read
        counts[1] += stats.parsed
        if counts[2] is None and stats.samples:
            counts[2] = stats.samples[0]
        if part is not None:
            for acc, frame in zip(accs, part, strict=True):
                acc.add(frame)
    if fold is not None:
        parts, level = fold.frames()
        accs[2].sample_at_least(level)
        for part in parts:
            for acc, frame in zip(accs, part, strict=True):
                acc.add(frame)
    _refuse_unreadable(per_file)
    if all(acc.merged is None and not acc.pending for acc in accs):
        for acc, frame in zip(accs, aggregate_frame(empty_frame()), strict=True):
            acc.add(frame)
    status, latency, clients, ids = (acc.result() for acc in accs)
    return Aggregates(
        status,
        latency,
        clients,
        ids,
        lines=lines,
        formats=formats,
        client_sample_level=accs[2].level,
    )


def _refuse_unreadable(per_file: dict[str, list[Any]]) -> None:
    """A file with lines of which none could be read is the wrong file, not a quiet log:
    "no incident detected" over it would be a false all-clear."""
    for label, (read, parsed, first) in per_file.items():
        if read and not parsed:
            line = f"; its first line: {first.text[:200]!r} ({first.reason})" if first else ""
            raise UnknownFormat(
                f"no line of {label} could be read as an access log "
                f"({read:,} line{'s' if read != 1 else ''}){line}. "
                "Is it the access log? Force a format with --log-format, or for JSON name "
                "the fields with --field (see docs/triage.md)",
                field="access_logs",
            )


# --- series over intervals -------------------------------------------------------------------


@dataclass
class Series:
    """Per-interval requests, 5xx and p95 for one scope (all routes or one route)."""

    scope: str
    times: list[datetime]
    requests: np.ndarray
    errors: np.ndarray
    p95: np.ndarray  # NaN where no latency sample
    latency_n: np.ndarray
    mean_ms: np.ndarray  # NaN where no latency sample

    @property
    def error_rate(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.requests > 0, self.errors / np.maximum(self.requests, 1), np.nan)


@dataclass
class Grid:
    start: datetime
    interval: timedelta
    size: int

    def index_expr(self) -> pl.Expr:
        step = int(self.interval.total_seconds() * 1_000_000)
        start = pl.lit(self.start).cast(MINUTE)
        return ((pl.col("minute") - start).dt.total_microseconds() // step).cast(pl.Int64)

    def time(self, index: int) -> datetime:
        return self.start + index * self.interval

    @property
    def end(self) -> datetime:
        return self.start + self.size * self.interval


def make_grid(agg: Aggregates, max_points: int = 1440) -> Grid | None:
    """An interval grid over the data: one minute, coarser when the data spans over a day.

    A clock jump (a few lines stamped years away) must not stretch the grid: the range is the
    one holding all but the outer 0.05 % of requests on each side.
    """
    if not agg.status.height:
        return None
    per_minute = agg.status.group_by("minute").agg(pl.col("n").sum()).sort("minute")
    cum = per_minute["n"].cum_sum()
    total = int(cum[-1])
    lo = int((cum < 0.0005 * total).sum())
    hi = min(int((cum < 0.9995 * total).sum()), per_minute.height - 1)
    # a quiet first or last minute is still data, not a clock jump: the range grows back over
    # the trimmed minutes that follow on from it without a gap
    stamps = per_minute["minute"].to_list()
    while lo > 0 and stamps[lo] - stamps[lo - 1] <= CONTIGUOUS:
        lo -= 1
    while hi < len(stamps) - 1 and stamps[hi + 1] - stamps[hi] <= CONTIGUOUS:
        hi += 1
    first = stamps[lo]
    last = stamps[hi]
    assert isinstance(first, datetime) and isinstance(last, datetime)
    span_min = int((last - first).total_seconds() // 60) + 1
    minutes = max(1, math.ceil(span_min / max_points))
    return Grid(first, timedelta(minutes=minutes), math.ceil(span_min / minutes))


def quantiles(hist: pl.DataFrame, keys: list[str], qs: dict[str, float]) -> pl.DataFrame:
    """Quantiles in ms per group of a latency histogram frame (keys + bucket + n)."""
    if not hist.height:
        return pl.DataFrame(
            schema={**{k: hist.schema[k] for k in keys}, **{name: pl.Float64 for name in qs}}
        )
    h = hist.group_by(*keys, "bucket").agg(pl.col("n").sum()).sort([*keys, "bucket"])
    # groups are contiguous after the sort: one running total over all rows, and per group
    # the first bucket whose running total reaches q of the group's requests
    group = h.select(pl.struct(keys).rle_id()).to_series().to_numpy()
    cum = np.cumsum(h["n"].to_numpy().astype(np.int64))
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(cum)]
    before = np.r_[0, cum[:-1]][starts]
    total = cum[ends - 1] - before
    buckets = h["bucket"].to_numpy()
    picked = {
        # cum - before >= q * total, the threshold rounded up to the counts' integers
        name: buckets[np.searchsorted(cum, before + np.ceil(q * total).astype(np.int64))]
        for name, q in qs.items()
    }
    out = (
        h[starts]
        .select(keys)
        .with_columns(
            **{name: pl.Series(b) for name, b in picked.items()},
            latency_n=pl.Series(total).cast(h.schema["n"]),
        )
    )
    return out.with_columns(bucket_ms(pl.col(name)).alias(name) for name in qs)


def series(agg: Aggregates, grid: Grid, routes: list[str] | None) -> dict[str, Series]:
    """Series for all routes together (scope "*") and for each route in `routes`.

    Each figure is one grouped query over all scopes (the routes, plus "*" as a copy of every
    row), not one query per scope.
    """
    idx = grid.index_expr().alias("i")
    wanted = pl.Series(routes or [], dtype=pl.String).implode()

    def scoped(frame: pl.DataFrame) -> pl.DataFrame:
        frame = frame.with_columns(idx)
        one = frame.filter(pl.col("route").is_in(wanted)).with_columns(pl.col("route").alias("s"))
        return pl.concat([frame.with_columns(s=pl.lit("*")), one])

    st = scoped(agg.status).with_columns(err=pl.col("status") >= 500)
    lat = scoped(agg.latency)
    counts = st.group_by("s", "i").agg(
        req=pl.col("n").sum(), err=pl.col("n").filter(pl.col("err")).sum()
    )
    q = quantiles(lat, ["s", "i"], {"p95": 0.95})
    mean = lat.group_by("s", "i").agg(
        mean=(pl.col("n") * bucket_ms(pl.col("bucket"))).sum() / pl.col("n").sum()
    )
    parts = [_by_scope(f) for f in (counts, q, mean)]
    times = [grid.time(i) for i in range(grid.size)]
    out: dict[str, Series] = {}
    for scope in ["*", *(routes or [])]:
        c, qq, m = (p.get(scope, _NO_ROWS) for p in parts)
        out[scope] = Series(
            scope=scope,
            times=times,
            requests=_dense(c, "req", grid.size, 0.0),
            errors=_dense(c, "err", grid.size, 0.0),
            p95=_dense(qq, "p95", grid.size, np.nan),
            latency_n=_dense(qq, "latency_n", grid.size, 0.0),
            mean_ms=_dense(m, "mean", grid.size, np.nan),
        )
    return out


_NO_ROWS = pl.DataFrame()


def _by_scope(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {str(key[0]): part for key, part in frame.partition_by("s", as_dict=True).items()}


def _dense(frame: pl.DataFrame, column: str, size: int, fill: float) -> np.ndarray:
    arr = np.full(size, fill, dtype=float)
    if frame.height:
        i = frame["i"].to_numpy()
        keep = (i >= 0) & (i < size)
        arr[i[keep]] = frame[column].fill_null(fill).to_numpy().astype(float)[keep]
    return arr


# --- before/during statistics ------------------------------------------------------------------


@dataclass
class PhaseStats:
    requests: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    minutes: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def per_minute(self) -> float:
        return self.requests / self.minutes if self.minutes else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors_5xx": self.errors,
            "error_rate": round(self.error_rate, 5),
            "p50_ms": _round(self.p50_ms),
            "p95_ms": _round(self.p95_ms),
            "p99_ms": _round(self.p99_ms),
        }


def _round(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, 1)


QS = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def phase_stats(
    agg: Aggregates,
    start: datetime,
    end: datetime,
    *,
    by_route: bool,
    routes: list[str] | None = None,
) -> dict[str, PhaseStats]:
    """Requests, 5xx and percentiles in [start, end), overall ("*") or per route (only
    `routes` when given)."""
    minutes = max((end - start).total_seconds() / 60, 1.0)
    in_range = (pl.col("minute") >= pl.lit(start).cast(MINUTE)) & (
        pl.col("minute") < pl.lit(end).cast(MINUTE)
    )
    if by_route and routes is not None:
        in_range = in_range & pl.col("route").is_in(pl.Series(routes, dtype=pl.String).implode())
    st = agg.status.filter(in_range)
    lat = agg.latency.filter(in_range)
    if not by_route:
        st = st.with_columns(route=pl.lit("*"))
        lat = lat.with_columns(route=pl.lit("*"))
    counts = st.group_by("route").agg(
        req=pl.col("n").sum(), err=pl.col("n").filter(pl.col("status") >= 500).sum()
    )
    q = quantiles(lat, ["route"], QS)
    qmap = {r["route"]: r for r in q.iter_rows(named=True)}
    out: dict[str, PhaseStats] = {}
    for row in counts.iter_rows(named=True):
        qr = qmap.get(row["route"], {})
        out[row["route"]] = PhaseStats(
            requests=int(row["req"]),
            errors=int(row["err"] or 0),
            p50_ms=qr.get("p50"),
            p95_ms=qr.get("p95"),
            p99_ms=qr.get("p99"),
            minutes=minutes,
        )
    return out


def clients_affected(
    agg: Aggregates, onset: datetime, *, routes: list[str] | None, by_error: bool
) -> tuple[int, int]:
    """(affected, active) clients since the onset.

    Active: seen at or after the onset. Affected: got a 5xx at or after the onset
    (`by_error`), or else used one of the affected `routes` at or after the onset.
    """
    since = int(onset.timestamp() // 60)
    c = agg.clients
    active = c.filter(pl.col("last_seen") >= since)["client"].n_unique()
    if by_error:
        hit = c.filter(pl.col("last_error") >= since)
    else:
        hashed = pl.Series(routes or [], dtype=pl.String).hash()
        hit = c.filter((pl.col("last_seen") >= since) & pl.col("route").is_in(hashed.implode()))
    scale = 2**agg.client_sample_level
    return int(hit["client"].n_unique()) * scale, int(active) * scale
