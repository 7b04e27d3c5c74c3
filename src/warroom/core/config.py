"""Settings: environment variables `WARROOM_*` and an optional `warroom.toml`.

WARROOM_DATABASE_URL   default sqlite:///./warroom.db
WARROOM_CONFIG         path of warroom.toml (default ./warroom.toml when present)
WARROOM_USER           who is acting (default: the OS user)
WARROOM_DB_POOL_SIZE   PostgreSQL connections per process (default: 2 x cores, 4..15)
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warroom.core.errors import InvalidInput

DEFAULT_DATABASE_URL = "sqlite:///./warroom.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    config_path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """One table of warroom.toml (empty when absent)."""
        value = self.raw.get(name, {})
        if not isinstance(value, dict):
            raise InvalidInput(f"{self.config_path}: [{name}] must be a table", field=name)
        return value


def load_settings(
    *, database_url: str | None = None, config_path: str | Path | None = None
) -> Settings:
    """Settings from arguments, then the environment, then defaults."""
    url = database_url or os.environ.get("WARROOM_DATABASE_URL") or DEFAULT_DATABASE_URL
    path_text = config_path or os.environ.get("WARROOM_CONFIG")
    path: Path | None = Path(path_text) if path_text else None
    if path is None and Path("warroom.toml").is_file():
        path = Path("warroom.toml")
    raw: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise InvalidInput(f"config file {path} does not exist", field="config")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(
                f"config file {path} is not valid TOML: {exc}", field="config"
            ) from exc
    return Settings(database_url=url, config_path=path, raw=raw)


def current_user(explicit: str | None = None) -> str:
    """Who is acting: `--as`, else WARROOM_USER, else the OS user."""
    for candidate in (explicit, os.environ.get("WARROOM_USER")):
        if candidate and candidate.strip():
            return candidate.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
