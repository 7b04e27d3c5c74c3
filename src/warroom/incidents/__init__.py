"""Incidents: the model, the lifecycle verbs and the timeline every area writes to.

from warroom import incidents
inc = incidents.declare(db, title="Checkout returns 500", actor="ana", severity="P1")
incidents.move(db, inc.key, to=incidents.Stage.CONTAINED, actor="ana")

The verbs live in `lifecycle` (declare, move, reopen, severity, fields, notes), `roles` and
`tasks`; reading in `store`; the records in `model`. This facade is what other areas use.
"""

from warroom.incidents.announce import announce_event
from warroom.incidents.lifecycle import (
    add_note,
    announce_declared,
    declare,
    move,
    next_number,
    record,
    reopen,
    run_hooks,
    set_private,
    set_severity,
    set_type,
    update_fields,
)
from warroom.incidents.model import Incident, Nag, Role, Stage, Task, TaskStatus
from warroom.incidents.roles import assign_role, remove_role
from warroom.incidents.store import get, get_id, list_incidents, lock, parse_key
from warroom.incidents.tasks import add_task, update_task

__all__ = [
    "Incident",
    "Nag",
    "Role",
    "Stage",
    "Task",
    "TaskStatus",
    "add_note",
    "add_task",
    "announce_declared",
    "announce_event",
    "assign_role",
    "declare",
    "get",
    "get_id",
    "list_incidents",
    "lock",
    "move",
    "next_number",
    "parse_key",
    "record",
    "remove_role",
    "reopen",
    "run_hooks",
    "set_private",
    "set_type",
    "set_severity",
    "update_fields",
    "update_task",
]
