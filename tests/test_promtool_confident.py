"""The confident alerts as Prometheus rules fire at the same minutes as `slo check`.

One access log and the Prometheus counters of the same requests, sampled every 10 seconds (the
outage alert reads 10-second steps): a single error at the log's start, a 30x burn for an
hour, background errors, a 6-minute outage; the SLO file sets
shorter workbook pairs so that they fire too. `slo check`'s
confident alerts are evaluated at the end of every minute; `promtool test rules` must see
exactly the same `SLOBurnConfident` alerts firing at every one of those minutes.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from conftest import need
from slo_helpers import START, log_line
from warroom.detect.slo import check_logs, parse_slos, read_logs, sli_events
from warroom.detect.slo.promql import CONFIDENT_ALERT
from warroom.detect.slo.rules import rule_groups, rules_yaml
from warroom.detect.slo.tracker import Tracker

SLOS = """
alerts:
  - {name: page-quick, severity: page, long: 30m, short: 5m, factor: 5}
  - {name: ticket-slow, severity: ticket, long: 2h, short: 15m, factor: 2}
slos:
  - {name: checkout, service: shop, objective: 99.9%, match: {route: /checkout}}
"""
MINUTES = 300
PER_SECOND = 10


def _bad_per_step(minute: int) -> int:
    """Bad requests in each 10-second step (100 requests) of `minute`."""
    if 60 <= minute < 120:
        return 3  # 3 %: a 30x burn
    if 250 <= minute < 256:
        return 100  # an outage
    return 0


def _bad(minute: int, second: int, k: int) -> bool:
    """Whether request k of that second fails."""
    if minute == 3 and second == 20 and k == 0:
        return True  # one error near the log's start
    if minute >= 130 and minute % 7 == 0 and second == 30 and k == 0:
        return True  # background errors
    per_step = _bad_per_step(minute)
    return (second % 10) * PER_SECOND + k < per_step


def _write(tmp_path: Path) -> tuple[Path, list[int], list[int]]:
    """The log, and the cumulative good and bad requests at the start of each 10 seconds
    (the outage alert reads 10-second steps: the counters are scraped that often)."""
    good, bad = [0], [0]
    path = tmp_path / "access.log"
    with path.open("w") as fh:
        for m in range(MINUTES):
            for s in range(60):
                ts = START + timedelta(minutes=m, seconds=s)
                g = b = 0
                for k in range(PER_SECOND):
                    failed = _bad(m, s, k)
                    b += failed
                    g += not failed
                    fh.write(log_line(ts, "/checkout", 500 if failed else 200, 0.05))
                if s % 10 == 0:
                    good.append(good[-1])
                    bad.append(bad[-1])
                good[-1] += g
                bad[-1] += b
    return path, good, bad


def _alert_rules() -> dict[str, dict[str, Any]]:
    out = {}
    for group in rule_groups(parse_slos(SLOS))["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == CONFIDENT_ALERT:
                out[rule["labels"]["burn_alert"]] = rule
    return out


def test_promtool_fires_the_confident_alerts_at_the_minutes_slo_check_does(
    tmp_path: Path,
) -> None:
    need(shutil.which("promtool") is not None, "promtool (Debian package prometheus) missing")
    slo = parse_slos(SLOS)[0]
    path, good, bad = _write(tmp_path)
    events = sli_events(read_logs([path]), slo)
    # slo check's confident alerts at the end of every minute (requests before it)
    firing: dict[int, list[str]] = {}
    for m in range(1, MINUTES + 1):
        tracker = Tracker(slo)
        tracker.add(events.filter(pl.col("ts") < START + timedelta(minutes=m)))
        firing[m] = tracker.status().firing
    fired = {name for names in firing.values() for name in names}
    # every alert fires at some point (the pairs keep firing for a while: keep_firing_for)
    assert {"page-outage", "page-burn-10m", "page-quick", "ticket-slow"} <= fired
    assert not any(firing[m] for m in range(1, 60)), "the error at the start paged"
    # slo check itself (per-minute counts, as triage reads them) agrees at minutes of the
    # burn, after it, and of the outage
    for m in (75, 100, 125, 253, 262):
        report = check_logs([path], [slo], now=START + timedelta(minutes=m))[0]
        assert report.confident is not None and report.confident.firing == firing[m], m

    rules = _alert_rules()
    (tmp_path / "rules.yml").write_text(rules_yaml([slo]))
    cases = [
        {
            "eval_time": f"{m}m",
            "alertname": CONFIDENT_ALERT,
            "exp_alerts": [
                {"exp_labels": rules[n]["labels"], "exp_annotations": rules[n]["annotations"]}
                for n in names
            ],
        }
        for m, names in firing.items()
    ]
    series = [
        {
            "series": f'http_requests_total{{route="/checkout",code="{code}"}}',
            "values": " ".join(str(v) for v in values),
        }
        for code, values in (("200", good), ("500", bad))
    ]
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "10s",
        "tests": [{"interval": "10s", "input_series": series, "alert_rule_test": cases}],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    res = subprocess.run(
        ["promtool", "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]


def test_rules_cli_emits_the_confident_alerts_unless_workbook_only(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # lazy: only this test drives the CLI

    from warroom.cli.main import app

    spec = tmp_path / "slos.yaml"
    spec.write_text(SLOS)
    both, workbook = tmp_path / "both.yml", tmp_path / "workbook.yml"
    for out, extra in ((both, []), (workbook, ["--workbook-only"])):
        res = CliRunner().invoke(app, ["slo", "rules", "--slo", str(spec), "-o", str(out), *extra])
        assert res.exit_code == 0, res.output
    assert CONFIDENT_ALERT in both.read_text() and "SLOErrorBudgetBurn" in both.read_text()
    assert CONFIDENT_ALERT not in workbook.read_text()
    assert "SLOErrorBudgetBurn" in workbook.read_text()
