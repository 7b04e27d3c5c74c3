"""The WAL archive and the base backups, read from disk: segments, gaps, backup labels.

    archive = scan_archive(Path("/backups/wal"))
    archive.gaps(from_segment=backup.start_segment)      # [(first missing, last missing)]
    backups = find_backups(Path("/backups/base"), archive=archive)

A segment file is named by 24 hex digits: 8 of timeline, then the segment number split in
two halves of 8 (`wal_segment_size` decides how many segments the first half counts). Files an
archive_command compressed (.gz, .zst, .lz4, .bz2, .xz) count as their segment. A finished
base backup leaves a `.backup` history file in the archive with its start and stop times.
"""

from __future__ import annotations

import fnmatch
import re
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warroom.core.clock import ensure_utc
from warroom.core.errors import NotFound

DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024
COMPRESSED = (".gz", ".zst", ".lz4", ".bz2", ".xz")
_SEGMENT_RE = re.compile(r"^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$")
_HISTORY_RE = re.compile(r"^([0-9A-F]{24})\.([0-9A-F]{8})\.backup$")
_LABEL_FILE_RE = re.compile(r"\(file ([0-9A-F]{24})\)")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # sorts what has no time first
TAR_NAMES = ("base.tar", "base.tar.gz", "base.tgz", "base.tar.zst", "base.tar.lz4")


def segments_per_xlogid(segment_size: int) -> int:
    return 0x100000000 // segment_size


def segment_number(name: str, segment_size: int = DEFAULT_SEGMENT_SIZE) -> tuple[int, int]:
    """(timeline, segment number) of a segment file name."""
    m = _SEGMENT_RE.match(name)
    if not m:
        raise ValueError(f"{name!r} is not a WAL segment name")
    tli, log, seg = (int(g, 16) for g in m.groups())
    return tli, log * segments_per_xlogid(segment_size) + seg


def segment_name(timeline: int, number: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> str:
    per = segments_per_xlogid(segment_size)
    return f"{timeline:08X}{number // per:08X}{number % per:08X}"


def _strip_compression(name: str) -> str:
    for suffix in COMPRESSED:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _label_fields(text: str) -> dict[str, str]:
    """`KEY: value` lines of a backup_label or a .backup history file."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip().upper()] = value.strip()
    return out


def _label_time(value: str | None) -> datetime | None:
    """`2026-11-30 10:34:53 UTC` (the server writes its log_timezone's abbreviation)."""
    if not value:
        return None
    parts = value.split()
    try:
        when = datetime.fromisoformat(" ".join(parts[:2]))
    except ValueError:
        return None
    # Only UTC and GMT are unambiguous; other zone names are read as UTC and said so in docs.
    return ensure_utc(when)


def _label_segment(value: str | None) -> str | None:
    m = _LABEL_FILE_RE.search(value or "")
    return m.group(1) if m else None


@dataclass
class BackupHistory:
    """A `.backup` file of the archive: one finished base backup."""

    name: str
    label: str
    start_segment: str | None
    start_time: datetime | None
    stop_time: datetime | None


@dataclass
class Archive:
    """What a WAL archive directory holds."""

    path: Path
    segment_size: int
    segments: dict[int, set[int]] = field(default_factory=dict)  # number -> timelines
    names: set[str] = field(default_factory=set)  # segment names as archived (uncompressed)
    histories: list[BackupHistory] = field(default_factory=list)
    newest_mtime: datetime | None = None
    partial: int = 0

    @property
    def first(self) -> int | None:
        return min(self.segments) if self.segments else None

    @property
    def last(self) -> int | None:
        return max(self.segments) if self.segments else None

    def has(self, name: str) -> bool:
        return name in self.names

    def name_of(self, number: int) -> str:
        """The file name of segment `number`: its newest timeline, or (when it is missing)
        that of the nearest segment before it."""
        before = [k for k in self.segments if k <= number]
        tlis = self.segments[max(before)] if before else {1}
        return segment_name(max(tlis), number, self.segment_size)

    def gaps(self, *, from_segment: int | None = None) -> list[tuple[int, int]]:
        """Runs of missing segment numbers between `from_segment` (or the first) and the last."""
        if not self.segments:
            return []
        start = self.first if from_segment is None else from_segment
        assert start is not None and self.last is not None
        out: list[tuple[int, int]] = []
        run: int | None = None
        for n in range(start, self.last + 1):
            if n not in self.segments:
                run = n if run is None else run
            elif run is not None:
                out.append((run, n - 1))
                run = None
        return out


def scan_archive(path: Path, *, segment_size: int = DEFAULT_SEGMENT_SIZE) -> Archive:
    """Every segment and backup history file in the archive directory."""
    if not path.is_dir():
        raise NotFound(f"the WAL archive {path} is not a directory here", field="wal_archive")
    archive = Archive(path=path, segment_size=segment_size)
    newest = 0.0
    for entry in path.iterdir():
        name = _strip_compression(entry.name)
        if name.endswith(".partial"):
            archive.partial += 1
            continue
        if _SEGMENT_RE.match(name):
            tli, number = segment_number(name, segment_size)
            archive.segments.setdefault(number, set()).add(tli)
            archive.names.add(name)
            newest = max(newest, entry.stat().st_mtime)
        elif _HISTORY_RE.match(name) and name == entry.name:  # compressed ones are not read
            fields = _label_fields(entry.read_text(errors="replace"))
            archive.histories.append(
                BackupHistory(
                    name=name,
                    label=fields.get("LABEL", ""),
                    start_segment=_label_segment(fields.get("START WAL LOCATION")),
                    start_time=_label_time(fields.get("START TIME")),
                    stop_time=_label_time(fields.get("STOP TIME")),
                )
            )
    if newest:
        archive.newest_mtime = datetime.fromtimestamp(newest, UTC)
    archive.histories.sort(key=lambda h: h.stop_time or h.start_time or EPOCH)
    return archive


@dataclass
class BaseBackup:
    """One pg_basebackup output: a data directory (plain) or base.tar (tar format)."""

    path: Path
    format: str  # plain | tar
    label: str
    start_time: datetime | None
    stop_time: datetime | None  # from the archive's .backup file, else backup_manifest's mtime
    start_segment: str | None
    version: int | None  # PG_VERSION (major)

    @property
    def finished(self) -> datetime | None:
        return self.stop_time or self.start_time

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": self.format,
            "label": self.label,
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "stop_time": self.stop_time.isoformat() if self.stop_time else None,
            "start_segment": self.start_segment,
            "version": self.version,
        }


def _read_tar_member(tar_path: Path, member: str) -> str | None:
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            for m in tar:
                if m.name.lstrip("./") == member and m.isfile():
                    f = tar.extractfile(m)
                    return f.read().decode(errors="replace") if f else None
    except (tarfile.TarError, OSError):
        return None
    return None


def read_backup(path: Path, *, archive: Archive | None = None) -> BaseBackup | None:
    """The base backup in directory `path`, or None when it holds none."""
    tar_path = next((path / n for n in TAR_NAMES if (path / n).is_file()), None)
    if (path / "backup_label").is_file():
        fmt, label_text = "plain", (path / "backup_label").read_text(errors="replace")
        version_text = (path / "PG_VERSION").read_text() if (path / "PG_VERSION").is_file() else ""
    elif tar_path is not None:
        fmt = "tar"
        label_text = _read_tar_member(tar_path, "backup_label") or ""
        version_text = _read_tar_member(tar_path, "PG_VERSION") or ""
        if not label_text:
            return None
    else:
        return None
    fields = _label_fields(label_text)
    start_segment = _label_segment(fields.get("START WAL LOCATION"))
    stop_time = None
    for h in archive.histories if archive else []:
        if h.start_segment == start_segment and h.start_time == _label_time(
            fields.get("START TIME")
        ):
            stop_time = h.stop_time
    manifest = path / "backup_manifest"
    if stop_time is None and manifest.is_file():
        # pg_basebackup writes the manifest last: its time is when the backup finished
        stop_time = datetime.fromtimestamp(manifest.stat().st_mtime, UTC)
    return BaseBackup(
        path=path,
        format=fmt,
        label=fields.get("LABEL", ""),
        start_time=_label_time(fields.get("START TIME")),
        stop_time=stop_time,
        start_segment=start_segment,
        version=int(version_text.strip().split(".")[0]) if version_text.strip() else None,
    )


def find_backups(
    backup_dir: Path, *, archive: Archive | None = None, label: str | None = None
) -> list[BaseBackup]:
    """The base backups in `backup_dir` (itself or one level down), oldest first.

    `label` keeps those whose label matches it (shell-style: `nightly*`).
    """
    if not backup_dir.is_dir():
        raise NotFound(
            f"the backup directory {backup_dir} is not a directory here", field="backup_dir"
        )
    found: list[BaseBackup] = []
    for candidate in [backup_dir, *sorted(p for p in backup_dir.iterdir() if p.is_dir())]:
        backup = read_backup(candidate, archive=archive)
        if backup is not None and (label is None or fnmatch.fnmatch(backup.label, label)):
            found.append(backup)
    found.sort(key=lambda b: b.finished or EPOCH)
    return found
