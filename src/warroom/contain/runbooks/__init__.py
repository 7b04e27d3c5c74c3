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

    run = start(db, "INC-1", "deploy-5xx", actor="ana")
    record_step(db, "INC-1", run.number, 1, actor="ana", outcome="done")
    execute_step(db, "INC-1", run.number, 2, actor="ana")      # pulls the lever

Shipped runbooks live in `warroom/runbooks/`; `[contain] runbook_dirs` in warroom.toml adds
directories whose files override shipped ones of the same name.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from warroom import incidents
from warroom.contain import mitigations
from warroom.contain.tables import runbook_runs
from warroom.core.clock import ensure_utc, utcnow
from warroom.core.config import Settings, load_settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound
from warroom.incidents import timeline

SHIPPED = Path(__file__).parent / "library"
STARTED = "runbook.started"
STEP = "runbook.step"
FINISHED = "runbook.finished"
OUTCOMES = ("done", "skipped", "failed")
COMMAND_TIMEOUT = 60.0

_ITEM_RE = re.compile(r"^\s*[-*+]\s+\[(?P<mark>[ xX])\]\s+(?P<text>.+?)\s*$")
_AUTO_RE = re.compile(r"`(?P<kind>lever|run):\s*(?P<target>[^`]+)`")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


@dataclass(frozen=True)
class RunbookStep:
    number: int
    text: str
    section: str
    kind: str  # manual | lever | command
    target: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def automated(self) -> bool:
        return self.kind != "manual"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "text": self.text,
            "section": self.section,
            "kind": self.kind,
            "target": self.target,
            "params": self.params,
        }


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str
    alerts: tuple[str, ...]
    services: tuple[str, ...]
    routes: tuple[str, ...]
    keywords: tuple[str, ...]
    intro: str
    steps: tuple[RunbookStep, ...]
    path: str
    sha256: str

    def step(self, number: int) -> RunbookStep:
        if not 1 <= number <= len(self.steps):
            raise NotFound(f"runbook {self.name} has steps 1 to {len(self.steps)}, not {number}")
        return self.steps[number - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "alerts": list(self.alerts),
            "services": list(self.services),
            "routes": list(self.routes),
            "keywords": list(self.keywords),
            "intro": self.intro,
            "steps": [s.to_dict() for s in self.steps],
            "path": self.path,
            "sha256": self.sha256,
        }


def _list(value: Any, name: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return tuple(str(v) for v in value)
    raise InvalidInput(f"{where}: front matter {name} must be a list of strings", field=name)


def parse(text: str, *, name: str, path: str = "") -> Runbook:
    """A runbook from its Markdown; errors name the file and line."""
    where = path or name
    lines = text.splitlines()
    meta: dict[str, Any] = {}
    body_start = 0
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration:
            raise InvalidInput(
                f"{where}: front matter opened with --- on line 1 is never closed with ---"
            ) from None
        try:
            loaded = yaml.safe_load("\n".join(lines[1:end])) or {}
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{where}: front matter is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise InvalidInput(f"{where}: front matter must be key: value pairs")
        meta = loaded
        body_start = end + 1
    title = str(meta.get("title") or "")
    section = ""
    intro: list[str] = []
    steps: list[RunbookStep] = []
    for lineno, line in enumerate(lines[body_start:], body_start + 1):
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            if line.startswith("# ") and not title:
                title = heading
            elif not line.startswith("# "):
                section = heading
            continue
        m = _ITEM_RE.match(line)
        if not m:
            if not steps and line.strip() and not section:
                intro.append(line.strip())
            continue
        step_text = m.group("text")
        auto = _AUTO_RE.search(step_text)
        kind, target, params = "manual", "", {}
        if auto:
            if auto.group("kind") == "lever":
                parts = auto.group("target").split()
                target = parts[0]
                params = mitigations.parse_param_args(parts[1:])
                kind = "lever"
            else:
                target = auto.group("target").strip()
                try:
                    shlex.split(target)
                except ValueError as exc:
                    raise InvalidInput(
                        f"{where} line {lineno}: command {target!r}: {exc}"
                    ) from None
                kind = "command"
            step_text = (step_text[: auto.start()] + step_text[auto.end() :]).strip() or target
        steps.append(RunbookStep(len(steps) + 1, step_text, section, kind, target, params))
    if not steps:
        raise InvalidInput(f"{where}: a runbook needs at least one checklist step (- [ ] ...)")
    return Runbook(
        name=name,
        title=title or name,
        alerts=_list(meta.get("alerts"), "alerts", where),
        services=_list(meta.get("services"), "services", where),
        routes=_list(meta.get("routes"), "routes", where),
        keywords=_list(meta.get("keywords"), "keywords", where),
        intro=" ".join(intro),
        steps=tuple(steps),
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _dirs(settings: Settings) -> list[Path]:
    extra = settings.section("contain").get("runbook_dirs") or []
    if isinstance(extra, str):
        extra = [extra]
    base = settings.config_path.parent if settings.config_path else Path(".")
    out = [SHIPPED]
    for d in extra:
        p = Path(str(d)).expanduser()
        out.append(p if p.is_absolute() else base / p)
    return out


def load_all(settings: Settings | None = None) -> dict[str, Runbook]:
    """Every runbook by name (file stem); configured directories override shipped files."""
    settings = settings or load_settings()
    found: dict[str, Runbook] = {}
    for d in _dirs(settings):
        if not d.is_dir():
            if d != SHIPPED:
                raise InvalidInput(
                    f"runbook directory {d} (warroom.toml [contain] runbook_dirs) does not exist",
                    field="runbook_dirs",
                )
            continue
        for f in sorted(d.glob("*.md")):
            if f.name.lower() == "readme.md":
                continue
            found[f.stem] = parse(f.read_text(encoding="utf-8"), name=f.stem, path=str(f))
    return found


def get(
    name: str, *, settings: Settings | None = None, runbooks: dict[str, Runbook] | None = None
) -> Runbook:
    books = runbooks if runbooks is not None else load_all(settings)
    if name not in books:
        raise NotFound(f"no runbook {name!r}: runbooks are {', '.join(sorted(books))}")
    return books[name]


# --- matching -------------------------------------------------------------------------------


@dataclass
class Match:
    runbook: Runbook
    score: int
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.runbook.name,
            "title": self.runbook.title,
            "score": self.score,
            "reasons": self.reasons,
        }


def _context(db: Database, inc: incidents.Incident) -> tuple[str, set[str], set[str], set[str]]:
    """(lower-case text, alert names, services, routes) known about an incident."""
    from warroom.incidents import artifacts

    text = " ".join(
        [
            inc.title,
            inc.description,
            inc.error_messages,
            inc.suspected_changes,
            inc.impact_scope,
            inc.business_impact,
        ]
    ).lower()
    alerts: set[str] = set()
    services: set[str] = set()
    routes: set[str] = set()
    for e in timeline.read(db, inc.key, kinds=["alert.firing"]):
        for a in e.data.get("alerts", []):
            if a.get("name"):
                alerts.add(str(a["name"]).lower())
            labels = a.get("labels") or {}
            for k in ("service", "job", "app"):
                if labels.get(k):
                    services.add(str(labels[k]).lower())
            if labels.get("route"):
                routes.add(str(labels["route"]).lower())
    found = artifacts.latest(db, inc.key, kind="triage-report")
    if found is not None:
        try:
            report = json.loads(found[1].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            report = {}
        for r in report.get("routes") or []:
            if isinstance(r, dict) and r.get("affected") and r.get("route"):
                routes.add(str(r["route"]).lower())
        for s in report.get("suspects") or []:
            change = s.get("change") if isinstance(s, dict) else None
            if isinstance(change, dict) and change.get("service"):
                services.add(str(change["service"]).lower())
            if isinstance(change, dict) and change.get("kind"):
                text += f" {change['kind']}".lower()
        for k in ("headline", "symptom"):
            if report.get(k):
                text += f" {report[k]}".lower()
    return text, alerts, services, routes


def _word_in(word: str, text: str) -> bool:
    return re.search(r"(?<![\w/])" + re.escape(word.lower()) + r"(?![\w])", text) is not None


def suggest(
    db: Database,
    key: str,
    *,
    settings: Settings | None = None,
    runbooks: dict[str, Runbook] | None = None,
    limit: int = 3,
) -> list[Match]:
    """Runbooks that fit the incident by alert, service, route or keyword, best first."""
    books = runbooks if runbooks is not None else load_all(settings)
    inc = incidents.get(db, key)
    text, alerts, services, routes = _context(db, inc)
    out: list[Match] = []
    for rb in books.values():
        score, reasons = 0, []
        for a in rb.alerts:
            if a.lower() in alerts or _word_in(a, text):
                score += 3
                reasons.append(f"alert {a}")
        for s in rb.services:
            if s.lower() in services or _word_in(s, text):
                score += 2
                reasons.append(f"service {s}")
        for r in rb.routes:
            if (
                any(x == r.lower() or x.startswith(r.lower().rstrip("/") + "/") for x in routes)
                or r.lower() in text
            ):
                score += 2
                reasons.append(f"route {r}")
        hits = [k for k in rb.keywords if _word_in(k, text)]
        if hits:
            score += len(hits)
            reasons.append("mentions " + ", ".join(hits))
        if score >= 2:
            out.append(Match(rb, score, reasons))
    out.sort(key=lambda m: (-m.score, m.runbook.name))
    return out[:limit]


# --- runs -----------------------------------------------------------------------------------


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
    text = str(value).strip().upper().lstrip("R")
    if not text.isdigit():
        raise InvalidInput(f"{value!r} is not a runbook run: use R1", field="run")
    return int(text)


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
        number = (
            int(
                conn.execute(
                    sa.select(sa.func.max(runbook_runs.c.number)).where(
                        runbook_runs.c.incident_id == row.id
                    )
                ).scalar()
                or 0
            )
            + 1
        )
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


def describe_step(step: RunbookStep, *, levers: dict[str, mitigations.Lever]) -> list[str]:
    """What an automated step will do (the lever's plan or the command)."""
    if step.kind == "lever":
        lever = mitigations.get_lever(levers, step.target)
        return mitigations.make_plan(lever, step.params).actions
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
    levers: dict[str, mitigations.Lever] | None = None,
    started_at: datetime | None = None,
) -> Run:
    """Run an automated step (pull its lever or run its command) and record the outcome."""
    settings = settings or load_settings()
    the_run = get_run(db, key, run)
    rb = get(the_run.runbook, settings=settings, runbooks=runbooks)
    s = rb.step(step)
    begun = started_at or utcnow()
    if s.kind == "manual":
        raise InvalidInput(
            f"step {step} of {rb.name} is manual: mark it done or skipped", field="step"
        )
    if s.kind == "lever":
        levers = levers if levers is not None else mitigations.load_levers(settings)
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
    base = settings.config_path.parent if settings.config_path else Path(".")
    res = mitigations.run_command(shlex.split(s.target), timeout=COMMAND_TIMEOUT, cwd=str(base))
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
