"""Runbooks as Markdown checklists: parse one file, load the shipped and configured ones.

Front matter (optional YAML) says where a runbook applies; the checklist items are its
steps; a step with `` `lever: NAME param=value` `` pulls a lever, one with `` `run: COMMAND` ``
runs a command, the others are manual. Errors name the file and the line.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warroom.contain import config
from warroom.contain.levers import parse_param_args
from warroom.core.config import Settings
from warroom.core.errors import InvalidInput, NotFound
from warroom.core.limits import check_yaml_depth

SHIPPED = Path(__file__).parent / "library"

_ITEM_RE = re.compile(r"^\s*[-*+]\s+\[(?P<mark>[ xX])\]\s+(?P<text>.+?)\s*$")
_AUTO_RE = re.compile(r"`(?P<kind>lever|run):\s*(?P<target>[^`]+)`")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


@dataclass(frozen=True)
class RunbookStep:
    number: int
    text: str
    section: str
    kind: str  # manual | lever | command
    target: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def automated(self) -> bool:
        return self.kind != "manual"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "text": self.text,
            "section": self.section,
            "kind": self.kind,
            "target": self.target,
            "params": self.params,
        }


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str
    alerts: tuple[str, ...]
    services: tuple[str, ...]
    routes: tuple[str, ...]
    keywords: tuple[str, ...]
    intro: str
    steps: tuple[RunbookStep, ...]
    path: str
    sha256: str

    def step(self, number: int) -> RunbookStep:
        if not 1 <= number <= len(self.steps):
            raise NotFound(f"runbook {self.name} has steps 1 to {len(self.steps)}, not {number}")
        return self.steps[number - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "alerts": list(self.alerts),
            "services": list(self.services),
            "routes": list(self.routes),
            "keywords": list(self.keywords),
            "intro": self.intro,
            "steps": [s.to_dict() for s in self.steps],
            "path": self.path,
            "sha256": self.sha256,
        }


def _list(value: Any, name: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return tuple(str(v) for v in value)
    raise InvalidInput(f"{where}: front matter {name} must be a list of strings", field=name)


def parse(text: str, *, name: str, path: str = "") -> Runbook:
    """A runbook from its Markdown; errors name the file and line."""
    where = path or name
    lines = text.splitlines()
    meta: dict[str, Any] = {}
    body_start = 0
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration:
            raise InvalidInput(
                f"{where}: front matter opened with --- on line 1 is never closed with ---"
            ) from None
        front = "\n".join(lines[1:end])
        check_yaml_depth(front, field="front matter")  # before the loader recurses into it
        try:
            loaded = yaml.safe_load(front) or {}
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{where}: front matter is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise InvalidInput(f"{where}: front matter must be key: value pairs")
        meta = loaded
        body_start = end + 1
    title = str(meta.get("title") or "")
    section = ""
    intro: list[str] = []
    steps: list[RunbookStep] = []
    for lineno, line in enumerate(lines[body_start:], body_start + 1):
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            if line.startswith("# ") and not title:
                title = heading
            elif not line.startswith("# "):
                section = heading
            continue
        m = _ITEM_RE.match(line)
        if not m:
            if not steps and line.strip() and not section:
                intro.append(line.strip())
            continue
        step_text = m.group("text")
        auto = _AUTO_RE.search(step_text)
        kind, target, params = "manual", "", {}
        if auto:
            if auto.group("kind") == "lever":
                parts = auto.group("target").split()
                target = parts[0]
                params = parse_param_args(parts[1:])
                kind = "lever"
            else:
                target = auto.group("target").strip()
                try:
                    shlex.split(target)
                except ValueError as exc:
                    raise InvalidInput(
                        f"{where} line {lineno}: command {target!r}: {exc}"
                    ) from None
                kind = "command"
            step_text = (step_text[: auto.start()] + step_text[auto.end() :]).strip() or target
        steps.append(RunbookStep(len(steps) + 1, step_text, section, kind, target, params))
    if not steps:
        raise InvalidInput(f"{where}: a runbook needs at least one checklist step (- [ ] ...)")
    return Runbook(
        name=name,
        title=title or name,
        alerts=_list(meta.get("alerts"), "alerts", where),
        services=_list(meta.get("services"), "services", where),
        routes=_list(meta.get("routes"), "routes", where),
        keywords=_list(meta.get("keywords"), "keywords", where),
        intro=" ".join(intro),
        steps=tuple(steps),
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def load_all(settings: Settings) -> dict[str, Runbook]:
    """Every runbook by name (file stem); configured directories override shipped files."""
    found: dict[str, Runbook] = {}
    for d in [SHIPPED, *config.runbook_dirs(settings)]:
        if not d.is_dir():
            if d != SHIPPED:
                raise InvalidInput(
                    f"runbook directory {d} (warroom.toml [contain] runbook_dirs) does not exist",
                    field="runbook_dirs",
                )
            continue
        for f in sorted(d.glob("*.md")):
            if f.name.lower() == "readme.md":
                continue
            found[f.stem] = parse(f.read_text(encoding="utf-8"), name=f.stem, path=str(f))
    return found


def get(
    name: str, *, settings: Settings | None = None, runbooks: dict[str, Runbook] | None = None
) -> Runbook:
    """The runbook called `name` (from `runbooks`, else loaded with `settings`)."""
    books = runbooks if runbooks is not None else load_all(settings or Settings())
    if name not in books:
        raise NotFound(
            f"no runbook {name!r}: runbooks are {', '.join(sorted(books))}", field="runbook"
        )
    return books[name]
