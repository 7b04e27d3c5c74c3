"""Trust: audit of the hash chains, backups, restore, export and import."""

from warroom.core.registry import Area

AREA = Area(
    name="trust",
    summary="Integrity audit, backups and point-in-time restore, export and import.",
    cli=("warroom.cli.trust",),
    routers=("warroom.web.pages.trust:router",),
)
