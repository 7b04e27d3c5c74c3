"""Parse access logs (combined, common, JSON lines; plain, gzip or stdin) into polars frames.

Blocks of whole lines come from `reader`; each block is split into lines by polars and parsed
with vectorised string operations, so memory depends on the block size, not on the file size.
Lines the fast path cannot read (escaped quotes in the request, a JSON line in a text log)
go through a careful per-line parser; lines nobody can read are counted and sampled::

    log = read_access_logs(["access.log.gz"])
    log.frame.filter(pl.col("status") >= 500)
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import polars as pl

from warroom.triage import formats, reader
from warroom.triage.formats import LINE_FORMATS, LineFormat
from warroom.triage.formats.frames import parse_line_format, parse_w3c
from warroom.triage.formats.w3c import w3c_row
from warroom.triage.lineparse import (
    BLANK,
    CLF_TIME,
    CLF_TIME_LOCAL,
    JSON_FIELDS,
    JSON_LATENCY_UNIT,
    TIME_UNITS,
    json_row,
    text_row,
)
from warroom.triage.reader import (  # re-exported: the reading layer's names, used with these
    FORMATS,
    MAX_SAMPLES,
    Block,
    BlockFn,
    FileSpec,
    LineStats,
    ReadProgress,
    SkippedLine,
    check_options,
    input_size,
)
from warroom.triage.routes import normalise_route, normalise_route_expr

__all__ = [
    "FORMATS",
    "MAX_SAMPLES",
    "AccessLog",
    "Block",
    "BlockFn",
    "FileSpec",
    "LineStats",
    "ReadProgress",
    "SkippedLine",
    "check_options",
    "empty_frame",
    "input_size",
    "iter_parsed_blocks",
    "parse_block",
    "read_access_logs",
    "routes_for",
]

SCHEMA: dict[str, Any] = {
    "ts": pl.Datetime("us", "UTC"),
    "client": pl.String,
    "user": pl.String,
    "method": pl.String,
    "path": pl.String,
    "route": pl.String,
    "status": pl.Int64,
    "latency_ms": pl.Float64,
    "request_id": pl.String,
}


@dataclass
class AccessLog:
    """Parsed access-log rows (`frame`, sorted by time) and the line accounting."""

    frame: pl.DataFrame
    lines: LineStats
    formats: dict[str, str]

    @property
    def latency_available(self) -> bool:
        return bool(self.frame.height) and self.frame["latency_ms"].null_count() < self.frame.height


def read_access_logs(
    paths: list[str],
    *,
    log_format: str | None = None,
    time_unit: str | None = None,
    progress: ReadProgress | None = None,
    json_fields: dict[str, str] | None = None,
) -> AccessLog:
    """Parse access logs into one frame with ts, client, method, path, route, status, latency_ms.

    For moderate files (up to a few million lines); triage itself aggregates block by block
    (`warroom.triage.sli.aggregate_access_logs`) and never holds all rows.
    """
    frames: list[pl.DataFrame] = []
    stats = LineStats()
    formats: dict[str, str] = {}
    for spec, frame, block_stats in iter_parsed_blocks(
        paths,
        log_format=log_format,
        time_unit=time_unit,
        progress=progress,
        json_fields=json_fields,
    ):
        formats[spec.label] = spec.log_format
        frames.append(frame)
        stats.add(block_stats)
    frame = pl.concat(frames) if frames else empty_frame()
    return AccessLog(frame=frame.sort("ts", maintain_order=True), lines=stats, formats=formats)


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def iter_parsed_blocks(
    paths: list[str],
    *,
    log_format: str | None = None,
    time_unit: str | None = None,
    progress: ReadProgress | None = None,
    json_fields: dict[str, str] | None = None,
    transform: Callable[[pl.DataFrame], Any] | None = None,
    text_blocks: BlockFn | None = None,
    workers: int = 2,
) -> Iterator[tuple[FileSpec, Any, LineStats]]:
    """`reader.iter_parsed_blocks` with polars parsing: yields (spec, rows or transform(rows),
    stats) per block, in file order (`text_blocks`: see there)."""
    return reader.iter_parsed_blocks(
        paths,
        log_format=log_format,
        time_unit=time_unit,
        progress=progress,
        json_fields=json_fields,
        parse=functools.partial(_parse_and_transform, transform=transform),
        text_blocks=text_blocks,
        workers=workers,
    )


def _parse_and_transform(
    spec: FileSpec,
    block: Block,
    first_line: int,
    fields: dict[str, tuple[str, ...]],
    *,
    transform: Callable[[pl.DataFrame], Any] | None,
) -> tuple[Any, LineStats]:
    frame, stats = parse_block(spec, block, first_line, fields)
    return (transform(frame) if transform else frame), stats


# --- reading bytes -------------------------------------------------------------------------


def _split_lines(block: Block) -> pl.Series:
    """The lines of a block as a string series (one entry per newline, empty lines kept)."""
    data = block if isinstance(block, bytes) else bytes(block)
    expected = data.count(b"\n")
    try:
        lines = pl.read_csv(
            io.BytesIO(data),
            separator="\x1f",
            quote_char=None,
            has_header=False,
            new_columns=["line"],
            schema={"line": pl.String},
            truncate_ragged_lines=True,
            encoding="utf8-lossy",
        ).to_series()
    except Exception:  # noqa: BLE001 - odd bytes; the slow split below is always right
        lines = None
    if lines is None or lines.len() != expected:
        text = data.decode("utf-8", errors="replace").split("\n")[:-1]
        lines = pl.Series("line", [t.rstrip("\r") for t in text], dtype=pl.String)
    return lines


# --- format detection --------------------------------------------------------------------


# --- parsing --------------------------------------------------------------------------------


def parse_block(
    spec: FileSpec,
    block: Block,
    first_line: int,
    fields: dict[str, tuple[str, ...]] | None = None,
) -> tuple[pl.DataFrame, LineStats]:
    """Parse one block of whole lines; return the rows and the line accounting."""
    fields = fields or JSON_FIELDS
    lines = _split_lines(block)
    frame = None
    if spec.log_format == "json":
        frame = _parse_json_fast(lines, spec.time_unit, fields)
        if frame is None:
            rows, careful = _parse_slow(spec, lines.to_list(), first_line, fields)
            careful.physical = lines.len()
            return rows, careful
    elif spec.layout is not None:
        frame = parse_w3c(spec.layout, lines, TIME_UNITS)
        frame = frame.with_columns(route=routes_for(frame["path"]))
    elif spec.log_format in LINE_FORMATS:
        frame = parse_line_format(_line_format(spec), lines, TIME_UNITS)
        frame = frame.with_columns(route=routes_for(frame["path"]))
    else:
        frame = _parse_text_fast(lines, spec.time_unit)
    ok = frame["ok"]
    good = frame.filter(ok).select(*SCHEMA)
    bad = frame.filter(~ok).select("idx", "line")
    stats = LineStats(read=lines.len(), parsed=good.height, physical=lines.len())
    if bad.height:
        empty = pl.col("line").str.strip_chars(BLANK) == ""
        blank = bad.filter(pl.col("line").is_null() | empty)
        bad = bad.filter(pl.col("line").is_not_null() & ~empty)
        stats.read -= blank.height  # blank lines are neither parsed nor skipped
        slow, slow_stats = _parse_slow(
            spec,
            bad["line"].to_list(),
            first_line,
            fields,
            numbers=(bad["idx"] + first_line).to_list(),
        )
        stats.parsed += slow_stats.parsed
        stats.skipped += slow_stats.skipped
        stats.samples = slow_stats.samples
        if slow.height:
            good = pl.concat([good, slow])
    return good, stats


def _parse_text_fast(lines: pl.Series, time_unit: str | None) -> pl.DataFrame:
    """Vectorised combined/common parsing; `ok` is false where the careful parser must look."""
    parts = pl.col("line").str.splitn('"', 4)
    prefix = parts.struct.field("field_0")
    request = parts.struct.field("field_1").str.splitn(" ", 3)
    tail = parts.struct.field("field_2").str.strip_chars().str.splitn(" ", 3)
    is_combined = parts.struct.field("field_3").is_not_null()
    # the request time is the last token after the user agent's closing quote
    rt_combined = pl.col("line").str.slice(-32).str.extract(r'"[^"]*\s([0-9]+(?:\.[0-9]+)?)\s*$', 1)
    rt_common = tail.struct.field("field_2").str.extract(r"^([0-9]+(?:\.[0-9]+)?)", 1)
    factor = TIME_UNITS[time_unit or "s"]
    # "IP ident user [17/May/2015:10:05:03 +0000] ": one split instead of three regexes
    words = prefix.str.split_exact(" ", 5)
    user = words.struct.field("field_2")
    tz = words.struct.field("field_4")
    offset_min = (
        tz.str.slice(1, 2).cast(pl.Int32, strict=False) * 60
        + tz.str.slice(3, 2).cast(pl.Int32, strict=False)
    ) * pl.when(tz.str.starts_with("-")).then(-1).otherwise(1)
    local = (
        words.struct.field("field_3")
        .str.slice(1)
        .str.to_datetime(CLF_TIME_LOCAL, strict=False, time_unit="us")
    )
    df = (
        pl.DataFrame([lines])
        .with_row_index("idx")
        .lazy()
        .select(
            "idx",
            "line",
            ts=(local - pl.duration(minutes=offset_min)).dt.replace_time_zone("UTC"),
            client=words.struct.field("field_0"),
            user=pl.when(user == "-").then(None).otherwise(user),
            method=request.struct.field("field_0"),
            path=request.struct.field("field_1"),
            status=tail.struct.field("field_0").cast(pl.Int64, strict=False),
            latency_ms=(
                pl.when(is_combined).then(rt_combined).otherwise(rt_common).cast(pl.Float64)
                * factor
            ),
        )
        .with_columns(
            ok=pl.col("ts").is_not_null()
            & pl.col("status").is_between(100, 599)
            & pl.col("path").is_not_null()
            & pl.col("method").str.contains(r"^[A-Z]+$")
            & pl.col("client").is_not_null()
            & (pl.col("client") != "")
        )
        .with_columns(pl.col("ok").fill_null(False))
        .with_columns(request_id=pl.lit(None, pl.String))
        .collect()
    )
    return df.with_columns(route=routes_for(df["path"])).select("idx", "line", "ok", *SCHEMA)


# ISO-8601 with an offset or Z, naive ISO (taken as UTC), and the CLF time of nginx time_local
_JSON_TIME_FORMATS = (
    ("%+", True),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
    ("%Y-%m-%d %H:%M:%S%.f", False),
    (CLF_TIME, True),
)


def _parse_json_fast(
    lines: pl.Series, time_unit: str | None, fields: dict[str, tuple[str, ...]]
) -> pl.DataFrame | None:
    """Vectorised JSON lines; None when the block does not decode as a whole (a malformed
    line, types that differ between lines), and the careful parser takes it line by line."""
    try:
        decoded = lines.str.json_decode(infer_schema_length=None)
    except Exception:  # noqa: BLE001 - polars raises several kinds; the slow path decides
        return None
    if not isinstance(decoded.dtype, pl.Struct):
        return None
    base = pl.DataFrame({"line": lines, "j": decoded}).with_row_index("idx")

    def candidates(role: str) -> list[tuple[str, pl.Expr, pl.DataType]]:
        out = []
        for name in fields[role]:
            expr, dtype = pl.col("j"), cast(Any, decoded.dtype)
            for part in name.split("."):
                if not isinstance(dtype, pl.Struct):
                    break
                found = {f.name: f.dtype for f in dtype.fields}
                if part not in found:
                    break
                expr, dtype = expr.struct.field(part), found[part]
            else:
                out.append((name, expr, dtype))
        return out

    def text(role: str, default: str | None = None) -> pl.Expr:
        exprs = [e.cast(pl.String) for _, e, d in candidates(role) if not isinstance(d, pl.Struct)]
        if default is not None:
            exprs.append(pl.lit(default))
        return pl.coalesce(exprs) if exprs else pl.lit(None, pl.String)

    try:
        times = []
        for _, e, d in candidates("ts"):
            if d == pl.String:
                raw = base.select(e).to_series()
                for fmt, aware in _JSON_TIME_FORMATS:
                    t = raw.str.to_datetime(fmt, strict=False, time_unit="us")
                    times.append(
                        t.dt.convert_time_zone("UTC") if aware else t.dt.replace_time_zone("UTC")
                    )
            elif d.is_numeric():
                v = base.select(e.cast(pl.Float64)).to_series()
                us = (
                    pl.when(v < 1e11)
                    .then(v * 1e6)
                    .when(v < 1e14)
                    .then(v * 1e3)
                    .when(v < 1e17)
                    .then(v)
                    .otherwise(v / 1e3)
                )
                t = pl.select(pl.from_epoch(us.cast(pl.Int64), time_unit="us")).to_series()
                times.append(t.dt.replace_time_zone("UTC"))
        latencies = []
        for name, e, d in candidates("latency"):
            if d == pl.String:  # "0.123s": a number with its unit
                latencies.append(_with_unit(e, time_unit or JSON_LATENCY_UNIT.get(name) or "ms"))
                continue
            if not d.is_numeric():
                continue
            unit = (
                time_unit or JSON_LATENCY_UNIT.get(name, "ms") or ("ms" if d.is_integer() else "s")
            )
            latencies.append(e.cast(pl.Float64) * TIME_UNITS[unit])
        path = text("path")
        path = (
            pl.when(path.str.contains("^https?://"))
            .then(pl.concat_str([pl.lit("/"), path.str.replace(r"^https?://[^/]*/?", "")]))
            .otherwise(path)
        )
        frame = base.select(
            "idx",
            "line",
            ts=pl.coalesce(times) if times else pl.lit(None, pl.Datetime("us", "UTC")),
            client=text("client", "-"),
            user=text("user"),
            method=text("method", "-").str.to_uppercase(),
            path=path,
            status=pl.coalesce(
                [e.cast(pl.Int64, strict=False) for _, e, _ in candidates("status")]
                or [pl.lit(None, pl.Int64)]
            ),
            latency_ms=pl.coalesce(latencies) if latencies else pl.lit(None, pl.Float64),
            request_id=text("request_id"),
        ).with_columns(
            ok=(
                pl.col("ts").is_not_null()
                & pl.col("status").is_between(100, 599)
                & pl.col("path").is_not_null()
            ).fill_null(False)
        )
    except (pl.exceptions.PolarsError, ValueError, TypeError):
        return None
    return frame.with_columns(route=routes_for(frame["path"])).select("idx", "line", "ok", *SCHEMA)


def _with_unit(text: pl.Expr, default: str) -> pl.Expr:
    """Milliseconds of a "12ms"/"0.5s"/"250" string column, no suffix meaning `default`."""
    parts = text.str.extract_groups(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*(ns|us|µs|ms|s)?\s*$")
    suffix = parts.struct.field("2").str.replace("µ", "u").fill_null(default)
    factor = suffix.replace_strict(
        list(TIME_UNITS), list(TIME_UNITS.values()), default=None, return_dtype=pl.Float64
    )
    return parts.struct.field("1").cast(pl.Float64, strict=False) * factor


def routes_for(paths: pl.Series) -> pl.Series:
    """Normalised routes of a path column, computing each distinct path once."""
    distinct = paths.drop_nulls().unique()
    mapped = pl.DataFrame({"path": distinct}).select(normalise_route_expr(pl.col("path")))
    return paths.replace_strict(distinct, mapped.to_series(), default=None, return_dtype=pl.String)


def _line_format(spec: FileSpec) -> LineFormat:
    """The spec's format, its latency read in --time-unit when one was given."""
    fmt = LINE_FORMATS[spec.log_format]
    return dataclasses.replace(fmt, unit=spec.time_unit) if spec.time_unit else fmt


def _parse_slow(
    spec: FileSpec,
    lines: list[str | None],
    first_line: int,
    fields: dict[str, tuple[str, ...]],
    *,
    numbers: list[int] | None = None,
) -> tuple[pl.DataFrame, LineStats]:
    """Careful per-line parsing (JSON lines, and text lines the fast path refused).

    With `numbers`, the caller has already counted each line as read, so each one is parsed
    or skipped here, never dropped as blank.
    """
    rows: dict[str, list[Any]] = {k: [] for k in SCHEMA}
    stats = LineStats()
    for i, raw in enumerate(lines):
        line = (raw or "").strip(BLANK)
        if not line and numbers is None:
            continue
        stats.read += 1
        number = numbers[i] if numbers is not None else first_line + i
        row: dict[str, Any] | None
        reason = ""
        try:
            if spec.layout is not None:
                row = w3c_row(spec.layout, line, TIME_UNITS)
            elif spec.log_format in LINE_FORMATS:
                row = formats.row(_line_format(spec), line, TIME_UNITS)
            elif line.startswith("{"):
                row = json_row(line, fields, spec.time_unit)
            else:
                row = text_row(line, spec.time_unit)
        except (ValueError, TypeError, KeyError) as exc:
            row, reason = None, str(exc)
        if row is None:
            stats.skipped += 1
            if len(stats.samples) < MAX_SAMPLES:
                stats.samples.append(
                    SkippedLine(
                        spec.label, number, line[:300], reason or f"not a {spec.log_format} line"
                    )
                )
            continue
        stats.parsed += 1
        for k in SCHEMA:
            rows[k].append(row.get(k))
    rows["route"] = [normalise_route(p) for p in rows["path"]]
    return pl.DataFrame(rows, schema=SCHEMA), stats
