"""On call: people, schedules, escalation policies, paging and acknowledgement."""

from warroom.core.registry import Area

AREA = Area(
    name="oncall",
    summary="Who is on call, escalation policies, paging with acknowledgement, telling people.",
    tables=("warroom.oncall.tables",),
    cli=("warroom.cli.oncall",),
    routers=("warroom.web.api.oncall:router", "warroom.web.pages.oncall:router"),
    panels=("warroom.web.pages.oncall:oncall_panel",),
    notices=("warroom.oncall.schedules:desk_notices",),
    after_declare=("warroom.oncall.paging:page_on_declare", "warroom.oncall.tell:on_declared"),
    after_event=("warroom.oncall.paging:page_on_event", "warroom.oncall.tell:on_event"),
    jobs=("warroom.oncall.paging:tick",),
)
