"""Comms: status updates, heartbeat, notifications, service catalog, status page."""

from warroom.core.registry import Area

AREA = Area(
    name="comms",
    summary="Status updates on a heartbeat, notifications, the service catalog, status page.",
    tables=("warroom.comms.tables",),
    cli=("warroom.cli.comms",),
    routers=("warroom.web.api.comms:router", "warroom.web.pages.comms:router"),
    panels=("warroom.web.pages.comms:comms_panel",),
    desk=("warroom.comms.heartbeat:desk_columns",),
    jobs=("warroom.comms.worker:tick",),
)
