"""Incidents: the model, the lifecycle verbs and the timeline every area writes to.

from warroom import incidents
inc = incidents.declare(db, title="Checkout returns 500", actor="ana", severity="P1")
incidents.move(db, inc.key, to=incidents.Stage.CONTAINED, actor="ana")
"""

from warroom.incidents.lifecycle import (
    Incident,
    Role,
    Stage,
    Task,
    TaskStatus,
    add_note,
    add_task,
    announce_declared,
    assign_role,
    declare,
    get,
    get_id,
    list_incidents,
    lock,
    move,
    next_number,
    parse_key,
    record,
    remove_role,
    reopen,
    run_hooks,
    set_severity,
    update_fields,
    update_task,
)

__all__ = [
    "Incident",
    "Role",
    "Stage",
    "Task",
    "TaskStatus",
    "add_note",
    "announce_declared",
    "add_task",
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
    "set_severity",
    "update_fields",
    "update_task",
]
