"""The incident list's query parameters, shared by the desk page `/` and the list API.

    ?severity=P0,P1&stage=contained&service=checkout-api&q=timeout&since=2026-11-01
     &until=2026-12-01&type=real&cursor=...&limit=50

Every filter narrows both parts of the list (the open incidents and the closed pages); the
cursor is the one the previous page gave out (see `warroom.incidents.listing`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

from warroom.comms.catalog import affecting
from warroom.incidents.listing import DEFAULT_LIMIT, MAX_LIMIT, Filters


def list_query(
    severity: Annotated[str, Query(description="P0-P4 or none, comma-separated.")] = "",
    stage: Annotated[str, Query(description="One stage (detected ... closed).")] = "",
    service: Annotated[str, Query(description="A service the incident affects.")] = "",
    q: Annotated[str, Query(max_length=200, description="Words in the title, or a key.")] = "",
    since: Annotated[str, Query(description="Started at or after (ISO-8601).")] = "",
    until: Annotated[str, Query(description="Started before (ISO-8601).")] = "",
    type_: Annotated[str, Query(alias="type", description="real, drill or security.")] = "",
    open_only: Annotated[bool, Query(description="Only open incidents.")] = False,
    cursor: Annotated[str, Query(max_length=200, description="From the previous page.")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Closed per page.")] = (
        DEFAULT_LIMIT
    ),
) -> tuple[Filters, str, int]:
    """(filters, cursor, limit) from the query string."""
    filters = Filters.from_text(
        severity=severity,
        stage=stage,
        q=q,
        since=since,
        until=until,
        type=type_,
        open_only=open_only,
        where=(affecting(service),) if service.strip() else (),
    )
    return filters, cursor.strip(), limit


ListQueryDep = Annotated[tuple[Filters, str, int], Depends(list_query)]


def next_href(path: str, request: Request, cursor: str | None) -> str | None:
    """The link to the next page: the same query with the new cursor (None: last page)."""
    if cursor is None:
        return None
    params = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    params["cursor"] = cursor
    return f"{path}?{urlencode(params)}"
