"""PostgreSQL's own programs and connections: found by version, run as the right OS user.

    tools = find_tools(cfg, major=15)
    tools.run("pg_ctl", "-D", str(pgdata), "status", check=False)
    with connect(cfg.live_dsn()) as conn: ...      # read-only unless writable=True

PostgreSQL refuses to run as root: when warroom runs as root, its programs run as the
configured OS user (`runuser -u USER --`), and the files they use are handed to that user.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from warroom.core.errors import InvalidInput, StorageUnavailable, WarroomError
from warroom.recover.config import DataConfig, redact

# Where distributions install each major version's programs, first match wins.
SEARCH = (
    "/usr/lib/postgresql/{major}/bin",  # Debian, Ubuntu
    "/usr/pgsql-{major}/bin",  # RHEL, Fedora (PGDG)
    "/opt/homebrew/opt/postgresql@{major}/bin",  # macOS
    "/usr/local/pgsql/bin",  # built from source
)
_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+)")
# How values print, fixed for every connection: the diff reads rows as text, the repair
# writes that text back and compares it, so both must see the same formatting whatever the
# role's or the server's defaults (the repair script sets the same, for psql).
SESSION = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "bytea_output": "hex",
    "extra_float_digits": "1",
    "standard_conforming_strings": "on",
}


class ToolFailed(WarroomError):
    """A PostgreSQL program exited with an error; the message carries what it said."""


@dataclass(frozen=True)
class Tools:
    """PostgreSQL's programs of one directory, run as `os_user` (None: the current user)."""

    bin_dir: Path
    os_user: str | None

    def path(self, name: str) -> Path:
        p = self.bin_dir / name
        if not p.is_file():
            raise InvalidInput(
                f"{name} is not in {self.bin_dir}: install PostgreSQL's server programs, or "
                "set bin_dir in the [data] table of warroom.toml",
                field="bin_dir",
            )
        return p

    def command(self, name: str, *args: str) -> list[str]:
        """The argument vector that runs `name` as the configured OS user."""
        argv = [str(self.path(name)), *args]
        if self.os_user and self.os_user != _current_user():
            if os.geteuid() != 0:
                raise InvalidInput(
                    f"only root can run PostgreSQL as {self.os_user!r}: run warroom as that "
                    "user, or leave run_as unset",
                    field="run_as",
                )
            argv = ["runuser", "-u", self.os_user, "--", *argv]
        return argv

    def run(
        self, name: str, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one program to its end; ToolFailed with its output when it fails and `check`."""
        try:
            done = subprocess.run(
                self.command(name, *args),
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd="/",  # the OS user may not be allowed into the current directory
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ToolFailed(f"{name} did not finish in {timeout:.0f} s") from None
        if check and done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise ToolFailed(f"{name} failed (exit {done.returncode}): " + " / ".join(said))
        return done

    def major(self) -> int:
        """The major version of these programs (`postgres --version`)."""
        out = self.run("postgres", "--version", timeout=30).stdout
        m = _VERSION_RE.search(out)
        if not m:
            raise ToolFailed(f"cannot read the version of {self.path('postgres')}: {out.strip()}")
        return int(m.group(1))

    def give(self, path: Path) -> None:
        """Hand `path` (and everything under it) to the OS user the programs run as."""
        if not self.os_user or os.geteuid() != 0:
            return
        entry = pwd.getpwnam(self.os_user)
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                os.chown(
                    os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False
                )


def _current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def find_tools(cfg: DataConfig, *, major: int | None = None) -> Tools:
    """The programs of `cfg.bin_dir`, else of the installed `major` version, else on PATH."""
    user = cfg.os_user()
    candidates: list[Path] = []
    if cfg.bin_dir is not None:
        candidates = [cfg.bin_dir]
    else:
        if major is not None:
            candidates += [Path(p.format(major=major)) for p in SEARCH]
        found = shutil.which("pg_ctl")
        if found:
            candidates.append(Path(found).resolve().parent)
    for directory in candidates:
        if (directory / "pg_ctl").is_file() and (directory / "postgres").is_file():
            tools = Tools(directory, user)
            if major is not None and cfg.bin_dir is None and tools.major() != major:
                continue
            return tools
    wanted = f"PostgreSQL {major}'s" if major else "PostgreSQL's"
    raise InvalidInput(
        f"{wanted} server programs (pg_ctl, postgres) are not installed here: install them, "
        "or set bin_dir in the [data] table of warroom.toml",
        field="bin_dir",
    )


@contextmanager
def connect(dsn: str, *, writable: bool = False) -> Iterator[psycopg.Connection]:
    """A connection to a product database; read-only transactions unless `writable`."""
    try:
        conn = psycopg.connect(dsn, connect_timeout=10, application_name="warroom data")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageUnavailable(
            f"cannot connect to the database {redact(dsn)}: {first}", field="dsn"
        ) from None
    try:
        for name, value in SESSION.items():
            conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        conn.commit()
        conn.read_only = not writable
        yield conn
    finally:
        conn.close()


def server_major(conn: psycopg.Connection) -> int:
    """The server's major version (150004 -> 15)."""
    row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert row is not None
    return int(row[0]) // 10000
