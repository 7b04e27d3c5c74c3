"""Hints rendered as the command that does the next step (`warroom stage INC-7 fixed`)."""

from __future__ import annotations

from warroom.core.errors import Hint

# action -> command template; {incident} and the hint's params are filled in, a missing one
# stays a placeholder in capitals (NAME, FILE). tests/test_architecture.py checks that every
# action has one and that each names a real command.
COMMANDS: dict[str, str] = {
    "list_incidents": "warroom list",
    "show_incident": "warroom show {incident}",
    "declare": "warroom declare TITLE --severity P2",
    "move": "warroom stage {incident} {to}",
    "reopen": "warroom stage {incident} --reopen --reason '...'",
    "assign_role": "warroom role {incident} {role} NAME",
    "set_severity": "warroom severity {incident} {severity}",
    "add_task": "warroom task add {incident} TITLE",
    "update_task": "warroom task update {incident} {task} --status STATUS",
    "post_update": "warroom update {incident} --audience {audience} --conditions '...'",
    "verify": "warroom verify {incident} --log FILE",
    "give_reason": "run it again with --reason '...'",
    "declare_lever": (
        "warroom init (a sample warroom.toml with demo levers), or add a [levers.NAME] table "
        "to warroom.toml (see docs/contain.md)"
    ),
    "list_levers": "warroom contain {incident} --list",
    "list_mitigations": "warroom mitigations {incident}",
    "list_services": "warroom service list",
    "add_service": "warroom service add {name}",
    "replace_service": "warroom service add {name} --replace",
    "list_drills": "warroom drills",
    "draft_postmortem": "warroom postmortem {incident}",
    "set_postmortem_status": "warroom postmortem-status {incident} {status}",
    "record_root_cause": "warroom rootcause {incident} --category CATEGORY --summary '...'",
    "add_action": "warroom action add {incident} TITLE --type {type}",
    "list_actions": "warroom actions",
    "list_users": "warroom user list",
    "set_user_role": "warroom user role {name} ROLE",
    "add_user": "warroom user add NAME --role admin",
    "list_tokens": "warroom token list",
    "create_token": "warroom token create NAME {how}",
    "sign_in": "give a token (WARROOM_TOKEN) or sign in on the desk",
    "public_bind": (
        "warroom user add NAME --role admin, or warroom serve --host {host} --insecure-bind"
    ),
    "severity_help": "warroom severity",
    "retry": "run the command again",
    "show_oncall": "warroom oncall who",
    "add_person": "warroom oncall person add {name} --contact URL",
    "data_restore": "warroom data restore --until TIME",
    "data_cleanup": "warroom data cleanup",
    "data_dry_run": "warroom data apply {file} --incident {incident}",
    "list_evidence": "warroom evidence list {incident}",
    "start_clock": "warroom clock start {incident}",
    "record_notification": "warroom clock notified {incident} {name} --to AUTHORITY",
}

_DEFAULTS = {
    "incident": "INC-N",
    "to": "STAGE",
    "role": "ROLE",
    "severity": "P2",
    "task": "T1",
    "audience": "stakeholder",
    "name": "NAME",
    "status": "STATUS",
    "type": "preventive",
    "host": "HOST",
    "file": "FILE",
}


def command(hint: Hint) -> str:
    """The shell command for `hint`."""
    values = {**_DEFAULTS, **dict(hint.params)}
    if hint.incident:
        values["incident"] = hint.incident
    if "how" not in values:
        if "source" in values:
            values["how"] = f"--source {values['source']}"
        else:
            values["how"] = f"--role {values.get('role', 'ROLE')}"
    return COMMANDS[hint.action].format(**values)


def render(hint: Hint) -> str:
    """`reopen it: warroom stage INC-7 --reopen --reason '...'`."""
    return f"{hint.text}: {command(hint)}"
