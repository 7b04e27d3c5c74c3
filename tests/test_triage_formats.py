"""Every access-log format through detection, parsing and triage, from the samples in
tests/data/accesslogs (written from each format's documentation by make_samples.py)."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from triage_helpers import write
from warroom.cli.triage import register
from warroom.contain import verify
from warroom.core.errors import InvalidInput, UnknownFormat
from warroom.detect.slo import check_logs, parse_slos
from warroom.triage.formats import BUILT_IN, LINE_FORMATS, declare_formats
from warroom.triage.parse import read_access_logs
from warroom.triage.report import triage

DATA = Path(__file__).resolve().parent / "data" / "accesslogs"
LINES = 45 * 12
# sample -> (detected format, latency known)
SAMPLES = {
    "ingress-nginx.log": "ingress-nginx",
    "traefik.log": "traefik",
    "traefik.json": "json",
    "caddy.json": "json",
    "envoy.log": "envoy",
    "envoy.json": "json",
    "alb.log": "alb",
    "elb.log": "elb",
    "haproxy.log": "haproxy",
    "iis.log": "w3c",
    "cloudfront.log": "w3c",
    "gcp-lb.json": "json",
    "cloudflare.json": "json",
}
ONSET = datetime(2026, 11, 20, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize("name", SAMPLES)
def test_each_format_is_detected_and_every_line_read(name):
    path = str(DATA / name)
    log = read_access_logs([path])
    assert log.formats == {path: SAMPLES[name]}
    assert (log.lines.read, log.lines.parsed, log.lines.skipped) == (LINES, LINES, 0)
    f = log.frame
    assert f["ts"].min() >= datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    assert f["ts"].max() < datetime(2026, 11, 20, 13, 45, tzinfo=UTC)
    assert f["client"].str.starts_with("10.1.").all()
    assert set(f["method"].unique()) == {"GET", "POST"}
    assert set(f["route"].unique()) >= {"/checkout", "/login", "/api/orders/{id}"}
    errors = f.filter(pl.col("status") == 500)
    assert errors.height > 20
    assert (errors["route"] == "/checkout").all() and (errors["ts"] >= ONSET).all()
    # the slow 500s take 1.2-1.8 s, the rest 10-90 ms, whatever unit the format writes
    assert errors["latency_ms"].min() > 1100 and errors["latency_ms"].max() < 1900
    fine = f.filter(pl.col("status") != 500)["latency_ms"]
    assert fine.null_count() == 0 and fine.min() >= 5 and fine.max() < 100


@pytest.mark.parametrize("name", SAMPLES)
def test_each_format_through_triage_finds_the_checkout_incident(name):
    report = triage([str(DATA / name)])
    assert report.incident, report.headline()
    assert report.onset is not None and abs(report.onset - ONSET) <= timedelta(minutes=2)
    assert report.routes[0].route == "/checkout"
    assert report.lines.parsed == LINES and report.latency_available


def test_format_named_on_the_command_line_skips_detection(tmp_path):
    path = str(DATA / "envoy.log")
    assert read_access_logs([path], log_format="envoy").lines.parsed == LINES
    # a wrong name reads nothing but says why, line by line
    wrong = read_access_logs([path], log_format="haproxy")
    assert wrong.lines.parsed == 0 and wrong.lines.skipped == LINES
    assert wrong.lines.samples[0].reason == "not a haproxy line"


def test_malformed_lines_are_counted_and_sampled(tmp_path):
    lines = (DATA / "alb.log").read_text().splitlines()[:50]
    lines[10] = lines[10][:60]  # cut short
    lines[20] = "garbage"
    p = write(tmp_path / "alb.log", lines)
    log = read_access_logs([str(p)])
    assert log.formats[str(p)] == "alb"
    assert (log.lines.read, log.lines.parsed, log.lines.skipped) == (50, 48, 2)
    assert [s.line for s in log.lines.samples] == [11, 21]


def test_unknown_format_names_the_file_and_how_to_declare_one(tmp_path):
    p = write(tmp_path / "odd.log", ["hello world", "nothing to see here"])
    with pytest.raises(UnknownFormat) as err:
        read_access_logs([str(p)])
    message = str(err.value)
    assert str(p) in message and "--log-format" in message and "--field" in message
    assert "docs/triage.md" in message


def test_w3c_without_the_fields_header_is_refused_with_the_reason(tmp_path):
    rows = (DATA / "iis.log").read_text().splitlines()[4:10]
    p = write(tmp_path / "iis.log", rows)
    with pytest.raises(UnknownFormat, match="#Fields"):
        read_access_logs([str(p)], log_format="w3c")


def test_w3c_header_missing_a_needed_field_is_named(tmp_path):
    p = write(tmp_path / "w.log", ["#Fields: date time c-ip", "2026-11-20 13:00:00 1.2.3.4"])
    with pytest.raises(UnknownFormat, match="cs-uri-stem, sc-status"):
        read_access_logs([str(p)])


def test_alb_without_a_target_has_no_latency(tmp_path):
    line = (DATA / "alb.log").read_text().splitlines()[0]
    parts = line.split(" ")
    parts[6], parts[8] = "-1", "503"  # target_processing_time -1: no target answered
    p = write(tmp_path / "alb.log", [" ".join(parts)])
    row = read_access_logs([str(p)]).frame.row(0, named=True)
    assert row["status"] == 503 and row["latency_ms"] is None
    url = parts[13]  # "https://shop.example.com:443/path" -> /path
    assert row["path"] == url.split(":443", 1)[1] and row["request_id"].startswith("Root=1-")


@pytest.mark.parametrize("name", SAMPLES)
def test_each_format_through_slo_check_pages_on_the_checkout_errors(name):
    slos = parse_slos("slos:\n  - {name: checkout, objective: 99.9%, match: {route: /checkout}}\n")
    (report,) = check_logs([DATA / name], slos)
    assert report.page_firing
    fired = next(a for a in report.alerts if a.alert.name == "page-fast").fired
    assert fired and ONSET <= fired[0].start <= ONSET + timedelta(minutes=5)


@pytest.fixture
def declared():
    """Formats declared by a test are forgotten after it."""
    yield
    for name in set(LINE_FORMATS) - BUILT_IN:
        del LINE_FORMATS[name]


MYPROXY = (
    "[triage.formats.myproxy]\n"
    "pattern = '''(?P<ts>\\d{4}-\\S+) (?P<client>\\S+) (?P<method>[A-Z]+) (?P<path>\\S+) "
    "(?P<status>\\d{3}) (?P<latency>\\d+)us'''\n"
    'time = "%Y-%m-%dT%H:%M:%S%z"\n'
    'unit = "us"\n'
)


def test_a_format_declared_in_warroom_toml_is_detected_by_triage(tmp_path, monkeypatch, declared):
    rows = read_access_logs([str(DATA / "envoy.log")]).frame.to_dicts()
    lines = [
        f"{r['ts']:%Y-%m-%dT%H:%M:%S+0000} {r['client']} {r['method']} {r['path']} "
        f"{r['status']} {round(r['latency_ms'] * 1000)}us"
        for r in rows
    ]
    log = write(tmp_path / "proxy.log", lines)
    (tmp_path / "warroom.toml").write_text(MYPROXY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WARROOM_CONFIG", raising=False)
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["triage", str(log), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["formats"] == {str(log): "myproxy"}
    assert data["lines"]["parsed"] == LINES and data["routes"][0]["route"] == "/checkout"


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"combined": {"pattern": "x"}}, "redefines a built-in format"),
        ({"p": {}}, "needs pattern ="),
        ({"p": {"pattern": "(?P<ts>"}}, "not a regular expression"),
        ({"p": {"pattern": "(?P<ts>x) (?P<status>y)"}}, "no (?P<method>), (?P<path (or url)>)"),
        (
            {"p": {"pattern": "(?P<ts>a)(?P<status>b)(?P<method>c)(?P<url>d)", "unit": "h"}},
            "unit 'h' is not one of",
        ),
    ],
)
def test_declared_formats_are_checked_with_the_reason(spec, needle, declared):
    with pytest.raises(InvalidInput, match=re.escape(needle)):
        declare_formats(spec, "warroom.toml")


@pytest.mark.parametrize("name", SAMPLES)
def test_each_format_through_verify_is_not_recovered(name):
    frame = read_access_logs([str(DATA / name)]).frame
    t = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    verdict = verify.compare(
        frame,
        baseline=verify.Window("baseline", t, ONSET),
        incident=None,
        after=verify.Window("after", ONSET + timedelta(minutes=5), t + timedelta(minutes=45)),
        min_requests=50,
    )
    assert verdict.verdict == verify.NOT_RECOVERED, verdict.summary
