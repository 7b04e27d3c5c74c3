"""Flag levers: change one flag of the OpenFeature flagd file; undo restores the exact bytes.

[levers.checkout-v2-off]
kind = "flag"
flag = "new-checkout"
variant = "off"               # and/or state = "DISABLED"
file = "flags.json"           # default: [contain] flag_file
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx

from warroom.contain import flags
from warroom.contain.config import DEFAULT_FLAG_FILE
from warroom.contain.levers.base import (
    Lever,
    Outcome,
    Recorded,
    config_error,
    failed_start,
    fill,
)
from warroom.core.errors import InvalidInput, NotFound


@dataclass(frozen=True, kw_only=True)
class FlagLever(Lever):
    """Set `defaultVariant` and/or `state` of one flag in a flagd JSON file."""

    kind = "flag"

    flag: str
    flag_file: str = DEFAULT_FLAG_FILE
    variant: str | None = None
    state: str | None = None

    @classmethod
    def from_table(cls, raw: dict[str, Any], *, flag_file: str | None, **common: Any) -> Self:
        name = common["name"]
        if not raw.get("flag"):
            raise config_error(name, 'a flag lever needs flag = "NAME"')
        if raw.get("variant") is None and raw.get("state") is None:
            raise config_error(name, 'a flag lever needs variant = "off" or state = "DISABLED"')
        return cls(
            **common,
            flag_file=str(raw.get("file") or flag_file or DEFAULT_FLAG_FILE),
            flag=str(raw["flag"]),
            variant=None if raw.get("variant") is None else str(raw["variant"]),
            state=None if raw.get("state") is None else str(raw["state"]),
        )

    @classmethod
    def undeclared(cls, name: str, record: Recorded) -> Lever:
        # The record holds the file and its previous bytes: enough to undo without the table.
        return cls(name=name, flag=str(record.before.get("flag", "")), state="")

    def path(self) -> Path:
        p = Path(self.flag_file).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    def _setting(self, values: dict[str, str]) -> tuple[str | None, str | None]:
        variant = fill(self.variant, values) if self.variant else None
        state = fill(self.state, values) if self.state else None
        return variant, state

    def dry_run(self, values: dict[str, str]) -> tuple[list[str], list[str]]:
        path = self.path()
        variant, state = self._setting(values)
        content = flags.read_bytes(path)
        doc = flags.parse(content, path=path)
        old, new, _ = flags.plan_change(content, self.flag, variant=variant, state=state, path=path)
        changes = [
            f"{k} {old[k]} -> {new[k]}" for k in ("state", "defaultVariant") if old[k] != new[k]
        ] or ["no change (already set)"]
        after = (
            None
            if new["state"] == "DISABLED"
            else doc["flags"][self.flag]["variants"].get(new["defaultVariant"])
        )
        action = (
            f"set flag {self.flag} in {path}: {', '.join(changes)} "
            f"(value {json.dumps(flags.resolved(doc).get(self.flag))} -> {json.dumps(after)})"
        )
        return [action], [f"restore {path} to its exact previous bytes"]

    def apply(self, values: dict[str, str], *, transport: httpx.BaseTransport | None) -> Outcome:
        path = self.path()
        variant, state = self._setting(values)
        try:
            change = flags.set_flag(path, self.flag, variant=variant, state=state)
        except OSError as exc:
            return failed_start(f"write {path}", exc)
        return Outcome(
            before=_snapshot(path, self.flag, change.old, change.before),
            after=_snapshot(path, self.flag, change.new, change.after),
            steps=[{"step": 1, "status": "done", "action": f"set flag {self.flag} in {path}"}],
        )

    def undo_plan(self, record: Recorded) -> list[str]:
        b = record.before
        if "bytes_b64" not in b:  # the file was never written (the lever failed to start)
            return ["nothing to reverse"]
        return [
            f"restore {b.get('file')} to its previous bytes (flag {b.get('flag')}"
            f" back to {b.get('state')}/{b.get('defaultVariant')})"
        ]

    def undo(self, record: Recorded, *, transport: httpx.BaseTransport | None) -> Outcome:
        b = record.before
        if "bytes_b64" not in b:
            return Outcome()
        try:
            note = flags.restore(
                b["file"],
                before=base64.b64decode(b["bytes_b64"]),
                after=base64.b64decode(record.after["bytes_b64"]),
                flag=b["flag"],
                old={"state": b.get("state"), "defaultVariant": b.get("defaultVariant")},
            )
        except (OSError, NotFound, InvalidInput) as exc:
            return failed_start("restore flag file", exc)
        return Outcome(steps=[{"step": 1, "status": "done", "action": note}], note=note)


def _snapshot(path: Path, flag: str, setting: dict[str, Any], content: bytes) -> dict[str, Any]:
    """The flag file as recorded: the flag's setting and the file's exact bytes."""
    return {
        "file": str(path),
        "flag": flag,
        **setting,
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes_b64": base64.b64encode(content).decode(),
    }
