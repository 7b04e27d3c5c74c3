"""Recover: the product database's data, with PostgreSQL's own tools."""

from warroom.core.registry import Area

AREA = Area(
    name="recover",
    summary="Product data: recovery readiness, side restore to a point in time, damage diff, "
    "reviewed repair.",
    cli=("warroom.cli.data",),
    panels=("warroom.web.pages.recover:recover_panel",),
)
