"""Replay an incident's timeline into the state the `incidents`, `roles` and `tasks` rows hold.

The timeline is the source of truth; the rows are a cache of it. `project(events)` folds the
events in seq order into that state, so

- `audit` can check that the stored row is what the events say (`differences`), and
- `restore --until TIME` can rebuild an incident as it was at a moment from a prefix of its
  events.

Kinds that do not change the row (notes, artifacts, status updates, ...) only move
`updated_at`, `last_seq` and `last_hash` forward.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from warroom.core.errors import InvalidInput
from warroom.incidents.tables import events, incidents, roles, tasks
from warroom.incidents.timeline import Kind

STAGES = ("detected", "contained", "root_caused", "fixed", "verified", "closed")
TEXT_FIELDS = (
    "title",
    "description",
    "impact_scope",
    "business_impact",
    "error_messages",
    "suspected_changes",
    "reporter",
    "reporter_contact",
)
# Columns of `incidents` the projection rebuilds (all but the surrogate id).
PROJECTED = (
    "number",
    "key",
    *TEXT_FIELDS,
    "severity",
    "factors",
    "stage",
    "started_at",
    "detected_at",
    *(f"{s}_at" for s in STAGES[1:]),
    "commander_at",
    "skipped_stages",
    "security",
    "drill",
    "type",
    "private",
    "commander",
    "created_by",
    "created_at",
    "updated_at",
    "last_seq",
    "last_hash",
)


class EventLike(Protocol):
    seq: int
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]
    hash: str


@dataclass
class State:
    """An incident as its events describe it: the row values, its roles and its tasks."""

    row: dict[str, Any]
    roles: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def project(items: Iterable[EventLike]) -> State:
    """Fold one incident's events (in seq order) into its state."""
    state: State | None = None
    for e in items:
        if state is None:
            if e.kind != Kind.DECLARED:
                raise InvalidInput(
                    f"the timeline starts with {e.kind!r} at seq {e.seq}, not incident.declared",
                    field="events",
                )
            state = _declared(e)
        else:
            _apply(state, e)
        state.row["updated_at"] = e.at
        state.row["last_seq"] = e.seq
        state.row["last_hash"] = e.hash
    if state is None:
        raise InvalidInput("an incident needs at least its incident.declared event", field="events")
    return state


def _declared(e: EventLike) -> State:
    d = e.data
    key = str(d.get("key", ""))
    row: dict[str, Any] = {
        "number": int(key.split("-", 1)[1]) if key.upper().startswith("INC-") else None,
        "key": key,
        **{name: d.get(name, "") for name in TEXT_FIELDS},
        "severity": d.get("severity"),
        "factors": d.get("factors") or {},
        "stage": "detected",
        "started_at": _parse_time(d["started_at"]) if d.get("started_at") else e.at,
        "detected_at": e.at,
        **{f"{s}_at": None for s in STAGES[1:]},
        "commander_at": None,
        "skipped_stages": [],
        "security": bool(d.get("security", False)),
        "drill": bool(d.get("drill", False)),
        "type": str(d.get("type") or "availability"),
        "private": bool(d.get("private", False)),
        "commander": None,
        "created_by": e.actor,
        "created_at": e.at,
    }
    return State(row=row)


def _set_role(state: State, role: str, person: str, e: EventLike) -> None:
    if role != "participant":
        state.roles = [r for r in state.roles if r["role"] != role]
    state.roles.append(
        {"role": role, "person": person, "assigned_at": e.at, "assigned_by": e.actor}
    )


def _apply(state: State, e: EventLike) -> None:
    row, d = state.row, e.data
    match e.kind:
        case Kind.STAGE_CHANGED:
            target = str(d["to"])
            row["stage"] = target
            row[f"{target}_at"] = e.at
            skipped = set(row["skipped_stages"]) | set(d.get("skipped") or [])
            row["skipped_stages"] = sorted(skipped, key=STAGES.index)
        case Kind.REOPENED:
            row["stage"] = "detected"
            for s in STAGES[1:]:
                row[f"{s}_at"] = None
            row["skipped_stages"] = []
        case Kind.SEVERITY_CHANGED:
            row["severity"] = d.get("to")
            if "factors" in d:
                row["factors"] = d["factors"]
        case Kind.ROLE_ASSIGNED | Kind.COMMANDER_HANDOFF:
            role = str(d.get("role", "commander"))
            person = str(d.get("to") if e.kind == Kind.COMMANDER_HANDOFF else d.get("person"))
            _set_role(state, role, person, e)
            if role == "commander":
                row["commander"] = person
                if row["commander_at"] is None:
                    row["commander_at"] = e.at
        case Kind.ROLE_REMOVED:
            gone = (d.get("role"), d.get("person"))
            for i, r in enumerate(state.roles):
                if (r["role"], r["person"]) == gone:
                    del state.roles[i]
                    break
        case Kind.TASK_ADDED:
            number = int(d["number"])
            state.tasks[number] = {
                "number": number,
                "title": d.get("title"),
                "assignee": d.get("assignee"),
                "status": "open",
                "created_by": e.actor,
                "created_at": e.at,
                "updated_at": e.at,
            }
        case Kind.TASK_UPDATED:
            task = state.tasks.get(int(d["number"]))
            if task is not None:
                task.update(d.get("changes") or {})
                task["updated_at"] = e.at
        case Kind.FIELDS_UPDATED:
            for name, value in (d.get("fields") or {}).items():
                if name in row:
                    row[name] = bool(value) if name in ("security", "private") else value


# --- reading the stored state ----------------------------------------------------------------


def load_events(conn: Connection, incident_id: int) -> list[Any]:
    """One incident's event rows in seq order."""
    return list(
        conn.execute(
            sa.select(events).where(events.c.incident_id == incident_id).order_by(events.c.seq)
        )
    )


def stored(conn: Connection, incident_id: int) -> State:
    """The state the rows hold now, in the same shape as `project` returns."""
    row = conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).one()
    role_rows = conn.execute(
        sa.select(roles).where(roles.c.incident_id == incident_id).order_by(roles.c.id)
    )
    task_rows = conn.execute(
        sa.select(tasks).where(tasks.c.incident_id == incident_id).order_by(tasks.c.number)
    )
    return State(
        row={name: getattr(row, name) for name in PROJECTED},
        roles=[
            {
                "role": r.role,
                "person": r.person,
                "assigned_at": r.assigned_at,
                "assigned_by": r.assigned_by,
            }
            for r in role_rows
        ],
        tasks={
            t.number: {
                "number": t.number,
                "title": t.title,
                "assignee": t.assignee,
                "status": t.status,
                "created_by": t.created_by,
                "created_at": t.created_at,
                "updated_at": t.updated_at,
            }
            for t in task_rows
        },
    )


def differences(expected: State, actual: State) -> list[str]:
    """What differs between two states, one readable line per field (empty when equal)."""
    out: list[str] = []
    for name in PROJECTED:
        a, b = expected.row.get(name), actual.row.get(name)
        if a != b:
            out.append(f"{name}: timeline says {_show(a)}, row has {_show(b)}")
    if _role_set(expected.roles) != _role_set(actual.roles):
        out.append(
            f"roles: timeline says {_roles_text(expected.roles)}, "
            f"rows have {_roles_text(actual.roles)}"
        )
    for number in sorted(set(expected.tasks) | set(actual.tasks)):
        a_task, b_task = expected.tasks.get(number), actual.tasks.get(number)
        if a_task != b_task:
            out.append(f"task T{number}: timeline says {a_task}, row has {b_task}")
    return out


def _role_set(items: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return sorted(
        (r["role"], r["person"], _show(r["assigned_at"]), r["assigned_by"]) for r in items
    )


def _roles_text(items: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{r} {p} (since {at})" for r, p, at, _by in _role_set(items)) or "none"


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


def check(conn: Connection, incident_id: int) -> list[str]:
    """Differences between an incident's rows and the replay of its timeline."""
    return differences(project(load_events(conn, incident_id)), stored(conn, incident_id))
