"""Triage from a real Prometheus and a real VictoriaMetrics agrees with triage from the logs.

Each generated scenario's access log is replayed as scraped request metrics (see
metrics_helpers), backfilled into Prometheus with promtool and imported into VictoriaMetrics;
the report from the store must name the same onset (within the one-minute step), top route
and top suspect (found from the store's deploy markers) as the report from the log.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from conftest import need
from metrics_helpers import (
    scenario_samples,
    start_prometheus,
    start_victoria_metrics,
    write_openmetrics,
    write_prometheus_text,
)
from warroom.triage.metrics.config import MetricsSettings
from warroom.triage.metrics.source import triage_prometheus
from warroom.triage.report import triage
from warroom.triage.scenarios import START, generate

MINUTES = 150
ONSET_MINUTE = 100
SCENARIOS = ("deploy_5xx", "migration_latency", "retry_storm", "upstream_timeout", "healthy")
MARKERS = "max by (id, kind, service, paths, description) (deploy_timestamp_seconds{{{selector}}})"
STORES = ("prometheus", "victoriametrics")


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    """name -> (truth, log report, samples) for every scenario."""
    out = {}
    for name in SCENARIOS:
        truth = generate(
            name,
            tmp_path_factory.mktemp(name),
            seed=11,
            minutes=MINUTES,
            per_minute=120,
            onset_minute=ONSET_MINUTE,
        )
        report = triage([str(truth.access_log)], changes=truth.changes)
        out[name] = (truth, report, scenario_samples(truth, MINUTES))
    return out


@pytest.fixture(scope="module")
def prometheus_url(scenarios, tmp_path_factory):
    need(shutil.which("promtool") is not None, "promtool (Debian package prometheus) missing")
    need(shutil.which("prometheus") is not None, "prometheus (Debian package prometheus) missing")
    work = tmp_path_factory.mktemp("prometheus")
    om = write_openmetrics(work / "history.om", [s for _, _, s in scenarios.values()])
    yield from start_prometheus(work, om)


@pytest.fixture(scope="module")
def victoria_url(scenarios, tmp_path_factory):
    need(
        shutil.which("victoria-metrics") is not None,
        "victoria-metrics (Debian package victoria-metrics) missing",
    )
    work = tmp_path_factory.mktemp("victoria")
    text = write_prometheus_text(work / "history.prom", [s for _, _, s in scenarios.values()])
    yield from start_victoria_metrics(work, text)


@pytest.fixture(params=STORES)
def store_url(request):
    name = "prometheus_url" if request.param == "prometheus" else "victoria_url"
    return request.getfixturevalue(name)


def settings_for(url: str, scenario: str, **extra: object) -> MetricsSettings:
    return MetricsSettings.from_config(
        {"selector": f'scenario="{scenario}"', "changes_query": MARKERS, **extra}, url=url
    )


def metrics_report(url: str, scenario: str):
    return triage_prometheus(
        settings_for(url, scenario),
        since=START,
        until=START + timedelta(minutes=MINUTES),
    )


@pytest.mark.parametrize("name", SCENARIOS)
def test_metrics_report_agrees_with_the_log_report(scenarios, store_url, name):
    truth, logs, _ = scenarios[name]
    metrics = metrics_report(store_url, name)
    assert logs.incident is truth.incident, logs.headline()
    assert metrics.incident is logs.incident, metrics.headline()
    if not logs.incident:
        assert metrics.onset is None and metrics.suspects == []
        return
    assert logs.onset is not None and metrics.onset is not None
    assert abs(metrics.onset - logs.onset) <= timedelta(minutes=1), (metrics.onset, logs.onset)
    assert metrics.symptom == logs.symptom
    assert metrics.routes[0].route == logs.routes[0].route == truth.top_route
    top_logs = logs.suspects[0].change.id if logs.suspects else None
    top_metrics = metrics.suspects[0].change.id if metrics.suspects else None
    assert top_metrics == top_logs == truth.top_suspect
    if metrics.suspects:
        assert metrics.suspects[0].change.source == "prometheus"


def test_report_counts_match_the_log_and_say_where_they_came_from(scenarios, prometheus_url):
    _, logs, _ = scenarios["deploy_5xx"]
    metrics = metrics_report(prometheus_url, "deploy_5xx")
    d = metrics.to_dict()
    assert d["formats"] == {f"{prometheus_url} (Prometheus query API)": "prometheus"}
    asked = d["window"]["metrics"]
    assert asked["step_seconds"] == 60 and asked["series"]["requests"] >= 10
    assert asked["requests_made"] == 3  # requests, latency, markers: one chunk each
    # the counters were scraped from the log: the totals are the log's, to the request
    total_logs = logs.overall["during"]["requests"] + logs.overall["before"]["requests"]
    total_metrics = metrics.overall["during"]["requests"] + metrics.overall["before"]["requests"]
    assert abs(total_metrics - total_logs) <= 0.002 * total_logs
    r_logs, r_metrics = logs.routes[0], metrics.routes[0]
    assert abs(r_metrics.error_rate_during - r_logs.error_rate_during) < 0.02
    assert metrics.containment[0].target == "D-104"
    assert metrics.headline().startswith("5xx on /checkout since")
