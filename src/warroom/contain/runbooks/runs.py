"""Walking a runbook on an incident: runs (R1, R2, ...) and their steps, each on the timeline.

run = start(db, "INC-1", "deploy-5xx", actor="ana")
record_step(db, "INC-1", run.number, 1, actor="ana", outcome="done")
execute_step(db, "INC-1", run.number, 2, actor="ana", settings=settings)   # pulls the lever
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from warroom import incidents
from warroom.contain import config, mitigations
from warroom.contain.levers import Lever, get_lever, load_levers, make_plan, run_command
from warroom.contain.runbooks.parsing import Runbook, RunbookStep, get
from warroom.contain.tables import next_number, runbook_runs
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound
from warroom.core.refs import parse_number
from warroom.incidents import timeline

STARTED = "runbook.started"
STEP = "runbook.step"
FINISHED = "runbook.finished"
OUTCOMES = ("done", "skipped", "failed")
COMMAND_TIMEOUT = 60.0


@dataclass
class Run:
    number: int
    incident_key: str
    runbook: str
    sha256: str
    status: str
    steps: list[dict[str, Any]]
    started_by: str
    started_at: datetime
    finished_at: datetime | None

    @property
    def id(self) -> str:
        return f"R{self.number}"

    @property
    def next_step(self) -> int | None:
        for s in self.steps:
            if s["status"] in ("pending", "failed"):
                return int(s["step"])
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident": self.incident_key,
            "runbook": self.runbook,
            "sha256": self.sha256,
            "status": self.status,
            "steps": self.steps,
            "next_step": self.next_step,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def _run(key: str, r: Any) -> Run:
    return Run(
        r.number,
        key,
        r.runbook,
        r.sha256,
        r.status,
        list(r.steps),
        r.started_by,
        r.started_at,
        r.finished_at,
    )


def runs_for(db: Database, key: str) -> list[Run]:
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        rows = conn.execute(
            sa.select(runbook_runs)
            .where(runbook_runs.c.incident_id == incident_id)
            .order_by(runbook_runs.c.number)
        ).all()
    k = f"INC-{incidents.parse_key(key)}"
    return [_run(k, r) for r in rows]


def get_run(db: Database, key: str, number: int | str) -> Run:
    n = _run_number(number)
    for r in runs_for(db, key):
        if r.number == n:
            return r
    raise NotFound(f"INC-{incidents.parse_key(key)} has no runbook run R{n}")


def _run_number(value: int | str) -> int:
    return parse_number(value, prefix="R", noun="runbook run", field="run")


def start(
    db: Database,
    key: str,
    name: str,
    *,
    actor: str,
    settings: Settings | None = None,
    runbooks: dict[str, Runbook] | None = None,
) -> Run:
    """Start walking a runbook on an incident, or resume its open run."""
    rb = get(name, settings=settings, runbooks=runbooks)
    now = utcnow()
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        existing = conn.execute(
            sa.select(runbook_runs).where(
                runbook_runs.c.incident_id == row.id,
                runbook_runs.c.runbook == rb.name,
                runbook_runs.c.status == "open",
            )
        ).first()
        if existing is not None:
            return _run(row.key, existing)
        number = next_number(conn, runbook_runs, row.id)
        steps = [
            {"step": s.number, "text": s.text, "kind": s.kind, "status": "pending"}
            for s in rb.steps
        ]
        conn.execute(
            runbook_runs.insert().values(
                incident_id=row.id,
                number=number,
                runbook=rb.name,
                sha256=rb.sha256,
                status="open",
                steps=steps,
                started_by=actor,
                started_at=now,
            )
        )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=STARTED,
            at=now,
            data={
                "run": f"R{number}",
                "runbook": rb.name,
                "title": rb.title,
                "steps": len(steps),
                "sha256": rb.sha256,
                "summary": f"{rb.name} started (R{number}, {len(steps)} steps)",
            },
        )
        r = conn.execute(
            sa.select(runbook_runs).where(
                runbook_runs.c.incident_id == row.id, runbook_runs.c.number == number
            )
        ).one()
        return _run(row.key, r)


def record_step(
    db: Database,
    key: str,
    run: int | str,
    step: int,
    *,
    actor: str,
    outcome: str,
    note: str = "",
    started_at: datetime | None = None,
    result: dict[str, Any] | None = None,
) -> Run:
    """Record one step's outcome (done, skipped, failed) as one timeline event."""
    if outcome not in OUTCOMES:
        raise InvalidInput(
            f"a step outcome is one of {', '.join(OUTCOMES)}, not {outcome!r}", field="outcome"
        )
    note = note.strip()[:2000]
    n = _run_number(run)
    now = utcnow()
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        r = conn.execute(
            db.lock_row(
                sa.select(runbook_runs).where(
                    runbook_runs.c.incident_id == row.id, runbook_runs.c.number == n
                )
            )
        ).first()
        if r is None:
            raise NotFound(f"{row.key} has no runbook run R{n}")
        if r.status != "open":
            raise InvalidTransition(f"R{n} ({r.runbook}) on {row.key} is {r.status}")
        steps = [dict(s) for s in r.steps]
        if not 1 <= step <= len(steps):
            raise NotFound(f"R{n} ({r.runbook}) has steps 1 to {len(steps)}, not {step}")
        current = steps[step - 1]
        if current["status"] in ("done", "skipped"):
            raise InvalidTransition(
                f"step {step} of R{n} is already {current['status']} by {current.get('actor')}"
            )
        begun = ensure_utc(started_at) if started_at else now
        current.update(
            status=outcome,
            actor=actor,
            at=now.isoformat(),
            started_at=begun.isoformat(),
            note=note or None,
        )
        if result:
            current["result"] = result
        verb = {"done": "done", "skipped": "skipped", "failed": "FAILED"}[outcome]
        summary = f"{r.runbook} {step}/{len(steps)} {verb}: {current['text']}"
        if note:
            summary += f" ({note[:120]})"
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=STEP,
            at=now,
            data={
                "run": f"R{n}",
                "runbook": r.runbook,
                "step": step,
                "of": len(steps),
                "text": current["text"],
                "kind": current["kind"],
                "outcome": outcome,
                "started_at": begun.isoformat(),
                "note": note or None,
                "result": result or None,
                "summary": summary,
            },
        )
        values: dict[str, Any] = {"steps": steps}
        if all(s["status"] in ("done", "skipped") for s in steps):
            values.update(status="finished", finished_at=now)
            done = sum(1 for s in steps if s["status"] == "done")
            timeline.append(
                conn,
                row.id,
                actor=actor,
                kind=FINISHED,
                at=now,
                data={
                    "run": f"R{n}",
                    "runbook": r.runbook,
                    "done": done,
                    "skipped": len(steps) - done,
                    "summary": f"{r.runbook} finished: {done} done, {len(steps) - done} skipped",
                },
            )
        conn.execute(runbook_runs.update().where(runbook_runs.c.id == r.id).values(**values))
        r2 = conn.execute(sa.select(runbook_runs).where(runbook_runs.c.id == r.id)).one()
        return _run(row.key, r2)


def describe_step(step: RunbookStep, *, levers: dict[str, Lever]) -> list[str]:
    """What an automated step will do (the lever's plan or the command)."""
    if step.kind == "lever":
        return make_plan(get_lever(levers, step.target), step.params).actions
    if step.kind == "command":
        return [f"run: {step.target} (timeout {COMMAND_TIMEOUT:g}s)"]
    return []


def execute_step(
    db: Database,
    key: str,
    run: int | str,
    step: int,
    *,
    actor: str,
    settings: Settings | None = None,
    runbooks: dict[str, Runbook] | None = None,
    levers: dict[str, Lever] | None = None,
    started_at: datetime | None = None,
) -> Run:
    """Run an automated step (pull its lever or run its command) and record the outcome."""
    settings = settings or Settings()
    the_run = get_run(db, key, run)
    rb = get(the_run.runbook, settings=settings, runbooks=runbooks)
    s = rb.step(step)
    begun = started_at or utcnow()
    if s.kind == "manual":
        raise InvalidInput(
            f"step {step} of {rb.name} is manual: mark it done or skipped", field="step"
        )
    if s.kind == "lever":
        levers = levers if levers is not None else load_levers(settings)
        m = mitigations.apply(
            db,
            key,
            s.target,
            actor=actor,
            params=s.params,
            levers=levers,
            extra={"runbook": rb.name, "run": the_run.id, "step": step},
        )
        return record_step(
            db,
            key,
            the_run.number,
            step,
            actor=actor,
            outcome="done" if m.status == "applied" else "failed",
            started_at=begun,
            note=f"{m.id} {m.summary}",
            result={"mitigation": m.id, "status": m.status},
        )
    res = run_command(
        shlex.split(s.target), timeout=COMMAND_TIMEOUT, cwd=str(config.base_dir(settings))
    )
    first_err = (res["stderr"].strip().splitlines() or [""])[-1]
    return record_step(
        db,
        key,
        the_run.number,
        step,
        actor=actor,
        outcome="done" if res["status"] == "done" else "failed",
        started_at=begun,
        note="" if res["status"] == "done" else f"exit {res['rc']}: {first_err[:200]}",
        result={
            "command": s.target,
            "rc": res["rc"],
            "stdout": res["stdout"][-1000:],
            "stderr": res["stderr"][-1000:],
            "seconds": res["seconds"],
        },
    )
