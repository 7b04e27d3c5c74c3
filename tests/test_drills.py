"""Drills: generated evidence, a marked drill incident, timings and the revealed truth."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from warroom import incidents
from warroom.cli.main import app
from warroom.contain import drills
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition
from warroom.incidents import artifacts, timeline
from warroom.web.app import create_app


def test_drill_declares_a_marked_incident_with_evidence_and_scores_it(db, clock, tmp_path):
    d = drills.start(db, "deploy_5xx", actor="ana", out_dir=tmp_path / "d1", seed=3)
    inc = incidents.get(db, d.incident_key)
    assert inc.drill and inc.title.startswith("[DRILL]") and inc.severity.value == "P1"
    assert "coupon" not in inc.title.lower() and "D-104" not in inc.description
    assert set(d.files) == {"access_log", "app_log", "changes"}
    assert "truth" not in d.to_dict()
    assert [i.key for i in incidents.list_incidents(db, include_drills=False)] == []
    clock.advance(minutes=7)
    incidents.move(db, d.incident_key, to="contained", actor="ana")
    report = {"suspects": [{"id": "D-104"}], "routes": [{"route": "/checkout", "affected": True}]}
    artifacts.attach(
        db,
        d.incident_key,
        actor="ana",
        kind="triage-report",
        name="t.json",
        content=json.dumps(report).encode(),
    )
    assert drills.timings(db, d.incident_key)["contained"] == 7.0
    clock.advance(minutes=13)
    done = drills.end(db, d.incident_key, actor="ana")
    assert done.score is not None
    assert done.score["contained"] == 7.0 and done.score["elapsed_minutes"] == 20.0
    assert done.score["suspect_found"] and done.score["route_found"]
    assert done.truth["top_suspect"] == "D-104"
    kinds = [e.kind for e in timeline.read(db, d.incident_key)]
    assert kinds[1] == "drill.started" and kinds[-1] == "drill.ended"
    with pytest.raises(InvalidTransition):
        drills.end(db, d.incident_key, actor="ana")


def test_drill_refuses_unknown_scenario_and_used_directory(db, tmp_path):
    with pytest.raises(InvalidInput, match="unknown scenario"):
        drills.start(db, "meteor", actor="ana", out_dir=tmp_path / "x")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "f").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        drills.start(db, "healthy", actor="ana", out_dir=tmp_path / "used")


def test_drill_cli(db_url, clock, tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "drill",
            "migration_latency",
            "--out",
            str(tmp_path / "d"),
            "--seed",
            "5",
            "--db",
            db_url,
            "--as",
            "ana",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    key = json.loads(res.output)["incident"]
    clock.advance(minutes=4)
    res = runner.invoke(app, ["drills", key, "--end", "--db", db_url, "--as", "ana"])
    assert res.exit_code == 0, res.output
    assert "Truth:" in res.output and "M-12" in res.output
    res = runner.invoke(app, ["drills", "--db", db_url, "--json"])
    assert [d["scenario"] for d in json.loads(res.output)] == ["migration_latency"]
    database = Database(db_url)
    try:
        assert incidents.get(database, key).drill
    finally:
        database.dispose()


def test_drill_api_keeps_the_truth_until_the_end(sqlite_url, clock, tmp_path):
    database = Database(sqlite_url)
    d = drills.start(database, "healthy", actor="ana", out_dir=tmp_path / "d", seed=2)
    try:
        app = create_app(Settings(database_url=sqlite_url), database=database)
        with TestClient(app) as client:
            running = client.get(f"/api/v1/incidents/{d.incident_key}/drill").json()
            assert "truth" not in running and running["timings"]["stage"] == "detected"
            assert running["ended_at"] is None and running["score"] is None
            drills.end(database, d.incident_key, actor="ana")
            ended = client.get(f"/api/v1/incidents/{d.incident_key}/drill").json()
            assert ended["truth"] == drills.get(database, d.incident_key).truth
            listed = client.get("/api/v1/drills").json()
            assert listed == [drills.get(database, d.incident_key).to_dict()]
    finally:
        database.dispose()
