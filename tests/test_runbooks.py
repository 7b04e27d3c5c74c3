"""Runbooks: parsing, the shipped set, matching an incident, walking one on the timeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warroom import incidents
from warroom.cli.main import app
from warroom.contain import runbooks
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition, NotFound
from warroom.incidents import timeline

SHIPPED = {
    "deploy-5xx",
    "db-cpu-saturation",
    "queue-backlog",
    "connection-pool-exhaustion",
    "retry-storm",
    "payment-callback-failures",
    "upstream-timeouts",
    "security-incident",
    "data-recovery",
}

DRILL_BOOK = f"""---
title: Search is slow
services: [search]
---
# Search is slow

Intro line.

## Look
- [ ] Check the search dashboard
- [ ] Read the slow log
## Act
- [ ] Print the version `run: {sys.executable} -c "print('v7')"`
- [ ] Serve old search `lever: search-off`
"""


def test_parse_front_matter_sections_and_automated_steps():
    rb = runbooks.parse(DRILL_BOOK, name="search")
    assert rb.title == "Search is slow" and rb.services == ("search",)
    assert rb.intro == "Intro line."
    assert [s.kind for s in rb.steps] == ["manual", "manual", "command", "lever"]
    assert rb.steps[2].section == "Act" and rb.steps[3].target == "search-off"
    assert rb.steps[3].text == "Serve old search"
    lever = runbooks.parse("- [ ] Roll back `lever: rollback version=v41`", name="x").steps[0]
    assert lever.params == {"version": "v41"}
    with pytest.raises(InvalidInput, match="at least one checklist step"):
        runbooks.parse("# nothing\n\ntext only", name="empty")
    with pytest.raises(InvalidInput, match="never closed"):
        runbooks.parse("---\ntitle: x\n- [ ] a", name="open")


def test_shipped_runbooks_cover_the_seed_incidents():
    books = runbooks.load_all(Settings())
    assert set(books) >= SHIPPED
    for rb in books.values():
        assert len(rb.steps) >= 5, rb.name
        assert rb.alerts or rb.keywords or rb.services, rb.name
    security = books["security-incident"]
    text = " ".join(s.text.lower() for s in security.steps)
    for word in ("evidence", "sha256", "impact", "patch", "forensic", "compliance"):
        assert word in text or word in " ".join(s.section.lower() for s in security.steps)
    recovery = " ".join(s.text.lower() for s in books["data-recovery"].steps)
    for word in ("backup", "point-in-time", "integrity", "replay"):
        assert word in recovery


def test_runbook_suggested_by_title_alert_and_route(db):
    key = incidents.declare(db, title="5xx after the 14:02 deploy of checkout", actor="ana").key
    names = [
        m.runbook.name for m in runbooks.suggest(db, key, runbooks=runbooks.load_all(Settings()))
    ]
    assert names[0] == "deploy-5xx"
    other = incidents.declare(db, title="Orders stuck", actor="ana").key
    incidents.record(
        db,
        other,
        kind="alert.firing",
        actor="alertmanager",
        data={"summary": "1 alert firing", "alerts": [{"name": "QueueBacklog", "labels": {}}]},
    )
    matches = runbooks.suggest(db, other, runbooks=runbooks.load_all(Settings()))
    assert matches[0].runbook.name == "queue-backlog" and "alert QueueBacklog" in matches[0].reasons
    quiet = incidents.declare(db, title="Something odd", actor="ana").key
    assert runbooks.suggest(db, quiet, runbooks=runbooks.load_all(Settings())) == []


def test_steps_cannot_be_recorded_twice_and_run_finishes(db):
    books = {"search": runbooks.parse(DRILL_BOOK, name="search")}
    key = incidents.declare(db, title="Search slow", actor="ana").key
    run = runbooks.start(db, key, "search", actor="ana", runbooks=books)
    assert runbooks.start(db, key, "search", actor="bo", runbooks=books).number == run.number
    runbooks.record_step(db, key, run.id, 1, actor="ana", outcome="done")
    with pytest.raises(InvalidTransition, match="already done by ana"):
        runbooks.record_step(db, key, run.id, 1, actor="bo", outcome="skipped")
    runbooks.record_step(db, key, run.id, 3, actor="bo", outcome="failed", note="no access")
    assert runbooks.get_run(db, key, "R1").next_step == 2
    for n in (2, 3, 4):
        run = runbooks.record_step(db, key, "R1", n, actor="bo", outcome="skipped")
    assert run.status == "finished" and run.next_step is None
    kinds = [e.kind for e in timeline.read(db, key)]
    assert kinds.count("runbook.step") == 5 and kinds[-1] == "runbook.finished"


def test_cli_run_leaves_one_timeline_event_per_step(db_url, tmp_path: Path):
    books = tmp_path / "books"
    books.mkdir()
    (books / "search.md").write_text(DRILL_BOOK)
    (tmp_path / "flags.json").write_text(
        json.dumps(
            {
                "flags": {
                    "search-v2": {
                        "state": "ENABLED",
                        "variants": {"on": True, "off": False},
                        "defaultVariant": "on",
                    }
                }
            }
        )
    )
    config = tmp_path / "warroom.toml"
    config.write_text(
        '[contain]\nflag_file = "flags.json"\nrunbook_dirs = ["books"]\n\n'
        '[levers.search-off]\nkind = "flag"\nflag = "search-v2"\n'
        'variant = "off"\n'
    )
    database = Database(db_url)
    key = incidents.declare(database, title="Search slow", actor="ana").key
    runner = CliRunner()
    args = [
        "runbook",
        "run",
        "search",
        "--incident",
        key,
        "--db",
        db_url,
        "--config",
        str(config),
        "--as",
        "cy",
    ]
    # Stop after the first step, then resume where it stopped.
    res = runner.invoke(app, args, input="d\nq\n")
    assert res.exit_code == 0, res.output
    assert "Stopped with 3 step(s) open" in res.output
    res = runner.invoke(app, args, input="s not relevant today\nr\nr\n")
    assert res.exit_code == 0, res.output
    assert "set flag search-v2" in res.output and "finished" in res.output
    try:
        steps = timeline.read(database, key, kinds=["runbook.step"])
        assert [(e.data["step"], e.data["outcome"], e.actor) for e in steps] == [
            (1, "done", "cy"),
            (2, "skipped", "cy"),
            (3, "done", "cy"),
            (4, "done", "cy"),
        ]
        assert steps[1].data["note"] == "not relevant today"
        assert steps[2].data["result"]["stdout"].strip() == "v7"
        assert steps[3].data["result"] == {"mitigation": "M1", "status": "applied"}
        assert all(e.data["started_at"] for e in steps)
        kinds = [e.kind for e in timeline.read(database, key)]
        assert kinds.count("runbook.started") == 1 and kinds.count("runbook.finished") == 1
        assert kinds.count("mitigation.applied") == 1
    finally:
        database.dispose()
    assert (
        json.loads((tmp_path / "flags.json").read_text())["flags"]["search-v2"]["defaultVariant"]
        == "off"
    )


def test_run_references_are_checked_and_unknown_runbooks_say_which_exist(db):
    books = {"search": runbooks.parse(DRILL_BOOK, name="search")}
    key = incidents.declare(db, title="Search slow", actor="ana").key
    runbooks.start(db, key, "search", actor="ana", runbooks=books)
    assert runbooks.get_run(db, key, "r1").number == 1
    with pytest.raises(InvalidInput, match="not a runbook run") as bad:
        runbooks.get_run(db, key, "R¹")
    assert bad.value.field == "run"
    with pytest.raises(NotFound, match="no runbook 'nope': runbooks are search"):
        runbooks.start(db, key, "nope", actor="ana", runbooks=books)


def test_configured_runbook_directory_is_relative_to_warroom_toml(tmp_path: Path):
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "deploy-5xx.md").write_text(DRILL_BOOK)
    settings = Settings(
        config_path=tmp_path / "warroom.toml", raw={"contain": {"runbook_dirs": "books"}}
    )
    books = runbooks.load_all(settings)
    assert books["deploy-5xx"].title == "Search is slow"  # overrides the shipped one
    assert set(books) >= SHIPPED
    missing = Settings(
        config_path=tmp_path / "warroom.toml", raw={"contain": {"runbook_dirs": ["x"]}}
    )
    with pytest.raises(InvalidInput, match="does not exist") as gone:
        runbooks.load_all(missing)
    assert gone.value.field == "runbook_dirs"
