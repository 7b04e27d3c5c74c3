import json

import typer
from typer.testing import CliRunner

from triage_helpers import combined, write
from warroom.cli.triage import register
from warroom.triage.scenarios import generate


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_triage_json_markdown_and_chart(tmp_path):
    truth = generate("deploy_5xx", tmp_path, seed=2, minutes=120, onset_minute=80)
    args = [
        "triage",
        str(truth.access_log),
        "--app-log",
        str(truth.app_log),
        "--changes",
        str(truth.changes),
    ]
    runner = CliRunner()
    chart = tmp_path / "chart.svg"
    result = runner.invoke(_app(), [*args, "--format", "json", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["incident"] is True and data["suspects"][0]["id"] == "D-104"
    assert data["routes"][0]["route"] == "/checkout"
    assert chart.read_text().lstrip().startswith("<?xml")
    md = runner.invoke(_app(), [*args, "--format", "markdown"])
    assert md.exit_code == 0 and md.output.startswith("## 5xx on /checkout")
    term = runner.invoke(_app(), args)
    assert term.exit_code == 0 and "Roll back deploy D-104" in term.output


def test_unknown_format_exits_2_with_the_formats_tried(tmp_path):
    p = write(tmp_path / "x.txt", ["hello world"])
    result = CliRunner().invoke(_app(), ["triage", str(p)])
    assert result.exit_code == 2
    assert "tried combined, common, json" in result.output


def test_healthy_small_log_says_no_incident(tmp_path):
    lines = [
        combined(f"20/Nov/2026:12:{m:02d}:{s:02d}", "/a", 200, "0.05")
        for m in range(30)
        for s in range(0, 60, 5)
    ]
    p = write(tmp_path / "ok.log", lines)
    result = CliRunner().invoke(_app(), ["triage", str(p), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["incident"] is False and data["onset"] is None
    assert data["lines"]["parsed"] == len(lines)


def test_open_declares_an_incident_and_attaches_the_report(tmp_path):
    truth = generate("deploy_5xx", tmp_path, seed=2, minutes=120, onset_minute=80)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    result = CliRunner().invoke(
        _app(),
        [
            "triage",
            str(truth.access_log),
            "--changes",
            str(truth.changes),
            "--open",
            "--db",
            url,
            "--as",
            "ana",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    key = json.loads(result.output)["stored_on"]
    from warroom.core.db import Database
    from warroom.incidents import artifacts

    found = artifacts.latest(Database(url), key, kind="triage-report")
    assert found is not None
    assert json.loads(found[1])["suspects"][0]["id"] == "D-104"


def test_app_log_tz_option_aligns_the_app_log_and_a_bad_zone_is_an_error(tmp_path):
    truth = generate("app_log_local_time", tmp_path, seed=3, minutes=120, onset_minute=80)
    args = ["triage", str(truth.access_log), "--app-log", str(truth.app_log)]
    runner = CliRunner()
    result = runner.invoke(_app(), [*args, "--app-log-tz", "+01:00", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["app_log_clock"]["source"] == "given"
    assert data["app_log_clock"]["offset"] == "+01:00"
    assert "card gateway refused" in data["signatures"][0]["template"]
    assert data["window"]["first_signal"].startswith("5xx rate of")
    term = runner.invoke(_app(), args)  # estimated without the option, and said so
    assert term.exit_code == 0
    assert "app-log times read at UTC+01:00" in term.output
    bad = runner.invoke(_app(), [*args, "--app-log-tz", "Nowhere/Atlantis"])
    assert bad.exit_code != 0 and "unknown app-log time zone" in bad.output
