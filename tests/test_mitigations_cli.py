"""`warroom contain` / `warroom undo`: dry run by default, confirmation, --yes, JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from warroom import incidents
from warroom.cli.main import app
from warroom.contain import mitigations
from warroom.core.db import Database
from warroom.incidents import timeline

FLAGS = (
    b'{"flags": {"search-v2": {"state": "ENABLED", "variants": {"on": true, "off": false},'
    b' "defaultVariant": "on"}}}\n'
)


def setup(tmp_path: Path, db_url: str) -> tuple[Path, Path, str]:
    flagfile = tmp_path / "flags.json"
    flagfile.write_bytes(FLAGS)
    config = tmp_path / "warroom.toml"
    config.write_text(
        '[contain]\nflag_file = "flags.json"\n\n'
        '[levers.search-off]\nkind = "flag"\ndescription = "Serve old search"\n'
        'flag = "search-v2"\nvariant = "off"\n'
    )
    database = Database(db_url)
    key = incidents.declare(database, title="Search slow", actor="ana", severity="P2").key
    database.dispose()
    return flagfile, config, key


def test_contain_is_a_dry_run_until_confirmed(db_url, tmp_path):
    flagfile, config, key = setup(tmp_path, db_url)
    runner = CliRunner()
    base = ["--db", db_url, "--config", str(config), "--as", "ana"]
    res = runner.invoke(app, ["contain", key, "search-off", *base])  # no answer
    assert res.exit_code == 0, res.output
    assert "defaultVariant on -> off" in res.output and "Dry run" in res.output
    assert flagfile.read_bytes() == FLAGS
    res = runner.invoke(app, ["contain", key, "search-off", *base], input="n\n")
    assert "Dry run" in res.output and flagfile.read_bytes() == FLAGS
    res = runner.invoke(app, ["contain", key, "search-off", "--dry-run", "--yes", *base])
    assert "Dry run" in res.output and flagfile.read_bytes() == FLAGS
    database = Database(db_url)
    try:
        assert mitigations.list_for(database, key) == []
        res = runner.invoke(app, ["contain", key, "search-off", *base], input="y\n")
        assert res.exit_code == 0, res.output
        assert "M1 lever search-off applied" in res.output
        assert b'"defaultVariant": "off"' in flagfile.read_bytes()
        res = runner.invoke(app, ["undo", key, "M1", "--yes", "--json", *base])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["status"] == "undone"
        assert flagfile.read_bytes() == FLAGS
        kinds = [e.kind for e in timeline.read(database, key)]
        assert kinds.count("mitigation.applied") == 1 and kinds[-1] == "mitigation.undone"
    finally:
        database.dispose()


def test_contain_lists_levers_and_flags_command(db_url, tmp_path):
    _, config, key = setup(tmp_path, db_url)
    runner = CliRunner()
    res = runner.invoke(app, ["contain", key, "--db", db_url, "--config", str(config), "--json"])
    assert res.exit_code == 0, res.output
    assert [lv["name"] for lv in json.loads(res.output)] == ["search-off"]
    res = runner.invoke(app, ["flags", "--config", str(config), "--json"])
    assert json.loads(res.output) == {"search-v2": True}
    res = runner.invoke(app, ["contain", key, "nope", "--db", db_url, "--config", str(config)])
    assert res.exit_code == 1 and "no lever 'nope'" in res.output


def test_list_option_and_hints_are_commands_that_exist(db_url, tmp_path):
    _, config, key = setup(tmp_path, db_url)
    runner = CliRunner()
    base = ["--db", db_url, "--config", str(config)]
    res = runner.invoke(app, ["contain", key, "--list", *base])
    assert res.exit_code == 0, res.output
    assert "search-off (flag) Serve old search" in res.output
    res = runner.invoke(app, ["contain", key, "nope", *base])
    assert res.exit_code == 1
    assert f"warroom contain {key} --list" in res.output  # the hint, as a command
    assert "warroom levers" not in res.output
    empty = tmp_path / "empty.toml"
    empty.write_text("[contain]\n")
    res = runner.invoke(app, ["contain", key, "--db", db_url, "--config", str(empty)])
    assert res.exit_code == 0, res.output
    assert "add a [levers.NAME] table to warroom.toml (see docs/contain.md)" in res.output
    docs = Path(__file__).resolve().parent.parent / "docs" / "contain.md"
    assert "[levers.NAME]" in docs.read_text()


def test_mitigations_listing_keeps_the_status_in_brackets(db_url, tmp_path):
    _, config, key = setup(tmp_path, db_url)
    runner = CliRunner()
    base = ["--db", db_url, "--config", str(config), "--as", "ana"]
    res = runner.invoke(app, ["contain", key, "search-off", "--yes", *base])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["mitigations", key, "--db", db_url])
    assert "M1 [applied] lever search-off applied" in res.output
