"""The whole arc through the CLI, across areas: triage -> declare -> contain -> root cause ->
fix -> close -> postmortem -> recurrence, with the triage report feeding every later step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from warroom.cli.main import app
from warroom.core.db import Database
from warroom.incidents import artifacts
from warroom.triage.scenarios import generate

runner = CliRunner()


def run(url: str, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_deploy_5xx_from_triage_to_postmortem_and_recurrence(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    truth = generate("deploy_5xx", tmp_path / "evidence", seed=3)
    config = tmp_path / "warroom.toml"
    config.write_text(
        """
[levers.rollback]
kind = "command"
description = "Roll back the suspect release"
params = { release = { required = true } }
suggest_on = ["deploy"]
suspect_param = "release"
steps = [{ run = "true {release}", undo = "true" }]
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    monkeypatch.setenv("WARROOM_USER", "ana")

    # Triage declares the incident from the report and attaches it.
    report = run(
        db_url,
        "triage",
        str(truth.access_log),
        "--app-log",
        str(truth.app_log),
        "--changes",
        str(truth.changes),
        "--open",
        "--format",
        "json",
    )
    assert report["incident"] is True
    assert report["suspects"][0]["id"] == truth.top_suspect
    inc = run(db_url, "show", "INC-1")
    assert inc["severity"] == report["severity"]["severity"]
    assert inc["started_at"].startswith(report["onset"][:16])
    stored = artifacts.latest(Database(db_url), "INC-1", kind="triage-report")
    assert stored is not None and json.loads(stored[1])["onset"] == report["onset"]

    # Contain: the rollback lever is offered first, with the suspect's id filled in.
    levers = run(db_url, "contain", "INC-1")
    assert levers[0]["name"] == "rollback" and levers[0]["suggested"] is True
    applied = runner.invoke(
        app,
        [
            "contain",
            "INC-1",
            "rollback",
            "-p",
            f"release={truth.top_suspect}",
            "--yes",
            "--db",
            db_url,
        ],
    )
    assert applied.exit_code == 0, applied.output
    run(db_url, "role", "INC-1", "commander", "ana")
    run(db_url, "stage", "INC-1", "contained")

    # Root cause, fix, verify (overridden: the drill logs end before the fix), action, close.
    run(
        db_url,
        "rootcause",
        "INC-1",
        "--category",
        "bad_deploy",
        "--summary",
        "the release dereferences a null coupon",
    )
    run(db_url, "stage", "INC-1", "fixed")
    run(db_url, "stage", "INC-1", "verified", "--reason", "5xx back to baseline on dashboards")
    run(
        db_url,
        "action",
        "add",
        "INC-1",
        "Test orders without a coupon",
        "--type",
        "preventive",
        "--owner",
        "dan",
        "--due",
        "2099-01-01",
    )
    run(db_url, "stage", "INC-1", "closed")

    # The postmortem is drafted from the timeline and the triage report.
    pm = runner.invoke(app, ["postmortem", "INC-1", "--db", db_url])
    assert pm.exit_code == 0, pm.output
    assert truth.top_route in pm.stdout and "bad deploy" in pm.stdout.lower()
    assert "Test orders without a coupon" in pm.stdout

    # The same fire again: recognised, with the open action item named.
    again = run(
        db_url,
        "triage",
        str(truth.access_log),
        "--changes",
        str(truth.changes),
        "--open",
        "--format",
        "json",
    )
    assert again["incident"] is True
    found = runner.invoke(app, ["recurrence", "INC-2", "--db", db_url])
    assert found.exit_code == 0, found.output
    assert "INC-1" in found.stdout and "AI-1" in found.stdout

    kinds = [e["kind"] for e in run(db_url, "timeline", "INC-1")]
    for kind in (
        "incident.declared",
        "artifact.attached",
        "mitigation.applied",
        "rootcause.recorded",
        "verification.overridden",
        "stage.changed",
    ):
        assert kind in kinds
    audit = runner.invoke(app, ["audit", "INC-1", "--db", db_url])
    assert audit.exit_code == 0 and "intact" in audit.stdout
