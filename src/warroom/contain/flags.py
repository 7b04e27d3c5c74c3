"""An OpenFeature flagd-compatible JSON flag file: read, change one flag, write atomically.

The application under incident reads the same file (flagd's file provider, or any OpenFeature
provider pointed at it); warroom changes `defaultVariant` or `state` of one flag::

    {"flags": {"new-checkout": {"state": "ENABLED", "variants": {"on": true, "off": false},
                                "defaultVariant": "on"}}}

    change = set_flag("flags.json", "new-checkout", variant="off")
    restore("flags.json", change.before)        # the exact previous bytes
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warroom.core.errors import InvalidInput, NotFound

STATES = ("ENABLED", "DISABLED")


@dataclass(frozen=True)
class FlagChange:
    """One flag changed: the file's exact bytes before and after, and the two settings."""

    path: str
    flag: str
    before: bytes
    after: bytes
    old: dict[str, Any]
    new: dict[str, Any]


def read_bytes(path: str | Path) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise NotFound(
            f'flag file {p} does not exist: create it (flagd JSON, {{"flags": {{...}}}}) or '
            "set [contain] flag_file in warroom.toml",
            field="flag_file",
        )
    return p.read_bytes()


def parse(content: bytes, *, path: str | Path = "flag file") -> dict[str, Any]:
    """The flag document, checked to have the flagd shape."""
    try:
        doc = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("flags"), dict):
        raise InvalidInput(f'{path} is not a flagd file: it needs a top-level "flags" object')
    for name, flag in doc["flags"].items():
        if not isinstance(flag, dict) or not isinstance(flag.get("variants"), dict):
            raise InvalidInput(f'{path}: flag {name!r} needs a "variants" object')
    return doc


def load(path: str | Path) -> dict[str, Any]:
    return parse(read_bytes(path), path=path)


def resolved(doc: dict[str, Any]) -> dict[str, Any]:
    """Flag name -> the value of its default variant (None when the flag is DISABLED)."""
    out: dict[str, Any] = {}
    for name, flag in doc["flags"].items():
        if flag.get("state", "ENABLED") == "DISABLED":
            out[name] = None
            continue
        out[name] = flag["variants"].get(flag.get("defaultVariant"))
    return out


def describe(doc: dict[str, Any], flag: str) -> dict[str, Any]:
    """The state and default variant of one flag."""
    if flag not in doc["flags"]:
        known = ", ".join(sorted(doc["flags"])) or "none"
        raise NotFound(f"flag {flag!r} is not in the flag file (flags there: {known})")
    f = doc["flags"][flag]
    return {"state": f.get("state", "ENABLED"), "defaultVariant": f.get("defaultVariant")}


def _serialise(doc: dict[str, Any], original: bytes) -> bytes:
    # Keep the file's look: two-space indent unless it was compact, trailing newline as before.
    compact = b"\n" not in original.strip()
    text = json.dumps(doc) if compact else json.dumps(doc, indent=2)
    if original.endswith(b"\n"):
        text += "\n"
    return text.encode("utf-8")


def write_atomic(path: str | Path, content: bytes) -> None:
    """Replace the file in one rename, so a reader sees the old or the new file, never half."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=str(p.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        if p.exists():
            os.chmod(tmp, p.stat().st_mode & 0o777)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def plan_change(
    content: bytes,
    flag: str,
    *,
    variant: str | None = None,
    state: str | None = None,
    path: str | Path = "flag file",
) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """(old setting, new setting, new bytes) for a change, without writing anything."""
    if variant is None and state is None:
        raise InvalidInput("a flag change needs a variant or a state", field="variant")
    doc = parse(content, path=path)
    old = describe(doc, flag)
    f = doc["flags"][flag]
    if variant is not None:
        if variant not in f["variants"]:
            raise InvalidInput(
                f"flag {flag!r} has no variant {variant!r} (variants: "
                f"{', '.join(sorted(f['variants']))})",
                field="variant",
            )
        f["defaultVariant"] = variant
    if state is not None:
        st = state.upper()
        if st not in STATES:
            raise InvalidInput(
                f"flag state must be ENABLED or DISABLED, not {state!r}", field="state"
            )
        f["state"] = st
    new = describe(doc, flag)
    return old, new, _serialise(doc, content)


def set_flag(
    path: str | Path, flag: str, *, variant: str | None = None, state: str | None = None
) -> FlagChange:
    """Change one flag's default variant and/or state; returns the exact before/after bytes."""
    before = read_bytes(path)
    old, new, after = plan_change(before, flag, variant=variant, state=state, path=path)
    write_atomic(path, after)
    return FlagChange(str(path), flag, before, after, old, new)


def restore(
    path: str | Path, *, before: bytes, after: bytes, flag: str, old: dict[str, Any]
) -> str:
    """Undo a change: the exact previous bytes when nobody touched the file since, else only
    this flag's previous setting (other flags changed meanwhile are kept). Returns which."""
    current = read_bytes(path)
    if current == after:
        write_atomic(path, before)
        return "restored byte for byte"
    doc = parse(current, path=path)
    if flag not in doc["flags"]:
        raise NotFound(f"flag {flag!r} was removed from {path} since; nothing to restore")
    f = doc["flags"][flag]
    if old.get("defaultVariant") is not None:
        f["defaultVariant"] = old["defaultVariant"]
    f["state"] = old.get("state", "ENABLED")
    write_atomic(path, _serialise(doc, current))
    return "file changed since; restored this flag's previous setting only"
