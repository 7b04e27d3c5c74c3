"""One database wherever you stand: warroom.toml found upward, else the per-user database;
reading commands never create one; `--db` to a missing directory is an error; `warroom init`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import drop_pg_schema, make_pg_url
from warroom.cli.main import app
from warroom.core.config import find_config, load_settings, user_data_dir

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == code, res.output
    return res.output


def test_config_is_found_upward_and_its_relative_database_is_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "warroom.toml").write_text('[database]\nurl = "sqlite:///data/w.db"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_config() == tmp_path.resolve() / "warroom.toml"
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/data/w.db"
    assert str(tmp_path.resolve() / "warroom.toml") in settings.database_source
    # --db beats $WARROOM_DATABASE_URL beats warroom.toml
    monkeypatch.setenv("WARROOM_DATABASE_URL", "sqlite:///env.db")
    assert load_settings().database_source == "$WARROOM_DATABASE_URL"
    assert load_settings(database_url="sqlite:///x.db").database_source == "--db"


def test_without_warroom_toml_every_directory_gets_the_per_user_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    monkeypatch.chdir(one)
    out = run("declare", "Checkout fails", "--severity", "P1", "--as", "ana")
    assert "Declared INC-1" in out
    assert (user_data_dir() / "warroom.db").is_file()
    assert os.environ["XDG_DATA_HOME"] in str(user_data_dir())
    monkeypatch.chdir(two)  # elsewhere: the same database, the same incident
    listed = json.loads(run("list", "--json"))
    assert [e["key"] for e in listed] == ["INC-1"]
    status = json.loads(run("db", "status", "--json"))
    assert status["database"] == f"sqlite:///{user_data_dir() / 'warroom.db'}"
    assert status["found_by"].startswith("the per-user database")
    assert status["exists"] is True and status["current"]
    assert not list(one.iterdir()) and not list(two.iterdir())  # no stray ./warroom.db


def test_reading_commands_never_create_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = user_data_dir() / "warroom.db"
    reading = [
        ["list"],
        ["show", "INC-1"],
        ["timeline", "INC-1"],
        ["task", "list", "INC-1"],
        ["updates", "INC-1"],
        ["mitigations", "INC-1"],
        ["drills"],
        ["actions"],
        ["postmortems"],
        ["report"],
        ["audit"],
        ["export", "-"],
    ]
    for args in reading:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert f"no database at {target}" in res.output
        assert "next: declare an incident" in res.output
    out = run("db", "status")
    assert f"database: sqlite:///{target}" in out
    assert "found by: the per-user database: no warroom.toml found" in out
    assert "does not exist yet" in out
    assert not target.exists() and not target.parent.exists()
    explicit = tmp_path / "nothing.db"
    res = runner.invoke(app, ["list", "--db", f"sqlite:///{explicit}"])
    assert res.exit_code == 2 and "(the database is" in res.output and "--db)" in res.output
    assert not explicit.exists()


def test_db_to_a_missing_directory_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    res = runner.invoke(
        app, ["declare", "x", "--severity", "P2", "--db", f"sqlite:///{missing}/w.db"]
    )
    assert res.exit_code == 2, res.output
    assert "does not exist" in res.output
    assert not (tmp_path / "no").exists()


def test_init_writes_a_config_whose_levers_work_and_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = run("init")
    assert "wrote warroom.toml" in out and "checkout-v2-off" in out
    assert (tmp_path / "flags.json").is_file()
    res = runner.invoke(app, ["init"])
    assert res.exit_code == 2 and "exists already" in res.output
    sub = tmp_path / "evidence-dir"
    sub.mkdir()
    monkeypatch.chdir(sub)  # found from a subdirectory: the same config and database
    status = json.loads(run("db", "status", "--json"))
    assert status["config"] == str(tmp_path.resolve() / "warroom.toml")
    assert status["database"] == f"sqlite:///{tmp_path.resolve()}/warroom.db"
    run("declare", "Checkout fails", "--severity", "P1", "--as", "ana")
    assert "checkout-v2-off (flag)" in run("contain", "INC-1")
    out = run("contain", "INC-1", "checkout-v2-off", "--yes", "--as", "ana")
    assert "M1 lever checkout-v2-off applied" in out
    flags = json.loads((tmp_path / "flags.json").read_text())
    assert flags["flags"]["new-checkout"]["defaultVariant"] == "off"
    out = run("contain", "INC-1", "rollback", "-p", "version=v2.13.4", "--yes", "--as", "ana")
    assert (tmp_path / "deployed.txt").read_text().strip() == "v2.13.4"
    run("undo", "INC-1", "M2", "--yes", "--as", "ana")
    assert (tmp_path / "deployed.txt").read_text().strip() == "v2.14.0"


def test_no_levers_hint_names_init_and_keeps_the_brackets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "warroom.toml").write_text('[database]\nurl = "sqlite:///w.db"\n')
    monkeypatch.chdir(tmp_path)
    run("declare", "x", "--severity", "P2", "--as", "ana")
    out = run("contain", "INC-1")
    assert "warroom init" in out
    assert "add a [levers.NAME] table to warroom.toml (see docs/contain.md)" in out


def test_drill_traffic_after_the_fix_follows_the_lever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run("init")
    run("drill", "deploy_5xx", "--out", "evidence", "--seed", "7", "--as", "ana")
    res = runner.invoke(app, ["drills", "INC-1", "--after-fix"])
    assert res.exit_code == 2 and "no fix yet" in res.output  # nothing pulled yet
    run("triage", "evidence/access.log", "--incident", "INC-1", "--as", "ana")
    run("contain", "INC-1", "checkout-v2-off", "--yes", "--as", "ana")
    out = run("drills", "INC-1", "--after-fix")
    assert "healthy" in out
    assert "warroom verify INC-1 --log evidence/access.log --log evidence/after-fix.log" in out
    logs = ["--log", "evidence/access.log", "--log", "evidence/after-fix.log"]
    verdict = json.loads(run("verify", "INC-1", *logs, "--json", "--as", "ana"))
    assert verdict["verdict"] == "recovered", verdict
    # The lever undone: the fault goes on after it, and verify says so.
    run("undo", "INC-1", "M1", "--yes", "--as", "ana")
    assert "still failing" in run("drills", "INC-1", "--after-fix")
    verdict = json.loads(run("verify", "INC-1", *logs, "--json", "--as", "ana"))
    assert verdict["verdict"] == "not_recovered", verdict


def test_triage_refuses_a_file_of_which_no_line_could_be_read(tmp_path: Path) -> None:
    changes = tmp_path / "changes.jsonl"
    changes.write_text('{"id": "D-104", "at": "2026-11-20T13:53:00Z", "kind": "deploy"}\n')
    res = runner.invoke(app, ["triage", str(changes)])
    assert res.exit_code == 2, res.output
    assert f"no line of {changes}" in res.output.replace("\n", "")
    assert '"id": "D-104"' in res.output  # its first line
    assert "No incident detected" not in res.output


@pytest.mark.postgres
def test_reading_commands_refuse_a_postgresql_database_without_tables() -> None:
    url, schema = make_pg_url()
    try:
        res = runner.invoke(app, ["list", "--db", url])
        assert res.exit_code == 2, res.output
        assert "the database has no warroom tables yet" in res.output
        status = json.loads(run("db", "status", "--db", url, "--json"))
        assert status["current"] == [] and status["pending"] and status["found_by"] == "--db"
        run("declare", "x", "--severity", "P2", "--db", url, "--as", "ana")  # a writer creates
        assert "INC-1" in run("list", "--db", url)
    finally:
        drop_pg_schema(schema)
