from datetime import timedelta

import pytest

from triage_helpers import apache_logs
from warroom.core.severity import Severity
from warroom.triage.report import triage
from warroom.triage.scenarios import SCENARIOS, generate


@pytest.fixture(scope="module")
def scenario_reports(tmp_path_factory):
    out = {}
    for name in SCENARIOS:
        truth = generate(name, tmp_path_factory.mktemp(name), seed=7)
        report = triage([str(truth.access_log)], app_logs=[truth.app_log], changes=truth.changes)
        out[name] = (truth, report)
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_onset_top_route_and_suspect_match_the_truth(scenario_reports, name):
    truth, report = scenario_reports[name]
    assert report.incident is truth.incident, report.headline()
    if not truth.incident:
        assert report.onset is None and report.suspects == [] and report.severity is None
        assert "no incident detected" in report.headline().lower()
        return
    assert report.onset is not None and truth.onset is not None
    # a creep is dated at its start, within the tolerance its scenario states
    tolerance = timedelta(minutes=truth.extra.get("onset_tolerance", 2))
    assert abs(report.onset - truth.onset) <= tolerance
    assert report.routes[0].route == truth.top_route
    top = report.suspects[0].change.id if report.suspects else None
    assert top == truth.top_suspect


def test_deploy_scenario_report_has_evidence_severity_and_containment(scenario_reports):
    _, report = scenario_reports["deploy_5xx"]
    d = report.to_dict()
    assert report.headline().startswith("5xx on /checkout since 13:57 UTC")
    assert d["window"]["ongoing"] is True
    checkout = d["routes"][0]
    assert checkout["error_rate_before"] < 0.01 < 0.3 < checkout["error_rate_during"]
    assert Severity(d["severity"]["severity"]) is Severity.P0  # key flow failing
    assert d["containment"][0]["target"] == "D-104"
    assert d["containment"][0]["action"].startswith("Roll back deploy D-104")
    sig = d["signatures"][0]
    assert sig["status"] == "new" and "NullPointerException" in sig["template"]
    assert sig["count_before"] == 0 and sig["count_during"] > 100
    assert 0.1 < d["clients"]["share"] < 0.5
    assert set(d) >= {
        "incident",
        "onset",
        "window",
        "severity",
        "routes",
        "signatures",
        "suspects",
        "containment",
        "lines",
    }


def test_migration_scenario_reports_p95_tripling(scenario_reports):
    _, report = scenario_reports["migration_latency"]
    r = report.routes[0]
    assert r.before is not None and r.before.p95_ms and r.during.p95_ms
    assert 2.5 < r.during.p95_ms / r.before.p95_ms < 4.5
    assert report.symptom == "p95_ms"
    assert report.containment[0].target == "M-12"


def test_retry_storm_is_named_with_repeated_request_ids(scenario_reports):
    _, report = scenario_reports["retry_storm"]
    assert "retry storm" in report.headline()
    assert report.routes[0].repeated_request_ids is not None
    assert report.routes[0].repeated_request_ids > 0.5
    assert any("Rate-limit /api/inventory" in s.action for s in report.containment)


def test_upstream_timeout_blames_no_change_and_points_at_the_shared_upstream(scenario_reports):
    _, report = scenario_reports["upstream_timeout"]
    assert report.suspects == []
    assert report.overall["status_5xx_during"].get("504", 0) > 1000
    assert "circuit breaker" in report.containment[0].action
    assert sum(r.affected for r in report.routes) >= 4


def test_real_apache_log_is_not_an_incident():
    report = triage([str(apache_logs())])
    assert report.incident is False
    assert report.lines.parsed == 10_000
    assert report.to_dict()["latency_available"] is False


def test_recovered_incident_has_an_end_and_is_not_ongoing(tmp_path):
    truth = generate("deploy_5xx", tmp_path, seed=3, minutes=180, onset_minute=60)
    # cut the log 40 minutes after the onset and append 80 healthy minutes from a healthy run
    healthy = generate("healthy", tmp_path / "h", seed=4, minutes=180)
    bad = truth.access_log.read_text().splitlines()
    ok = healthy.access_log.read_text().splitlines()
    cut = [line for line in bad if "12:00" <= line.split("2026:")[1][:5] < "13:40"]
    rest = [line for line in ok if line.split("2026:")[1][:5] >= "13:40"]
    log = tmp_path / "mixed.log"
    log.write_text("\n".join(cut + rest) + "\n")
    report = triage([str(log)])
    assert report.incident
    assert report.window["ongoing"] is False
    assert abs(report.onset - truth.onset) <= timedelta(minutes=2)
    end = report.window["end"]
    assert "13:3" in end or "13:40" in end or "13:41" in end


def test_clock_jumps_do_not_stretch_the_window(tmp_path):
    truth = generate("deploy_5xx", tmp_path, seed=9, minutes=120, onset_minute=80)
    text = truth.access_log.read_text()
    stray = [
        '10.9.9.9 - - [01/Jan/1999:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x" 0.01',
        '10.9.9.9 - - [01/Jan/2040:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x" 0.01',
    ]
    log = tmp_path / "jumpy.log"
    log.write_text(stray[0] + "\n" + text + stray[1] + "\n")
    report = triage([str(log)], changes=truth.changes)
    assert report.window["interval_seconds"] == 60
    assert report.onset is not None and truth.onset is not None
    assert abs(report.onset - truth.onset) <= timedelta(minutes=2)
    assert report.suspects[0].change.id == "D-104"
    assert report.lines.parsed == truth.lines + 2
