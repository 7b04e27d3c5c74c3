"""Read access logs as blocks of whole lines, detect their format, and fan blocks out to parsers.

No polars here: the compiled scanner (`native`) starts reading and folding while the rest of
triage is still importing. Plain files are mapped window by window; `.gz` and stdin are read
into reused buffers. Blocks number their lines from 1; `iter_parsed_blocks` gives them their
place in the file::

    for spec, result, stats in iter_parsed_blocks(["access.log"], parse=my_parser):
        ...
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
from typing import IO, Any, Protocol, cast

from warroom.core.errors import InvalidInput, UnknownFormat
from warroom.triage.formats import LINE_FORMATS
from warroom.triage.formats.w3c import W3CLayout, layout_from
from warroom.triage.lineparse import CLF_RE, JSON_FIELDS, TIME_UNITS, trailing_number

# the compiled scanner folds combined and common; the others parse with polars
NATIVE_FORMATS = ("combined", "common")
FORMATS = (*NATIVE_FORMATS, "json", "w3c", *LINE_FORMATS)  # built in; warroom.toml adds more
BLOCK_SIZE = 8 << 20
MAX_SAMPLES = 5


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
class FileSpec:
    """What detection decided about one input."""

    label: str
    log_format: str
    time_unit: str | None  # None: per-field rule (JSON) or no latency field
    layout: W3CLayout | None = None  # the columns of a W3C extended log


ProgressFn = Callable[[int], None]


class ReadProgress(Protocol):
    """How a shell shows reading progress; the engine draws nothing itself.

    `start(total)` once with the bytes to read (0 when unknown, e.g. stdin), `advance(n)` as
    blocks are read, `stop()` at the end, also when reading fails. `warroom triage` passes a
    rich bar on stderr (`warroom.cli.triage.RichProgress`).
    """

    def start(self, total: int) -> None: ...

    def advance(self, n: int) -> None: ...

    def stop(self) -> None: ...


Block = bytes | bytearray | memoryview  # whole lines
# (spec, block, number of its first line, JSON field names) -> (result, line accounting)
BlockFn = Callable[[FileSpec, Block, int, dict[str, tuple[str, ...]]], tuple[Any, LineStats]]
Release = Callable[[], None]


def check_options(log_format: str | None, time_unit: str | None) -> None:
    """Refuse an unknown --log-format or --time-unit, naming the allowed values."""
    known = (*NATIVE_FORMATS, "json", "w3c", *LINE_FORMATS)
    if log_format is not None and log_format not in known:
        raise InvalidInput(
            f"unknown log format {log_format!r}: use one of {', '.join(known)}",
            field="log_format",
        )
    if time_unit is not None and time_unit not in TIME_UNITS:
        raise InvalidInput(
            f"unknown time unit {time_unit!r}: use one of {', '.join(TIME_UNITS)} "
            "(s for nginx $request_time, us for Apache %D, ns for Traefik JSON)",
            field="time_unit",
        )


def iter_parsed_blocks(
    paths: list[str],
    *,
    log_format: str | None = None,
    time_unit: str | None = None,
    progress: ReadProgress | None = None,
    json_fields: dict[str, str] | None = None,
    parse: BlockFn,
    text_blocks: BlockFn | None = None,
    workers: int = 2,
) -> Iterator[tuple[FileSpec, Any, LineStats]]:
    """Yield (spec, parse(block) or text_blocks(block), stats) per block, in file order.

    `text_blocks`, when given, takes the blocks of combined/common logs (the compiled scanner
    in `native`); `parse` takes the others. Blocks are parsed on `workers` threads (polars
    and the scanner release the GIL); at most a few blocks are in flight, so memory stays
    bounded whatever the file size.
    """
    check_options(log_format, time_unit)
    if not paths:
        raise InvalidInput("no access log given: pass one or more files, or - for stdin")
    fields = _json_field_candidates(json_fields)
    total = sum(_size(p) for p in paths)
    buffers = _Buffers()
    advance: ProgressFn = progress.advance if progress is not None else _ignore
    if progress is not None:
        progress.start(total)
    try:
        with ThreadPoolExecutor(workers) as pool:
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

                for block, release in _iter_blocks(path, advance, buffers):
                    if spec is None:
                        spec = _detect(path, block, log_format, time_unit, fields)
                        if spec is None:
                            before += bytes(block).count(b"\n")
                            release()
                            continue
                    use = (
                        text_blocks
                        if text_blocks is not None and spec.log_format in NATIVE_FORMATS
                        else parse
                    )
                    fut = pool.submit(use, spec, block, 1, fields)
                    pending.append((fut, spec, release))
                    while len(pending) > workers:
                        yield finished(pending.pop(0))
                for item in pending:
                    yield finished(item)
    finally:
        if progress is not None:
            progress.stop()


def _ignore(n: int) -> None:
    """Progress nobody watches."""


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
    flags = mmap.MAP_SHARED  # no MAP_POPULATE: pages fault in on the parsing threads

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
    """Decide the format from the first lines: the one most lines match, a specific format
    (ingress-nginx, Traefik) before the combined format it extends."""
    label = "<stdin>" if path == "-" else path
    sample = [
        s.rstrip("\r")
        for s in bytes(block[: 1 << 20]).decode("utf-8", "replace").split("\n")[:200]
        if s.strip()
    ]
    if not sample:
        return None  # only blank lines so far: decide on the next block
    layout = layout_from(sample)
    if layout is not None and log_format in (None, "w3c"):
        missing = layout.missing()
        if missing:
            raise UnknownFormat(
                f"{label}: the #Fields header names no {', '.join(missing)} field; "
                "triage needs date, time, cs-uri-stem and sc-status",
                field="log_format",
            )
        return FileSpec(label=label, log_format="w3c", time_unit=time_unit, layout=layout)
    if log_format == "w3c":
        raise UnknownFormat(
            f"{label} has no #Fields: header in its first lines: a W3C extended log "
            "(IIS, CloudFront) names its columns there",
            field="log_format",
        )
    counts = dict.fromkeys((*LINE_FORMATS, "combined", "common", "json"), 0)
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
        for fmt in LINE_FORMATS.values():
            if (fmt.regex.search if fmt.search else fmt.regex.match)(line):
                counts[fmt.name] += 1
        m = CLF_RE.match(line)
        if m:
            counts["combined" if m.group("agent") else "common"] += 1
            rt = trailing_number(m.group("rest"))
            if rt is not None:
                numbers.append(rt)
    found = log_format or max(counts, key=lambda k: counts[k])  # first of equals: specific
    if log_format is None and counts[found] == 0:
        raise UnknownFormat(
            f"{label} is not an access log in a known format (tried "
            f"{', '.join((*NATIVE_FORMATS, 'json', 'w3c', *LINE_FORMATS))}); "
            f"first line: {sample[0][:160]!r}. Name the format with --log-format; for JSON "
            "lines name the fields with --field ROLE=NAME (ts, path, status, ...); declare "
            "another layout as a pattern in warroom.toml [triage.formats.NAME] "
            "(docs/triage.md)",
            field="log_format",
        )
    unit = time_unit
    if unit is None and found in NATIVE_FORMATS and numbers:
        # nginx $request_time is seconds with a dot; Apache %D is whole microseconds
        unit = "s" if any("." in n for n in numbers) else "us"
    return FileSpec(label=label, log_format=found, time_unit=unit)
