"""Generated Prometheus rules pass `promtool check rules` and fire (or not) on known series."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import need
from warroom.core.errors import InvalidInput
from warroom.detect.slo import load_slo_file, parse_slos
from warroom.detect.slo.rules import ALERT_NAME, rule_groups, rules_yaml

DATA = Path(__file__).parent / "data" / "slo"
CHECKOUT = (
    "slos:\n  - {name: checkout, service: shop, objective: 99.9%, match: {route: /checkout}}\n"
)
SEARCH = (
    "slos:\n  - {name: search, kind: latency, objective: 99%, threshold: 800ms, "
    "match: {route: /search}}\n"
)


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    need(shutil.which("promtool") is not None, "promtool (Debian package prometheus) missing")
    return subprocess.run(
        ["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("name", ["shop.yaml", "openslo-checkout.yaml", "openslo-inline.yaml"])
def test_generated_rules_pass_promtool_check(tmp_path: Path, name: str) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(rules_yaml(load_slo_file(DATA / name)))
    res = _promtool("check", "rules", str(path), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_openslo_source_without_a_query_is_refused_with_the_field() -> None:
    with pytest.raises(InvalidInput, match="thresholdMetric.*no Prometheus query"):
        rule_groups(load_slo_file(DATA / "openslo-any-source.yaml"))


def _expected(slos_text: str, names: list[str]) -> list[dict[str, Any]]:
    """exp_alerts entries for the burn alerts `names`, labels and annotations as generated."""
    out = []
    for group in rule_groups(parse_slos(slos_text))["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == ALERT_NAME and rule["labels"]["burn_alert"] in names:
                out.append({"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]})
    return out


def _run_rule_test(
    tmp_path: Path, slos_text: str, series: list[dict[str, str]], cases: list[tuple[str, list[str]]]
) -> None:
    (tmp_path / "rules.yml").write_text(rules_yaml(parse_slos(slos_text)))
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": at,
                        "alertname": ALERT_NAME,
                        "exp_alerts": _expected(slos_text, names),
                    }
                    for at, names in cases
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    res = _promtool("test", "rules", "test.yml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


def test_outage_fires_every_burn_alert_and_nothing_before(tmp_path: Path) -> None:
    # 1000 requests a minute; at minute 120 every request starts failing
    series = [
        {
            "series": 'http_requests_total{route="/checkout",code="200"}',
            "values": "0+1000x120 120000+0x30",
        },
        {
            "series": 'http_requests_total{route="/checkout",code="500"}',
            "values": "0+0x120 0+1000x30",
        },
    ]
    everything = ["page-fast", "page-slow", "ticket-fast", "ticket-slow"]
    _run_rule_test(tmp_path, CHECKOUT, series, [("100m", []), ("124m", everything)])


def test_two_x_burn_tickets_but_does_not_page(tmp_path: Path) -> None:
    # 2 errors in 1000 requests: 2x the budget of 99.9%
    series = [
        {"series": 'http_requests_total{route="/checkout",code="200"}', "values": "0+998x600"},
        {"series": 'http_requests_total{route="/checkout",code="503"}', "values": "0+2x600"},
        {"series": 'http_requests_total{route="/other",code="500"}', "values": "0+500x600"},
    ]
    _run_rule_test(tmp_path, CHECKOUT, series, [("7h", ["ticket-slow"])])


def test_latency_rules_read_the_histogram_bucket(tmp_path: Path) -> None:
    # 100 searches a minute; from minute 120 none is under 800 ms
    series = [
        {
            "series": 'http_request_duration_seconds_bucket{route="/search",le="0.8"}',
            "values": "0+100x120 12000+0x30",
        },
        {
            "series": 'http_request_duration_seconds_bucket{route="/search",le="+Inf"}',
            "values": "0+100x150",
        },
        {"series": 'http_request_duration_seconds_count{route="/search"}', "values": "0+100x150"},
    ]
    _run_rule_test(
        tmp_path,
        SEARCH,
        series,
        [("110m", []), ("135m", ["page-fast", "page-slow", "ticket-fast", "ticket-slow"])],
    )


def test_rules_cli_takes_metric_and_label_names(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from warroom.cli.main import app

    out = tmp_path / "rules.yml"
    res = CliRunner().invoke(
        app,
        [
            "slo",
            "rules",
            "--slo",
            str(DATA / "shop.yaml"),
            "-o",
            str(out),
            "--requests-metric",
            "http_server_requests_total",
            "--code-label",
            "status",
            "--latency-metric",
            "request_seconds",
            "--label",
            "route=handler",
        ],
    )
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert 'http_server_requests_total{handler="/checkout",status=~"5.."}' in text
    assert 'request_seconds_bucket{handler="/search",le="0.8"}' in text
    check = _promtool("check", "rules", str(out), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    bad = CliRunner().invoke(
        app, ["slo", "rules", "--slo", str(DATA / "shop.yaml"), "--label", "route"]
    )
    assert bad.exit_code == 2


def test_alert_policy_from_warroom_toml(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from warroom.cli.main import app

    config = tmp_path / "warroom.toml"
    config.write_text(
        '[[detect.slo_alerts]]\nname = "quick"\nseverity = "page"\nlong = "10m"\n'
        'short = "1m"\nfactor = 10\n'
    )
    monkeypatch.setenv("WARROOM_CONFIG", str(config))
    res = CliRunner().invoke(app, ["slo", "validate", "--slo", str(DATA / "shop.yaml"), "--json"])
    assert res.exit_code == 0, res.output
    assert '"name": "quick"' in res.output and "page-fast" not in res.output
