"""Where the contain area's files are, from the Settings the shell passes in.

Relative paths in warroom.toml are relative to that file (to the working directory when
there is no warroom.toml)::

    [contain]
    flag_file = "flags.json"          # the OpenFeature flagd file the application reads
    runbook_dirs = ["runbooks"]       # your own runbooks, next to the shipped ones
"""

from __future__ import annotations

from pathlib import Path

from warroom.core.config import Settings

DEFAULT_FLAG_FILE = "flags.json"


def base_dir(settings: Settings) -> Path:
    """The directory relative paths of warroom.toml start from."""
    return settings.config_path.parent if settings.config_path else Path(".")


def resolve(settings: Settings, path: str | Path) -> Path:
    """`path` as written in warroom.toml, made relative to that file."""
    p = Path(str(path)).expanduser()
    return p if p.is_absolute() else base_dir(settings) / p


def flag_file(settings: Settings) -> Path:
    """The flagd file of `[contain] flag_file` (default flags.json)."""
    return resolve(settings, settings.section("contain").get("flag_file") or DEFAULT_FLAG_FILE)


def runbook_dirs(settings: Settings) -> list[Path]:
    """The directories of `[contain] runbook_dirs`, in order."""
    extra = settings.section("contain").get("runbook_dirs") or []
    if isinstance(extra, str):
        extra = [extra]
    return [resolve(settings, str(d)) for d in extra]
