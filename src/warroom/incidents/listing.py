"""The incident list at any size: open incidents first, then closed ones a page at a time.

    page = listing.page(db, Filters(severity=("P1",), text="checkout"), limit=50)
    page.open          # every open incident that matches, in priority order (few)
    page.closed        # up to `limit` closed ones, most recently closed first
    page.next_cursor   # pass back as `cursor=` for the next closed ones (None: no more)

Closed incidents are read by keyset (closed_at, id) on the index `ix_incidents_stage_closed`,
never by OFFSET: a deep page costs what the first one does. A cursor is opaque text; a bad
one is refused with InvalidInput, not read as "the first page".
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from warroom.core.clock import ensure_utc, parse_time
from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.core.severity import Severity
from warroom.incidents import privacy
from warroom.incidents.model import OPEN_STAGES, Incident, Stage
from warroom.incidents.store import from_row, load_details
from warroom.incidents.tables import incidents, roles

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
TYPES = ("real", "drill", "security")


@dataclass(frozen=True)
class Filters:
    """What the list shows. Empty fields do not filter. `where`: extra SQL conditions on the
    incidents table from the areas above (the service filter comes from comms)."""

    severity: tuple[str, ...] = ()
    stage: str = ""
    text: str = ""
    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before
    type: str = ""  # real, drill or security
    open_only: bool = False
    where: tuple[Any, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for sev in self.severity:
            if sev != "none" and sev not in {s.value for s in Severity}:
                raise InvalidInput(f"unknown severity {sev!r}: use P0-P4 or none", field="severity")
        if self.stage and self.stage not in {s.value for s in Stage}:
            raise InvalidInput(
                f"unknown stage {self.stage!r}: use one of " + ", ".join(s.value for s in Stage),
                field="stage",
            )
        if self.type and self.type not in TYPES:
            raise InvalidInput(
                f"unknown type {self.type!r}: use one of {', '.join(TYPES)}", field="type"
            )

    @classmethod
    def from_text(
        cls,
        *,
        severity: str = "",
        stage: str = "",
        q: str = "",
        since: str = "",
        until: str = "",
        type: str = "",  # noqa: A002 - the query parameter's name
        open_only: bool = False,
        where: tuple[Any, ...] = (),
    ) -> Filters:
        """Filters from the words a shell was given (`severity=P0,P1`, ISO-8601 times)."""
        return cls(
            severity=tuple(
                s.strip().upper() if s.strip() != "none" else "none"
                for s in severity.split(",")
                if s.strip()
            ),
            stage=stage.strip().lower(),
            text=q.strip(),
            since=parse_time(since, field="since"),
            until=parse_time(until, field="until"),
            type=type.strip().lower(),
            open_only=open_only,
            where=where,
        )

    def params(self) -> dict[str, str]:
        """The filters as query parameters (for the next-page link)."""
        out = {
            "severity": ",".join(self.severity),
            "stage": self.stage,
            "q": self.text,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "type": self.type,
        }
        return {k: v for k, v in out.items() if v}

    def conditions(self) -> list[Any]:
        c = incidents.c
        out: list[Any] = list(self.where)
        if self.severity:
            named = [s for s in self.severity if s != "none"]
            either = [c.severity.in_(named)] if named else []
            if "none" in self.severity:
                either.append(c.severity.is_(None))
            out.append(sa.or_(*either))
        if self.stage:
            out.append(c.stage == self.stage)
        if self.text:
            out.append(
                sa.or_(
                    c.title.icontains(self.text, autoescape=True),
                    c.key == self.text.upper(),
                )
            )
        if self.since is not None:
            out.append(c.started_at >= ensure_utc(self.since))
        if self.until is not None:
            out.append(c.started_at < ensure_utc(self.until))
        if self.type == "drill":
            out.append(c.drill.is_(True))
        elif self.type == "real":
            out.append(c.drill.is_(False))
        elif self.type == "security":
            out.append(c.security.is_(True))
        return out


@dataclass
class Page:
    open: list[Incident]
    closed: list[Incident]
    next_cursor: str | None

    @property
    def items(self) -> list[Incident]:
        return self.open + self.closed


def _visible() -> list[Any]:
    """The privacy rule (see `privacy`) as SQL for the current reader, so that a page holds
    `limit` incidents the reader may see: public ones, and private ones they declared,
    command or take part in."""
    reader = privacy.current()
    if reader is None or reader.sees_all:
        return []
    c = incidents.c
    member = sa.select(roles.c.incident_id).where(roles.c.person == reader.name)
    return [
        sa.or_(
            c.private.is_(False),
            c.created_by == reader.name,
            c.commander == reader.name,
            c.id.in_(member),
        )
    ]


def encode_cursor(closed_at: datetime, incident_id: int) -> str:
    """The position after a closed incident, as opaque URL-safe text."""
    raw = f"{ensure_utc(closed_at).isoformat()}|{incident_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, ident = raw.partition("|")
        return ensure_utc(datetime.fromisoformat(when)), int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "this page cursor is not one the list gave out: start again from the first page",
            field="cursor",
        ) from exc


def page(
    db: Database, filters: Filters | None = None, *, cursor: str = "", limit: int = DEFAULT_LIMIT
) -> Page:
    """One page of the list: the open incidents (first page only) and `limit` closed ones.

    Four statements whatever the page shows: open incidents, closed incidents, their roles,
    their tasks."""
    filters = filters or Filters()
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    c = incidents.c
    conds = filters.conditions() + _visible()
    after = decode_cursor(cursor) if cursor else None
    with db.read() as conn:
        opened: list[Incident] = []
        if after is None and filters.stage != Stage.CLOSED.value:
            stmt = sa.select(incidents).where(c.stage.in_(OPEN_STAGES), *conds)
            opened = sorted((from_row(r) for r in conn.execute(stmt)), key=Incident.priority_key)
        closed: list[Incident] = []
        if not filters.open_only and filters.stage in ("", Stage.CLOSED.value):
            stmt = sa.select(incidents).where(c.stage == Stage.CLOSED.value, *conds)
            if after is not None:
                at = sa.bindparam("after_at", after[0], type_=c.closed_at.type)
                # the first bound is implied by the second: it gives the index a range to
                # seek to (SQLite scanned every closed incident newer than the cursor without it)
                stmt = stmt.where(
                    c.closed_at <= at,
                    sa.or_(c.closed_at < at, sa.and_(c.closed_at == at, c.id < after[1])),
                )
            stmt = stmt.order_by(c.closed_at.desc(), c.id.desc()).limit(limit + 1)
            closed = [from_row(r) for r in conn.execute(stmt)]
        more = len(closed) > limit
        closed = closed[:limit]
        load_details(conn, opened + closed)
    last = closed[-1] if closed else None
    next_cursor = None
    if more and last is not None and last.stage_times["closed"] is not None:
        next_cursor = encode_cursor(last.stage_times["closed"], last.id)
    return Page(open=opened, closed=closed, next_cursor=next_cursor)
