"""Who may do what: one table, action -> the least role that may do it.

Roles are ranked (viewer < responder < commander < admin; each includes the ones before it),
so the table names the least role and every role above it may too. Every web route declares
one action of this table (`warroom.web.guard`); docs/security.md's role matrix is generated
from it (`matrix_markdown`), and a test keeps the two equal.

    policy.may(Role.RESPONDER, "incident.close")   # False
    policy.check(identity, "incident.note")         # raises Forbidden, with a hint
    policy.stage_action("Verified")                 # "incident.verify"

"commander" is an account role (held for every incident), not "the person named commander
of this incident": the desk has no per-incident rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom import incidents
from warroom.access.identity import Identity, Role
from warroom.core.errors import Forbidden, Hint, InvalidInput


@dataclass(frozen=True)
class Rule:
    """The least role an action needs and, in words, what the action covers."""

    least: Role
    covers: str


V, R, C, A = Role.VIEWER, Role.RESPONDER, Role.COMMANDER, Role.ADMIN

POLICY: dict[str, Rule] = {
    # Reading: every signed-in identity.
    "incident.read": Rule(V, "read incidents: timelines, artifacts, alerts, updates, mitigations"),
    "desk.read": Rule(
        V, "read the desk: services, levers, runbooks, action items, reports, on call, docs"
    ),
    "severity.suggest": Rule(V, "compute a suggested severity from the factors (changes nothing)"),
    "account.self": Rule(V, "see who you are (without accounts: say your name), and sign out"),
    # Responding.
    "incident.declare": Rule(R, "declare an incident"),
    "incident.note": Rule(R, "add notes to an incident"),
    "incident.task": Rule(R, "add and update tasks"),
    "incident.assign": Rule(R, "name people for roles other than commander"),
    "incident.stage": Rule(R, "move an incident forward, up to fixed"),
    "incident.update": Rule(R, "post status updates"),
    "incident.impact": Rule(R, "mark the services an incident affects"),
    "incident.mitigate": Rule(R, "pull and undo levers"),
    "incident.runbook": Rule(R, "run runbooks and record their steps"),
    "incident.learn": Rule(R, "record the root cause, write the postmortem, check recurrence"),
    "incident.evidence": Rule(R, "run triage on uploaded logs and verify recovery from one"),
    "drill.run": Rule(R, "start a drill (its logs are written on the server) and end it"),
    "action.write": Rule(R, "add and update action items"),
    "service.edit": Rule(R, "add services to the catalog"),
    "status.maintenance": Rule(R, "schedule maintenance on the status page"),
    "notify.retry": Rule(R, "retry a notification now"),
    "incident.acknowledge": Rule(R, "acknowledge a page (the page's own link needs no sign-in)"),
    "oncall.override": Rule(R, "cover an on-call shift: add and remove schedule overrides"),
    # Commanding.
    "incident.verify": Rule(C, "mark an incident verified"),
    "incident.close": Rule(C, "close an incident"),
    "incident.reopen": Rule(C, "reopen an incident"),
    "incident.severity": Rule(C, "change an incident's severity"),
    "incident.command": Rule(C, "hand off command: name or remove the commander"),
    "server.files": Rule(C, "triage or verify from log files already on the server, by path"),
    "oncall.edit": Rule(
        C, "define people, contact methods, schedules, escalation policies and paging routes"
    ),
    # Security incidents (issue 20). Who sees a private incident at all is not a role but
    # taking part in it (warroom.incidents.privacy); sealed originals go to admins, the
    # incident's commander and security lead (warroom.security.evidence.permitted).
    "evidence.read": Rule(V, "read evidence (a scrubbed copy unless you may have the original)"),
    "evidence.add": Rule(
        R, "seal files and text as evidence; start regulatory clocks, record notifications"
    ),
    "evidence.export": Rule(R, "export an evidence bundle (admins, commander, security lead)"),
    "incident.private": Rule(C, "make an incident private (participants and admins) or not"),
    # Administering.
    # (issue 13) where a service's updates go and whether the public sees it: admin only,
    # so a responder cannot redirect internal updates (see guard.SERVICE_FORM/_JSON).
    "service.admin": Rule(
        A, "set a service's contact, its public flag, or replace a service's entry"
    ),
    # No web route: the CLI on the server, which needs the database itself.
    "account.admin": Rule(A, "manage accounts and API tokens"),
}

# Moves and roles whose action is not the route's own: decided from the parsed input, with
# the same parsers the incident verbs use (so "Verified", " closed" or "IC" cannot slip by).
STAGE_ACTIONS: dict[incidents.Stage, str] = {
    incidents.Stage.VERIFIED: "incident.verify",
    incidents.Stage.CLOSED: "incident.close",
}
COMMAND_ACTION = "incident.command"


def rule(action: str) -> Rule:
    """The rule of `action`; an action missing from the table is a bug in this build."""
    try:
        return POLICY[action]
    except KeyError:
        raise KeyError(f"no policy action {action!r}: add it to warroom.access.policy") from None


def roles(action: str) -> tuple[Role, ...]:
    """The roles that may do `action`, least first."""
    least = rule(action).least
    return tuple(r for r in Role if r.allows(least))


def may(role: Role, action: str) -> bool:
    return role.allows(rule(action).least)


def check(identity: Identity, action: str) -> None:
    """Nothing when `identity` may do `action`; else Forbidden saying which role it needs."""
    if identity.source is not None:
        raise Forbidden(
            f"{identity.name} is a webhook token for {identity.source} only",
            hint=Hint("create_token", "use an API token with a role", params={"role": "viewer"}),
        )
    needed = rule(action)
    if identity.role.allows(needed.least):
        return
    if identity.via == "token":
        hint = Hint(
            "create_token",
            f"use a token with the {needed.least.value} role",
            params={"role": needed.least.value},
        )
    else:
        hint = Hint(
            "set_user_role",
            f"ask an admin to give {identity.name} the {needed.least.value} role",
            params={"name": identity.name, "role": needed.least.value},
        )
    raise Forbidden(
        f"{identity.name} is {identity.role.value}: this needs the {needed.least.value} role, "
        f"to {needed.covers}",
        hint=hint,
    )


def stage_action(to: str) -> str:
    """The action of moving an incident to `to` (an unknown stage is the move's own error)."""
    try:
        return STAGE_ACTIONS.get(incidents.Stage.parse(to), "incident.stage")
    except InvalidInput:
        return "incident.stage"


def role_action(role: str) -> str:
    """The action of naming or removing a person for incident role `role`."""
    try:
        commander = incidents.Role.parse(role) is incidents.Role.COMMANDER
    except InvalidInput:
        commander = False
    return COMMAND_ACTION if commander else "incident.assign"


def matrix_markdown() -> str:
    """The role matrix of docs/security.md: one row per action, a column per role."""
    head = "| action | covers | " + " | ".join(r.value for r in Role) + " |"
    lines = [head, "|---|---|" + "|".join(":-:" for _ in Role) + "|"]
    for action, r in POLICY.items():
        cells = " | ".join("yes" if role.allows(r.least) else "-" for role in Role)
        lines.append(f"| `{action}` | {r.covers} | {cells} |")
    lines.append("")
    moves = ", ".join(f"to *{stage.value}* needs `{a}`" for stage, a in STAGE_ACTIONS.items())
    lines.append(
        f"A move is `incident.stage`, except {moves}. Naming or removing a person is "
        f"`incident.assign`, except for the commander role (any of its spellings), which "
        f"needs `{COMMAND_ACTION}`."
    )
    return "\n".join(lines) + "\n"
