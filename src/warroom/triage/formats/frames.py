"""Vectorised parsing of the `LineFormat`s and W3C logs: one polars pass per block."""

from __future__ import annotations

import polars as pl

from warroom.triage.formats import LineFormat
from warroom.triage.formats.w3c import ROLES, W3CLayout, time_taken_unit

_COLUMNS = ("ts", "client", "user", "method", "path", "status", "latency_ms", "request_id")


def _null_dash(e: pl.Expr) -> pl.Expr:
    return pl.when(e.is_in(["", "-"])).then(None).otherwise(e)


def _url_path(e: pl.Expr) -> pl.Expr:
    return (
        pl.when(e.str.contains("^[a-z]+://"))
        .then(pl.concat_str([pl.lit("/"), e.str.replace(r"^[a-z]+://[^/]*/?", "")]))
        .otherwise(e)
    )


def _ascii(pattern: str) -> str:
    """The pattern with ASCII digit, word and non-space classes for polars' regex engine,
    where the Unicode ones make larger automata; Python's `re` keeps the original. Nested
    classes (`[[0-9].]`) are valid there."""
    return pattern.replace(r"\d", "[0-9]").replace(r"\w", "[A-Za-z0-9_]").replace(r"\S", "[^ ]")


def parse_line_format(fmt: LineFormat, lines: pl.Series, units: dict[str, float]) -> pl.DataFrame:
    """Columns idx, line, ok and the row fields (no route); `ok` false where the careful
    parser must look."""
    pattern = _ascii(fmt.pattern if fmt.search else "^" + fmt.pattern)
    names = set(fmt.regex.groupindex)
    g = pl.col("g")  # the groups, extracted once

    def field(name: str) -> pl.Expr:
        return g.struct.field(name) if name in names else pl.lit(None, pl.String)

    ts = field("ts").str.to_datetime(fmt.time, strict=False, time_unit="us")
    ts = ts.dt.convert_time_zone("UTC") if fmt.aware else ts.dt.replace_time_zone("UTC")
    parts = [
        field(n).cast(pl.Float64, strict=False)
        for n in ("latency", "latency_b", "latency_c")
        if n in names
    ]
    latency = pl.sum_horizontal(parts) if parts else pl.lit(None, pl.Float64)
    if parts:
        negative = pl.any_horizontal([p < 0 for p in parts])
        latency = pl.when(negative).then(None).otherwise(latency)
    path = field("path") if "path" in names else _url_path(field("url"))
    frame = (
        pl.DataFrame([lines.alias("line")])
        .with_row_index("idx")
        .lazy()
        .with_columns(g=pl.col("line").str.extract_groups(pattern))
        .select(
            "idx",
            "line",
            ts=ts,
            client=pl.coalesce(_null_dash(field("client")), pl.lit("-")),
            user=_null_dash(field("user")),
            method=field("method"),
            path=path,
            status=field("status").cast(pl.Int64, strict=False),
            latency_ms=latency * units[fmt.unit or "s"],
            request_id=_null_dash(field("request_id")),
        )
        .with_columns(
            ok=(
                pl.col("ts").is_not_null()
                & pl.col("status").is_between(100, 599)
                & pl.col("path").is_not_null()
            ).fill_null(False)
        )
        .collect()
    )
    return frame.select("idx", "line", "ok", *_COLUMNS)


def parse_w3c(layout: W3CLayout, lines: pl.Series, units: dict[str, float]) -> pl.DataFrame:
    """W3C extended lines split on the layout's separator, columns found by name."""
    n = len(layout.fields)
    split = pl.col("s")  # the fields, split once

    def col(name: str | None) -> pl.Expr:
        if name is None:
            return pl.lit(None, pl.String)
        return _null_dash(split.struct.field(f"field_{layout.fields.index(name)}"))

    role = {r: layout.role(r) for r in ROLES}
    stamp = pl.concat_str([col(role["date"]), pl.lit(" "), col(role["time"])])
    ts = stamp.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    unit = time_taken_unit(layout)
    path = col(role["path"])
    is_comment = pl.col("line").str.starts_with("#")
    frame = (
        pl.DataFrame([lines.alias("line")])
        .with_row_index("idx")
        .lazy()
        .with_columns(s=pl.col("line").str.split_exact(layout.separator, n - 1))
        .select(
            "idx",
            "line",
            is_comment.alias("comment"),
            ts=ts.dt.replace_time_zone("UTC"),
            client=pl.coalesce(col(role["client"]), pl.lit("-")),
            user=col(role["user"]),
            method=col(role["method"]),
            path=path,
            status=col(role["status"]).cast(pl.Int64, strict=False),
            latency_ms=col(role["latency"]).cast(pl.Float64, strict=False) * units[unit],
            request_id=col(role["request_id"]),
        )
        .with_columns(
            ok=(
                pl.col("ts").is_not_null()
                & pl.col("status").is_between(100, 599)
                & pl.col("path").is_not_null()
                & ~pl.col("comment")
            ).fill_null(False)
        )
        .collect()
    )
    # comment lines (#Fields, #Version) are blank for the accounting
    frame = frame.with_columns(
        line=pl.when(pl.col("comment")).then(pl.lit("")).otherwise(pl.col("line"))
    )
    return frame.select("idx", "line", "ok", *_COLUMNS)
