"""The CLI: every core command, --json, exit codes, and parity with the REST API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from warroom.cli.main import app
from warroom.core.config import load_settings
from warroom.web.app import create_app

runner = CliRunner()


def cli(url: str, *args: str, code: int = 0) -> Any:
    result = runner.invoke(app, [*args, "--db", url, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 else result.output


def comparable(timeline: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (e["seq"], e["actor"], e["kind"], {k: v for k, v in e["data"].items() if k != "started_at"})
        for e in timeline
    ]


def test_declare_show_list_stage_role_task_note_timeline(db_url: str) -> None:
    inc = cli(
        db_url,
        "declare",
        "Checkout returns 500",
        "--severity",
        "P1",
        "--impact",
        "EU shoppers",
        "--as",
        "ana",
    )
    assert inc["key"] == "INC-1" and inc["warnings"]
    assert cli(db_url, "role", "INC-1", "commander", "ana", "--as", "ana")["commander"] == "ana"
    assert (
        cli(db_url, "task", "add", "INC-1", "inspect DB logs", "-a", "dan", "--as", "ana")["id"]
        == "T1"
    )
    assert (
        cli(db_url, "task", "update", "INC-1", "T1", "--status", "done", "--as", "dan")["status"]
        == "done"
    )
    assert cli(db_url, "note", "INC-1", "rolled back 4711", "--as", "ana")["seq"] == 5
    assert cli(db_url, "stage", "INC-1", "contained", "--as", "ana")["stage"] == "contained"
    assert cli(db_url, "severity", "INC-1", "P0", "--as", "ana")["severity"] == "P0"
    shown = cli(db_url, "show", "INC-1")
    assert shown["roles"] == {"commander": "ana"} and shown["tasks"][0]["status"] == "done"
    listed = cli(db_url, "list")
    assert [i["key"] for i in listed] == ["INC-1"]
    events = cli(db_url, "timeline", "INC-1")
    assert [e["kind"] for e in events] == [
        "incident.declared",
        "role.assigned",
        "task.added",
        "task.updated",
        "note.added",
        "stage.changed",
        "severity.changed",
    ]
    md = runner.invoke(app, ["timeline", "INC-1", "--format", "markdown", "--db", db_url])
    assert md.exit_code == 0 and "| 5 |" in md.stdout and "rolled back 4711" in md.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["declare", ""], "title must not be empty"),
        (["declare", "x", "--severity", "P9"], "unknown severity"),
        (["declare", "x", "--started", "2999-01-01T00:00:00Z"], "in the future"),
        (["declare", "x", "--started", "yesterday"], "is not a time"),
        (["stage", "INC-1", "verified"], "fix it first"),
        (["stage", "INC-1", "sideways"], "unknown stage"),
        (["show", "INC-abc"], "not an incident key"),
    ],
)
def test_bad_input_exits_2_with_a_message(sqlite_url: str, args: list[str], message: str) -> None:
    runner.invoke(app, ["declare", "existing", "--db", sqlite_url])
    result = runner.invoke(app, [*args, "--db", sqlite_url])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_refusals_print_the_next_step_as_a_command(sqlite_url: str) -> None:
    runner.invoke(app, ["declare", "Cart empty", "-s", "P2", "--db", sqlite_url])

    def said(*args: str, code: int = 2) -> str:
        result = runner.invoke(app, [*args, "--db", sqlite_url])
        assert result.exit_code == code, result.output
        return " ".join(result.output.split())

    assert "next: move it to fixed once the fix is out: warroom stage INC-1 fixed" in said(
        "stage", "INC-1", "verified"
    )
    said("stage", "INC-1", "fixed", code=0)
    assert "verify recovery from the numbers: warroom verify INC-1 --log FILE" in said(
        "stage", "INC-1", "verified"
    )
    assert "reopening needs --reason" in said("stage", "INC-1", "--reopen")
    assert "warroom stage INC-1 --reopen --reason" in said("stage", "INC-1", "--reopen")
    missing = said("show", "INC-77", code=1)
    assert "INC-77 does not exist" in missing and "next: see the incidents: warroom list" in missing


def test_nags_print_with_their_command_and_list_as_json(sqlite_url: str) -> None:
    out = runner.invoke(app, ["declare", "Payments down", "-s", "P0", "--db", sqlite_url])
    assert out.exit_code == 0, out.output
    assert (
        "! INC-1: NO COMMANDER on a P0: name one now (warroom role INC-1 commander NAME)"
        in " ".join(out.output.split())
    )
    (listed,) = cli(sqlite_url, "list")
    assert listed["warnings"] == ["NO COMMANDER on a P0: name one now"]
    assert listed["nags"][0]["hint"]["action"] == "assign_role"
    table = runner.invoke(app, ["list", "--db", sqlite_url])
    assert "warroom role INC-1 commander NAME" in " ".join(table.output.split())


def test_unknown_incident_exits_1(sqlite_url: str) -> None:
    result = runner.invoke(app, ["show", "INC-77", "--db", sqlite_url])
    assert result.exit_code == 1
    assert "INC-77 does not exist" in result.output


def test_severity_suggest_says_which_factor_decided(sqlite_url: str) -> None:
    out = cli(sqlite_url, "severity", "suggest", "--business-impact", "critical", "--users", "most")
    assert out["severity"] == "P0" and out["deciding_factor"] == "business_impact"
    text = runner.invoke(app, ["severity", "suggest", "--data-loss", "confirmed"])
    assert text.exit_code == 0 and "data_loss_risk" in text.stdout
    defs = runner.invoke(app, ["severity"])
    assert "key business flow is unavailable" in " ".join(defs.stdout.split())


def test_db_upgrade_and_status(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    up = runner.invoke(app, ["db", "upgrade", "--db", url, "--json"])
    assert up.exit_code == 0, up.output
    applied = json.loads(up.stdout)["revisions"]
    assert applied
    status = json.loads(runner.invoke(app, ["db", "status", "--db", url, "--json"]).stdout)
    assert {k: status[k] for k in ("current", "pending")} == {"current": applied, "pending": []}
    assert status["database"] == url and status["found_by"] == "--db" and status["exists"]


def test_serve_refuses_a_public_address_without_insecure_bind(sqlite_url: str) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--db", sqlite_url])
    assert result.exit_code == 2
    assert "--insecure-bind" in result.output


def test_cli_and_api_give_the_same_timeline(db_url: str, tmp_path: Any) -> None:
    """One scenario through the CLI and through the API: identical events."""
    cli(
        db_url,
        "declare",
        "Payments failing",
        "--severity",
        "P0",
        "--as",
        "ana",
        "--started",
        "2026-01-01T10:00:00Z",
    )
    cli(db_url, "role", "INC-1", "commander", "ana", "--as", "ana")
    cli(db_url, "role", "INC-1", "commander", "bob", "--as", "ana")
    cli(db_url, "task", "add", "INC-1", "check APM", "--as", "bob")
    cli(db_url, "note", "INC-1", "flag off new-payments", "--as", "bob")
    cli(db_url, "stage", "INC-1", "fixed", "--as", "bob")
    via_cli = cli(db_url, "timeline", "INC-1")

    client = TestClient(create_app(load_settings(database_url=db_url)))
    h = {"X-Warroom-User": "ana"}
    r = client.post(
        "/api/v1/incidents",
        headers=h,
        json={"title": "Payments failing", "severity": "P0", "started_at": "2026-01-01T10:00:00Z"},
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert (
        client.post(
            f"/api/v1/incidents/{key}/roles", headers=h, json={"role": "commander", "person": "ana"}
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/incidents/{key}/roles", headers=h, json={"role": "commander", "person": "bob"}
        ).status_code
        == 200
    )
    h = {"X-Warroom-User": "bob"}
    assert (
        client.post(
            f"/api/v1/incidents/{key}/tasks", headers=h, json={"title": "check APM"}
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/incidents/{key}/notes", headers=h, json={"text": "flag off new-payments"}
        ).status_code
        == 201
    )
    assert (
        client.post(f"/api/v1/incidents/{key}/stage", headers=h, json={"to": "fixed"}).status_code
        == 200
    )
    via_api = client.get(f"/api/v1/incidents/{key}/timeline").json()

    def normalise(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        out = comparable(events)
        return [(s, a, k, {kk: vv for kk, vv in d.items() if kk != "key"}) for s, a, k, d in out]

    assert normalise(via_cli) == normalise(via_api)
    assert len(via_api) == 8  # declared, commander, hand-off, task, note, 2 skipped, moved
