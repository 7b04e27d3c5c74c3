"""Where the product database and its backups are, from the Settings the shell passes in.

Every value can be given on the command line instead; relative paths in warroom.toml are
relative to that file::

    [data]
    dsn = "postgresql://app@db1/shop"      # the live product database (libpq URL or key=value)
    backup_dir = "/backups/base"           # pg_basebackup outputs, one directory each
    wal_archive = "/backups/wal"           # where archive_command copies WAL segments
    side_dir = "/var/tmp/warroom-side"     # where the side copy is built (removed by cleanup)
    bin_dir = "/usr/lib/postgresql/15/bin" # PostgreSQL's programs (found by version otherwise)
    run_as = "postgres"                    # the OS user that runs the side server
    backup_label = "nightly*"              # only base backups whose label matches
    max_backup_age_hours = 24              # older than this: a warning
    max_archive_lag_minutes = 15           # last segment archived longer ago: a warning
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from warroom.core.config import Settings
from warroom.core.errors import InvalidInput

DEFAULT_SIDE_DIR = "warroom-side"
SECRET_KEYS = ("password", "sslpassword")


@dataclass(frozen=True)
class DataConfig:
    """What the data commands need to reach the product database, its backups and tools."""

    dsn: str | None = None
    backup_dir: Path | None = None
    wal_archive: Path | None = None
    side_dir: Path = Path(DEFAULT_SIDE_DIR)
    bin_dir: Path | None = None
    run_as: str | None = None
    backup_label: str | None = None
    max_backup_age_hours: float = 24.0
    max_archive_lag_minutes: float = 15.0

    def with_options(self, **given: Any) -> DataConfig:
        """This configuration with the options given on the command line (None: not given)."""
        paths = {"backup_dir", "wal_archive", "side_dir", "bin_dir"}
        values: dict[str, Any] = {
            k: (Path(v).expanduser() if k in paths else v) for k, v in given.items() if v
        }
        return replace(self, **values)

    def live_dsn(self) -> str:
        """The product database's connection string; refused when none is configured."""
        if not self.dsn:
            raise InvalidInput(
                "no product database given: pass its connection string, or set dsn in the "
                "[data] table of warroom.toml",
                field="dsn",
            )
        return normalise_dsn(self.dsn)

    def os_user(self) -> str | None:
        """The OS user PostgreSQL's programs run as: `run_as`, else `postgres` when root.

        PostgreSQL refuses to run as root; a root warroom hands the side server to `run_as`.
        None means: run them as the current user.
        """
        if self.run_as:
            _uid_of(self.run_as)
            return self.run_as
        if os.geteuid() == 0:
            _uid_of("postgres")
            return "postgres"
        return None


def _uid_of(user: str) -> int:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        raise InvalidInput(
            f"there is no OS user {user!r} to run PostgreSQL as (PostgreSQL refuses root): "
            "set run_as in the [data] table of warroom.toml",
            field="run_as",
        ) from None


def from_settings(settings: Settings) -> DataConfig:
    """The `[data]` table of warroom.toml, paths made relative to that file."""
    section = settings.section("data")
    base = settings.config_path.parent if settings.config_path else Path(".")

    def path(name: str) -> Path | None:
        value = section.get(name)
        if not value:
            return None
        p = Path(str(value)).expanduser()
        return p if p.is_absolute() else base / p

    def number(name: str, default: float) -> float:
        value = section.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise InvalidInput(
                f"[data] {name} must be a positive number, not {value!r}", field=name
            )
        return float(value)

    return DataConfig(
        dsn=str(section["dsn"]) if section.get("dsn") else None,
        backup_dir=path("backup_dir"),
        wal_archive=path("wal_archive"),
        side_dir=path("side_dir") or base / DEFAULT_SIDE_DIR,
        bin_dir=path("bin_dir"),
        run_as=str(section["run_as"]) if section.get("run_as") else None,
        backup_label=str(section["backup_label"]) if section.get("backup_label") else None,
        max_backup_age_hours=number("max_backup_age_hours", 24.0),
        max_archive_lag_minutes=number("max_archive_lag_minutes", 15.0),
    )


def normalise_dsn(dsn: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://`) as libpq takes it; other forms unchanged."""
    text = dsn.strip()
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres+psycopg://"):
        if text.startswith(prefix):
            return "postgresql://" + text[len(prefix) :]
    return text


def parse_dsn(dsn: str) -> dict[str, str]:
    """The connection string as libpq's keywords; a malformed one is refused."""
    try:
        return {k: str(v) for k, v in conninfo_to_dict(normalise_dsn(dsn)).items()}
    except Exception as exc:  # psycopg.ProgrammingError: names the bad part
        raise InvalidInput(
            f"the connection string is not valid: {str(exc).splitlines()[0]}", field="dsn"
        ) from None


def redact(dsn: str) -> str:
    """The connection string without its password, to show and to record."""
    params = {k: v for k, v in parse_dsn(dsn).items() if k not in SECRET_KEYS}
    return make_conninfo("", **params)


def side_dsn(dsn: str, *, socket_dir: Path, port: int) -> str:
    """The live connection string pointed at the side server's socket (same user, database)."""
    params = parse_dsn(dsn)
    for key in ("hostaddr", "sslmode", "sslrootcert", "target_session_attrs"):
        params.pop(key, None)
    params.update(host=str(socket_dir), port=str(port))
    return make_conninfo("", **params)
