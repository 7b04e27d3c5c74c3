"""Access: accounts, API tokens, sessions, the role policy."""

from warroom.core.registry import Area

AREA = Area(
    name="access",
    summary="Accounts, API tokens, web sessions, login, the role policy.",
    tables=("warroom.access.tables",),
    cli=("warroom.cli.access",),
    routers=("warroom.web.auth:router",),
)
