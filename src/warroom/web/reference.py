"""docs/api.md: every REST endpoint, grouped by area, from the app's own OpenAPI document.

    python -m warroom.web.reference > docs/api.md      (make reference)

The full schema (request and response bodies) is served by a running desk at
`/api/v1/openapi.json`, browsable at `/docs`; this page is the map. tests/test_docs_site.py
checks that the checked-in page is current.
"""

from __future__ import annotations

import sys
from typing import Any

from warroom.core.config import Settings
from warroom.web.app import create_app

HEADER = """\
# REST API reference

Generated from the application's OpenAPI document by `make reference`
(`python -m warroom.web.reference`); a test fails when it is out of date. A running desk
serves the whole schema, bodies and responses included, at `/api/v1/openapi.json` and
browsable at [`/docs`](http://127.0.0.1:8000/docs). How to call it (the acting person, tokens,
errors): [the desk](desk.md#the-rest-api), [Security](security.md).
"""

METHODS = ("get", "post", "put", "patch", "delete")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def spec() -> dict[str, Any]:
    # An in-memory SQLite URL: the schema is built without opening any database.
    return create_app(Settings(database_url="sqlite:///:memory:")).openapi()


def render(document: dict[str, Any] | None = None) -> str:
    """The whole page."""
    document = document or spec()
    by_tag: dict[str, list[str]] = {}
    for path in sorted(document["paths"]):
        ops = document["paths"][path]
        for method in METHODS:
            op = ops.get(method)
            if op is None:
                continue
            tag = (op.get("tags") or ["other"])[0]
            text = (op.get("description") or op.get("summary") or "").strip().split("\n\n")[0]
            by_tag.setdefault(tag, []).append(f"| `{method.upper()}` | `{path}` | {_cell(text)} |")
    parts = [HEADER, f"Version {document['info']['version']}.", ""]
    for tag in sorted(by_tag):
        parts += [f"## {tag}", "", "| method | path | does |", "| --- | --- | --- |"]
        parts += [*by_tag[tag], ""]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
