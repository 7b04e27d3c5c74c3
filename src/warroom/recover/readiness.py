"""Can the product database be recovered to a point in time? A list of findings with fixes.

    report = check(cfg)
    report.verdict            # 'ready', 'at risk' or 'not recoverable'
    for f in report.findings: print(f.level, f.message, f.fix)

What is checked: WAL archiving is on and working (archive_mode, archive_command,
pg_stat_archiver's failures and the age of the last archived segment), the age of the last
base backup, gaps in the archive since that backup, data checksums (and checksum failures),
wal_level and full_page_writes, and that PostgreSQL's programs of the server's version are
here for a side restore. A finding is `ok`, `info`, `warn` (recoverable, but at risk) or
`fail` (a point-in-time recovery would not work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from warroom.core.clock import ago, ensure_utc, utcnow
from warroom.core.errors import WarroomError
from warroom.recover import wal
from warroom.recover.config import DataConfig, redact
from warroom.recover.pg import connect, find_tools, server_major

LEVELS = ("ok", "info", "warn", "fail")

SETTINGS = (
    "wal_level",
    "archive_mode",
    "archive_command",
    "archive_library",
    "archive_timeout",
    "data_checksums",
    "full_page_writes",
    "wal_segment_size",
)


@dataclass
class Finding:
    check: str
    level: str  # ok | info | warn | fail
    message: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "level": self.level, "message": self.message, "fix": self.fix}


@dataclass
class Readiness:
    """The answer of one check, with what it saw."""

    dsn: str
    checked_at: datetime
    findings: list[Finding] = field(default_factory=list)
    server_version: str | None = None
    archiver: dict[str, Any] = field(default_factory=dict)
    last_backup: wal.BaseBackup | None = None
    archive: dict[str, Any] = field(default_factory=dict)

    def add(self, check: str, level: str, message: str, fix: str = "") -> None:
        self.findings.append(Finding(check, level, message, fix))

    @property
    def verdict(self) -> str:
        levels = {f.level for f in self.findings}
        if "fail" in levels:
            return "not recoverable"
        return "at risk" if "warn" in levels else "ready"

    def summary(self) -> str:
        bad = [f for f in self.findings if f.level in ("fail", "warn")]
        head = f"Point-in-time recovery of {self.dsn}: {self.verdict}"
        return head + (f" ({'; '.join(f.message for f in bad[:3])})" if bad else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "dsn": self.dsn,
            "checked_at": self.checked_at.isoformat(),
            "verdict": self.verdict,
            "summary": self.summary(),
            "server_version": self.server_version,
            "archiver": self.archiver,
            "last_backup": self.last_backup.to_dict() if self.last_backup else None,
            "archive": self.archive,
            "findings": [f.to_dict() for f in self.findings],
        }


def _settings(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(SETTINGS),)
    ).fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _archiver(conn: psycopg.Connection) -> dict[str, Any]:
    row = conn.execute(
        "SELECT archived_count, last_archived_wal, last_archived_time, failed_count,"
        " last_failed_wal, last_failed_time FROM pg_stat_archiver"
    ).fetchone()
    assert row is not None
    keys = ("archived_count", "last_archived_wal", "last_archived_time", "failed_count")
    out = dict(zip(keys + ("last_failed_wal", "last_failed_time"), row, strict=True))
    for k in ("last_archived_time", "last_failed_time"):
        if out[k] is not None:
            out[k] = ensure_utc(out[k])
    return out


def _check_server(report: Readiness, conn: psycopg.Connection, cfg: DataConfig) -> int | None:
    """Settings and the archiver; the number of the segment being written (None on a standby)."""
    s = _settings(conn)
    if s.get("wal_level") == "minimal":
        report.add(
            "wal_level",
            "fail",
            "wal_level is minimal: the WAL does not hold enough to replay onto a base backup",
            "set wal_level = replica and restart PostgreSQL",
        )
    if s.get("archive_mode", "off") == "off":
        report.add(
            "archive_mode",
            "fail",
            "WAL archiving is off: changes since the last base backup cannot be replayed",
            "set archive_mode = on and an archive_command that copies each segment to durable "
            "storage (e.g. 'test ! -f /backups/wal/%f && cp %p /backups/wal/%f'), then restart",
        )
    elif not s.get("archive_command") and not s.get("archive_library"):
        report.add(
            "archive_command",
            "fail",
            "archive_mode is on but no archive_command is set: segments pile up in pg_wal "
            "and none reaches the archive",
            "set archive_command and reload PostgreSQL",
        )
    else:
        report.add("archive_mode", "ok", f"WAL archiving is {s.get('archive_mode')}")
    if s.get("archive_timeout", "0") == "0":
        report.add(
            "archive_timeout",
            "warn",
            "archive_timeout is 0: on a quiet database the last writes stay in a segment "
            "that is archived only when it fills",
            "set archive_timeout = 60 so that at most a minute of writes waits to be archived",
        )
    if s.get("full_page_writes") == "off":
        report.add(
            "full_page_writes",
            "fail",
            "full_page_writes is off: a restored backup may hold torn pages",
            "set full_page_writes = on",
        )
    if s.get("data_checksums") == "on":
        failures = conn.execute(
            "SELECT coalesce(sum(checksum_failures), 0) FROM pg_stat_database"
        ).fetchone()
        n = int(failures[0]) if failures else 0
        if n:
            report.add(
                "checksums",
                "fail",
                f"{n} data checksum failures recorded: pages on disk are corrupt",
                "find the relations in the server log, restore them from a backup taken "
                "before the first failure, and check the storage",
            )
        else:
            report.add("checksums", "ok", "data checksums are on, no failures recorded")
    else:
        report.add(
            "checksums",
            "warn",
            "data checksums are off: pages corrupted on disk go unnoticed until read wrong",
            "enable them with pg_checksums --enable on the stopped cluster (or initdb "
            "--data-checksums for the next one)",
        )
    size = int(s.get("wal_segment_size") or wal.DEFAULT_SEGMENT_SIZE)
    report.archive["segment_size"] = size
    in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    if in_recovery and in_recovery[0]:
        report.add("standby", "info", "this server is a standby: its archiver may be idle")
        return None
    current = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()
    return wal.segment_number(str(current[0]), size)[1] if current else None


def _check_archiver(report: Readiness, current: int | None, cfg: DataConfig) -> None:
    a = report.archiver
    now = report.checked_at
    last_ok, last_bad = a.get("last_archived_time"), a.get("last_failed_time")
    if a.get("failed_count") and last_bad and (last_ok is None or last_bad > last_ok):
        report.add(
            "archiver",
            "fail",
            f"the archiver is failing: segment {a.get('last_failed_wal')} failed "
            f"{ago(last_bad, now)} ago, {a.get('failed_count')} failures in all",
            "read the archive_command's error in the server log and fix it; PostgreSQL "
            "keeps the segments and retries, so pg_wal grows until it succeeds",
        )
    elif a.get("failed_count"):
        report.add(
            "archiver",
            "info",
            f"the archiver failed {a.get('failed_count')} times, last {ago(last_bad, now)} "
            "ago, and has succeeded since",
        )
    if not a.get("archived_count") or last_ok is None:
        report.add(
            "archived",
            "fail",
            "no segment has been archived since the statistics were reset",
            "check archive_command; force a segment out with SELECT pg_switch_wal()",
        )
        return
    size = report.archive.get("segment_size", wal.DEFAULT_SEGMENT_SIZE)
    waiting = 0
    if current is not None and a.get("last_archived_wal"):
        waiting = max(0, current - wal.segment_number(str(a["last_archived_wal"]), size)[1] - 1)
    report.archive["waiting_segments"] = waiting
    lag = now - last_ok
    if lag > timedelta(minutes=cfg.max_archive_lag_minutes) and waiting:
        report.add(
            "archive_lag",
            "warn",
            f"{waiting} finished segments wait to be archived; the last was archived "
            f"{ago(last_ok, now)} ago",
            "check that archive_command keeps up (its storage, its speed)",
        )
    else:
        report.add(
            "archive_lag",
            "ok",
            f"last segment {a.get('last_archived_wal')} archived {ago(last_ok, now)} ago",
        )


def _check_backups(report: Readiness, cfg: DataConfig, archive: wal.Archive | None) -> None:
    backups: list[wal.BaseBackup] = []
    if cfg.backup_dir is not None:
        backups = wal.find_backups(cfg.backup_dir, archive=archive, label=cfg.backup_label)
    elif archive is not None and archive.histories:
        h = archive.histories[-1]
        backups = [
            wal.BaseBackup(
                path=archive.path / h.name,
                format="history",
                label=h.label,
                start_time=h.start_time,
                stop_time=h.stop_time,
                start_segment=h.start_segment,
                version=None,
            )
        ]
    else:
        report.add(
            "base_backup",
            "warn",
            "no backup directory or WAL archive given: the age of the last base backup is "
            "not known",
            "give the backup directory (backup_dir in the [data] table of warroom.toml)",
        )
        return
    if not backups:
        report.add(
            "base_backup",
            "fail",
            "no base backup found"
            + (f" with a label matching {cfg.backup_label!r}" if cfg.backup_label else ""),
            "take one with pg_basebackup -D DIR -X stream -c fast -l LABEL, and schedule it",
        )
        return
    last = backups[-1]
    report.last_backup = last
    age = report.checked_at - last.finished if last.finished else None
    where = f"{last.label or 'unlabelled'} at {last.path}"
    if age is not None and age > timedelta(hours=cfg.max_backup_age_hours):
        report.add(
            "base_backup",
            "warn",
            f"the last base backup ({where}) is {ago(last.finished, report.checked_at)} old: "
            "a recovery replays all the WAL since",
            f"take base backups at least every {cfg.max_backup_age_hours:g} hours",
        )
    else:
        report.add(
            "base_backup",
            "ok",
            f"last base backup {where}, {ago(last.finished, report.checked_at)} old",
        )


def _check_archive(report: Readiness, archive: wal.Archive) -> None:
    size = archive.segment_size
    report.archive.update(
        path=str(archive.path),
        segments=sum(len(t) for t in archive.segments.values()),
        first=archive.name_of(archive.first) if archive.first is not None else None,
        last=archive.name_of(archive.last) if archive.last is not None else None,
    )
    if not archive.segments:
        report.add(
            "archive_gaps",
            "fail",
            f"the WAL archive {archive.path} holds no segment",
            "check archive_command and that this is the directory it writes to",
        )
        return
    start = None
    backup = report.last_backup
    if backup is not None and backup.start_segment:
        start = wal.segment_number(backup.start_segment, size)[1]
    gaps = archive.gaps(from_segment=start)
    report.archive["gaps"] = [[archive.name_of(a), archive.name_of(b)] for a, b in gaps]
    if gaps:
        missing = sum(b - a + 1 for a, b in gaps)
        first_a, first_b = gaps[0]
        report.add(
            "archive_gaps",
            "fail",
            f"{missing} segments are missing from the archive since the last base backup "
            f"(the first gap: {archive.name_of(first_a)} to {archive.name_of(first_b)}): "
            "a recovery stops at the first gap",
            "take a new base backup now; then find why segments were lost (an archive_command "
            "that does not fail on error, a cleanup job)",
        )
    else:
        report.add("archive_gaps", "ok", "no gap in the archive since the last base backup")
    last_wal = report.archiver.get("last_archived_wal")
    if last_wal and not archive.has(str(last_wal)):
        report.add(
            "archive_place",
            "warn",
            f"the last segment the server archived ({last_wal}) is not in {archive.path}",
            "check that this is the directory archive_command writes to, reachable from here",
        )


def _check_tools(report: Readiness, cfg: DataConfig, major: int) -> None:
    try:
        tools = find_tools(cfg, major=major)
    except WarroomError as exc:
        report.add("tools", "warn", f"a side restore cannot run here: {exc.message}")
        return
    report.add("tools", "ok", f"PostgreSQL {major} programs in {tools.bin_dir}")


def _verify_backup(report: Readiness, cfg: DataConfig, major: int) -> None:
    backup = report.last_backup
    if backup is None or backup.format != "plain":
        report.add("backup_verified", "info", "only plain-format backups can be verified")
        return
    tools = find_tools(cfg, major=major)
    args = [str(backup.path)]
    if not any((backup.path / "pg_wal").glob("0*")):
        if cfg.wal_archive is None:
            args.insert(0, "--no-parse-wal")
        else:
            args.insert(0, f"--wal-directory={cfg.wal_archive}")
    done = tools.run("pg_verifybackup", *args, check=False)
    if done.returncode == 0:
        report.add("backup_verified", "ok", f"pg_verifybackup: {backup.path} is intact")
    else:
        said = (done.stderr or done.stdout).strip().splitlines()[:3]
        report.add(
            "backup_verified",
            "fail",
            f"pg_verifybackup found the backup {backup.path} damaged: {' / '.join(said)}",
            "take a new base backup and find what changed the old one",
        )


def check(cfg: DataConfig, *, verify_backup: bool = False) -> Readiness:
    """Check the live database, its archive and its backups; never changes anything."""
    dsn = cfg.live_dsn()
    report = Readiness(dsn=redact(dsn), checked_at=utcnow())
    archive = None
    with connect(dsn) as conn:
        version = conn.execute("SELECT current_setting('server_version')").fetchone()
        report.server_version = str(version[0]) if version else None
        major = server_major(conn)
        current = _check_server(report, conn, cfg)
        report.archiver = _archiver(conn)
    _check_archiver(report, current, cfg)
    if cfg.wal_archive is not None:
        archive = wal.scan_archive(
            cfg.wal_archive,
            segment_size=report.archive.get("segment_size", wal.DEFAULT_SEGMENT_SIZE),
        )
    _check_backups(report, cfg, archive)
    if archive is not None:
        _check_archive(report, archive)
    else:
        report.add(
            "archive_gaps",
            "info",
            "no WAL archive directory given: gaps were not looked for",
            "give the archive directory (wal_archive in the [data] table of warroom.toml)",
        )
    _check_tools(report, cfg, major)
    if verify_backup:
        _verify_backup(report, cfg, major)
    order = {level: i for i, level in enumerate(reversed(LEVELS))}
    report.findings.sort(key=lambda f: order[f.level])
    return report
