"""The published OpenSLO v1 examples (tests/data/openslo/, copied verbatim from OpenSLO/OpenSLO
and OpenSLO/oslo; see the LICENSE there) load, or are refused with a named error."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import need
from slo_helpers import write_log
from warroom.cli.main import app
from warroom.core.errors import InvalidInput
from warroom.detect.slo import SLOKind, check_logs, load_slo_file
from warroom.detect.slo.openslo import read_openslo_file
from warroom.detect.slo.rules import rules_yaml

DATA = Path(__file__).parent / "data" / "openslo"
RATIO = "spec.indicator.spec.ratioMetric"
THRESHOLD = "spec.indicator.spec.thresholdMetric"

# file -> the SLO names warroom reads from it
LOADS = {
    "budgeting-method-occurences-slo.yaml": ["search-slo"],
    "budgeting-method-ratio-timeslices.yaml": ["main-page"],
    "budgeting-method-timeslices-slo.yaml": [
        "service-availability-internal-objective",
        "service-availability-sla",
    ],
    "low-traffic-timeslices-slo.yaml": ["service-availability"],
    "oslo-multi.yaml": ["foo-slo"],
    "oslo-slo-no-indicatorref-calendar-alerts.yaml": ["test-slo"],
    "readme-slo-inline-sli.yaml": ["foo-slo"],
    "sdk-v1-slos.yaml": ["web-availability"],
}
# file -> (field, words of the message): SLO documents warroom deliberately refuses
REFUSED = {
    "oslo-slo-composite-indicatorref.yaml": (
        "spec.objectives[0].indicatorRef",
        "SLO 'test-slo', field spec.objectives[0].indicatorRef: composite SLOs",
    ),
    "oslo-slo-indicatorref-rolling-alerts.yaml": (
        "spec.indicatorRef",
        "SLO 'test-slo', field spec.indicatorRef: no SLI named 'indicatorRefString'",
    ),
}
# file -> kind of its documents: no SLO in them, read (SLI, DataSource) or skipped
OTHER_KINDS = {
    "readme-alert-condition.yaml": "AlertCondition",
    "readme-alert-notification-target.yaml": "AlertNotificationTarget",
    "readme-alert-policy-inline-condition.yaml": "AlertPolicy",
    "readme-datasource.yaml": "DataSource",
    "schema-sli-ratio-bad-redshift.yaml": "SLI",
    "sdk-v1-alert-conditions.yaml": "AlertCondition",
    "sdk-v1-alert-notification-targets.yaml": "AlertNotificationTarget",
    "sdk-v1-alert-policies.yaml": "AlertPolicy",
    "sdk-v1-data-sources.yaml": "DataSource",
    "sdk-v1-services.yaml": "Service",
    "sdk-v1-slis.yaml": "SLI",
}


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    need(shutil.which("promtool") is not None, "promtool (Debian package prometheus) missing")
    return subprocess.run(
        ["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_copied_example_has_an_expectation_and_a_source_line() -> None:
    files = sorted(p.name for p in DATA.glob("*.yaml"))
    assert files == sorted([*LOADS, *REFUSED, *OTHER_KINDS])
    for name in files:
        first = (DATA / name).read_text().splitlines()[0]
        assert first.startswith("# From OpenSLO/"), name
        assert "commit " in first, name
    assert "Apache License" in (DATA / "LICENSE").read_text()


@pytest.mark.parametrize("name", sorted(LOADS))
def test_published_slo_examples_load(name: str) -> None:
    slos = load_slo_file(DATA / name)
    assert [s.name for s in slos] == LOADS[name]
    assert all(s.form == "openslo" and s.source == str(DATA / name) for s in slos)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_slo_examples_are_refused_by_name(name: str) -> None:
    fieldname, words = REFUSED[name]
    with pytest.raises(InvalidInput) as info:
        load_slo_file(DATA / name)
    assert str(info.value).startswith(f"{DATA / name}: ")
    assert words in str(info.value)
    assert info.value.field == fieldname


@pytest.mark.parametrize("name", sorted(OTHER_KINDS))
def test_files_without_an_slo_read_as_objects_and_are_no_slo_file(name: str) -> None:
    kind = OTHER_KINDS[name]
    found = read_openslo_file(DATA / name)
    assert found.slos == []
    if kind == "SLI":
        assert found.slis
    elif kind == "DataSource":
        assert found.data_sources
    else:
        assert found.skipped and all(s.startswith(f"{kind} '") for s in found.skipped)
    with pytest.raises(
        InvalidInput, match=rf"no `kind: SLO` document found \(the file holds {kind}\)"
    ):
        load_slo_file(DATA / name)


def test_other_kinds_are_read_with_their_names() -> None:
    assert read_openslo_file(DATA / "sdk-v1-slis.yaml").slis == [
        "annotator-throughput",
        "end-user-response",
        "search-availability",
        "wifi-client-satisfaction",
    ]
    assert read_openslo_file(DATA / "sdk-v1-data-sources.yaml").data_sources == {
        "prometheus": "Prometheus",
        "datadog": "Datadog",
    }
    assert read_openslo_file(DATA / "readme-datasource.yaml").data_sources == {
        "string": "CloudWatch"
    }
    assert read_openslo_file(DATA / "sdk-v1-alert-policies.yaml").skipped == [
        "AlertPolicy 'low-priority'",
        "AlertPolicy 'high-priority'",
        "AlertPolicy 'medium-priority'",
    ]
    assert read_openslo_file(DATA / "sdk-v1-services.yaml").skipped == ["Service 'example-service'"]


# --- parsed values, against what the YAML says ---------------------------------------------


def test_threshold_example_with_a_placeholder_source() -> None:
    (slo,) = load_slo_file(DATA / "budgeting-method-occurences-slo.yaml")
    assert slo.kind is SLOKind.LATENCY
    assert (slo.threshold_op, slo.threshold_value, slo.threshold_ms) == ("lt", 500.0, 500.0)
    assert slo.objective == pytest.approx(0.99)
    assert slo.window == timedelta(weeks=2)
    assert slo.service == "web-shop"
    assert slo.threshold_query is None  # OpenSLO type Any: no query
    assert slo.notes == ()  # Occurrences, rolling, empty alertPolicies


def test_ratio_timeslices_example() -> None:
    (slo,) = load_slo_file(DATA / "budgeting-method-ratio-timeslices.yaml")
    assert slo.kind is SLOKind.RATIO
    assert slo.objective == pytest.approx(0.99)
    assert slo.window == timedelta(weeks=2)
    assert slo.good_query is None and slo.total_query is None  # query: Any
    assert any("budgetingMethod RatioTimeslices not applied" in n for n in slo.notes)


def test_two_objectives_give_two_slos_and_1m_is_one_minute() -> None:
    internal, sla = load_slo_file(DATA / "budgeting-method-timeslices-slo.yaml")
    assert internal.objective == pytest.approx(0.995)
    assert sla.objective == pytest.approx(0.99)
    # OpenSLO shorthand: m is minutes, M months. The example's comment says "1 month time
    # window" but its `duration: 1m` is one minute, and that is what the spec makes of it.
    assert internal.window == sla.window == timedelta(minutes=1)
    assert internal.service == sla.service == "web-availability"
    assert (
        "calendar window 1m from 2022-01-01 12:00:00 America/New_York read as a rolling 1m"
        in internal.notes
    )
    assert "objective 'SLA' of SLO 'service-availability'" in sla.notes


def test_calendar_week_is_read_as_a_rolling_week() -> None:
    (slo,) = load_slo_file(DATA / "low-traffic-timeslices-slo.yaml")
    assert slo.objective == pytest.approx(0.9995)
    assert slo.window == timedelta(days=7)
    assert slo.notes[0] == (
        "calendar window 1w from 2022-01-01 12:00:00 America/New_York read as a rolling 7d"
    )


def test_prometheus_ratio_example() -> None:
    (slo,) = load_slo_file(DATA / "sdk-v1-slos.yaml")
    assert (slo.kind, slo.service, slo.window) == (SLOKind.RATIO, "web", timedelta(days=7))
    assert slo.objective == pytest.approx(0.995)
    assert slo.good_query is not None and slo.total_query is not None
    assert slo.good_query.text == (
        'sum(http_requests{k8s_cluster="prod",component="web",code=~"2xx|4xx"})'
    )
    assert (slo.good_query.metric, slo.good_query.wrapper) == ("http_requests", "sum")
    assert [(m.label, m.op, m.value) for m in slo.good_query.matchers] == [
        ("k8s_cluster", "=", "prod"),
        ("component", "=", "web"),
        ("code", "=~", "2xx|4xx"),
    ]
    assert slo.total_query.text == 'sum(http_requests{k8s_cluster="prod",component="web"})'
    assert slo.bad_query is None
    # on logs: good statuses from the code matcher; cluster and component are not log fields
    assert slo.good == {"status": ["2xx", "4xx"]}
    assert slo.match == {}


def test_inline_datadog_example_without_time_window() -> None:
    (slo,) = load_slo_file(DATA / "readme-slo-inline-sli.yaml")
    assert slo.objective == pytest.approx(0.98)
    assert slo.window == timedelta(days=28)
    assert slo.notes == ("no timeWindow: warroom uses a rolling 28d",)
    assert slo.good_query is not None and slo.total_query is not None
    assert slo.good_query.source_type == slo.total_query.source_type == "Datadog"
    assert slo.good_query.text == (
        "sum:trace.http.request.hits.by_http_status{http.status_code:200}.as_count()"
    )
    assert slo.good == {} and slo.match == {}


def test_indicator_ref_resolved_in_the_same_file() -> None:
    (slo,) = load_slo_file(DATA / "oslo-multi.yaml")
    assert slo.kind is SLOKind.LATENCY
    assert (slo.threshold_op, slo.threshold_value) == ("gte", 10.0)
    assert slo.objective == pytest.approx(0.98)
    assert slo.window == timedelta(days=28)
    assert (slo.service, slo.description) == ("foo-slos", "Foo SLO")
    assert slo.threshold_query is not None
    assert slo.threshold_query.source_type == "CloudWatch"


def test_calendar_day_with_alert_policies() -> None:
    (slo,) = load_slo_file(DATA / "oslo-slo-no-indicatorref-calendar-alerts.yaml")
    assert slo.window == timedelta(days=1)
    assert slo.notes == (
        "calendar window 1d from 2020-01-21 12:30:00 America/New_York read as a rolling 1d",
        "alertPolicies not read: warroom's burn-rate alerts apply",
    )


# --- Prometheus rules ------------------------------------------------------------------------


def test_rules_cli_on_the_prometheus_example_pass_promtool(tmp_path: Path) -> None:
    out = tmp_path / "rules.yml"
    res = CliRunner().invoke(
        app, ["slo", "rules", "--slo", str(DATA / "sdk-v1-slos.yaml"), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert (
        'sum(rate(http_requests{k8s_cluster="prod",component="web",code=~"2xx|4xx"}[5m]))' in text
    )
    assert "slo: web-availability" in text
    check = _promtool("check", "rules", str(out), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout


@pytest.mark.parametrize(
    ("name", "fieldname", "words"),
    [
        ("readme-slo-inline-sli.yaml", f"{RATIO}.total", "metricSource type 'Datadog'"),
        (
            "oslo-slo-no-indicatorref-calendar-alerts.yaml",
            f"{RATIO}.total",
            "metricSource type 'Datadog'",
        ),
        ("oslo-multi.yaml", THRESHOLD, "metricSource type 'CloudWatch'"),
        (
            "budgeting-method-occurences-slo.yaml",
            THRESHOLD,
            "the metric source has no Prometheus query",
        ),
        (
            "budgeting-method-ratio-timeslices.yaml",
            f"{RATIO}.total",
            "the metric source has no Prometheus query",
        ),
    ],
)
def test_rules_for_other_sources_are_refused_by_name(name: str, fieldname: str, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        rules_yaml(load_slo_file(DATA / name))
    assert str(info.value).startswith(f"{DATA / name}: SLO ")
    assert f"field {fieldname}: {words}" in str(info.value)
    assert info.value.field == fieldname
    res = CliRunner().invoke(app, ["slo", "rules", "--slo", str(DATA / name)])
    assert res.exit_code == 2
    assert words in res.output


SLO_ON_SDK_SLI = """\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: {service}
  indicatorRef: {ref}
  timeWindow: [{{duration: 1M, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{objective}]
"""


def _folder(tmp_path: Path, **slos: tuple[str, str]) -> Path:
    """A folder with the SDK's SLIs and DataSources next to small SLOs that refer to them."""
    folder = tmp_path / "openslo"
    folder.mkdir()
    for name in ("sdk-v1-slis.yaml", "sdk-v1-data-sources.yaml", "sdk-v1-services.yaml"):
        shutil.copy(DATA / name, folder / name)
    for name, (ref, objective) in slos.items():
        (folder / f"{name}.yaml").write_text(
            SLO_ON_SDK_SLI.format(name=name, service="annotator", ref=ref, objective=objective)
        )
    return folder


def test_folder_resolves_an_sli_from_another_file_and_its_rules_pass_promtool(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path, lag=("annotator-throughput", "{op: lte, value: 100, target: 0.99}"))
    (slo,) = load_slo_file(folder)
    assert slo.name == "lag" and slo.source == str(folder / "lag.yaml")
    assert slo.window == timedelta(days=30)  # 1M
    assert slo.notes == ("duration 1M read as 30d",)
    assert slo.threshold_query is not None
    assert slo.threshold_query.text.startswith("sum(min_over_time(kafka_consumergroup_lag{")
    out = tmp_path / "rules.yml"
    res = CliRunner().invoke(app, ["slo", "rules", "--slo", str(folder), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "slo:sli_bad_slice" in out.read_text()
    check = _promtool("check", "rules", str(out), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_folder_refuses_raw_ratios_and_names_other_sources(tmp_path: Path) -> None:
    folder = _folder(tmp_path, wifi=("wifi-client-satisfaction", "{target: 0.9}"))
    with pytest.raises(InvalidInput) as info:
        load_slo_file(folder)
    assert f"{folder / 'wifi.yaml'}: SLO 'wifi', field {RATIO}.raw: precomputed ratios" in str(
        info.value
    )
    (folder / "wifi.yaml").unlink()
    (folder / "search.yaml").write_text(
        SLO_ON_SDK_SLI.format(
            name="search", service="shop", ref="search-availability", objective="{target: 0.99}"
        )
    )
    (folder / "slow.yaml").write_text(
        SLO_ON_SDK_SLI.format(
            name="slow", service="app", ref="end-user-response", objective="{targetPercent: 95}"
        )
    )
    search, slow = load_slo_file(folder)
    assert slow.objective == pytest.approx(0.95) and not slow.counter
    assert slow.bad_query is not None and slow.bad_query.source_type == "AppDynamics"
    with pytest.raises(
        InvalidInput,
        match=r"field spec.indicator.spec.ratioMetric.total: "
        r"metricSource type 'Datadog'",
    ):
        rules_yaml([search])
    with pytest.raises(InvalidInput, match="metricSource type 'AppDynamics'"):
        rules_yaml([slow])


def test_metric_source_ref_takes_the_type_of_the_data_source(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "ref.yaml").write_text(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: ref}\nspec:\n  indicator:\n"
        "    spec:\n      ratioMetric:\n"
        "        bad: {metricSource: {metricSourceRef: datadog, spec: {query: 'sum:errors'}}}\n"
        "        total: {metricSource: {metricSourceRef: prometheus, "
        "spec: {query: 'http_requests_total{route=\"/x\"}'}}}\n"
        "  objectives: [{target: 0.99}]\n"
    )
    (slo,) = load_slo_file(folder)
    assert slo.bad_query is not None and slo.bad_query.source_type == "Datadog"
    assert slo.total_query is not None and slo.total_query.is_prometheus
    assert slo.match == {"route": ["/x"]}
    with pytest.raises(InvalidInput, match=rf"field {RATIO}.bad: metricSource type 'Datadog'"):
        rules_yaml([slo])


# --- access logs -----------------------------------------------------------------------------


def test_prometheus_example_evaluates_on_access_logs(tmp_path: Path) -> None:
    # one request a second for an hour; 1 in 10 is a 500 (2xx and 4xx are good)
    log = write_log(
        tmp_path / "a.log",
        duration=timedelta(hours=1),
        status=lambda i, t: 500 if i % 10 == 0 else (404 if i % 10 == 1 else 200),
    )
    (report,) = check_logs([log], load_slo_file(DATA / "sdk-v1-slos.yaml"))
    assert (report.window_events, report.window_bad) == (3600, 360)
    assert report.page_firing


@pytest.mark.parametrize(
    ("name", "fieldname", "words"),
    [
        ("readme-slo-inline-sli.yaml", f"{RATIO}.good", "is a Datadog query"),
        ("budgeting-method-ratio-timeslices.yaml", f"{RATIO}.good", "has no query"),
    ],
)
def test_ratios_logs_cannot_read_are_refused_by_name(
    tmp_path: Path, name: str, fieldname: str, words: str
) -> None:
    log = write_log(tmp_path / "a.log", duration=timedelta(minutes=5))
    with pytest.raises(InvalidInput) as info:
        check_logs([log], load_slo_file(DATA / name))
    assert f"field {fieldname}: {words}: access logs can only be read" in str(info.value)
    assert str(info.value).startswith(f"{DATA / name}: SLO ")
    assert info.value.field == fieldname
