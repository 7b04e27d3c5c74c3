"""SLO files as YAML documents (both forms read them the same way)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from warroom.core.errors import InvalidInput
from warroom.core.limits import check_yaml_depth


def yaml_documents(text: str, *, source: str) -> list[dict[str, Any]]:
    """The mappings of a YAML file: one per document, or per item of a top-level list of
    OpenSLO objects (the form the OpenSLO SDK examples use)."""
    check_yaml_depth(text, field="file")  # before the loader recurses into it
    try:
        raw = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"{source}:{at} is not valid YAML: {exc}", field="file") from None
    docs: list[dict[str, Any]] = []
    for d in raw:
        if isinstance(d, list) and d and all(isinstance(x, dict) and "apiVersion" in x for x in d):
            docs.extend(d)
        elif isinstance(d, dict):
            docs.append(d)
        else:
            raise InvalidInput(
                f"{source}: document {len(docs) + 1} must be a mapping", field="file"
            )
    return docs


def read_text(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"SLO file {p} does not exist", field="slo") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read SLO file {p}: {exc}", field="slo") from None
