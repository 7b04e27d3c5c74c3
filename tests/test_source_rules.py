"""House rules a linter does not know: small modules, and no warroom import inside a function.

Each test lists every offending file (with its line count, or the line of each import), so a
failure says what to split or to move, not only that something is wrong.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import warroom

ROOT = Path(warroom.__file__).parent
MAX_LINES = 550  # the rule says ~500; past this a module holds several concepts
LAZY_MARK = re.compile(r"#\s*lazy\b", re.IGNORECASE)  # "# lazy: why", "# Lazy on purpose: why"


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations/versions" not in p.as_posix())


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT.parent))


def test_no_module_is_over_550_lines() -> None:
    too_long = [
        f"{_name(p)}: {n} lines"
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert too_long == [], "split these modules along their concepts:\n" + "\n".join(too_long)


def _is_warroom(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return node.level > 0 or module == "warroom" or module.startswith("warroom.")
    return any(a.name == "warroom" or a.name.startswith("warroom.") for a in node.names)


def _marked(lines: list[str], lineno: int) -> bool:
    """A `# lazy: why` comment on the import, or in the comments and imports right above it
    (blank lines between them too: isort puts one between third-party and warroom imports)."""
    i = lineno - 1
    if LAZY_MARK.search(lines[i]):
        return True
    i -= 1
    while i >= 0:
        text = lines[i].strip()
        if text and not text.startswith(("#", "from ", "import ")):
            return False
        if LAZY_MARK.search(text):
            return True
        i -= 1
    return False


def lazy_imports(source: str) -> list[int]:
    """Lines of warroom imports inside a function that no `# lazy:` comment explains."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found: set[int] = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Import | ast.ImportFrom)
                and _is_warroom(node)
                and not _marked(lines, node.lineno)
            ):
                found.add(node.lineno)
    return sorted(found)


def test_lazy_import_check_sees_unmarked_imports_only() -> None:
    source = (
        "import os\n"
        "from warroom.core import clock\n"
        "def a():\n"
        "    from warroom import incidents\n"
        "def b():\n"
        "    # Lazy on purpose: the database stack loads only for this command\n"
        "    from warroom.core import migrate\n"
        "    from warroom.core.db import Database\n"
        "def c():\n"
        "    # lazy: the web stack loads only for serve\n"
        "    import uvicorn\n"
        "\n"
        "    from warroom.web.app import create_app\n"
        "def d():\n"
        "    import json\n"
        "    from . import sibling\n"
        "    import warroom.core.db  # lazy: keeps --help fast\n"
    )
    assert lazy_imports(source) == [4, 16]


def test_no_warroom_import_inside_a_function_without_a_lazy_comment() -> None:
    """Break cycles by moving code; a late import is only for start-up time, and says so."""
    offenders = [
        f"{_name(p)}: line {', '.join(map(str, found))}"
        for p in _modules()
        if (found := lazy_imports(p.read_text(encoding="utf-8")))
    ]
    assert offenders == [], (
        "warroom imports inside a function: move them to the top (break a cycle by moving "
        "code), or explain a start-up-time reason in a `# lazy:` comment:\n" + "\n".join(offenders)
    )


def test_the_vulture_whitelist_names_only_code_that_exists() -> None:
    """A renamed or deleted entry point must leave the whitelist too (it would hide dead code)."""
    try:
        module = importlib.import_module("vulture_whitelist")
    except AttributeError as exc:
        raise AssertionError(f"tests/vulture_whitelist.py names what is gone: {exc}") from None
    assert module.comms_worker.tick is not None
