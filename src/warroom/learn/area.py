"""Learn: root cause, postmortems, action items, recurrence, reports."""

from warroom.core.registry import Area

AREA = Area(
    name="learn",
    summary="Root cause, blameless postmortems, action items, recurrence, reports.",
    tables=("warroom.learn.tables",),
    cli=("warroom.cli.learn",),
    routers=("warroom.web.api.learn:router", "warroom.web.pages.learn:router"),
    panels=("warroom.web.pages.learn:learn_panel",),
    desk=("warroom.learn.postmortems:desk_columns",),
    stage_gates={"closed": ("warroom.learn.actions:close_gate",)},
    after_declare=("warroom.learn.recurrence:on_declared",),
    after_attach=("warroom.learn.recurrence:on_attached",),
)
