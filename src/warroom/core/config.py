"""Settings: environment variables `WARROOM_*` and a `warroom.toml` found like git finds .git.

Which configuration and which database, wherever you stand (docs/configuration.md):

1. the config file: `--config`, else $WARROOM_CONFIG, else the first `warroom.toml` in the
   current directory or one of its parents (as git and ruff look), else none;
2. the database: `--db`, else $WARROOM_DATABASE_URL, else `url` of the `[database]` table of
   that warroom.toml (a relative SQLite path is relative to the file), else the per-user
   database `warroom.db` in the user data directory ($XDG_DATA_HOME/warroom, by default
   ~/.local/share/warroom; ~/Library/Application Support/warroom on macOS,
   %LOCALAPPDATA%\\warroom on Windows).

WARROOM_USER           who is acting (default: the OS user)
WARROOM_DB_POOL_SIZE   PostgreSQL connections per process (default: 2 x cores, 4..15)
"""

from __future__ import annotations

import getpass
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.core.errors import InvalidInput

CONFIG_NAME = "warroom.toml"
DATABASE_NAME = "warroom.db"


def user_data_dir() -> Path:
    """Where the per-user database lives when no warroom.toml names one."""
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    if xdg:
        return Path(xdg) / "warroom"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "warroom"
    local = os.environ.get("LOCALAPPDATA", "").strip()
    if sys.platform == "win32" and local:
        return Path(local) / "warroom"
    return Path.home() / ".local" / "share" / "warroom"


def default_database_url() -> str:
    return f"sqlite:///{user_data_dir() / DATABASE_NAME}"


def find_config(start: Path | None = None) -> Path | None:
    """The first warroom.toml in `start` (default: the current directory) or its parents."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    # Parsed by hand: settings load without SQLAlchemy (triage and --help never import it).
    rest = url.split("://", 1)[1] if "://" in url else ""
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser()


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=default_database_url)
    config_path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # How the database was found, in words (`warroom db status` prints it).
    database_source: str = "given"

    def section(self, name: str) -> dict[str, Any]:
        """One table of warroom.toml (empty when absent)."""
        value = self.raw.get(name, {})
        if not isinstance(value, dict):
            raise InvalidInput(f"{self.config_path}: [{name}] must be a table", field=name)
        return value

    @property
    def is_user_default(self) -> bool:
        """True when the database is the per-user one (its directory may be created)."""
        return self.database_source.startswith("the per-user database")


def prepare_database_dir(settings: Settings) -> None:
    """Create the per-user data directory (and only it) before its database is first made."""
    file = sqlite_path(settings.database_url)
    if file is not None and settings.is_user_default:
        file.parent.mkdir(parents=True, exist_ok=True)


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InvalidInput(f"config file {path} does not exist", field="config")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"config file {path} is not valid TOML: {exc}", field="config") from exc


def _config_database(path: Path, raw: dict[str, Any]) -> str | None:
    """`[database] url` of warroom.toml, a relative SQLite path made relative to the file."""
    table = raw.get("database", {})
    if not isinstance(table, dict):
        raise InvalidInput(f"{path}: [database] must be a table", field="database")
    url = table.get("url")
    if url is None:
        return None
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"{path}: [database] url must be a database URL", field="database.url")
    file = sqlite_path(url)
    if file is not None and not file.is_absolute():
        return f"sqlite:///{(path.parent.resolve() / file)}"
    return url


def load_settings(
    *, database_url: str | None = None, config_path: str | Path | None = None
) -> Settings:
    """Settings from arguments, then the environment, then warroom.toml, then defaults."""
    if config_path:
        path: Path | None = Path(config_path)
        how_config = f"--config {config_path}"
    elif os.environ.get("WARROOM_CONFIG"):
        path = Path(os.environ["WARROOM_CONFIG"])
        how_config = "$WARROOM_CONFIG"
    else:
        path = find_config()
        how_config = f"found from {Path.cwd()} upward"
    raw = _read_config(path) if path is not None else {}
    env_url = os.environ.get("WARROOM_DATABASE_URL", "").strip()
    from_config = _config_database(path, raw) if path is not None else None
    if database_url:
        url, source = database_url, "--db"
    elif env_url:
        url, source = env_url, "$WARROOM_DATABASE_URL"
    elif from_config is not None:
        url, source = from_config, f"[database] url of {path} ({how_config})"
    else:
        url = default_database_url()
        where = f"{path} ({how_config}) names none" if path else f"no {CONFIG_NAME} found"
        source = f"the per-user database: {where}"
    return Settings(database_url=url, config_path=path, raw=raw, database_source=source)


def current_user(explicit: str | None = None) -> str:
    """Who is acting: `--as`, else WARROOM_USER, else the OS user."""
    for candidate in (explicit, os.environ.get("WARROOM_USER")):
        if candidate and candidate.strip():
            return candidate.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
