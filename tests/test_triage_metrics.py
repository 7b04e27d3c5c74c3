"""Triage from a real Prometheus and a real VictoriaMetrics agrees with triage from the logs.

Each generated scenario's access log is replayed as scraped request metrics (see
metrics_helpers), backfilled into Prometheus with promtool and imported into VictoriaMetrics;
the report from the store must name the same onset (within the one-minute step), top route
and top suspect (found from the store's deploy markers) as the report from the log.
"""

from __future__ import annotations

import json
import shutil
import ssl
from datetime import timedelta

import httpx
import pytest
from typer.testing import CliRunner

from conftest import need
from metrics_helpers import (
    free_port,
    log_samples,
    scenario_samples,
    self_signed_cert,
    start_prometheus,
    start_victoria_metrics,
    write_openmetrics,
    write_prometheus_text,
)
from test_verify import BASE, INCIDENT, T0, fixed_incident, write_log
from warroom.cli.main import app
from warroom.contain import verify
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, NotFound
from warroom.detect import slo
from warroom.detect.slo.metrics import check_metrics
from warroom.triage.changes import load_changes
from warroom.triage.metrics.client import PromClient, StoreUnavailable
from warroom.triage.metrics.config import MetricsSettings
from warroom.triage.metrics.source import marker_changes, triage_mixed, triage_prometheus
from warroom.triage.report import triage
from warroom.triage.scenarios import START, generate

MINUTES = 150
ONSET_MINUTE = 100
SCENARIOS = ("deploy_5xx", "migration_latency", "retry_storm", "upstream_timeout", "healthy")
MARKERS = "max by (id, kind, service, paths, description) (deploy_timestamp_seconds{{{selector}}})"
STORES = ("prometheus", "victoriametrics")


@pytest.fixture(scope="module")
def verify_logs(tmp_path_factory):
    """test_verify's three logs: recovered, not recovered, too thin to tell."""
    tmp = tmp_path_factory.mktemp("verify-logs")
    after = {"recovered": (40, 60, 0.003, 80), "not_recovered": (40, 60, 0.05, 170)}
    after["inconclusive"] = (12, 6, 0.0, 80)
    return {n: write_log(tmp / f"{n}.log", [BASE, INCIDENT, a]) for n, a in after.items()}


@pytest.fixture(scope="module")
def histories(scenarios, verify_logs):
    """Every family of samples the stores hold: the scenarios and the verify logs."""
    out = [s for _, _, s in scenarios.values()]
    for name, path in verify_logs.items():
        out.append(log_samples(path, f"verify-{name}", T0, 120))
    return out


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
def prometheus_url(histories, tmp_path_factory):
    need(shutil.which("promtool") is not None, "promtool (Debian package prometheus) missing")
    need(shutil.which("prometheus") is not None, "prometheus (Debian package prometheus) missing")
    work = tmp_path_factory.mktemp("prometheus")
    om = write_openmetrics(work / "history.om", histories)
    yield from start_prometheus(work, om)


@pytest.fixture(scope="module")
def victoria_url(histories, tmp_path_factory):
    need(
        shutil.which("victoria-metrics") is not None,
        "victoria-metrics (Debian package victoria-metrics) missing",
    )
    work = tmp_path_factory.mktemp("victoria")
    text = write_prometheus_text(work / "history.prom", histories)
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
    assert top_metrics == top_logs
    if metrics.suspects:
        assert metrics.suspects[0].change.source == "prometheus"
        assert metrics.suspects[0].change.at == logs.suspects[0].change.at  # to the second


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


def test_logs_and_metrics_in_one_report(scenarios, prometheus_url):
    truth, logs, _ = scenarios["deploy_5xx"]
    both = triage_mixed([str(truth.access_log)], settings_for(prometheus_url, "deploy_5xx"))
    assert both.onset == logs.onset and both.routes[0].route == logs.routes[0].route
    assert both.clients == logs.clients  # the logs' clients, which metrics do not keep
    assert both.suspects[0].change.id == "D-104"  # from the store's markers: no change file
    c = both.to_dict()["corroboration"]
    assert c["agrees"] is True and c["top_route"] == "/checkout"
    assert set(both.formats.values()) == {"combined", "prometheus"}


def test_cli_triage_reads_the_store_named_in_warroom_toml(prometheus_url, tmp_path, monkeypatch):
    toml = tmp_path / "warroom.toml"
    toml.write_text(
        f'[sources.prometheus]\nurl = "{prometheus_url}"\nchanges_query = {json.dumps(MARKERS)}\n'
    )
    monkeypatch.setenv("WARROOM_CONFIG", str(toml))
    end = START + timedelta(minutes=MINUTES)
    args = ["triage", "--selector", 'scenario="deploy_5xx"', "--since", START.isoformat()]
    res = CliRunner().invoke(app, [*args, "--until", end.isoformat(), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["routes"][0]["route"] == "/checkout" and data["suspects"][0]["id"] == "D-104"
    term = CliRunner().invoke(app, [*args, "--until", end.isoformat()])
    assert term.exit_code == 0, term.output
    assert "Roll back deploy D-104" in term.output and "Prometheus query API" in term.output
    md = CliRunner().invoke(app, [*args, "--until", end.isoformat(), "--format", "markdown"])
    assert md.exit_code == 0 and md.output.startswith("## 5xx on /checkout")
    assert f"_Source: {prometheus_url} (Prometheus query API), step 60 s._" in md.output
    monkeypatch.delenv("WARROOM_CONFIG")
    bare = CliRunner().invoke(app, ["triage"])
    assert bare.exit_code == 2 and "--prometheus" in bare.output


def test_store_errors_are_data(prometheus_url):
    dead = MetricsSettings.from_config(url=f"http://127.0.0.1:{free_port()}", timeout=5)
    until = START + timedelta(minutes=MINUTES)
    with pytest.raises(StoreUnavailable, match="cannot reach the metrics store"):
        triage_prometheus(dead, until=until)
    bad = MetricsSettings.from_config({"requests_query": "sum(rate(x[{step}])"}, url=prometheus_url)
    with pytest.raises(InvalidInput, match="refused"):
        triage_prometheus(bad, until=until)
    missing = MetricsSettings.from_config({"requests_metric": "nope_total"}, url=prometheus_url)
    with pytest.raises(NotFound, match="no series"):
        triage_prometheus(missing, until=until)
    label = MetricsSettings.from_config({"route_label": "handler"}, url=prometheus_url)
    with pytest.raises(InvalidInput, match="no label handler"):
        triage_prometheus(label, until=until)
    with pytest.raises(InvalidInput, match="unknown key"):
        MetricsSettings.from_config({"bearer": "x"}, url=prometheus_url)
    with pytest.raises(InvalidInput, match="not set"):
        MetricsSettings.from_config({"bearer_token_env": "WARROOM_NO_SUCH_VAR"}, url=prometheus_url)


def test_verify_from_the_store_gives_the_logs_verdicts(db, clock, store_url, verify_logs):
    key = fixed_incident(db, clock)
    for name, path in verify_logs.items():
        from_logs = verify.verify(db, key, [str(path)], actor="ana")
        source = MetricsSettings.from_config(
            {"selector": f'scenario="verify-{name}"'}, url=store_url
        )
        from_metrics = verify.verify_metrics(db, key, source, actor="ana")
        assert from_metrics.verdict == from_logs.verdict == name, from_metrics.summary
        n_logs = from_logs.numbers["after"]["requests"]
        assert abs(from_metrics.numbers["after"]["requests"] - n_logs) <= 0.02 * n_logs + 60
        assert from_metrics.numbers["files"] == [source.label]


SLOS = (
    "slos:\n"
    "  - {name: checkout, objective: 99.9%, match: {route: /checkout}}\n"
    "  - {name: search-fast, kind: latency, threshold: 250ms, objective: 99%, "
    "match: {route: /search}}\n"
)


def test_slo_check_on_the_store_matches_the_logs(scenarios, store_url, tmp_path):
    truth, _, _ = scenarios["deploy_5xx"]
    spec = tmp_path / "slos.yaml"
    spec.write_text(SLOS)
    slos = slo.load_slo_file(spec)
    now = START + timedelta(minutes=MINUTES)
    from_logs = slo.check_logs([truth.access_log], slos, now=now)
    settings = MetricsSettings.from_config({"selector": 'scenario="deploy_5xx"'}, url=store_url)
    from_metrics = check_metrics(settings, slos, now=now)
    for lg, mt in zip(from_logs, from_metrics, strict=True):
        assert mt.page_firing == lg.page_firing
        assert mt.confident is not None and lg.confident is not None
        assert mt.confident.paging == lg.confident.paging
        assert abs(mt.window_events - lg.window_events) <= 0.01 * lg.window_events
        assert abs(mt.window_bad - lg.window_bad) <= 0.01 * lg.window_bad + 3
        starts = [(f.start for f in a.fired) for a in (lg.alerts[0], mt.alerts[0])]
        for a, b in zip(*starts, strict=True):
            assert abs(a - b) <= timedelta(minutes=2)
    assert from_metrics[0].page_firing and not from_metrics[1].page_firing


def test_cli_slo_check_from_the_store_exits_3_when_paging(prometheus_url, tmp_path):
    spec = tmp_path / "slos.yaml"
    spec.write_text(SLOS)
    at = (START + timedelta(minutes=MINUTES)).isoformat()
    args = [
        "slo",
        "check",
        "--slo",
        str(spec),
        "--prometheus",
        prometheus_url,
        "--at",
        at,
        "--json",
    ]
    res = CliRunner().invoke(app, [*args, "--selector", 'scenario="deploy_5xx"'])
    assert res.exit_code == 3, res.output
    assert json.loads(res.output)["slos"][0]["slo"] == "checkout"
    calm = CliRunner().invoke(app, [*args, "--selector", 'scenario="healthy"'])
    assert calm.exit_code == 0, calm.output


def test_basic_auth_and_a_private_ca(scenarios, tmp_path, monkeypatch):
    """A VictoriaMetrics serving HTTPS with a self-signed certificate and basic auth."""
    need(shutil.which("victoria-metrics") is not None, "victoria-metrics missing")
    need(shutil.which("openssl") is not None, "openssl missing")
    cert, key = self_signed_cert(tmp_path)
    flags = ("-tls", f"-tlsCertFile={cert}", f"-tlsKeyFile={key}")
    flags += ("-httpAuth.username=warroom", "-httpAuth.password=s3cret")
    text = write_prometheus_text(tmp_path / "h.prom", [scenarios["deploy_5xx"][2]])
    ca = ssl.create_default_context(cafile=str(cert))
    http = httpx.Client(verify=ca, auth=("warroom", "s3cret"))
    server = start_victoria_metrics(tmp_path, text, args=flags, scheme="https", http=http)
    url = next(server)
    try:
        monkeypatch.setenv("VM_PASSWORD", "s3cret")
        good = {"basic_user": "warroom", "basic_password_env": "VM_PASSWORD"}
        good["ca_file"] = str(cert)
        until = START + timedelta(minutes=MINUTES)
        report = triage_prometheus(MetricsSettings.from_config(good, url=url), until=until)
        assert report.routes[0].route == "/checkout"
        with pytest.raises(InvalidInput, match="not both"):
            MetricsSettings.from_config({**good, "basic_password": "nope"}, url=url)
        bad = {"basic_user": "warroom", "basic_password": "nope", "ca_file": str(cert)}
        wrong = MetricsSettings.from_config(bad, url=url)
        with pytest.raises(StoreUnavailable, match="refused the credentials"):
            triage_prometheus(wrong, until=until)
        no_ca = MetricsSettings.from_config({"basic_user": "warroom"}, url=url)
        with pytest.raises(StoreUnavailable, match="TLS"):
            triage_prometheus(no_ca, until=until)
    finally:
        server.close()
        http.close()


def test_build_info_markers_are_changes_where_a_version_appears(scenarios, store_url):
    """The other marker style: `app_build_info{version}` is 1 while a version runs, so a deploy
    is where a version's series appears (to within the step)."""
    truth, _, _ = scenarios["deploy_5xx"]
    query = "max by (version) (app_build_info{{{selector}}})"
    settings = settings_for(store_url, "deploy_5xx", changes_query=query)
    end = START + timedelta(minutes=MINUTES)
    with PromClient(settings) as client:
        found = marker_changes(client, START, end, step=timedelta(minutes=1))
    assert [c.id for c in found] == ["D-104"]
    deployed = next(c for c in load_changes(truth.changes) if c.id == "D-104").at
    assert timedelta(0) <= found[0].at - deployed <= timedelta(minutes=1)
    assert found[0].kind == "deploy" and found[0].source == "prometheus"
    report = triage_prometheus(settings, since=START, until=end)
    assert report.suspects[0].change.id == "D-104"


def test_cli_verify_from_the_store_and_move(db_url, clock, prometheus_url, verify_logs):
    database = Database(db_url)
    try:
        key = fixed_incident(database, clock)
    finally:
        database.dispose()
    base = ["verify", key, "--prometheus", prometheus_url, "--db", db_url, "--as", "ana"]
    worse = CliRunner().invoke(app, [*base, "--selector", 'scenario="verify-not_recovered"'])
    assert worse.exit_code == 0, worse.output
    assert "not recovered" in worse.output and "5xx" in worse.output
    res = CliRunner().invoke(app, [*base, "--selector", 'scenario="verify-recovered"', "--move"])
    assert res.exit_code == 0, res.output
    assert "recovered" in res.output and "is now verified" in res.output
    both = CliRunner().invoke(app, [*base, "--log", str(verify_logs["recovered"])])
    assert both.exit_code == 2 and "not both" in both.output
