"""The incidents core as an area: declare, stages, roles, tasks, notes, the desk."""

from warroom.core.registry import Area

AREA = Area(
    name="incidents",
    summary="Declare, move through the stages, command, assign, record; the desk.",
    tables=("warroom.incidents.tables",),
    cli=("warroom.cli.incidents", "warroom.cli.tasks"),
    routers=("warroom.web.api.incidents:router", "warroom.web.pages.incidents:router"),
)
