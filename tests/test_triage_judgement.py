"""Triage judgement on the hard classes, on generated logs: a short outage in a long log, a
latency creep that ends in errors, a traffic drop, an app log in local time, a load surge."""

import json
import re
from datetime import datetime, timedelta

import numpy as np
import pytest

from warroom.core.errors import InvalidInput
from warroom.triage.appclock import parse_tz
from warroom.triage.changes import Change, load_changes, rank_suspects
from warroom.triage.onset import error_signal, find_rise, latency_signal
from warroom.triage.render import render_markdown
from warroom.triage.report import triage
from warroom.triage.scenarios import START, generate
from warroom.triage.scenarios_hard import HARD_SCENARIOS


@pytest.fixture(scope="module")
def hard(tmp_path_factory):
    out = {}
    for name in HARD_SCENARIOS:
        truth = generate(name, tmp_path_factory.mktemp(name), seed=11)
        report = triage([str(truth.access_log)], app_logs=[truth.app_log], changes=truth.changes)
        out[name] = (truth, report)
    return out


def test_short_outage_is_found_in_a_long_log_and_ends(hard):
    truth, report = hard["short_outage"]
    assert report.incident and report.symptom == "error_rate"
    assert abs(report.onset - truth.onset) <= timedelta(minutes=2)
    assert report.window["ongoing"] is False
    end = datetime.fromisoformat(report.window["end"])
    assert abs(end - truth.extra["end"]) <= timedelta(minutes=2)
    assert f"ended {end:%H:%M} UTC" in report.headline()
    # the edge-proxy change reaches every failing route; the login deploy reaches none
    top, *rest = report.suspects
    assert top.change.id == "I-21" and top.reach == "all_routes"
    assert "in front of every route" in top.reason
    login = next(s for s in rest if s.change.id == "D-210")
    assert login.reach == "none" and login.score < top.score
    assert report.containment[0].target == "I-21"
    assert all(step.target != "D-210" for step in report.containment)


def test_gradual_degradation_is_dated_at_the_creep_not_the_errors(hard):
    truth, report = hard["gradual_degradation"]
    assert report.symptom == "error_rate"  # the errors name it...
    assert abs(report.onset - truth.onset) <= timedelta(minutes=truth.extra["onset_tolerance"])
    assert report.window["first_signal"].startswith("p95 of")  # ...the creep dates it
    errors_at = datetime.fromisoformat(report.window["symptom_start"])
    assert errors_at - report.onset >= timedelta(minutes=60)
    assert [s.change.id for s in report.suspects][:1] == ["D-300"]
    # the flag came 77 minutes after the onset: not a suspect
    assert "F-12" not in {s.change.id for s in report.suspects}
    assert "p95 of" in report.suspects[0].reason
    assert "first sign: p95 of" in report.summary
    # the signals are listed by when they moved
    starts = [s.at for s in report.signals]
    assert starts == sorted(starts) and report.signals[0].metric == "p95_ms"


def test_traffic_drop_names_the_route_and_the_cdn(hard):
    truth, report = hard["traffic_drop"]
    assert report.incident and report.symptom == "requests"
    m = re.fullmatch(r"Traffic to /checkout fell to (\d+)% since 13:57 UTC", report.headline())
    assert m and 25 <= int(m.group(1)) <= 45
    assert report.routes[0].route == "/checkout" and report.routes[0].affected
    assert [r.route for r in report.routes if r.affected] == ["/checkout"]
    top = report.suspects[0]
    assert top.change.id == "I-40" and top.matched_routes == ["/checkout"]
    actions = [s.action for s in report.containment]
    assert actions[0].startswith("Revert infra change I-40")
    assert any("CDN rules, DNS, load balancer" in a for a in actions)
    assert all(step.target != "D-77" for step in report.containment)


def test_local_time_app_log_is_aligned_with_the_access_log(hard):
    truth, report = hard["app_log_local_time"]
    clock = report.app_log_clock
    assert clock is not None and clock["source"] == "estimated"
    assert clock["offset_minutes"] == truth.extra["app_log_offset_minutes"] == 60
    assert clock["offset"] == "+01:00"
    first = report.signatures[0]
    assert truth.extra["signature"] in first.template and first.status == "new"
    assert first.first_seen is not None
    assert abs(first.first_seen - truth.onset) <= timedelta(minutes=2)
    # the hourly job ran an hour before the onset: not new, not surging
    assert not any(truth.extra["not_signature"] in s.template for s in report.signatures)
    assert "App-log times read at UTC+01:00" in render_markdown(report)


def test_a_given_app_log_zone_is_used_and_reported(hard):
    truth, _ = hard["app_log_local_time"]
    for tz in ("+01:00", "Europe/Paris", "UTC+1"):
        report = triage(
            [str(truth.access_log)], app_logs=[truth.app_log], changes=truth.changes, app_log_tz=tz
        )
        assert report.app_log_clock == {
            "offset": "+01:00",
            "offset_minutes": 60,
            "source": "given",
            "evidence": f"--app-log-tz {tz}",
        }
        assert truth.extra["signature"] in report.signatures[0].template
    with pytest.raises(InvalidInput, match="unknown app-log time zone"):
        parse_tz("Mars/Olympus", START)
    assert parse_tz("-0530", START) == -timedelta(hours=5, minutes=30)


def test_app_log_with_offsets_is_read_as_stated(tmp_path):
    truth = generate("deploy_5xx", tmp_path, seed=4, minutes=90, onset_minute=60)
    stamped = tmp_path / "app-utc.log"
    stamped.write_text(
        "".join(
            line[:23] + "+00:00" + line[23:] + "\n"
            for line in truth.app_log.read_text().splitlines()
        )
    )
    report = triage([str(truth.access_log)], app_logs=[stamped], changes=truth.changes)
    assert report.app_log_clock is not None
    assert report.app_log_clock["source"] == "stated"
    assert report.app_log_clock["offset_minutes"] == 0
    assert "NullPointerException" in report.signatures[0].template


def test_marketing_surge_is_load_not_an_incident(hard):
    truth, report = hard["marketing_surge"]
    assert truth.incident is False and report.incident is False
    assert report.severity is None and report.suspects == [] and report.containment == []
    assert report.headline().startswith("No incident detected: a load surge, traffic x")
    assert "5xx rate held" in report.summary and "p95 held" in report.summary
    assert any(s.metric == "requests" and s.ratio > 2 for s in report.signals)
    # the first line is at 12:00:55: the grid starts in that minute, not the next
    first = truth.access_log.read_text().split("[", 2)[1][:20]
    assert first.startswith("20/Nov/2026:12:00:5")
    assert report.window["data_start"] == START.isoformat()


def test_a_surge_with_errors_stays_an_incident(tmp_path):
    # the retry storm triples traffic too, but fails and repeats request ids
    truth = generate("retry_storm", tmp_path, seed=11)
    report = triage([str(truth.access_log)], changes=truth.changes)
    assert report.incident and "retry storm" in report.headline()


def test_burst_fit_finds_a_short_outage_a_step_fit_misses():
    rng = np.random.default_rng(3)
    requests = rng.poisson(60, 180).astype(float)
    rate = np.full(180, 0.003)
    rate[117:129] = 0.08
    errors = rng.binomial(requests.astype(int), rate).astype(float)
    sig = error_signal("*", requests, errors)
    assert sig is not None and abs(sig.index - 117) <= 1
    assert sig.stop is not None and abs(sig.stop - 129) <= 1
    assert sig.after > 0.05 > 0.01 > sig.before


def test_no_burst_in_healthy_quiet_traffic():
    rng = np.random.default_rng(5)
    found = 0
    for _ in range(20):
        requests = rng.poisson(12, 180).astype(float)  # a quiet route: a few 5xx cluster by luck
        errors = rng.binomial(requests.astype(int), 0.004).astype(float)
        found += error_signal("/login", requests, errors) is not None
    assert found == 0
    y = 1 + rng.normal(0, 0.05, 200)
    assert find_rise(np.arange(200.0), y, None, ("step", "ramp")) is None


def test_change_reach_from_scope_hosts_and_description(tmp_path):
    onset = START + timedelta(hours=2)
    path = tmp_path / "changes.jsonl"
    rows = [
        {"id": "I-1", "at": "2026-11-20T13:45:00Z", "kind": "infra", "scope": "all"},
        {"id": "D-1", "at": "2026-11-20T13:52:00Z", "kind": "deploy", "service": "login"},
        {
            "id": "C-1",
            "at": "2026-11-20T13:40:00Z",
            "kind": "config",
            "service": "ops",
            "hosts": ["lb-1", "lb-2"],
            "description": "load balancer: new health check",
        },
        {
            "id": "D-2",
            "at": "2026-11-20T13:30:00Z",
            "kind": "deploy",
            "service": "web",
            "description": "fix the /search pagination",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    changes = load_changes(path)
    assert changes[0].scope == "all" and changes[2].hosts == ("lb-1", "lb-2")
    got = {
        s.change.id: s
        for s in rank_suspects(changes, onset=onset, affected_routes=["/search", "/cart"])
    }
    assert got["I-1"].reach == "all_routes" and got["I-1"].matched_routes == ["/search", "/cart"]
    assert got["C-1"].reach == "all_routes" and "load balancer" in got["C-1"].reason
    assert got["D-2"].reach == "top_route"  # named in its description
    assert got["D-1"].reach == "none"
    assert got["I-1"].score > got["D-1"].score
    # a deploy is never "in front of every route", whatever its words
    deploy = Change("D-9", onset - timedelta(minutes=5), "deploy", service="cdn-banner")
    [s] = rank_suspects([deploy], onset=onset, affected_routes=["/search"])
    assert s.reach == "none"


def test_quiet_service_drop_and_a_noisy_step_are_judged_too(tmp_path):
    # 80 requests a minute: /checkout falls from about 6 to 2 a minute
    drop = generate("traffic_drop", tmp_path / "drop", seed=10, per_minute=80)
    report = triage([str(drop.access_log)], changes=drop.changes)
    assert report.headline().startswith("Traffic to /checkout fell to")
    assert report.suspects[0].change.id == "I-40"
    # a 5xx step whose level wanders after it is a step (step+ramp), not a ramp 20 min early
    step = generate("app_log_local_time", tmp_path / "step", seed=10, per_minute=80)
    report = triage([str(step.access_log)], changes=step.changes)
    assert report.onset is not None and step.onset is not None
    assert abs(report.onset - step.onset) <= timedelta(minutes=2)
    assert report.suspects[0].change.id == "D-130"


def test_app_log_of_a_slowdown_is_aligned_by_its_warnings(tmp_path):
    # no 5xx to match: the slow-query warnings follow the access log's latency, two hours off
    truth = generate("migration_latency", tmp_path, seed=6)
    shifted = tmp_path / "app-local.log"
    lines = []
    for line in truth.app_log.read_text().splitlines():
        stamp = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S") - timedelta(hours=2)
        lines.append(f"{stamp:%Y-%m-%d %H:%M:%S}{line[19:]}\n")
    shifted.write_text("".join(lines))
    report = triage([str(truth.access_log)], app_logs=[shifted], changes=truth.changes)
    assert report.app_log_clock is not None
    assert report.app_log_clock["source"] == "estimated"
    assert report.app_log_clock["offset"] == "-02:00"
    assert "mean latency" in report.app_log_clock["evidence"]
    assert "slow query" in report.signatures[0].template


def test_latency_step_is_dated_through_intervals_too_sparse_to_fit():
    rng = np.random.default_rng(2)
    n = np.full(120, 8.0)
    n[80:83] = 3  # a quiet route: the first slow minutes have few requests
    mean = np.where(np.arange(120) >= 80, 300.0, 100.0) * np.exp(rng.normal(0, 0.1, 120))
    sig = latency_signal("/api/orders/{id}", mean * 1.5, n, mean)
    assert sig is not None and sig.index == 80
    assert 2.5 < sig.ratio < 3.5
