"""`slo check` judges every SLO at the end of the whole input (or --at), counts nothing after
--at, reads per-minute counts like triage when it can, and prints rounded / exact numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slo_helpers import START, write_log
from warroom.cli.main import app
from warroom.detect.slo import check_logs, parse_slos
from warroom.detect.slo.stream import streamable

AVAILABILITY = (
    "  - {name: checkout, objective: 99.9%, match: {route: /checkout}}\n"
    "  - {name: search, objective: 99.9%, match: {route: /search}}\n"
)
LATENCY = "  - {name: slow, kind: latency, objective: 99%, threshold: 800ms}\n"


def _slos(latency: bool) -> str:
    return "slos:\n" + AVAILABILITY + (LATENCY if latency else "")


@pytest.mark.parametrize("latency", [False, True], ids=["minutes", "rows"])
def test_every_slo_is_judged_at_the_end_of_the_whole_input(tmp_path: Path, latency: bool) -> None:
    # checkout fails for its last 10 minutes, then only search is served for an hour
    checkout = write_log(
        tmp_path / "checkout.log",
        duration=timedelta(hours=2),
        status=lambda i, t: 500 if t >= START + timedelta(minutes=110) else 200,
    )
    search = write_log(
        tmp_path / "search.log",
        duration=timedelta(hours=1),
        route="/search",
        start=START + timedelta(hours=2),
    )
    slos = parse_slos(_slos(latency))
    assert all(streamable(s) for s in slos) is not latency
    reports = check_logs([checkout, search], slos)
    ends = {r.now for r in reports}
    assert len(ends) == 1
    end = ends.pop()
    assert end is not None and end >= START + timedelta(hours=3) - timedelta(seconds=1)
    cut = reports[0]
    assert cut.slo.name == "checkout"
    # the outage paged while it lasted, and an hour later nothing pages any more
    fast = next(a for a in cut.alerts if a.alert.name == "page-fast")
    assert fast.fired and fast.fired[0].end is not None and not fast.firing
    assert not cut.page_firing
    assert cut.confident is not None and not cut.confident.paging
    assert cut.confident.page_runs and cut.confident.page_runs[0][1] is not None


@pytest.mark.parametrize("latency", [False, True], ids=["minutes", "rows"])
def test_at_cuts_the_totals_and_json_is_exact(tmp_path: Path, latency: bool) -> None:
    log = write_log(
        tmp_path / "access.log",
        duration=timedelta(hours=2),
        status=lambda i, t: 500 if i % 7 == 0 else 200,
    )
    at = START + timedelta(hours=1)
    report = check_logs([log], parse_slos(_slos(latency)), now=at)[0]
    bad = len(range(0, 3600, 7))
    assert (report.events, report.bad, report.now) == (3600, bad, at)

    spec = tmp_path / "slos.yaml"
    spec.write_text(_slos(latency))
    args = ["slo", "check", "--slo", str(spec), "--log", str(log), "--at", at.isoformat()]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code in (0, 3), res.output
    doc = json.loads(res.output)["slos"][0]
    assert doc["events"] == 3600 and doc["bad"] == bad
    assert doc["sli"] == 1 - bad / 3600  # not rounded
    assert doc["coverage_seconds"] == 3600.0
    assert doc["alerts"][0]["threshold_error_ratio"] == 0.0144  # no binary noise
    text = CliRunner().invoke(app, args).output
    assert f"{(1 - bad / 3600) * 100:.3f}%" in text
    assert str(1 - bad / 3600) not in text and "0.0144000" not in text


def test_slo_check_starts_without_the_database_stack(tmp_path: Path) -> None:
    log = write_log(tmp_path / "access.log", duration=timedelta(minutes=5))
    spec = tmp_path / "slos.yaml"
    spec.write_text(_slos(False))
    argv = ["warroom", "slo", "check", "--slo", str(spec), "--log", str(log), "--json"]
    code = (
        f"import sys; sys.argv = {argv!r}\n"
        "from warroom.cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'sqlalchemy' not in sys.modules, 'the database stack was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["slos"][0]["events"] == 300
