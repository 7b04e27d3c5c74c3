"""Pages of the trust area: the integrity audit of one incident's timeline, or of all.

The audit replays the hash chain and compares the rows with their timeline; it reads every
event, so it runs when asked (a link), not on every page view.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from warroom import incidents
from warroom.trust import audit
from warroom.web.deps import DbDep, templates
from warroom.web.guard import require

router = APIRouter(include_in_schema=False)


@router.get(
    "/incidents/{key}/audit",
    response_class=HTMLResponse,
    dependencies=[require("incident.read")],
)
def incident_audit(request: Request, key: str, db: DbDep) -> Response:
    """Whether this incident's timeline is intact, and if not, the first broken event."""
    inc = incidents.get(db, key)
    return templates.TemplateResponse(
        request, "trust_audit.html", {"inc": inc, "reports": [audit.audit(db, inc.key)]}
    )


@router.get("/audit", response_class=HTMLResponse, dependencies=[require("desk.read")])
def audit_all(request: Request, db: DbDep) -> Response:
    """The audit of every incident, broken ones first."""
    reports = audit.audit_all(db, ledger_too=True)
    ledger = reports.pop()  # the ledger of incident heads: a deleted incident shows there
    return templates.TemplateResponse(
        request,
        "trust_audit.html",
        {"inc": None, "reports": sorted(reports, key=lambda r: r.ok), "ledger": ledger},
    )
