"""Side restore: a copy of the product database recovered to a point in time, never the live one.

    side = restore(cfg, until=parse_time("2026-11-30T10:34:57Z"), progress=bar)
    side.dsn(cfg.live_dsn())     # the same user and database, on the side server's socket

PostgreSQL does the recovery itself: the newest base backup that finished before `until`
is copied into the side directory (a plain backup as it is, a tar backup extracted), and
started with `recovery.signal`, `restore_command` reading the WAL archive, and
`recovery_target_time = until` (exclusive: a transaction that committed at `until` is not
replayed). `recovery_target_action` is `pause` (a read-only copy, the default) or `promote`.
The copy listens on a Unix socket in the side directory only (no TCP), never archives WAL,
and runs with small memory settings; `cleanup` stops and removes it.
"""

from __future__ import annotations

import os
import shutil
import socket
import tarfile
import time
from datetime import datetime
from pathlib import Path
from typing import Protocol

from warroom.core.clock import ensure_utc, utcnow
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound, WarroomError
from warroom.recover import sidestate, wal
from warroom.recover.config import DataConfig, parse_dsn
from warroom.recover.pg import ToolFailed, Tools, connect, find_tools
from warroom.recover.sidestate import STATE_FILE, SideServer, cleanup_hint

ACTIONS = ("pause", "promote")
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on BSD
POLL_SECONDS = 0.5
REFUSED_SECONDS = 30.0
# Where the replay is: pg_is_wal_replay_paused() (PostgreSQL 10 and later) is true once
# recovery pauses at its target with recovery_target_action = pause.
WATCH = (
    "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(),"
    " CASE WHEN NOT pg_is_in_recovery() THEN 'promoted'"
    " WHEN pg_is_wal_replay_paused() THEN 'paused' ELSE 'replaying' END"
)
CONTROL_SETTINGS = {  # pg_controldata line -> setting a hot standby needs at least as high
    "max_connections setting": "max_connections",
    "max_worker_processes setting": "max_worker_processes",
    "max_wal_senders setting": "max_wal_senders",
    "max_prepared_xacts setting": "max_prepared_transactions",
    "max_locks_per_xact setting": "max_locks_per_transaction",
}
# What the server log says when recovery cannot reach its target, and what to do about it.
FAILURES = (
    (
        "recovery ended before configured recovery target was reached",
        "the WAL archive ends before the recovery target: no transaction committed after it "
        "has been archived yet. Switch to a new segment on the live server "
        "(SELECT pg_switch_wal()), wait for it to be archived, and restore again",
    ),
    (
        "requested recovery stop point is before consistent recovery point",
        "the recovery target is before the end of the base backup: choose an older base backup",
    ),
    (
        "could not locate required checkpoint record",
        "the WAL the base backup starts from is neither in the backup nor in the archive",
    ),
    (
        "insufficient parameter settings",
        "the live server's limits were raised after the backup (max_connections and the like)",
    ),
)


class RestoreProgress(Protocol):
    """How a shell shows a restore: each step, then the replay as a fraction with a text."""

    def step(self, text: str) -> None: ...

    def replay(self, fraction: float, text: str) -> None: ...


class _Silent:
    def step(self, text: str) -> None:
        pass

    def replay(self, fraction: float, text: str) -> None:
        pass


def free_port() -> int:
    """A TCP port nobody listens on (the side server's socket is named after it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def choose_backup(backups: list[wal.BaseBackup], until: datetime) -> wal.BaseBackup:
    """The newest base backup that finished before the recovery target."""
    usable = [b for b in backups if b.finished is not None and b.finished < until]
    if not usable:
        oldest = backups[0].finished.isoformat() if backups and backups[0].finished else "none"
        raise NotFound(
            f"no base backup finished before {until.isoformat()} (the oldest finished: "
            f"{oldest}): a point before the first backup cannot be recovered",
            field="until",
        )
    return usable[-1]


def _copy_backup(backup: wal.BaseBackup, pgdata: Path) -> None:
    if backup.format == "plain":
        tablespaces = backup.path / "pg_tblspc"
        if tablespaces.is_dir() and any(tablespaces.iterdir()):
            raise InvalidInput(
                f"the base backup {backup.path} has tablespaces, which a side restore does "
                "not relocate: restore it by hand (pg_basebackup --tablespace-mapping)",
                field="backup",
            )
        shutil.copytree(backup.path, pgdata, symlinks=True)
        return
    tars = sorted(p.name for p in backup.path.iterdir() if ".tar" in p.name)
    extra = [n for n in tars if not n.startswith(("base.tar", "base.tgz", "pg_wal.tar"))]
    if extra:
        raise InvalidInput(
            f"the base backup {backup.path} has tablespaces ({', '.join(extra)}), which a "
            "side restore does not relocate: restore it by hand",
            field="backup",
        )
    pgdata.mkdir()
    for name in tars:
        target = pgdata / "pg_wal" if name.startswith("pg_wal.tar") else pgdata
        target.mkdir(exist_ok=True)
        with tarfile.open(backup.path / name, "r:*") as tar:
            tar.extractall(target, filter="data")


def _control_settings(tools: Tools, pgdata: Path) -> dict[str, str]:
    out = tools.run("pg_controldata", "-D", str(pgdata), timeout=60).stdout
    found: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in CONTROL_SETTINGS and value.strip().isdigit():
            found[CONTROL_SETTINGS[key.strip()]] = value.strip()
    return found


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _configure(side: SideServer, tools: Tools, archive: Path, *, limits: dict[str, str]) -> None:
    """Settings that make the copy a side server: appended last, so they win."""
    pgdata = Path(side.pgdata)
    for stale in ("postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal"):
        (pgdata / stale).unlink(missing_ok=True)
    conf = pgdata / "postgresql.conf"
    if not conf.is_file():  # Debian keeps it in /etc, outside the backup
        conf.write_text("# written by warroom: the live configuration is not in the backup\n")
    # Only the OS user that owns the side directory (and root) can reach this socket.
    (pgdata / "pg_hba.conf").write_text(
        "# warroom side server: its socket only\nlocal all all trust\n"
    )
    if not (pgdata / "pg_ident.conf").is_file():
        (pgdata / "pg_ident.conf").write_text("")
    restore_command = f"cp {_quote_sh(str(archive))}/%f %p"
    settings = {
        "port": str(side.port),
        "listen_addresses": "",
        "unix_socket_directories": side.side_dir,
        "hba_file": str(pgdata / "pg_hba.conf"),
        "ident_file": str(pgdata / "pg_ident.conf"),
        "ssl": "off",
        "archive_mode": "off",  # never write into the live archive
        "archive_command": "",
        "primary_conninfo": "",
        "primary_slot_name": "",
        "hot_standby": "on",
        "restore_command": restore_command,
        "recovery_target_time": side.until,
        "recovery_target_inclusive": "off",
        "recovery_target_timeline": "latest",
        "recovery_target_action": side.action,
        "shared_buffers": "128MB",
        "huge_pages": "off",
        "autovacuum": "off",
        "logging_collector": "off",
        "log_destination": "stderr",
        "cluster_name": "warroom-side",
        **limits,
    }
    lines = ["", "# warroom side server (appended last so that these win)"]
    lines += [f"{k} = {_quote(v)}" for k, v in settings.items()]
    with (pgdata / "postgresql.auto.conf").open("a") as f:
        f.write("\n".join(lines) + "\n")
    (pgdata / "recovery.signal").write_text("")
    os.chmod(pgdata, 0o700)
    tools.give(Path(side.side_dir))


def _quote_sh(path: str) -> str:
    """A path for restore_command, which the server runs through the shell (after turning
    %f, %p and %% into the file, the target and a percent sign)."""
    return "'" + path.replace("%", "%%").replace("'", "'\"'\"'") + "'"


def explain_failure(side: SideServer) -> str:
    """Why the side server stopped, from its log."""
    tail = sidestate.log_tail(side)
    text = "\n".join(tail)
    for needle, meaning in FAILURES:
        if needle in text:
            return meaning
    fatal = [ln for ln in tail if "FATAL" in ln or "PANIC" in ln]
    return "; ".join(fatal[-3:]) or "no reason in its log " + str(side.log_path)


def _fail(side: SideServer, reason: str) -> ToolFailed:
    side.state = "failed"
    side.save()
    return ToolFailed(
        f"the side server did not reach {side.until}: {reason}",
        hint=cleanup_hint("remove the failed side server"),
    )


def _watch(side: SideServer, progress: RestoreProgress, timeout: float) -> None:
    """Poll the side server until it pauses at (or is promoted after) the target."""
    began = side.backup.get("start_time")
    start = ensure_utc(datetime.fromisoformat(began)) if began else utcnow()
    target = side.until_time
    span = max((target - start).total_seconds(), 1.0)
    deadline = time.monotonic() + timeout
    refused_since: float | None = None
    while time.monotonic() < deadline:
        if not sidestate.is_running(side):
            raise _fail(side, explain_failure(side))
        try:
            with connect(side.admin_dsn()) as conn:
                row = conn.execute(WATCH).fetchone()
        except WarroomError as exc:  # pg_ctl -w saw it ready: a refusal that lasts is real
            refused_since = refused_since or time.monotonic()
            if time.monotonic() - refused_since > REFUSED_SECONDS:
                raise _fail(side, exc.message) from None
            time.sleep(POLL_SECONDS)
            continue
        refused_since = None
        assert row is not None
        replayed = ensure_utc(row[1]) if row[1] is not None else None
        if replayed is not None:
            side.recovered_to = replayed.isoformat()
            done = (replayed - start).total_seconds() / span
            progress.replay(min(max(done, 0.0), 1.0), f"replayed to {replayed:%H:%M:%S}")
        if row[2] in ("paused", "promoted"):
            side.state = "paused" if row[2] == "paused" else "promoted"
            side.stopped_at = sidestate.stop_line(side)
            progress.replay(1.0, f"recovered to {side.until}")
            side.save()
            return
        time.sleep(POLL_SECONDS)
    side.save()
    raise ToolFailed(
        f"the side server did not reach {side.until} in {timeout:.0f} s; it is still "
        "replaying: look at its status again later",
        hint=cleanup_hint("or stop and remove it"),
    )


def restore(
    cfg: DataConfig,
    *,
    until: datetime,
    backup: Path | None = None,
    action: str = "pause",
    port: int | None = None,
    progress: RestoreProgress | None = None,
    timeout: float = 3600,
) -> SideServer:
    """Start a copy of the product database recovered to `until` in `cfg.side_dir`."""
    progress = progress or _Silent()
    until = ensure_utc(until)
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}: use pause or promote", field="action")
    if until > utcnow():
        raise InvalidInput(
            f"{until.isoformat()} is in the future: recovery would never reach it",
            field="until",
        )
    if cfg.wal_archive is None or cfg.backup_dir is None and backup is None:
        raise InvalidInput(
            "a side restore needs the base backups and the WAL archive: set backup_dir and "
            "wal_archive in the [data] table of warroom.toml, or give them",
            field="wal_archive" if cfg.wal_archive is None else "backup_dir",
        )
    side_dir = cfg.side_dir.absolute()
    if (side_dir / STATE_FILE).is_file():
        raise InvalidTransition(
            f"a side server is already recorded in {side_dir}: remove it first",
            hint=cleanup_hint(),
        )
    if side_dir.exists() and any(side_dir.iterdir()):
        raise InvalidInput(
            f"{side_dir} is not empty and not a side server of warroom: choose another side "
            "directory",
            field="side_dir",
        )
    archive = wal.scan_archive(cfg.wal_archive)
    if archive.newest_mtime is not None and archive.newest_mtime < until:
        progress.step(
            f"note: the newest archived segment was archived at {archive.newest_mtime:%H:%M:%S}, "
            "before the target; recovery needs a commit after it in the archive"
        )
    if backup is not None:
        chosen = wal.read_backup(backup, archive=archive)
        if chosen is None:
            raise NotFound(f"{backup} holds no base backup (no backup_label)", field="backup")
    else:
        assert cfg.backup_dir is not None
        chosen = choose_backup(
            wal.find_backups(cfg.backup_dir, archive=archive, label=cfg.backup_label), until
        )
    tools = find_tools(cfg, major=chosen.version)
    port = port or free_port()
    if len(str(side_dir / f".s.PGSQL.{port}")) > MAX_SOCKET_PATH:
        raise InvalidInput(
            f"the side directory {side_dir} is too long a path for the server's socket: "
            "choose a shorter one",
            field="side_dir",
        )
    user = parse_dsn(cfg.dsn).get("user") if cfg.dsn else None
    side = SideServer(
        side_dir=str(side_dir),
        pgdata=str(side_dir / "pgdata"),
        port=port,
        until=until.isoformat(),
        action=action,
        backup=chosen.to_dict(),
        bin_dir=str(tools.bin_dir),
        os_user=tools.os_user,
        db_user=user or tools.os_user or "postgres",
        started_at=utcnow().isoformat(),
    )
    side_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(side_dir, 0o700)
    side.save()
    progress.step(f"copying base backup {chosen.label or chosen.path} ({chosen.format})")
    _copy_backup(chosen, Path(side.pgdata))
    progress.step("configuring recovery to " + side.until)
    tools.give(side_dir)
    _configure(side, tools, cfg.wal_archive, limits=_control_settings(tools, Path(side.pgdata)))
    progress.step(f"starting the side server on port {port} (socket in {side_dir})")
    log = side.log_path
    # -w: pg_ctl waits until the copy is consistent (the backup's own WAL replayed) and
    # accepts read-only connections, or has failed; the replay to the target follows.
    started = tools.run(
        "pg_ctl", "-D", side.pgdata, "-l", str(log), "-w", "-t", str(int(timeout)), "start",
        check=False, timeout=timeout + 30,
    )  # fmt: skip
    if started.returncode != 0:
        raise _fail(side, explain_failure(side))
    side.state = "recovering"
    side.save()
    _watch(side, progress, timeout)
    side.running = True
    return side
