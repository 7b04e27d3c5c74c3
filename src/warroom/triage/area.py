"""Triage as an area: commands only (the engine keeps no state)."""

from warroom.core.registry import Area

AREA = Area(
    name="triage",
    summary="From raw access logs, app logs and changes: onset, impact, suspects, advice.",
    cli=("warroom.cli.triage",),
    routers=("warroom.web.pages.triage:router",),
)
