"""A PostgreSQL cluster of a test's own: initdb in a temporary directory, WAL archiving on.

    with live_cluster() as live:          # skips locally without PostgreSQL 15, fails under CI
        live.sql("CREATE TABLE ...")
        live.base_backup("nightly")
        live.archive_now()                # switch to a new segment, wait until it is archived

Tests run as root and initdb refuses root: the cluster's programs run as the `postgres` OS
user (through `warroom.recover.pg.Tools`, as the side restore does), in a directory under
/tmp handed to that user; it listens on a Unix socket in that directory only, on a free
port, so it never meets the shared server on 5432 or another worktree's cluster.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from conftest import need
from warroom.recover.config import DataConfig
from warroom.recover.pg import Tools
from warroom.recover.side import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def os_user() -> str | None:
    """The OS user the cluster runs as: `postgres` when the tests run as root."""
    return "postgres" if os.geteuid() == 0 else None


def require_postgres() -> None:
    need(
        (BIN / "initdb").is_file() and (BIN / "pg_basebackup").is_file(),
        f"PostgreSQL 15 server programs are not installed in {BIN}",
    )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            need(False, "tests run as root and there is no postgres OS user to run initdb as")


class Cluster:
    def __init__(self, root: Path, tools: Tools) -> None:
        self.root = root
        self.tools = tools
        self.pgdata = root / "live"
        self.archive = root / "archive"
        self.backups = root / "backups"
        self.port = free_port()

    @property
    def dsn(self) -> str:
        return f"host={self.root} port={self.port} user=postgres dbname=shop"

    def config(self, **extra: Any) -> DataConfig:
        """The [data] configuration a test would write for this cluster."""
        values: dict[str, Any] = {
            "dsn": self.dsn,
            "backup_dir": self.backups,
            "wal_archive": self.archive,
            "side_dir": self.root / "side",
            "bin_dir": BIN,
        }
        values.update(extra)
        return DataConfig(**values)

    def init(self, *, archive_timeout: int = 60) -> None:
        for d in (self.archive, self.backups):
            d.mkdir()
        self.tools.give(self.root)
        self.tools.run(
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--data-checksums",
            "--no-sync",
        )
        with (self.pgdata / "postgresql.conf").open("a") as f:
            f.write(
                f"port = {self.port}\nlisten_addresses = ''\n"
                f"unix_socket_directories = '{self.root}'\n"
                "wal_level = replica\narchive_mode = on\n"
                f"archive_command = 'test ! -f {self.archive}/%f && cp %p {self.archive}/%f'\n"
                f"archive_timeout = {archive_timeout}\n"
                "shared_buffers = 32MB\nmax_connections = 20\nfsync = off\n"
            )
        self.start()
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE shop")

    @property
    def admin_dsn(self) -> str:
        return f"host={self.root} port={self.port} user=postgres dbname=postgres"

    def start(self) -> None:
        log = self.root / "live.log"
        self.tools.run("pg_ctl", "-D", str(self.pgdata), "-l", str(log), "-w", "start")

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").is_file():
            self.tools.run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "stop")

    def sql(self, *statements: str, autocommit: bool = False) -> list[tuple[Any, ...]]:
        """Run statements in one transaction (each alone with `autocommit`); the rows of the
        last one."""
        rows: list[tuple[Any, ...]] = []
        with psycopg.connect(self.dsn, autocommit=autocommit) as conn:
            for s in statements:
                cur = conn.execute(s.encode())
                rows = cur.fetchall() if cur.description else []
        return rows

    def base_backup(self, label: str) -> Path:
        target = self.backups / label
        self.tools.run(
            "pg_basebackup",
            "-h", str(self.root), "-p", str(self.port), "-U", "postgres",
            "-D", str(target), "-X", "stream", "-c", "fast", "-l", label, "--no-sync",
        )  # fmt: skip
        return target

    def archive_now(self, timeout: float = 30) -> str:
        """Switch to a new WAL segment and wait until the finished one is archived."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
            assert row is not None
            name = str(row[0])
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if (self.archive / name).is_file():
                    return name
                time.sleep(0.1)
        raise AssertionError(f"segment {name} was not archived in {timeout} s")

    def now(self) -> Any:
        """The server's clock (commit times in the WAL are the server's)."""
        return self.sql("SELECT clock_timestamp()")[0][0]


@contextmanager
def live_cluster(**init: Any) -> Iterator[Cluster]:
    require_postgres()
    root = Path(tempfile.mkdtemp(prefix="wr-pg-", dir="/tmp"))
    cluster = Cluster(root, Tools(BIN, os_user()))
    try:
        cluster.init(**init)
        yield cluster
    finally:
        side_pid = root / "side" / "pgdata" / "postmaster.pid"
        if side_pid.is_file():  # a test that failed before its cleanup
            cluster.tools.run(
                "pg_ctl", "-D", str(side_pid.parent), "-m", "immediate", "stop", check=False
            )
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
