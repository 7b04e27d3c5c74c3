"""Log files a desk form hands to triage or verify: uploaded, or named by their path on the
server.

An upload is written to a temporary directory (kept with its name's ending, so `.gz` and
`.jsonl` are read as such) and removed when the work is done. A path on the server is read
only inside the directories the desk may read: the directory of warroom.toml, `[desk]
log_dirs`, and the drills' own directories (never the working directory as such: a server
started from / would open every file); the route that takes one needs `server.files`.

    with uploads([form_file]) as paths:
        verify.verify(db, key, [str(p) for p in paths if p], actor=actor)
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from warroom.contain import config, drills
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@contextmanager
def uploads(files: list[UploadFile | None]) -> Iterator[list[Path | None]]:
    """Each uploaded file as a temporary path (None for a field left empty)."""
    with tempfile.TemporaryDirectory(prefix="warroom-upload-") as tmp:
        out: list[Path | None] = []
        for n, f in enumerate(files):
            if f is None or not f.filename:
                out.append(None)
                continue
            name = _UNSAFE.sub("_", Path(f.filename).name)[-80:] or "upload"
            path = Path(tmp) / f"{n}-{name}"
            with path.open("wb") as sink:
                shutil.copyfileobj(f.file, sink)
            out.append(path if path.stat().st_size else None)
        yield out


def readable_roots(db: Database, settings: Settings) -> list[Path]:
    """The directories whose files the desk may read by path."""
    # Not the working directory itself: a server started from / would open every file.
    roots = [settings.config_path.parent] if settings.config_path else []
    extra = settings.section("desk").get("log_dirs", [])
    roots += [
        config.resolve(settings, str(d)) for d in ([extra] if isinstance(extra, str) else extra)
    ]
    roots += [Path(d.directory) for d in drills.list_drills(db)]
    return list(dict.fromkeys(r.resolve() for r in roots))


def server_paths(text: str, db: Database, settings: Settings, *, field: str) -> list[str]:
    """The files named in `text` (one a line), each an existing file under a readable root."""
    names = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not names:
        raise InvalidInput("give the path of a log file on the server", field=field)
    roots = readable_roots(db, settings)
    out = []
    for name in names:
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        path = path.resolve()
        if not any(path.is_relative_to(r) for r in roots):
            raise InvalidInput(
                f"{name} is outside the directories the desk may read (the directory of "
                "warroom.toml, [desk] log_dirs and the drills' directories): upload the file "
                "instead",
                field=field,
            )
        if not path.is_file():
            raise InvalidInput(f"{name} is not a file on the server", field=field)
        out.append(str(path))
    return out
