"""The side server's record on disk, and what its log says: status, stop, remove.

One side server per side directory; `warroom-side.json` in that directory says what it is
(port, recovery target, base backup, state). `cleanup` stops it and removes the directory,
and only a directory that holds that file: it never deletes anything else.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo

from warroom.core.clock import ensure_utc, utcnow
from warroom.core.errors import Hint, InvalidTransition, NotFound
from warroom.recover.config import DataConfig, side_dsn
from warroom.recover.pg import Tools, connect

STATE_FILE = "warroom-side.json"
LOG_FILE = "postgres.log"
_STOP_RE = re.compile(r"recovery stopping (before|after) (.+?)(?:\s*$)", re.MULTILINE)


def cleanup_hint(text: str = "stop and remove the side server") -> Hint:
    return Hint("data_cleanup", text)


@dataclass
class SideServer:
    """A copy of the product database recovered to `until`, on its own socket and port."""

    side_dir: str
    pgdata: str
    port: int
    until: str
    action: str  # pause | promote
    backup: dict[str, Any]
    bin_dir: str
    os_user: str | None
    db_user: str  # a role of the copy, to watch its recovery (the live connection's user)
    started_at: str
    state: str = "preparing"  # preparing | recovering | paused | promoted | failed | stopped
    recovered_to: str | None = None  # the last replayed commit
    stopped_at: str | None = None  # the log's "recovery stopping before commit of ..."
    running: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def socket_dir(self) -> Path:
        return Path(self.side_dir)

    @property
    def log_path(self) -> Path:
        return Path(self.side_dir) / LOG_FILE

    @property
    def until_time(self) -> datetime:
        return ensure_utc(datetime.fromisoformat(self.until))

    def tools(self) -> Tools:
        return Tools(Path(self.bin_dir), self.os_user)

    def dsn(self, live_dsn: str) -> str:
        """How to reach the side copy: the live connection string on the side socket."""
        return side_dsn(live_dsn, socket_dir=self.socket_dir, port=self.port)

    def admin_dsn(self) -> str:
        """A connection to the copy's template1 database, to watch its recovery."""
        return side_dsn(
            make_conninfo("", user=self.db_user, dbname="template1"),
            socket_dir=self.socket_dir,
            port=self.port,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["log"] = str(self.log_path)
        return out

    def save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if k != "running"}
        path = Path(self.side_dir) / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)


def load(cfg: DataConfig) -> SideServer | None:
    """The side server recorded in the configured side directory, or None."""
    path = cfg.side_dir / STATE_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return SideServer(**{k: v for k, v in data.items() if k in SideServer.__dataclass_fields__})


def require(cfg: DataConfig) -> SideServer:
    """The side server, running; NotFound with a hint to restore one when there is none."""
    side = status(cfg)
    if side is None:
        raise NotFound(
            f"there is no side server in {cfg.side_dir}: restore one to a point in time first",
            hint=Hint("data_restore", "restore a side copy to a point in time"),
        )
    if not side.running:
        raise InvalidTransition(
            f"the side server in {side.side_dir} is not running (state {side.state})",
            hint=cleanup_hint("remove it and restore again"),
        )
    return side


def is_running(side: SideServer) -> bool:
    if not (Path(side.pgdata) / "postmaster.pid").is_file():
        return False
    done = side.tools().run("pg_ctl", "-D", side.pgdata, "status", check=False, timeout=30)
    return done.returncode == 0


def log_tail(side: SideServer, lines: int = 400) -> list[str]:
    try:
        return side.log_path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def stop_line(side: SideServer) -> str | None:
    """Where recovery stopped, from the server log: 'before commit of transaction 728, ...'."""
    found = _STOP_RE.findall("\n".join(log_tail(side, 2000)))
    return f"{found[-1][0]} {found[-1][1]}" if found else None


def status(cfg: DataConfig) -> SideServer | None:
    """The recorded side server with what it says now (running, replayed up to)."""
    side = load(cfg)
    if side is None:
        return None
    side.running = is_running(side)
    if side.running and side.state in ("recovering", "paused", "promoted"):
        try:
            with connect(side.admin_dsn()) as c:
                row = c.execute(
                    "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()"
                ).fetchone()
            if row is not None and row[1] is not None:
                side.recovered_to = ensure_utc(row[1]).isoformat()
        except Exception:  # noqa: BLE001 - status is best effort: the server may be starting
            side.notes.append("the side server does not accept connections yet")
    return side


def cleanup(cfg: DataConfig) -> dict[str, Any]:
    """Stop the side server (fast shutdown) and remove its directory."""
    side = load(cfg)
    if side is None:
        raise NotFound(f"there is no side server in {cfg.side_dir}")
    stopped = False
    if is_running(side):
        side.tools().run("pg_ctl", "-D", side.pgdata, "-m", "fast", "-w", "stop", timeout=120)
        stopped = True
    directory = Path(side.side_dir)
    if (directory / STATE_FILE).is_file():  # only ever a directory warroom made
        shutil.rmtree(directory)
    return {
        "side_dir": side.side_dir,
        "stopped": stopped,
        "removed": True,
        "until": side.until,
        "at": utcnow().isoformat(),
    }
