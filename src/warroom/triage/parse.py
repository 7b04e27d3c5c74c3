"""Read access logs (combined, common, JSON lines; plain, gzip or stdin) into polars frames.

Files are read in large byte blocks; each block is split into lines by polars and parsed with
vectorised string operations, so memory depends on the block size, not on the file size.
Lines the fast path cannot read (escaped quotes in the request, a JSON line in a text log)
go through a careful per-line parser; lines nobody can read are counted and sampled::

    log = read_access_logs(["access.log.gz"])
    log.frame.filter(pl.col("status") >= 500)
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import mmap
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import polars as pl

from warroom.errors import InvalidInput, UnknownFormat
from warroom.triage.lineparse import (
    CLF_RE,
    CLF_TIME,
    CLF_TIME_LOCAL,
    JSON_FIELDS,
    JSON_LATENCY_UNIT,
    TIME_UNITS,
    json_row,
    text_row,
    trailing_number,
)
from warroom.triage.routes import normalise_route, normalise_route_expr

FORMATS = ("combined", "common", "json")
BLOCK_SIZE = 8 << 20
MAX_SAMPLES = 5

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
class SkippedLine:
    file: str
    line: int
    text: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "text": self.text, "reason": self.reason}


@dataclass
class LineStats:
    """How many lines were read, parsed and skipped, with the first skipped ones."""

    read: int = 0
    parsed: int = 0
    skipped: int = 0
    samples: list[SkippedLine] = field(default_factory=list)
    physical: int = 0  # newline-terminated lines, blank ones included (for numbering)

    def add(self, other: LineStats) -> None:
        self.physical += other.physical
        self.read += other.read
        self.parsed += other.parsed
        self.skipped += other.skipped
        room = MAX_SAMPLES - len(self.samples)
        if room > 0:
            self.samples.extend(other.samples[:room])

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "parsed": self.parsed,
            "skipped": self.skipped,
            "skipped_samples": [s.to_dict() for s in self.samples],
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


@dataclass
class FileSpec:
    """What detection decided about one input."""

    label: str
    log_format: str
    time_unit: str | None  # None: per-field rule (JSON) or no latency field


ProgressFn = Callable[[int], None]
Block = bytes | bytearray | memoryview  # whole lines
TextBlockFn = Callable[[FileSpec, Block, int, dict[str, tuple[str, ...]]], tuple[Any, LineStats]]


def read_access_logs(
    paths: list[str],
    *,
    log_format: str | None = None,
    time_unit: str | None = None,
    progress: bool = False,
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


def check_options(log_format: str | None, time_unit: str | None) -> None:
    """Refuse an unknown --log-format or --time-unit, naming the allowed values."""
    if log_format is not None and log_format not in FORMATS:
        raise InvalidInput(
            f"unknown log format {log_format!r}: use one of {', '.join(FORMATS)}",
            field="log_format",
        )
    if time_unit is not None and time_unit not in TIME_UNITS:
        raise InvalidInput(
            f"unknown time unit {time_unit!r}: use one of {', '.join(TIME_UNITS)} "
            "(s for nginx $request_time, us for Apache %D)",
            field="time_unit",
        )


def iter_parsed_blocks(
    paths: list[str],
    *,
    log_format: str | None = None,
    time_unit: str | None = None,
    progress: bool = False,
    json_fields: dict[str, str] | None = None,
    transform: Callable[[pl.DataFrame], Any] | None = None,
    text_blocks: TextBlockFn | None = None,
    workers: int = 2,
) -> Iterator[tuple[FileSpec, Any, LineStats]]:
    """Yield (spec, rows or transform(rows), stats) per block, in file order.

    `text_blocks`, when given, takes whole blocks of combined/common logs instead (the
    compiled scanner in `native`). Blocks are parsed on `workers` threads (polars and the
    scanner release the GIL); at most a few blocks are in flight, so memory stays bounded
    whatever the file size.
    """
    check_options(log_format, time_unit)
    if not paths:
        raise InvalidInput("no access log given: pass one or more files, or - for stdin")
    fields = _json_field_candidates(json_fields)
    total = sum(_size(p) for p in paths)
    buffers = _Buffers()
    with _Progress(total, enabled=progress) as bar, ThreadPoolExecutor(workers) as pool:
        for path in paths:
            spec: FileSpec | None = None
            before = 0  # lines of this file in the blocks already yielded
            pending: list[tuple[Future[tuple[Any, LineStats]], FileSpec, Release]] = []

            def finished(
                item: tuple[Future[tuple[Any, LineStats]], FileSpec, Release],
            ) -> tuple[FileSpec, Any, LineStats]:
                # blocks number their lines from 1; here, in file order, they get their place
                nonlocal before
                fut, fut_spec, release = item
                result, st = fut.result()
                release()
                for sample in st.samples:
                    sample.line += before
                before += st.physical
                return fut_spec, result, st

            for block, release in _iter_blocks(path, bar.advance, buffers):
                if spec is None:
                    spec = _detect(path, block, log_format, time_unit, fields)
                    if spec is None:
                        before += bytes(block).count(b"\n")
                        release()
                        continue
                if text_blocks is not None and spec.log_format != "json":
                    fut = pool.submit(text_blocks, spec, block, 1, fields)
                else:
                    fut = pool.submit(_parse_and_transform, spec, block, 1, fields, transform)
                pending.append((fut, spec, release))
                while len(pending) > workers:
                    yield finished(pending.pop(0))
            for item in pending:
                yield finished(item)


def _parse_and_transform(
    spec: FileSpec,
    block: Block,
    first_line: int,
    fields: dict[str, tuple[str, ...]],
    transform: Callable[[pl.DataFrame], Any] | None,
) -> tuple[Any, LineStats]:
    frame, stats = parse_block(spec, block, first_line, fields)
    return (transform(frame) if transform else frame), stats


# --- reading bytes -------------------------------------------------------------------------


def input_size(paths: list[str]) -> int:
    """Bytes on disk of the inputs (stdin and unreadable paths count 0; .gz as compressed
    bytes times 10, a common ratio for access logs)."""
    total = 0
    for p in paths:
        size = _size(p)
        if size and p.endswith(".gz"):
            size *= 10
        total += size
    return total


def _size(path: str) -> int:
    if path == "-":
        return 0
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def _open(path: str) -> tuple[io.BufferedIOBase, IO[bytes]]:
    """Return (decoded stream, raw stream); gzip is recognised by its magic bytes."""
    if path == "-":
        raw: IO[bytes] = sys.stdin.buffer
    else:
        p = Path(path)
        if not p.exists():
            raise InvalidInput(f"access log {path} does not exist: check the path", field="path")
        if p.is_dir():
            raise InvalidInput(f"access log {path} is a directory: pass the log files in it")
        raw = p.open("rb")
    buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(Any, raw))
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered, mode="rb"), raw
    return cast(io.BufferedIOBase, buffered), raw


class _Buffers:
    """Reusable block buffers: reading 1 GB into fresh 8 MB objects costs more in page faults
    than in copying. A buffer comes back (`put`) once its block is parsed."""

    def __init__(self) -> None:
        self._free: list[bytearray] = []

    def get(self, size: int) -> bytearray:
        while self._free:
            buf = self._free.pop()
            if len(buf) >= size:
                return buf
        return bytearray(max(size, BLOCK_SIZE))

    def put(self, buf: bytearray) -> None:
        if len(self._free) < 8:
            self._free.append(buf)


Release = Callable[[], None]


def _nothing() -> None:
    return None


def _iter_blocks(
    path: str, advance: ProgressFn, buffers: _Buffers | None = None
) -> Iterator[tuple[Block, Release]]:
    """Yield (block of whole lines, release) from a file, .gz or stdin; call `release` once
    the block is parsed. A plain file is mapped window by window (no copy, and memory holds only
    the windows in flight); compressed files and stdin are read into reused buffers."""
    stream, raw = _open(path)
    try:
        if path != "-" and not isinstance(stream, gzip.GzipFile) and hasattr(raw, "fileno"):
            mapped = _iter_mapped(raw, advance)
            if mapped is not None:
                yield from mapped
                return
        yield from _iter_read(path, stream, raw, advance, buffers or _Buffers())
    finally:
        if path != "-":
            raw.close()


def _iter_mapped(raw: IO[bytes], advance: ProgressFn) -> Iterator[tuple[Block, Release]] | None:
    """Blocks as views of read-only mappings of the file, each window starting at the page
    holding the first byte not yet yielded; None when the file cannot be mapped."""
    try:
        size = os.fstat(raw.fileno()).st_size
    except (OSError, ValueError):
        return None
    if size == 0:
        return iter(())
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)

    def windows() -> Iterator[tuple[Block, Release]]:
        start = 0  # first byte not yet yielded
        while start < size:
            base = start - start % mmap.ALLOCATIONGRANULARITY
            length = min(size - base, start - base + BLOCK_SIZE)
            while True:
                mm = mmap.mmap(raw.fileno(), length, flags=flags, prot=mmap.PROT_READ, offset=base)
                cut = mm.rfind(b"\n", start - base, length)
                if cut >= 0 or base + length >= size:
                    break
                mm.close()  # one line longer than a window: map more
                length = min(size - base, length * 2)
            advance(base + length - start if cut < 0 else base + cut + 1 - start)
            if cut < 0:  # the last line has no newline
                last = mm[start - base : length] + b"\n"
                mm.close()
                yield last, _nothing
                return
            view = memoryview(mm)[start - base : cut + 1]
            yield view, _closer(mm, view)
            start = base + cut + 1

    return windows()


def _closer(mm: mmap.mmap, view: memoryview) -> Release:
    def release() -> None:
        view.release()
        mm.close()

    return release


def _iter_read(
    path: str, stream: io.BufferedIOBase, raw: IO[bytes], advance: ProgressFn, buffers: _Buffers
) -> Iterator[tuple[Block, Release]]:
    rest = b""
    last_pos = 0
    while True:
        buf = buffers.get(len(rest) + BLOCK_SIZE)
        buf[: len(rest)] = rest
        try:
            n = stream.readinto(memoryview(buf)[len(rest) : len(rest) + BLOCK_SIZE])
        except (OSError, EOFError) as exc:  # a truncated or corrupt .gz
            raise InvalidInput(f"cannot read {path}: {exc}; is the file complete?") from exc
        if path != "-":
            pos = raw.tell()
            advance(pos - last_pos)
            last_pos = pos
        if not n:
            buffers.put(buf)
            break
        total = len(rest) + n
        cut = buf.rfind(b"\n", 0, total)
        if cut < 0:  # one line longer than a block: read on
            rest = bytes(buf[:total])
            buffers.put(buf)
            continue
        rest = bytes(buf[cut + 1 : total])
        yield memoryview(buf)[: cut + 1], functools.partial(buffers.put, buf)
    if rest:
        yield rest + b"\n", _nothing


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


def _json_field_candidates(overrides: dict[str, str] | None) -> dict[str, tuple[str, ...]]:
    fields = dict(JSON_FIELDS)
    for name, value in (overrides or {}).items():
        key = "latency" if name in ("latency", "latency_ms", "duration") else name
        if key not in fields:
            raise InvalidInput(
                f"unknown JSON field role {name!r}: use one of {', '.join(JSON_FIELDS)}",
                field="json_fields",
            )
        fields[key] = (value,)
    return fields


def _detect(
    path: str,
    block: Block,
    log_format: str | None,
    time_unit: str | None,
    fields: dict[str, tuple[str, ...]],
) -> FileSpec | None:
    label = "<stdin>" if path == "-" else path
    sample = [
        s for s in bytes(block[: 1 << 20]).decode("utf-8", "replace").split("\n")[:200] if s.strip()
    ]
    if not sample:
        return None  # only blank lines so far: decide on the next block
    counts = {"combined": 0, "common": 0, "json": 0}
    numbers: list[str] = []
    for line in sample:
        line = line.strip()
        if line.startswith("{"):
            try:
                if isinstance(json.loads(line), dict):
                    counts["json"] += 1
            except ValueError:
                pass
            continue
        m = CLF_RE.match(line)
        if m:
            counts["combined" if m.group("agent") else "common"] += 1
            rt = trailing_number(m.group("rest"))
            if rt is not None:
                numbers.append(rt)
    found = log_format or max(counts, key=lambda k: counts[k])
    if log_format is None and counts[found] == 0:
        raise UnknownFormat(
            f"{label} is not an access log in a known format (tried {', '.join(FORMATS)}); "
            f"first line: {sample[0][:160]!r}. Force one with --log-format, or for JSON name "
            "the fields (see docs/triage.md)",
            field="log_format",
        )
    unit = time_unit
    if unit is None and found != "json" and numbers:
        # nginx $request_time is seconds with a dot; Apache %D is whole microseconds
        unit = "s" if any("." in n for n in numbers) else "us"
    return FileSpec(label=label, log_format=found, time_unit=unit)


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
            rows, careful = _parse_slow(spec, lines.to_list(), first_line, fields, json_first=True)
            careful.physical = lines.len()
            return rows, careful
    else:
        frame = _parse_text_fast(lines, spec.time_unit)
    ok = frame["ok"]
    good = frame.filter(ok).drop("ok", "idx", "line")
    bad = frame.filter(~ok).select("idx", "line")
    stats = LineStats(read=lines.len(), parsed=good.height, physical=lines.len())
    if bad.height:
        blank = bad.filter(pl.col("line").is_null() | (pl.col("line").str.strip_chars() == ""))
        bad = bad.filter(pl.col("line").is_not_null() & (pl.col("line").str.strip_chars() != ""))
        stats.read -= blank.height  # blank lines are neither parsed nor skipped
        slow, slow_stats = _parse_slow(
            spec,
            bad["line"].to_list(),
            first_line,
            fields,
            json_first=False,
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


def routes_for(paths: pl.Series) -> pl.Series:
    """Normalised routes of a path column, computing each distinct path once."""
    distinct = paths.drop_nulls().unique()
    mapped = pl.DataFrame({"path": distinct}).select(normalise_route_expr(pl.col("path")))
    return paths.replace_strict(distinct, mapped.to_series(), default=None, return_dtype=pl.String)


def _parse_slow(
    spec: FileSpec,
    lines: list[str | None],
    first_line: int,
    fields: dict[str, tuple[str, ...]],
    *,
    json_first: bool,
    numbers: list[int] | None = None,
) -> tuple[pl.DataFrame, LineStats]:
    """Careful per-line parsing (JSON lines, and text lines the fast path refused)."""
    rows: dict[str, list[Any]] = {k: [] for k in SCHEMA}
    stats = LineStats()
    for i, raw in enumerate(lines):
        line = (raw or "").strip()
        if not line:
            continue
        stats.read += 1
        number = numbers[i] if numbers is not None else first_line + i
        row: dict[str, Any] | None
        reason = ""
        try:
            if line.startswith("{"):
                row = json_row(line, fields, spec.time_unit)
            else:
                row = text_row(line, spec.time_unit)
        except (ValueError, TypeError, KeyError) as exc:
            row, reason = None, str(exc)
        if row is None:
            stats.skipped += 1
            if len(stats.samples) < MAX_SAMPLES:
                stats.samples.append(
                    SkippedLine(spec.label, number, line[:300], reason or "not an access log line")
                )
            continue
        stats.parsed += 1
        for k in SCHEMA:
            rows[k].append(row.get(k))
    rows["route"] = [normalise_route(p) for p in rows["path"]]
    return pl.DataFrame(rows, schema=SCHEMA), stats


# --- progress -----------------------------------------------------------------------------


class _Progress:
    """A rich progress bar on stderr over bytes read, or nothing when disabled."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total = total
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                "reading logs",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("read", total=self.total or None)
        return self

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
