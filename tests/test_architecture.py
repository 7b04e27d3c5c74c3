"""The house stays as drawn: every area registered and resolvable, every hint renderable."""

from __future__ import annotations

import ast
import pkgutil
import re
from pathlib import Path

import pytest
import typer.main

import warroom
from warroom import areas
from warroom.cli import hints
from warroom.cli.main import app
from warroom.core import registry
from warroom.core.errors import ACTIONS, Hint
from warroom.core.registry import Area, Registry, RegistryError
from warroom.web import errors as web_errors


def test_every_reference_of_every_area_resolves() -> None:
    areas.REGISTRY.check()


def test_every_package_with_an_area_file_is_registered() -> None:
    registered = {a.name for a in areas.REGISTRY.areas}
    packages = {
        info.name
        for info in pkgutil.iter_modules(warroom.__path__)
        if info.ispkg and pkgutil.find_loader(f"warroom.{info.name}.area") is not None
    }
    assert packages == registered


def test_a_misspelled_reference_fails_loudly_naming_the_area() -> None:
    broken = Registry(
        (Area("typo", "a misspelled router", routers=("warroom.web.api.lern:router",)),)
    )
    with pytest.raises(RegistryError, match="area 'typo'.*warroom.web.api.lern"):
        broken.check()
    missing_attr = Registry((Area("typo", "a missing gate", jobs=("warroom.comms.worker:tik",)),))
    with pytest.raises(RegistryError, match="has no attribute 'tik'"):
        missing_attr.check()


def test_an_area_registered_twice_is_refused() -> None:
    one = Area("twice", "the same area")
    with pytest.raises(RegistryError, match="twice"):
        Registry((one, one))


def test_extra_area_is_active_only_inside_the_block() -> None:
    seen: list[str] = []
    probe = Area("probe", "records", after_declare=(lambda *a: seen.append("x"),))
    before = len(registry.active().after_declare())
    with registry.extra_area(probe) as active:
        assert len(active.after_declare()) == before + 1
    assert len(registry.active().after_declare()) == before


def _command_names() -> set[str]:
    group = typer.main.get_command(app)
    names: set[str] = set()
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        names.add(name)
        for sub in getattr(cmd, "commands", {}):
            names.add(f"{name} {sub}")
    return names


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_hint_action_renders_in_the_cli_and_on_the_web(action: str) -> None:
    hint = Hint(action, "do it", incident="INC-7")
    command = hints.command(hint)
    assert command
    if command.startswith("warroom "):
        words = command.split()[1:]
        names = _command_names()
        assert words[0] in names or " ".join(words[:2]) in names, command
    link = web_errors.link(hint)
    assert link["label"] and "{" not in link["label"] + link["href"]


def test_a_hint_with_an_unknown_action_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown hint action"):
        Hint("fly", "fly away")


DOMAIN = (
    "incidents",
    "detect",
    "comms",
    "contain",
    "learn",
    "trust",
    "access",
    "oncall",
    "recover",
    "core",
)


def _texts(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string literal but docstrings; f-string fields become INC-1."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "INC-1" for v in node.values)
            out.append((node.lineno, text))
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        ):
            out.append((node.lineno, node.value))
    return out


SHELL_SYNTAX = re.compile(r"\bwarroom (?:[a-z-]+ )?(?:INC|[A-Z]{2,}|--|[a-z-]+ [A-Z])|`warroom ")


def test_domain_messages_carry_no_shell_syntax() -> None:
    """Errors and warnings speak words and carry hints; only the shells write commands."""
    root = Path(warroom.__file__).parent
    offenders = []
    for package in DOMAIN:
        for path in sorted((root / package).rglob("*.py")):
            for line, text in _texts(ast.parse(path.read_text())):
                if SHELL_SYNTAX.search(text):
                    offenders.append(f"{path.relative_to(root)}:{line}: {text!r}")
    assert offenders == []


# Modules that import nothing inside a function (no late imports to dodge a cycle), except
# where the shell loads a heavy library late for start-up time under a comment that starts
# "Lazy on purpose". Other areas join the list as they are converted.
NO_LATE_IMPORTS = ("incidents", "core", "trust", "oncall")
SHELL_MODULES = (
    "cli/incidents.py",
    "cli/trust.py",
    "cli/system.py",
    "cli/common.py",
    "web/app.py",
    "web/deps.py",
    "web/api/incidents.py",
    "web/pages/incidents.py",
    "cli/oncall.py",
    "web/api/oncall.py",
    "web/pages/oncall.py",
)


def _late_imports(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    found = []
    for fn in ast.walk(ast.parse(path.read_text())):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            module = node.module if isinstance(node, ast.ImportFrom) else names[0]
            body = "\n".join(lines[fn.lineno - 1 : node.lineno])
            if "# Lazy on purpose" in body and "TYPE_CHECKING" not in body:
                continue
            found.append(f"{path.name}:{node.lineno}: {module}")
    return found


def test_no_import_inside_a_function_without_a_documented_reason() -> None:
    root = Path(warroom.__file__).parent
    paths = [p for pkg in NO_LATE_IMPORTS for p in sorted((root / pkg).rglob("*.py"))]
    paths += [root / m for m in SHELL_MODULES]
    assert [hit for p in paths for hit in _late_imports(p)] == []


# The incidents package, bottom to top: each module imports only from those before it.
INCIDENTS_LAYERS = (
    "tables",
    "incident_types",
    "privacy",
    "model",
    "store",
    "listing",
    "ledger",
    "timeline",
    "announce",
    "roles",
    "tasks",
    "lifecycle",
    "artifacts",
    "desk",
    "area",
)


def test_the_incidents_package_imports_downward_only() -> None:
    root = Path(warroom.__file__).parent / "incidents"
    assert {p.stem for p in root.glob("*.py")} - {"__init__"} == set(INCIDENTS_LAYERS)
    upward = []
    for i, name in enumerate(INCIDENTS_LAYERS):
        allowed = set(INCIDENTS_LAYERS[:i])
        for node in ast.walk(ast.parse((root / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                for t in targets:
                    if t.startswith("warroom.incidents.") and t.split(".")[2] not in allowed:
                        upward.append(f"{name} imports {t}")
                if node.module == "warroom" and any(a.name == "incidents" for a in node.names):
                    upward.append(f"{name} imports the facade warroom.incidents")
    assert upward == []


def test_openapi_schema_names_are_unique_across_areas() -> None:
    """Two areas' models with one name get module-qualified names; keep them distinct."""
    from warroom.core.config import Settings
    from warroom.web.app import create_app

    spec = create_app(Settings(database_url="sqlite://")).openapi()
    qualified = [name for name in spec["components"]["schemas"] if "__" in name]
    assert qualified == []
