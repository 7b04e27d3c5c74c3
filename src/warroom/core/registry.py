"""The area registry: the one place an area plugs in.

Each area describes itself in its own `area.py` with an `Area`: its tables, CLI modules, web
routers, incident-page panels, desk columns, stage gates, hooks and background jobs.
`warroom.areas` lists every area of this build; the CLI, the web app, the worker and the
domain's extension points (stage gates, after-declare hooks) are all built from it.

References to code are `"module:attribute"` strings (or the callable itself, for tests),
resolved when first needed: an area's description stays cheap to import (the CLI starts
without loading the web stack) and can name its shells, which sit above it.
`Registry.check()` resolves every reference and fails loudly, naming the area, on a missing
module or a misspelled name; `create_app`, the worker and a test call it, so a typo never
drops an area silently.

    Area(
        name="learn",
        summary="Root cause, postmortems, action items, recurrence, reports.",
        tables=("warroom.learn.tables",),
        cli=("warroom.cli.learn",),
        routers=("warroom.web.api.learn:router", "warroom.web.pages.learn:router"),
        stage_gates={"closed": ("warroom.learn.actions:close_gate",)},
    )

Hook signatures (what each reference must be):
    tables         a module defining tables on `warroom.incidents.tables.metadata`
    cli            a module with `register(app: typer.Typer)`
    routers        an `APIRouter` (tried in registry order; alert intake first)
    panels         fn(db, incident, settings) -> (template, context) | None   (incident page)
    desk           fn(db, settings, entries) -> None: adds columns/warnings to desk entries
    stage_gates    fn(db, conn, row, reason, *, actor) raising InvalidTransition to refuse a move
    after_declare  fn(db, incident, actor) after a declaration commits (errors are logged)
    after_attach   fn(db, artifact, actor) after an artifact is attached
    after_event    fn(db, incident_key, kind, data, actor) after a verb that others react to
                   commits (severity, roles, tasks, action items, services: see
                   `incidents.announce_event`); errors are logged
    notices        fn(db, settings) -> list[Nag]: warnings about no one incident (a gap in an
                   on-call schedule), shown at the top of the desk and of `list`
    jobs           fn(db, settings, worker_name) -> dict, run by the worker on every tick
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


class RegistryError(RuntimeError):
    """An area names code that does not exist: a bug in this build, not bad input."""


Ref = str | Callable[..., Any]


def resolve(ref: Ref, *, area: str = "?") -> Any:
    """`"pkg.module:name"` -> the object; `"pkg.module"` -> the module; a callable -> itself."""
    if not isinstance(ref, str):
        return ref
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise RegistryError(
            f"area {area!r} names module {module_name!r}, which cannot be imported ({exc})"
        ) from exc
    if not attr:
        return module
    try:
        return getattr(module, attr)
    except AttributeError:
        raise RegistryError(
            f"area {area!r} names {ref!r}, but {module_name} has no attribute {attr!r}"
        ) from None


@dataclass(frozen=True)
class Area:
    """What one area adds to warroom (see the module docstring for each hook's signature)."""

    name: str
    summary: str
    tables: tuple[Ref, ...] = ()
    cli: tuple[Ref, ...] = ()
    routers: tuple[Ref, ...] = ()
    panels: tuple[Ref, ...] = ()
    desk: tuple[Ref, ...] = ()
    stage_gates: Mapping[str, tuple[Ref, ...]] = field(default_factory=dict)
    after_declare: tuple[Ref, ...] = ()
    after_attach: tuple[Ref, ...] = ()
    after_event: tuple[Ref, ...] = ()
    notices: tuple[Ref, ...] = ()
    jobs: tuple[Ref, ...] = ()
    route_order: int = 100  # lower is matched first (alert intake, the busiest path, is 0)

    def refs(self) -> Iterator[tuple[str, Ref]]:
        """(hook, reference) for every reference this area makes."""
        for hook in ("tables", "cli", "routers", "panels", "desk"):
            for ref in getattr(self, hook):
                yield hook, ref
        for stage, gates in self.stage_gates.items():
            for ref in gates:
                yield f"stage_gates[{stage}]", ref
        for hook in ("after_declare", "after_attach", "after_event", "notices", "jobs"):
            for ref in getattr(self, hook):
                yield hook, ref


class Registry:
    """The areas of one build, in order; each hook resolved once, on first use."""

    def __init__(self, areas: tuple[Area, ...]) -> None:
        names = [a.name for a in areas]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise RegistryError(f"areas registered twice: {', '.join(dupes)}")
        self.areas = areas
        self._cache: dict[str, list[Any]] = {}

    def area(self, name: str) -> Area:
        for a in self.areas:
            if a.name == name:
                return a
        raise RegistryError(f"no area named {name!r}")

    def _collect(self, key: str, pick: Callable[[Area], tuple[Ref, ...]]) -> list[Any]:
        if key not in self._cache:
            self._cache[key] = [resolve(ref, area=a.name) for a in self.areas for ref in pick(a)]
        return self._cache[key]

    def tables(self) -> list[Any]:
        return self._collect("tables", lambda a: a.tables)

    def cli_modules(self) -> list[Any]:
        return self._collect("cli", lambda a: a.cli)

    def routers(self) -> list[Any]:
        """Every router, by the areas' `route_order`, then registry order."""
        if "routers" not in self._cache:
            ordered = sorted(self.areas, key=lambda a: a.route_order)
            self._cache["routers"] = [resolve(r, area=a.name) for a in ordered for r in a.routers]
        return self._cache["routers"]

    def panels(self) -> list[Callable[..., Any]]:
        return self._collect("panels", lambda a: a.panels)

    def desk(self) -> list[Callable[..., Any]]:
        return self._collect("desk", lambda a: a.desk)

    def stage_gates(self, stage: str) -> list[Callable[..., Any]]:
        return self._collect(f"gates:{stage}", lambda a: a.stage_gates.get(stage, ()))

    def after_declare(self) -> list[Callable[..., Any]]:
        return self._collect("after_declare", lambda a: a.after_declare)

    def after_attach(self) -> list[Callable[..., Any]]:
        return self._collect("after_attach", lambda a: a.after_attach)

    def after_event(self) -> list[Callable[..., Any]]:
        return self._collect("after_event", lambda a: a.after_event)

    def notices(self) -> list[Callable[..., Any]]:
        return self._collect("notices", lambda a: a.notices)

    def jobs(self) -> list[Callable[..., Any]]:
        return self._collect("jobs", lambda a: a.jobs)

    def check(self) -> None:
        """Resolve every reference of every area; raise RegistryError naming the first bad one."""
        for a in self.areas:
            for _hook, ref in a.refs():
                resolve(ref, area=a.name)

    def with_area(self, extra: Area) -> Registry:
        """This registry plus one more area (tests add probes this way)."""
        return Registry((*self.areas, extra))


_active: Registry | None = None


def install(registry: Registry | None) -> None:
    """Make `registry` the one the domain's extension points use (None: back to the default)."""
    global _active
    _active = registry


def active() -> Registry:
    """The installed registry; on first use, this build's areas (`warroom.areas`).

    Imported by name, once: the core sits below the areas and must not import them, yet a
    script that calls `incidents.move` directly must obey the same stage gates as the CLI.
    """
    if _active is None:
        install(resolve("warroom.areas:REGISTRY", area="warroom"))
    assert _active is not None
    return _active


@contextmanager
def extra_area(extra: Area) -> Iterator[Registry]:
    """Install the active registry plus `extra` for the duration of a `with` block."""
    before = active()
    install(before.with_area(extra))
    try:
        yield active()
    finally:
        install(before)
