"""Security: the evidence locker, evidence bundles and regulatory clocks."""

from warroom.core.registry import Area

AREA = Area(
    name="security",
    summary="Evidence sealed with a chain of custody, verifiable bundles, regulatory clocks.",
    tables=("warroom.security.tables",),
    cli=("warroom.cli.security",),
    routers=("warroom.web.api.security:router", "warroom.web.pages.security:router"),
    panels=(
        "warroom.web.pages.security:security_panel",
        "warroom.web.pages.security:access_panel",
    ),
    desk=("warroom.security.clocks:desk_columns",),
    jobs=("warroom.security.clocks:tick",),
    after_declare=("warroom.security.clocks:on_declared",),
    after_event=("warroom.security.clocks:on_event",),
)
