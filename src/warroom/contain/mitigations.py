"""Mitigations: levers pulled on an incident, each recorded (M1, M2, ...) and undoable.

The levers themselves (how each kind is declared, planned, run and reversed) are
`warroom.contain.levers`; this module pulls one on an incident and keeps the record::

    m = apply(db, "INC-1", "rollback", actor="ana", params={"version": "v41"}, levers=levers)
    undo(db, "INC-1", "M1", actor="ana", levers=levers)
    suggestions(db, "INC-1", levers=levers)   # the ones the triage report points at first

Nothing moves half-way unreported: a multi-step lever that fails at step k records steps
1..k-1 done (and not undone), step k failed and the rest not run, as `mitigation.failed`.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa

from warroom import incidents
from warroom.contain.levers import KINDS, Lever, get_lever, load_levers, make_plan
from warroom.contain.levers.base import Recorded, failed_start
from warroom.contain.tables import mitigations, next_number
from warroom.core.clock import utcnow
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, InvalidTransition, NotFound, WarroomError
from warroom.core.refs import parse_number
from warroom.incidents import artifacts, timeline

APPLIED = "mitigation.applied"
FAILED = "mitigation.failed"
UNDONE = "mitigation.undone"
UNDO_FAILED = "mitigation.undo_failed"
UNDOABLE = ("applied", "failed", "undo_failed")


@dataclass
class Mitigation:
    number: int
    incident_key: str
    lever: str
    kind: str
    params: dict[str, str]
    status: str
    plan: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    steps: list[dict[str, Any]]
    undo_steps: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    undone_by: str | None = None
    undone_at: datetime | None = None

    @property
    def id(self) -> str:
        return f"M{self.number}"

    @property
    def summary(self) -> str:
        return summarise(self.lever, self.status, self.steps)

    def recorded(self) -> Recorded:
        return Recorded(self.id, self.params, self.before, self.after, self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident": self.incident_key,
            "lever": self.lever,
            "kind": self.kind,
            "params": self.params,
            "status": self.status,
            "summary": self.summary,
            "plan": self.plan,
            "before": _public(self.before),
            "after": _public(self.after),
            "steps": self.steps,
            "undo_steps": self.undo_steps,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "undone_by": self.undone_by,
            "undone_at": self.undone_at.isoformat() if self.undone_at else None,
        }


def _public(state: dict[str, Any]) -> dict[str, Any]:
    """A recorded state without the file's bytes (kept in the row, for undo, not shown)."""
    return {k: v for k, v in state.items() if k != "bytes_b64"}


def summarise(lever: str, status: str, steps: list[dict[str, Any]]) -> str:
    done = [s for s in steps if s["status"] == "done"]
    failed = [s for s in steps if s["status"] == "failed"]
    not_run = [s for s in steps if s["status"] == "not_run"]
    if status in ("applied", "undone"):
        verb = "applied" if status == "applied" else "undone"
        return f"lever {lever} {verb} ({len(done)} step{'s' if len(done) != 1 else ''} done)"
    parts = [f"lever {lever} {status.replace('_', ' ')}"]
    if failed:
        f = failed[0]
        why = f.get("stderr") or f.get("body") or ""
        why = why.strip().splitlines()[-1] if why.strip() else f"exit {f.get('rc')}"
        parts.append(f"at step {f['step']} ({why[:120]})")
    if done:
        parts.append(f"steps {', '.join(str(s['step']) for s in done)} done and NOT undone")
    if not_run:
        parts.append(f"steps {', '.join(str(s['step']) for s in not_run)} not run")
    return "; ".join(parts)


def _from_row(key: str, r: Any) -> Mitigation:
    return Mitigation(
        number=r.number,
        incident_key=key,
        lever=r.lever,
        kind=r.kind,
        params=r.params,
        status=r.status,
        plan=r.plan,
        before=r.before,
        after=r.after,
        steps=r.steps,
        undo_steps=r.undo_steps,
        created_by=r.created_by,
        created_at=r.created_at,
        undone_by=r.undone_by,
        undone_at=r.undone_at,
    )


def _step_brief(s: dict[str, Any]) -> dict[str, Any]:
    keep = ("step", "status", "rc", "http_status", "seconds", "action", "request")
    out = {k: s[k] for k in keep if k in s}
    if "argv" in s:
        out["command"] = shlex.join(s["argv"])
    if s["status"] == "failed":
        out["error"] = (s.get("stderr") or s.get("body") or "")[-500:]
    return out


def _incident_ref(key: str) -> str | None:
    """`INC-7` for a hint, when `key` is a valid reference (the lookup reports it otherwise)."""
    try:
        return f"INC-{incidents.parse_key(key)}"
    except InvalidInput:
        return None


def _levers(settings: Settings | None, levers: dict[str, Lever] | None) -> dict[str, Lever]:
    return levers if levers is not None else load_levers(settings or Settings())


# --- pulling a lever ------------------------------------------------------------------------


def apply(
    db: Database,
    key: str,
    lever_name: str,
    *,
    actor: str,
    params: dict[str, str] | None = None,
    settings: Settings | None = None,
    levers: dict[str, Lever] | None = None,
    transport: httpx.BaseTransport | None = None,
    extra: dict[str, Any] | None = None,
) -> Mitigation:
    """Pull a lever on an incident and record what happened (applied or failed, with state).

    The row is written as `running` before anything runs, so a crash mid-lever still leaves a
    trace; the result and the timeline event are written together afterwards.
    """
    lever = get_lever(_levers(settings, levers), lever_name, incident=_incident_ref(key))
    the_plan = make_plan(lever, params)
    values = the_plan.params
    now = utcnow()
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        if row.stage == incidents.Stage.CLOSED.value:
            raise InvalidTransition(
                f"{row.key} is closed: reopen it before pulling levers",
                hint=Hint("reopen", "reopen it", incident=row.key),
            )
        number = next_number(conn, mitigations, row.id)
        mid = conn.execute(
            mitigations.insert()
            .values(
                incident_id=row.id,
                number=number,
                lever=lever.name,
                kind=lever.kind,
                params=values,
                status="running",
                plan=the_plan.to_dict(),
                before={},
                after={},
                steps=[],
                undo_steps=[],
                created_by=actor,
                created_at=now,
            )
            .returning(mitigations.c.id)
        ).scalar_one()
        inc_key = row.key
    try:
        outcome = lever.apply(values, transport=transport)
    except (WarroomError, OSError) as exc:
        # e.g. the flag file became invalid between the plan and the run: nothing was written.
        outcome = failed_start("start the lever", exc)
    status = "applied" if outcome.ok else "failed"
    summary = summarise(lever.name, status, outcome.steps)
    with db.transaction() as conn:
        row = incidents.lock(db, conn, inc_key)
        conn.execute(
            mitigations.update()
            .where(mitigations.c.id == mid)
            .values(status=status, before=outcome.before, after=outcome.after, steps=outcome.steps)
        )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=APPLIED if status == "applied" else FAILED,
            data={
                "mitigation": f"M{number}",
                "lever": lever.name,
                "kind": lever.kind,
                "params": values,
                "status": status,
                "summary": f"M{number} {summary}",
                "actions": the_plan.actions,
                "steps": [_step_brief(s) for s in outcome.steps],
                "before": _public(outcome.before),
                "after": _public(outcome.after),
                **(extra or {}),
            },
        )
        r = conn.execute(sa.select(mitigations).where(mitigations.c.id == mid)).one()
        return _from_row(inc_key, r)


# --- reading --------------------------------------------------------------------------------


def get(db: Database, key: str, ident: str | int) -> Mitigation:
    """One mitigation of an incident by its reference (`M1`, `m1` or `1`)."""
    number = parse_number(ident, prefix="M", noun="mitigation", field="action")
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        r = conn.execute(
            sa.select(mitigations).where(
                mitigations.c.incident_id == incident_id, mitigations.c.number == number
            )
        ).first()
    inc_key = f"INC-{incidents.parse_key(key)}"
    if r is None:
        raise NotFound(
            f"{inc_key} has no mitigation M{number}",
            field="action",
            hint=Hint("list_mitigations", "see its mitigations", incident=inc_key),
        )
    return _from_row(inc_key, r)


def list_for(db: Database, key: str) -> list[Mitigation]:
    """The incident's mitigations, oldest first."""
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        rows = conn.execute(
            sa.select(mitigations)
            .where(mitigations.c.incident_id == incident_id)
            .order_by(mitigations.c.number)
        ).all()
    k = f"INC-{incidents.parse_key(key)}"
    return [_from_row(k, r) for r in rows]


# --- undoing --------------------------------------------------------------------------------


def _undoer(m: Mitigation, lever: Lever | None) -> Lever:
    """The lever that reverses `m`: its declaration, else what the record alone allows."""
    if m.status not in UNDOABLE:
        raise InvalidTransition(
            f"{m.id} of {m.incident_key} is {m.status}: there is nothing to undo",
            hint=Hint("list_mitigations", "see its mitigations", incident=m.incident_key),
        )
    if lever is not None and lever.kind == m.kind:
        return lever
    return KINDS.get(m.kind, Lever).undeclared(m.lever, m.recorded())


def undo_plan(m: Mitigation, lever: Lever | None) -> list[str]:
    """What undoing this mitigation will do, in words (refuses what cannot be undone)."""
    return _undoer(m, lever).undo_plan(m.recorded())


def undo(
    db: Database,
    key: str,
    ident: str | int,
    *,
    actor: str,
    settings: Settings | None = None,
    levers: dict[str, Lever] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Mitigation:
    """Reverse a mitigation: undo the steps that were done, newest first, and record it."""
    m = get(db, key, ident)
    inc_key = m.incident_key
    lever = _levers(settings, levers).get(m.lever)
    outcome = _undoer(m, lever).undo(m.recorded(), transport=transport)
    results = outcome.steps
    ok = outcome.ok
    status = "undone" if ok else "undo_failed"
    if ok:
        summary = f"{m.id} lever {m.lever} undone" + (f" ({outcome.note})" if outcome.note else "")
    else:
        summary = (
            f"{m.id} undo of lever {m.lever} failed; "
            + summarise(m.lever, "undo_failed", results).split("; ", 1)[-1]
        )
    now = utcnow()
    with db.transaction() as conn:
        row = incidents.lock(db, conn, inc_key)
        current = conn.execute(
            sa.select(mitigations.c.status).where(
                mitigations.c.incident_id == row.id, mitigations.c.number == m.number
            )
        ).scalar_one()
        if current != m.status:
            raise InvalidTransition(
                f"{m.id} changed to {current} while undoing; check it",
                hint=Hint("list_mitigations", "see its mitigations", incident=inc_key),
            )
        conn.execute(
            mitigations.update()
            .where(mitigations.c.incident_id == row.id, mitigations.c.number == m.number)
            .values(
                status=status,
                undo_steps=results,
                undone_by=actor if ok else None,
                undone_at=now if ok else None,
            )
        )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=UNDONE if ok else UNDO_FAILED,
            at=now,
            data={
                "mitigation": m.id,
                "lever": m.lever,
                "status": status,
                "summary": summary,
                "steps": [_step_brief(r) for r in results],
            },
        )
    return get(db, inc_key, m.number)


# --- suggestions ----------------------------------------------------------------------------


@dataclass
class Suggestion:
    lever: Lever
    reason: str
    params: dict[str, str]
    suggested: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.lever.to_dict(),
            "reason": self.reason,
            "params": self.params,
            "suggested": self.suggested,
        }


def _suspects(db: Database, key: str) -> list[dict[str, Any]]:
    report = artifacts.latest_triage_report(db, key)
    if report is None:
        return []
    # Suspect changes first (weak ones, score under 0.3, are not worth a lever), then the
    # report's containment steps ("Rate-limit /search ...", target "/search").
    items = [
        s
        for s in report.get("suspects") or []
        if isinstance(s, dict) and float(s.get("score", 1.0) or 0.0) >= 0.3
    ]
    items += [
        {**c, "summary": c.get("action")}
        for c in report.get("containment") or []
        if isinstance(c, dict) and c.get("action")
    ]
    return items


def _suspect_ref(s: dict[str, Any]) -> str | None:
    nested = s.get("change")
    change: dict[str, Any] = nested if isinstance(nested, dict) else s
    for k in ("ref", "version", "sha", "commit", "id", "name", "target"):
        if change.get(k):
            return str(change[k])
    return None


def suggestions(
    db: Database,
    key: str,
    *,
    settings: Settings | None = None,
    levers: dict[str, Lever] | None = None,
) -> list[Suggestion]:
    """Every lever, the ones the triage report points at first (roll back the suspect)."""
    suspects = _suspects(db, key)
    first: list[Suggestion] = []
    rest: list[Suggestion] = []
    for lever in _levers(settings, levers).values():
        hit = None
        for s in suspects:
            text = json.dumps(s, default=str).lower()
            if any(word in text for word in lever.suggest_on):
                hit = s
                break
        if hit is None:
            rest.append(Suggestion(lever, lever.description, {}, False))
            continue
        params: dict[str, str] = {}
        ref = _suspect_ref(hit)
        if lever.suspect_param and ref:
            params[lever.suspect_param] = ref
        what = (
            hit.get("summary")
            or hit.get("reason")
            or hit.get("title")
            or hit.get("description")
            or ref
            or "?"
        )
        verb = "triage suggests" if "action" in hit else "triage suspects"
        first.append(Suggestion(lever, f"{verb} {what}", params, True))
    return first + rest
