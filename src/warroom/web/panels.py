"""Panels that area modules add to the right-hand column of the incident page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from warroom.db import Database
from warroom.incidents import Incident

PanelProvider = Callable[[Database, Incident], tuple[str, dict[str, Any]] | None]
PANELS: dict[str, PanelProvider] = {}


def register_panel(name: str, provider: PanelProvider) -> None:
    """Add (or replace) a panel; `provider` returns (template, context) or None to hide it."""
    PANELS[name] = provider


def render_context(db: Database, incident: Incident) -> list[tuple[str, dict[str, Any]]]:
    """The panels to show for one incident, in registration order."""
    out = []
    for provider in PANELS.values():
        panel = provider(db, incident)
        if panel is not None:
            out.append(panel)
    return out
