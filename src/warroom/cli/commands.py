"""The manifest of `warroom`'s commands: name -> (the module that registers it, its help).

Generated: `python -m warroom.cli.commands` rewrites GENERATED below from the registry's CLI
modules; tests/test_startup.py fails when it differs from what they register. The entry point
(`warroom.cli.entry`) reads it to answer `warroom --help` and to import only the module a
command needs.
"""

# ruff: noqa: E501 - the generated help texts are one string each, as the commands wrote them

from __future__ import annotations

import json
import sys
from pathlib import Path

HELP = (
    "Incident response from detection to handover: declare, triage, contain, verify, "
    "learn. Works offline on SQLite; PostgreSQL for several instances."
)

# --- GENERATED (python -m warroom.cli.commands) -----------------------------------------------
COMMANDS: dict[str, tuple[str, str]] = {
    "declare": (
        "warroom.cli.incidents",
        "Declare an incident (the intake questions of the method).",
    ),
    "list": (
        "warroom.cli.incidents",
        "Open incidents in priority order (by severity, factors, then age), then the most\nrecently closed ones a page at a time, with the next status update due and postmortem\nstate.",
    ),
    "show": (
        "warroom.cli.incidents",
        "One incident: summary, stage and next step, roles, tasks, recent timeline.",
    ),
    "stage": (
        "warroom.cli.incidents",
        "Move an incident forward through detected -> contained -> ... -> closed.",
    ),
    "severity": (
        "warroom.cli.incidents",
        "Severity: definitions (no arguments), set one (`INC-7 P1`), or `suggest` one from the\nsix prioritisation factors.",
    ),
    "role": (
        "warroom.cli.incidents",
        "Assign a role; naming a new commander hands command over (one at a time).",
    ),
    "note": (
        "warroom.cli.incidents",
        "Write a note on the timeline, or attach a file (--file) as an artifact.",
    ),
    "timeline": (
        "warroom.cli.incidents",
        "The incident's timeline, every event in order; export as JSON or Markdown.",
    ),
    "triage": (
        "warroom.cli.triage",
        "Tell from raw logs (or request metrics) when an incident started, what is hit, how badly,\nand the suspect.",
    ),
    "alerts": (
        "warroom.cli.detect",
        "The monitoring alerts attached to an incident and whether each still fires.",
    ),
    "watch": (
        "warroom.cli.detect",
        "Follow access logs (like tail -F) and page through the alert intake when an SLO burns.\n\nEvaluates the confident burn alerts (docs/detect.md) every --interval seconds at the time of\nthe newest request; a page that starts opens or attaches to an incident, one that stops is\nsent resolved. Stop it with Ctrl-C or SIGTERM; it resumes from --state.",
    ),
    "update": (
        "warroom.cli.comms",
        "Post a status update (internal, stakeholder or public); it resets the heartbeat.",
    ),
    "updates": (
        "warroom.cli.comms",
        "List an incident's status updates.",
    ),
    "heartbeat": (
        "warroom.cli.comms",
        "When the next update is due, and how punctual the updates have been.",
    ),
    "reminders": (
        "warroom.cli.comms",
        "What is due or overdue now: updates, missing commanders and severities, stale tasks.",
    ),
    "drill": (
        "warroom.cli.drills",
        "Start a drill: generate a realistic incident's logs and declare it, marked as a drill.",
    ),
    "drills": (
        "warroom.cli.drills",
        "List drills, show a drill's timings, or end it (--end) for the scorecard and truth.",
    ),
    "verify": (
        "warroom.cli.verify",
        "Judge recovery from access logs or request metrics: after the fix vs the baseline and\nthe incident window.\n\nRecords the verdict (recovered / not_recovered / inconclusive) with its numbers on the\ntimeline; `warroom stage INC verified` needs a recovered one (or --reason).",
    ),
    "contain": (
        "warroom.cli.contain",
        "Pull a lever on an incident: shows the plan, asks, runs, records; `warroom undo` reverses.\n\nWithout --yes it asks for confirmation; with no answer (or --dry-run) nothing runs.",
    ),
    "undo": (
        "warroom.cli.contain",
        "Reverse a mitigation (the steps that were done, newest first).",
    ),
    "mitigations": (
        "warroom.cli.contain",
        "The levers pulled on an incident and their state.",
    ),
    "flags": (
        "warroom.cli.contain",
        "Current flag values of the flagd file (flag -> default variant value).",
    ),
    "rootcause": (
        "warroom.cli.learn",
        "Record the root cause (category, summary, contributing factors).",
    ),
    "postmortem": (
        "warroom.cli.learn",
        "Draft (first time) and print the postmortem: Markdown, HTML (with chart) or JSON.",
    ),
    "postmortem-edit": (
        "warroom.cli.learn",
        "Replace one section of the postmortem; warns about blaming language.",
    ),
    "postmortem-status": (
        "warroom.cli.learn",
        "Move the postmortem draft -> in_review -> published.",
    ),
    "postmortems": (
        "warroom.cli.learn",
        "Postmortems due (P0/P1, 48 h after resolution) and not yet published.",
    ),
    "actions": (
        "warroom.cli.learn",
        "Open and overdue action items across all incidents; export CSV/JSON for import.",
    ),
    "recurrence": (
        "warroom.cli.learn",
        "Does this incident repeat a past one? Records it and escalates open action items.",
    ),
    "report": (
        "warroom.cli.learn",
        "Counts, MTTD/MTTA/MTTC/MTTR (median, p90), punctuality, action items, recurrences.",
    ),
    "audit": (
        "warroom.cli.trust",
        "Verify the hash chain of an incident's timeline and that its row matches the events.\n\nExit 1 and name the first broken event when someone edited the database directly.",
    ),
    "backup": (
        "warroom.cli.trust",
        "Take a consistent online backup: `warroom backup FILE`; check one: `backup verify FILE`.\n\nSQLite uses its backup API (a copy of the database file); PostgreSQL writes a\n`warroom export` of every table. `backup verify` restores the file into a temporary\ndatabase and checks row counts, integrity and every incident's hash chain.",
    ),
    "restore": (
        "warroom.cli.trust",
        "Restore a backup or export into an empty database (--db), optionally as of --until.",
    ),
    "export": (
        "warroom.cli.trust",
        "Write every table to a JSON-lines file (moves data between SQLite and PostgreSQL).",
    ),
    "import": (
        "warroom.cli.trust",
        "Load an export into an empty database (--db), keeping every id.",
    ),
    "private": (
        "warroom.cli.security",
        "Make an incident private: only its participants and admins see it.",
    ),
    "access-log": (
        "warroom.cli.security",
        "Who read a private incident through the web: when, by which route, opened or refused.",
    ),
    "retype": (
        "warroom.cli.security",
        "Change an incident's type; the clocks the new type names start from now.",
    ),
    "types": (
        "warroom.cli.security",
        "The incident types: required fields, runbooks, privacy, clocks.",
    ),
    "serve": (
        "warroom.cli.system",
        "Run the web desk and REST API (migrates the database first).",
    ),
    "init": (
        "warroom.cli.system",
        "Write a sample warroom.toml (its own SQLite database, demo levers) and flags.json.\n\nEvery command run in that directory or below then finds it, like git finds .git.",
    ),
    "worker": (
        "warroom.cli.system",
        "Run the background jobs: send due reminders, deliver queued notifications (loop, or\n--once).",
    ),
    "task": (
        "warroom.cli.tasks",
        "Tasks of an incident: add, update, list.",
    ),
    "logs": (
        "warroom.cli.triage",
        "Work with application logs: mine templates, count signatures.",
    ),
    "slo": (
        "warroom.cli.detect",
        "SLOs in business terms: check burn rates on access logs, generate Prometheus rules.",
    ),
    "oncall": (
        "warroom.cli.oncall",
        "On call: who is on call, schedules, overrides, people, policies, acknowledging.",
    ),
    "service": (
        "warroom.cli.comms",
        "Service catalog: add, list, import YAML, mark affected, show impact.",
    ),
    "maintenance": (
        "warroom.cli.comms",
        "Scheduled maintenance on the status page.",
    ),
    "outbox": (
        "warroom.cli.comms",
        "Notification delivery: list the outbox, retry a row.",
    ),
    "runbook": (
        "warroom.cli.runbooks",
        "Runbooks: list, show, run on an incident.",
    ),
    "action": (
        "warroom.cli.learn",
        "Action items: add, update, list.",
    ),
    "user": (
        "warroom.cli.access",
        "Accounts for the web desk: add, role, list, disable, enable, password.",
    ),
    "token": (
        "warroom.cli.access",
        "API and webhook tokens: create (shown once), list, revoke.",
    ),
    "data": (
        "warroom.cli.data",
        "Recover the product database's data: readiness, side restore to a point in time, damage diff, reviewed repair.",
    ),
    "evidence": (
        "warroom.cli.security",
        "The evidence locker: seal, list, read, export and verify.",
    ),
    "clock": (
        "warroom.cli.security",
        "Regulatory clocks: start, list, record the notification.",
    ),
    "db": (
        "warroom.cli.system",
        "Database schema: upgrade, status.",
    ),
}
# --- END GENERATED ----------------------------------------------------------------------------


def collect() -> dict[str, tuple[str, str]]:
    """What the CLI modules register now, in the order of the full CLI's help."""
    # lazy: only the generator and its test import every area's CLI
    import typer
    import typer.main

    from warroom.core import registry

    out: dict[str, tuple[str, str]] = {}
    modules = [*registry.active().cli_modules()]
    # lazy: as above
    from warroom.cli import system

    for module in [*modules, system]:
        app = typer.Typer()

        @app.callback()
        def _group() -> None:
            """(a group)"""

        module.register(app)
        group = typer.main.get_group(app)
        for name, cmd in group.commands.items():
            if not cmd.hidden:
                out[name] = (module.__name__, cmd.help or "")
    # lazy: as above; the full CLI's order (its commands, then its groups)
    from warroom.cli.main import app as full

    order = list(typer.main.get_group(full).commands)
    return {name: out[name] for name in sorted(out, key=order.index)}


def render(commands: dict[str, tuple[str, str]]) -> str:
    lines = ["COMMANDS: dict[str, tuple[str, str]] = {"]
    for name, (module, text) in commands.items():
        lines.append(f"    {json.dumps(name)}: (")
        lines.append(f"        {json.dumps(module)},")
        lines.append(f"        {json.dumps(text, ensure_ascii=False)},")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines)


def write() -> None:
    path = Path(__file__)
    text = path.read_text(encoding="utf-8")
    start = text.index("# --- GENERATED")
    start = text.index("\n", start) + 1
    end = text.index("# --- END GENERATED")
    path.write_text(text[:start] + render(collect()) + "\n" + text[end:], encoding="utf-8")


if __name__ == "__main__":
    write()
    sys.stdout.write(f"wrote {Path(__file__)}\n")
