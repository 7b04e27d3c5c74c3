"""Detect: SLOs, burn-rate alerts, Prometheus rules, alert intake."""

from warroom.core.registry import Area

AREA = Area(
    name="detect",
    summary="Business SLOs, burn-rate alerts, Prometheus rules, Alertmanager intake.",
    tables=("warroom.detect.tables",),
    cli=("warroom.cli.detect",),
    routers=("warroom.web.api.detect:router",),
    route_order=0,  # alert intake first: it is the busiest path by far
)
