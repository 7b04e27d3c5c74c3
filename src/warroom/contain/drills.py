"""Drills: a realistic generated incident, declared as a drill, with the team timed through it.

    d = start(db, "deploy_5xx", actor="ana", out_dir="drill-1")   # logs, app log, changes
    ... the team triages, contains, finds the cause, fixes, verifies ...
    card = end(db, d.incident_key, actor="ana")                   # times per stage, truth

Drill incidents carry `drill=True`: they are badged everywhere and left out of real metrics
(`incidents.list_incidents(include_drills=False)`). The scenario's truth (onset, route,
suspect change) is stored with the drill and revealed only when it ends.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from warroom import incidents
from warroom.contain import mitigations
from warroom.contain.tables import drills
from warroom.core.clock import utcnow
from warroom.core.db import Database
from warroom.core.errors import Hint, InvalidInput, InvalidTransition, NotFound
from warroom.incidents import artifacts, timeline
from warroom.incidents.tables import incidents as incidents_table
from warroom.triage import scenarios as sc

STARTED = "drill.started"
ENDED = "drill.ended"
AFTER_FIX, AFTER_FIX_JSON = "after-fix.log", "after-fix.jsonl"
DRILL_LOG_MINUTES = 180  # the scenarios' default length: the onset about an hour before now
AFTER_FIX_MINUTES = 30  # the default soak of `warroom verify` (10 min) and 20 min to judge

# What the pager or a reporter would say: the symptom, never the answer.
BRIEFS: dict[str, tuple[str, str]] = {
    "deploy_5xx": ("Customers report errors at checkout", "P1"),
    "migration_latency": ("Order pages are slow", "P2"),
    "healthy": ("A customer says the site feels slow", "P3"),
    "retry_storm": ("Inventory API traffic spike", "P2"),
    "upstream_timeout": ("Search and product pages time out", "P1"),
    "latency_creep": ("Search is getting slower", "P3"),
    "short_outage": ("Errors on several pages for a few minutes", "P2"),
    "gradual_degradation": ("Orders and checkout slow, now failing", "P1"),
    "traffic_drop": ("Checkout orders are down, no errors seen", "P1"),
    "app_log_local_time": ("Card payments fail at checkout", "P1"),
    "marketing_surge": ("Traffic tripled after the campaign mail", "P3"),
}


@dataclass
class Drill:
    incident_key: str
    scenario: str
    seed: int
    directory: str
    truth: dict[str, Any]
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    score: dict[str, Any] | None
    files: dict[str, str]

    def to_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "incident": self.incident_key,
            "scenario": self.scenario,
            "seed": self.seed,
            "directory": self.directory,
            "files": self.files,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "score": self.score,
        }
        if reveal or self.ended_at:
            out["truth"] = self.truth
        return out


def _files(directory: str) -> dict[str, str]:
    d = Path(directory)
    names = {
        "access_log": ("access.log", "access.jsonl"),
        "app_log": ("app.log",),
        "changes": ("changes.jsonl",),
        "after_fix_log": (AFTER_FIX, AFTER_FIX_JSON),
    }
    out = {}
    for key, candidates in names.items():
        for c in candidates:
            if (d / c).exists():
                out[key] = str(d / c)
    return out


def start(
    db: Database,
    scenario: str,
    *,
    actor: str,
    out_dir: str | Path,
    seed: int | None = None,
    severity: str | None = None,
    commander: str | None = None,
) -> Drill:
    """Generate the scenario's logs in `out_dir` and declare the drill incident."""
    if scenario not in sc.SCENARIOS:
        raise InvalidInput(
            f"unknown scenario {scenario!r}: use one of {', '.join(sc.SCENARIOS)}", field="scenario"
        )
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(
            f"{out} is not empty: give a new directory for the drill's files", field="out"
        )
    seed = random.SystemRandom().randrange(1, 1_000_000) if seed is None else seed
    # The evidence ends now, as a real incident's logs would: the onset an hour ago or so.
    now = utcnow()
    truth = sc.generate(scenario, out, seed=seed, start=_log_start(now))
    title, default_sev = BRIEFS.get(scenario, (f"Drill: {scenario}", "P2"))
    files = _files(str(out))
    inc = incidents.declare(
        db,
        title=f"[DRILL] {title}",
        actor=actor,
        severity=severity or default_sev,
        description=(
            f"Drill scenario {scenario}. The evidence is in {out}: access log, "
            "application log and the change list. Triage, contain, find the cause, "
            "fix and verify as if it were real."
        ),
        drill=True,
        commander=commander,
    )
    truth_data = {
        "incident": truth.incident,
        "onset": truth.onset.isoformat() if truth.onset else None,
        "top_route": truth.top_route,
        "top_suspect": truth.top_suspect,
        "log_format": truth.log_format,
        "lines": truth.lines,
    }
    with db.transaction() as conn:
        row = incidents.lock(db, conn, inc.key)
        conn.execute(
            drills.insert().values(
                incident_id=row.id,
                scenario=scenario,
                seed=seed,
                directory=str(out),
                truth=truth_data,
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
                "scenario": scenario,
                "seed": seed,
                "directory": str(out),
                "files": files,
                "summary": f"Drill started: scenario {scenario}, evidence in {out}",
            },
        )
    return get(db, inc.key)


def _log_start(now: datetime) -> datetime:
    """Where a drill's logs begin: DRILL_LOG_MINUTES before `now`, on a whole minute."""
    return now.replace(second=0, microsecond=0) - timedelta(minutes=DRILL_LOG_MINUTES)


def _from_row(key: str, r: Any) -> Drill:
    return Drill(
        key,
        r.scenario,
        r.seed,
        r.directory,
        r.truth,
        r.started_by,
        r.started_at,
        r.ended_at,
        r.score,
        _files(r.directory),
    )


def get(db: Database, key: str) -> Drill:
    with db.read() as conn:
        incident_id = incidents.get_id(conn, key)
        r = conn.execute(sa.select(drills).where(drills.c.incident_id == incident_id)).first()
    k = f"INC-{incidents.parse_key(key)}"
    if r is None:
        raise NotFound(f"{k} is not a drill", hint=Hint("list_drills", "see the drills"))
    return _from_row(k, r)


def list_drills(db: Database) -> list[Drill]:
    """Every drill, oldest first."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(drills, incidents_table.c.key.label("key"))
            .join(incidents_table, incidents_table.c.id == drills.c.incident_id)
            .order_by(drills.c.id)
        ).all()
    return [_from_row(r.key, r) for r in rows]


def timings(db: Database, key: str) -> dict[str, Any]:
    """Minutes from the drill's start to each stage reached (None when not reached yet)."""
    d = get(db, key)
    inc = incidents.get(db, key)
    end = d.ended_at or utcnow()
    out: dict[str, Any] = {"elapsed_minutes": round((end - d.started_at).total_seconds() / 60, 1)}
    for stage in ("contained", "root_caused", "fixed", "verified", "closed"):
        t = inc.stage_times.get(stage)
        out[stage] = None if t is None else round((t - d.started_at).total_seconds() / 60, 1)
    out["stage"] = inc.stage.value
    return out


def after_fix(db: Database, key: str) -> tuple[Path, bool, datetime]:
    """Write the drill's traffic of the 30 minutes after the fix into its directory.

    The fix is the latest lever pulled, containment or fix (what `verify` takes too). The
    traffic is healthy when a lever is still applied or the incident is fixed, else the
    scenario's fault goes on: a drill tells whether the team's action worked. Time is
    fast-forwarded: the lines are dated after the fix, so `warroom verify` can judge now.
    Returns (the file, whether the traffic is healthy, the fix time)."""
    d = get(db, key)
    inc = incidents.get(db, key)
    pulled = mitigations.list_for(db, key)
    applied = [m for m in pulled if m.status == "applied"]
    marks = [t for t in (inc.stage_times.get("contained"), inc.stage_times.get("fixed")) if t]
    marks += [m.created_at for m in pulled]
    if not marks:
        raise InvalidTransition(
            f"{d.incident_key} has no fix yet: pull a lever (or move it to contained) first; "
            "the traffic after the fix depends on it",
            hint=Hint("list_levers", "see the levers", incident=d.incident_key),
        )
    fix = max(marks)
    healthy = bool(applied) or inc.stage.value in ("fixed", "verified", "closed")
    name = AFTER_FIX_JSON if d.truth.get("log_format") == "json" else AFTER_FIX
    path = Path(d.directory) / name
    sc.write_traffic(
        d.scenario,
        path,
        fix,
        recovered=healthy,
        seed=d.seed + 1,
        minutes=AFTER_FIX_MINUTES,
        log_format=str(d.truth.get("log_format") or "combined"),
    )
    return path, healthy, fix


def _triage_check(db: Database, key: str, truth: dict[str, Any]) -> dict[str, Any]:
    report = artifacts.latest_triage_report(db, key)
    if report is None:
        return {"triage_report": False}
    suspects = [s.get("id") for s in report.get("suspects") or [] if isinstance(s, dict)]
    routes = [
        r.get("route")
        for r in report.get("routes") or []
        if isinstance(r, dict) and r.get("affected")
    ]
    out: dict[str, Any] = {"triage_report": True}
    if truth.get("top_suspect"):
        out["suspect_found"] = bool(suspects) and suspects[0] == truth["top_suspect"]
    if truth.get("top_route"):
        out["route_found"] = truth["top_route"] in routes[:3]
    return out


def end(db: Database, key: str, *, actor: str) -> Drill:
    """End the drill: the scorecard (minutes to each stage, checks) and the truth revealed."""
    d = get(db, key)
    if d.ended_at is not None:
        raise InvalidTransition(f"the drill {d.incident_key} already ended")
    score = {**timings(db, key), **_triage_check(db, key, d.truth)}
    now = utcnow()
    score["elapsed_minutes"] = round((now - d.started_at).total_seconds() / 60, 1)
    reached = [
        s for s in ("contained", "root_caused", "fixed", "verified") if score.get(s) is not None
    ]
    summary = f"Drill ended after {score['elapsed_minutes']} min"
    if score.get("contained") is not None:
        summary += f"; contained at +{score['contained']} min"
    summary += f"; reached {reached[-1] if reached else 'no stage past detection'}"
    with db.transaction() as conn:
        row = incidents.lock(db, conn, key)
        conn.execute(
            drills.update().where(drills.c.incident_id == row.id).values(ended_at=now, score=score)
        )
        timeline.append(
            conn,
            row.id,
            actor=actor,
            kind=ENDED,
            at=now,
            data={
                "scenario": d.scenario,
                "score": score,
                "truth": d.truth,
                "summary": summary,
            },
        )
    return get(db, key)
