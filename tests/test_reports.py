"""Reports: figures checked against values computed by hand on a small fixed history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from warroom import incidents
from warroom.cli.main import app
from warroom.learn import actions, reports, rootcause


def T(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def _incident(db, clock, *, title, sev, start, detect, commander, contain, fix, drill=False):
    clock.set(detect)
    inc = incidents.declare(
        db, title=title, actor="ana", severity=sev, started_at=start, drill=drill
    )
    if commander:
        clock.set(commander)
        incidents.assign_role(db, inc.key, role="commander", person="ana", actor="ana")
    clock.set(contain)
    incidents.move(db, inc.key, to="contained", actor="ana")
    clock.set(fix)
    incidents.move(db, inc.key, to="fixed", actor="ana")
    return inc.key


def _history(db, clock):
    # MTTD 600, MTTA 300, MTTC 2400, MTTR 3600
    k1 = _incident(
        db,
        clock,
        title="Orders slow",
        sev="P1",
        start=T(1, 10),
        detect=T(1, 10, 10),
        commander=T(1, 10, 15),
        contain=T(1, 10, 40),
        fix=T(1, 11),
    )
    # MTTD 1800, MTTA 120, MTTC 3600, MTTR 10800
    k2 = _incident(
        db,
        clock,
        title="Payments down",
        sev="P1",
        start=T(2, 9),
        detect=T(2, 9, 30),
        commander=T(2, 9, 32),
        contain=T(2, 10),
        fix=T(2, 12),
    )
    # MTTD 300, no commander, MTTC 2100, MTTR 3600
    k3 = _incident(
        db,
        clock,
        title="Search stale",
        sev="P2",
        start=T(3, 8),
        detect=T(3, 8, 5),
        commander=None,
        contain=T(3, 8, 35),
        fix=T(3, 9),
    )
    # a drill: left out of every figure
    _incident(
        db,
        clock,
        title="Game day",
        sev="P1",
        start=T(4, 8),
        detect=T(4, 10),
        commander=T(4, 11),
        contain=T(4, 12),
        fix=T(4, 13),
        drill=True,
    )
    # update punctuality on INC-1: promised 10:42, came 10:40 (on time); promised 11:10,
    # came 11:20 (late); the last promised nothing
    for at, nxt in (
        (T(1, 10, 12), T(1, 10, 42)),
        (T(1, 10, 40), T(1, 11, 10)),
        (T(1, 11, 20), None),
    ):
        clock.set(at)
        incidents.record(
            db,
            k1,
            kind="update.posted",
            actor="ana",
            data={"audience": "stakeholder", "next_update_at": nxt.isoformat() if nxt else None},
        )
    rootcause.record_root_cause(db, k1, category="unindexed_query", summary="scan", actor="ana")
    rootcause.record_root_cause(db, k2, category="dependency_failure", summary="psp", actor="ana")
    clock.set(T(20, 12))
    actions.add(db, k1, title="Index", type="corrective", actor="ana")
    actions.add(db, k1, title="Plan check", type="preventive", actor="ana", due_at=T(25, 0))
    actions.add(db, k2, title="PSP fallback", type="mitigation", actor="ana", due_at=T(22, 0))
    actions.add(db, k3, title="Dropped", type="detective", actor="ana")
    actions.update(db, "AI-1", status="done", actor="ana")
    actions.update(db, "AI-4", status="cancelled", actor="ana")
    clock.set(T(24, 0))
    return k1, k2, k3


def test_report_figures_match_hand_computed_values(db, clock):
    _history(db, clock)
    rep = reports.build(db, since=T(1, 0), until=T(24, 0))
    assert rep.incidents == ["INC-1", "INC-2", "INC-3"]
    assert rep.by_severity == {"P1": 2, "P2": 1}
    assert rep.by_category == {"unindexed_query": 1, "dependency_failure": 1, "unknown": 1}
    d = rep.durations
    # MTTD [300, 600, 1800]: median 600; p90 = 600 + 0.8 * 1200 = 1560
    assert d["mttd"]["all"] == {"n": 3, "median": 600.0, "p90": 1560.0}
    # MTTA [120, 300] (INC-3 never had a commander): median 210; p90 = 120 + 0.9*180 = 282
    assert d["mtta"]["all"] == {"n": 2, "median": 210.0, "p90": 282.0}
    # MTTC [2100, 2400, 3600]: median 2400; p90 = 2400 + 0.8 * 1200 = 3360
    assert d["mttc"]["all"] == {"n": 3, "median": 2400.0, "p90": 3360.0}
    # MTTR [3600, 3600, 10800]: median 3600; p90 = 3600 + 0.8 * 7200 = 9360
    assert d["mttr"]["all"] == {"n": 3, "median": 3600.0, "p90": 9360.0}
    # per severity P1: [3600, 10800] -> median 7200, p90 3600 + 0.9 * 7200 = 10080
    assert d["mttr"]["severity P1"] == {"n": 2, "median": 7200.0, "p90": 10080.0}
    assert d["mttr"]["severity P2"] == {"n": 1, "median": 3600.0, "p90": 3600.0}
    assert d["mttr"]["month 2026-10"]["n"] == 3
    assert rep.punctuality == {"on_time": 1, "expected": 2, "rate": 0.5}
    # 3 items count (the cancelled one does not): 1 done; AI-3 due 22 Oct is overdue on 24 Oct
    assert rep.action_items == {
        "total": 3,
        "done": 1,
        "open": 2,
        "overdue": 1,
        "completion_rate": 1 / 3,
    }
    md = reports.render_markdown(rep)
    assert "| MTTR (start to resolution) | all | 3 | 1h00m | 2h36m |" in md
    assert "Punctuality: 1 of 2 on time (50%)." in md
    html = reports.render_html(rep)
    assert html.count("data:image/svg+xml;base64,") == 2


def test_report_cli_json_and_period_parsing(db, db_url, clock):
    _history(db, clock)
    result = CliRunner().invoke(
        app, ["report", "--since", "2026-10-01", "--until", "2026-10-24", "--json", "--db", db_url]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["count"] == 3 and data["by_severity"] == {"P1": 2, "P2": 1}
    assert reports.parse_since("90d", now=T(24, 0)) == T(24, 0) - timedelta(days=90)
    bad = CliRunner().invoke(app, ["report", "--since", "soon", "--db", db_url])
    assert bad.exit_code == 2 and "90d" in bad.output
