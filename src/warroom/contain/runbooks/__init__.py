"""Runbooks: Markdown checklists walked step by step on an incident, every step on the timeline.

A runbook is a Markdown file with optional YAML front matter saying where it applies; its
steps are the checklist items. A step is manual (check it off) or automated: a lever or a
command in backticks, run only after confirmation::

    ---
    title: 5xx surge after a deploy
    alerts: [HighErrorRate]
    services: [checkout]
    routes: [/checkout]
    keywords: [deploy, 5xx]
    ---
    ## Contain
    - [ ] Check the deploy time against the onset of the 5xx.
    - [ ] Roll back the release `lever: rollback version=v41`
    - [ ] Look at the error log `run: tail -n 50 /var/log/app/error.log`

    books = load_all(settings)
    run = start(db, "INC-1", "deploy-5xx", actor="ana", runbooks=books)
    record_step(db, "INC-1", run.number, 1, actor="ana", outcome="done")
    execute_step(db, "INC-1", run.number, 2, actor="ana", settings=settings)   # pulls the lever

Shipped runbooks live in `runbooks/library/`; `[contain] runbook_dirs` in warroom.toml adds
directories whose files override shipped ones of the same name. The parts: `parsing` (the
Markdown, loading), `matching` (which fit an incident), `runs` (walking one).
"""

from warroom.contain.runbooks.matching import Match, suggest
from warroom.contain.runbooks.parsing import SHIPPED, Runbook, RunbookStep, get, load_all, parse
from warroom.contain.runbooks.runs import (
    COMMAND_TIMEOUT,
    FINISHED,
    OUTCOMES,
    STARTED,
    STEP,
    Run,
    describe_step,
    execute_step,
    get_run,
    record_step,
    runs_for,
    start,
)

__all__ = [
    "COMMAND_TIMEOUT",
    "FINISHED",
    "OUTCOMES",
    "SHIPPED",
    "STARTED",
    "STEP",
    "Match",
    "Run",
    "Runbook",
    "RunbookStep",
    "describe_step",
    "execute_step",
    "get",
    "get_run",
    "load_all",
    "parse",
    "record_step",
    "runs_for",
    "start",
    "suggest",
]
