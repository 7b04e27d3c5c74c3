"""SLO files, burn rates and alert history on generated access logs with a known burn."""

from __future__ import annotations

import ast
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slo_helpers import START, write_log
from warroom.cli.main import app
from warroom.core.errors import InvalidInput
from warroom.detect import slo as slo_pkg
from warroom.detect.slo import check_logs, load_slo_file, parse_slos

DATA = Path(__file__).parent / "data" / "slo"
CHECKOUT = "slos:\n  - {name: checkout, objective: 99.9%, match: {route: /checkout}}\n"


def _alert(report, name):
    return next(a for a in report.alerts if a.alert.name == name)


def test_outage_of_all_errors_pages_within_two_minutes(tmp_path: Path) -> None:
    onset = START + timedelta(hours=2, seconds=17)
    log = write_log(
        tmp_path / "a.log",
        duration=timedelta(hours=2, minutes=20),
        status=lambda i, t: 500 if t >= onset else 200,
    )
    (report,) = check_logs([log], parse_slos(CHECKOUT))
    assert report.page_firing
    fired = _alert(report, "page-fast").fired
    assert len(fired) == 1
    assert onset < fired[0].start <= onset + timedelta(minutes=2)
    assert fired[0].end is None  # still firing at the end of the log
    # ~20 minutes of total outage in 2h20m of traffic, extrapolated to 28 days: half the budget
    assert report.budget_spent is not None and 0.4 < report.budget_spent < 0.6


def test_two_x_burn_tickets_but_never_pages(tmp_path: Path) -> None:
    # one 5xx in every 500 requests: error ratio 0.2% = 2x the budget of a 99.9% SLO
    log = write_log(
        tmp_path / "a.log",
        duration=timedelta(hours=8),
        status=lambda i, t: 503 if i % 500 == 499 else 200,
    )
    (report,) = check_logs([log], parse_slos(CHECKOUT))
    assert not report.page_firing
    assert all(not a.fired for a in report.alerts if a.alert.severity == "page")
    assert report.ticket_firing
    assert _alert(report, "ticket-slow").firing
    assert not _alert(report, "ticket-fast").fired  # 3x is above a 2x burn
    assert report.burn_rate == pytest.approx(2.0, rel=0.03)
    assert report.budget_spent is not None and 0 < report.budget_spent < 0.05


def test_recovery_ends_the_firing_period(tmp_path: Path) -> None:
    onset = START + timedelta(hours=2)
    recovery = onset + timedelta(minutes=10)
    log = write_log(
        tmp_path / "a.log",
        duration=timedelta(hours=4),
        status=lambda i, t: 500 if onset <= t < recovery else 200,
    )
    (report,) = check_logs([log], parse_slos(CHECKOUT))
    fired = _alert(report, "page-fast").fired
    assert len(fired) == 1 and fired[0].end is not None
    # the 5 minute short window clears about 5 minutes after the errors stop
    assert recovery + timedelta(minutes=4) <= fired[0].end <= recovery + timedelta(minutes=7)
    assert not report.page_firing


def test_latency_slo_pages_when_search_slows_down(tmp_path: Path) -> None:
    # 95% under 800 ms: a 14.4x burn is an error ratio of 72%, so a total slowdown fills
    # the 1 h window enough to page after 43.2 minutes
    slow_from = START + timedelta(hours=1)
    log = write_log(
        tmp_path / "a.log",
        route="/search",
        duration=timedelta(hours=2),
        latency=lambda i, t: 2.5 if t >= slow_from else 0.2 + (i % 10) / 100,
    )
    reports = {r.slo.name: r for r in check_logs([log], load_slo_file(DATA / "shop.yaml"))}
    search = reports["search-latency"]
    assert search.page_firing
    start = _alert(search, "page-fast").fired[0].start
    assert slow_from + timedelta(minutes=43) <= start <= slow_from + timedelta(minutes=45)
    assert reports["checkout-availability"].status == "no data"


def test_ratio_slo_counts_non_2xx_callbacks_as_bad(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "a.log",
        route="/payments/callback",
        method="POST",
        duration=timedelta(hours=1),
        status=lambda i, t: 409 if t >= START + timedelta(minutes=50) else 200,
    )
    reports = {r.slo.name: r for r in check_logs([log], load_slo_file(DATA / "shop.yaml"))}
    cb = reports["payment-callbacks"]
    assert cb.page_firing
    assert cb.window_bad == 600


def test_openslo_file_evaluates_like_the_native_one(tmp_path: Path) -> None:
    onset = START + timedelta(hours=2)
    log = write_log(
        tmp_path / "a.log",
        duration=timedelta(hours=2, minutes=30),
        status=lambda i, t: 502 if t >= onset else 200,
    )
    native = check_logs([log], load_slo_file(DATA / "shop.yaml"))[0]
    (opens,) = check_logs([log], load_slo_file(DATA / "openslo-checkout.yaml"))
    assert opens.slo.form == "openslo"
    assert opens.slo.match == {"route": ["/checkout"]}
    assert opens.slo.bad == {"status": ["5xx"]}
    assert (opens.window_events, opens.window_bad) == (native.window_events, native.window_bad)
    assert [a.fired for a in opens.alerts] == [a.fired for a in native.alerts]


def test_openslo_examples_parse() -> None:
    inline = {s.name: s for s in load_slo_file(DATA / "openslo-inline.yaml")}
    cb = inline["payment-callbacks"]
    assert cb.objective == pytest.approx(0.995)
    assert cb.window == timedelta(days=7)
    assert cb.good == {"status": ["2xx"]}
    assert cb.good_query is not None and cb.good_query.wrapper == "sum"
    p95 = inline["search-p95"]
    assert (p95.threshold_op, p95.threshold_value, p95.window) == ("lte", 800.0, timedelta(weeks=2))
    (any_source,) = load_slo_file(DATA / "openslo-any-source.yaml")
    assert any_source.threshold_ms == 500 and any_source.threshold_query is None
    assert any_source.service == "web-shop"


@pytest.mark.parametrize(
    ("text", "needle", "fieldname"),
    [
        ("slos:\n  - {name: a, objective: 120%}\n", "SLO 'a', field objective", "objective"),
        ("slos:\n  - {name: a, objective: 99, kind: latency}\n", "field threshold", "threshold"),
        ("slos:\n  - {name: a, objective: 99, window: 3 days}\n", "field window", "window"),
        ("slos:\n  - {name: a, objective: 99, colour: red}\n", "field colour", "colour"),
        (
            "slos:\n  - {name: a, objective: 99, bad: {status: [6xx]}}\n",
            "field bad.status",
            "bad.status",
        ),
        (
            "slos:\n  - name: a\n    objective: 99\n    alerts: [{severity: page, long: 5m, "
            "short: 1h, factor: 2}]\n",
            "field alerts[0].short",
            "alerts[0].short",
        ),
        (
            "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: b}\nspec:\n  indicatorRef: x\n"
            "  timeWindow: [{duration: 28d, isRolling: true}]\n  objectives: [{target: 0.9}]\n",
            "SLO 'b', field spec.indicatorRef",
            "spec.indicatorRef",
        ),
        (
            "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: c}\nspec:\n  indicator:\n"
            "    spec: {ratioMetric: {total: {metricSource: {type: Prometheus, spec: {query: x}}},"
            " good: {metricSource: {type: Prometheus, spec: {query: y}}}}}\n"
            "  timeWindow: [{duration: 28d, isRolling: true}]\n  objectives: [{}]\n",
            "field spec.objectives[0].target",
            "spec.objectives[0].target",
        ),
    ],
)
def test_validation_errors_name_file_slo_and_field(text: str, needle: str, fieldname: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_slos(text, source="slos.yaml")
    assert str(info.value).startswith("slos.yaml")
    assert needle in str(info.value)
    assert info.value.field == fieldname


def test_configurable_alert_windows_apply(tmp_path: Path) -> None:
    slos = parse_slos(
        "alerts:\n  - {name: fast, severity: page, long: 10m, short: 1m, factor: 10}\n" + CHECKOUT
    )
    assert [a.name for a in slos[0].alerts] == ["fast"]
    log = write_log(
        tmp_path / "a.log",
        duration=timedelta(minutes=30),
        status=lambda i, t: 500 if t >= START + timedelta(minutes=20) else 200,
    )
    (report,) = check_logs([log], slos)
    assert report.page_firing


def test_slo_check_cli_exits_3_on_page_and_0_when_healthy(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = write_log(
        tmp_path / "bad.log",
        duration=timedelta(hours=1),
        status=lambda i, t: 500 if t >= START + timedelta(minutes=50) else 200,
    )
    good = write_log(tmp_path / "good.log", duration=timedelta(minutes=30))
    slo_file = str(DATA / "shop.yaml")
    res = runner.invoke(app, ["slo", "check", "--slo", slo_file, "--log", str(bad), "--json"])
    assert res.exit_code == 3, res.output
    body = json.loads(res.output)
    assert body["page_firing"] is True
    checkout = next(s for s in body["slos"] if s["slo"] == "checkout-availability")
    assert checkout["status"] == "page"
    assert checkout["alerts"][0]["fired"][0]["start"].startswith("2026-11-24T00:5")
    res = runner.invoke(app, ["slo", "check", "--slo", slo_file, "--log", str(good)])
    assert res.exit_code == 0, res.output
    assert "OK" in res.output and "checkout-availability" in res.output
    res = runner.invoke(
        app, ["slo", "check", "--slo", str(tmp_path / "nope.yaml"), "--log", str(good)]
    )
    assert res.exit_code == 2


def test_slo_modules_import_each_other_at_the_top_in_one_direction() -> None:
    """spec reads both forms, the forms read the model: no cycle, no import in a function."""
    package = Path(slo_pkg.__file__).parent
    edges: dict[str, set[str]] = {}
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text())
        top = set(tree.body)
        name = path.stem
        edges[name] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("warroom"):
                assert node in top, f"{name}.py imports {node.module} inside a function"
                if (node.module or "").startswith("warroom.detect.slo."):
                    edges[name].add(node.module.rsplit(".", 1)[-1])
    assert "spec" in edges["__init__"] and "model" in edges["openslo"]
    assert "spec" not in edges["openslo"] and not edges["model"]
    done: list[str] = []
    while len(done) < len(edges):
        ready = [m for m in edges if m not in done and edges[m] <= set(done)]
        assert ready, f"import cycle among {sorted(set(edges) - set(done))}"
        done.extend(sorted(ready))
