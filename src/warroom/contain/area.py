"""Contain: levers, runbooks, verification from the numbers, drills."""

from warroom.core.registry import Area

AREA = Area(
    name="contain",
    summary="Typed reversible levers, runbooks as checklists, verify recovery, drills.",
    tables=("warroom.contain.tables",),
    cli=("warroom.cli.drills", "warroom.cli.verify", "warroom.cli.runbooks", "warroom.cli.contain"),
    routers=(
        "warroom.web.api.contain:router",
        "warroom.web.pages.contain:router",
        "warroom.web.pages.drills:router",
    ),
    panels=("warroom.web.pages.contain:contain_panel",),
)
