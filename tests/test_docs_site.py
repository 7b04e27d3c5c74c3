"""The documentation site: it builds strictly, the generated references are current, and every
docs path named in the code, the messages and the docs exists."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from markdown.extensions.toc import slugify

from conftest import need
from warroom.cli import reference as cli_reference
from warroom.web import reference as api_reference

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# `docs/<page>.md`, optionally with `#anchor`, as code, messages and pages name them.
DOC_PATH = re.compile(r"docs/([a-z0-9_.-]+\.md)(#[a-z0-9_-]+)?")
# Markdown links: [text](target), targets without a scheme.
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def anchors(page: Path) -> set[str]:
    """The heading anchors MkDocs gives a page (its toc slugs)."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    out = set()
    for line in text.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            out.add(slugify(m.group(1), "-"))
    return out


def test_the_cli_reference_is_current() -> None:
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert page == cli_reference.render(), "docs/cli.md is stale: run make reference"
    assert "## warroom init" in page and "## warroom db status" in page


def test_the_api_reference_is_current() -> None:
    page = (DOCS / "api.md").read_text(encoding="utf-8")
    assert page == api_reference.render(), "docs/api.md is stale: run make reference"
    assert "`/api/v1/incidents/{key}`" in page


def test_every_docs_path_named_in_code_messages_and_docs_exists() -> None:
    sources = [ROOT / "README.md", ROOT / "Makefile", ROOT / "mkdocs.yml"]
    sources += sorted((ROOT / "src").rglob("*.py")) + sorted((ROOT / "src").rglob("*.html"))
    sources += sorted(DOCS.glob("*.md")) + sorted((ROOT / "tests").glob("*.py"))
    missing = []
    for source in sources:
        for m in DOC_PATH.finditer(source.read_text(encoding="utf-8")):
            page = DOCS / m.group(1)
            if not page.is_file():
                missing.append(f"{source.relative_to(ROOT)}: docs/{m.group(1)}")
            elif m.group(2) and m.group(2)[1:] not in anchors(page):
                missing.append(f"{source.relative_to(ROOT)}: docs/{m.group(1)}{m.group(2)}")
    assert missing == [], missing


def test_every_link_of_the_readme_resolves() -> None:
    text = FENCE.sub("", (ROOT / "README.md").read_text(encoding="utf-8"))
    targets = [t for t in LINK.findall(text) if "://" not in t and not t.startswith("mailto:")]
    assert len(targets) >= 15
    broken = []
    for target in targets:
        path, _, anchor = target.partition("#")
        file = ROOT / path
        if not file.is_file() or anchor and anchor not in anchors(file):
            broken.append(target)
    assert broken == [], broken


def test_the_nav_names_only_pages_that_exist_and_the_readme_links_every_area() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, dict):
            return [p for v in node.values() for p in pages(v)]
        if isinstance(node, list):
            return [p for v in node for p in pages(v)]
        return []

    nav = pages(config["nav"])
    assert [p for p in nav if not (DOCS / p).is_file()] == []
    assert len(nav) == len(set(nav))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("getting-started.md", "configuration.md", "cli.md", "api.md", "operations.md"):
        assert f"(docs/{page}" in readme


def test_the_readme_is_a_landing_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    assert "make run" in readme and "make test" in readme
    for package in ("chromium", "prometheus", "prometheus-alertmanager", "victoria-metrics"):
        assert package in readme


@pytest.mark.slow
def test_mkdocs_builds_strictly(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    need(mkdocs.exists() or shutil.which("mkdocs") is not None, "mkdocs is not installed")
    res = subprocess.run(
        [str(mkdocs if mkdocs.exists() else "mkdocs"), "build", "--strict", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "configuration.html").is_file() and (tmp_path / "cli.html").is_file()


def test_make_run_takes_port_host_and_config_and_the_license_is_spdx() -> None:
    make = shutil.which("make")
    need(make is not None, "make is not installed")
    res = subprocess.run(
        [str(make), "-n", "run", "PORT=8123", "HOST=127.0.0.2", "CONFIG=demo/warroom.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    serve = [line for line in res.stdout.splitlines() if "warroom serve" in line]
    assert serve == [
        ".venv/bin/warroom serve --host 127.0.0.2 --port 8123 --config demo/warroom.toml"
    ]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"  # SPDX: no setuptools deprecation
