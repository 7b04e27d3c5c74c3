import gzip
import io
import json
import sys
from datetime import UTC, datetime

import polars as pl
import pytest

from triage_helpers import apache_logs, combined, write
from warroom.core.errors import InvalidInput, UnknownFormat
from warroom.triage.parse import read_access_logs


def test_real_apache_log_parses_every_line():
    log = read_access_logs([str(apache_logs())])
    assert log.lines.read == 10_000
    assert log.lines.parsed == 10_000
    assert log.lines.skipped == 0
    assert log.formats == {str(apache_logs()): "combined"}
    f = log.frame
    assert f.schema["ts"] == pl.Datetime("us", "UTC")
    assert f["ts"].min() == datetime(2015, 5, 17, 10, 5, 0, tzinfo=UTC)
    assert f.filter(pl.col("status") == 500).height == 3
    assert f["latency_ms"].null_count() == f.height  # no request time in this log
    assert not log.latency_available


def test_nginx_request_time_is_seconds_and_apache_d_is_microseconds(tmp_path):
    nginx = write(tmp_path / "n.log", [combined("20/Nov/2026:12:00:01", "/a", 200, "0.250")])
    apache = write(tmp_path / "a.log", [combined("20/Nov/2026:12:00:01", "/a", 200, "250000")])
    assert read_access_logs([str(nginx)]).frame["latency_ms"][0] == pytest.approx(250.0)
    assert read_access_logs([str(apache)]).frame["latency_ms"][0] == pytest.approx(250.0)
    forced = read_access_logs([str(apache)], time_unit="ms")
    assert forced.frame["latency_ms"][0] == pytest.approx(250_000.0)


def test_common_format_with_and_without_request_time(tmp_path):
    p = write(
        tmp_path / "c.log",
        [
            '1.2.3.4 - bob [20/Nov/2026:12:00:01 +0100] "POST /cart/42 HTTP/1.0" 503 10 0.5',
            '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "GET /cart/43?x=1 HTTP/1.0" 200 -',
        ],
    )
    log = read_access_logs([str(p)])
    assert log.formats[str(p)] == "common"
    rows = log.frame.to_dicts()
    assert rows[0]["ts"] == datetime(2026, 11, 20, 11, 0, 1, tzinfo=UTC)
    assert rows[0]["user"] == "bob" and rows[0]["method"] == "POST"
    assert rows[0]["route"] == "/cart/{id}" and rows[0]["status"] == 503
    assert rows[0]["latency_ms"] == pytest.approx(500.0)
    assert rows[1]["latency_ms"] is None and rows[1]["route"] == "/cart/{id}"


def test_gzip_and_stdin_read_the_same_rows(tmp_path, monkeypatch):
    lines = [combined(f"20/Nov/2026:12:00:{s:02d}", f"/p/{s}", 200, "0.01") for s in range(30)]
    plain = write(tmp_path / "x.log", lines)
    gz = tmp_path / "x.log.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(plain.read_bytes())))
    from_stdin = read_access_logs(["-"])
    from_gz = read_access_logs([str(gz)])
    assert from_gz.frame.equals(read_access_logs([str(plain)]).frame)
    assert from_stdin.frame.equals(from_gz.frame)
    assert from_stdin.formats == {"<stdin>": "combined"}


def test_json_lines_with_common_field_names(tmp_path):
    rows = [
        {
            "time": "2026-11-20T12:00:01Z",
            "remote_addr": "1.1.1.1",
            "request_uri": "/x/1",
            "status": 502,
            "request_time": 0.2,
            "request_id": "r1",
        },
        {
            "ts": 1795176002,
            "client_ip": "2.2.2.2",
            "path": "/x/2",
            "status": "200",
            "duration_ms": 12,
        },
        {
            "timestamp": "2026-11-20T12:00:03+01:00",
            "request": {"remote_ip": "3.3.3.3", "uri": "/y", "method": "post"},
            "status": 201,
            "duration": 0.004,
        },
    ]
    p = write(tmp_path / "j.jsonl", [json.dumps(r) for r in rows])
    log = read_access_logs([str(p)])
    assert log.formats[str(p)] == "json"
    f = log.frame.sort("client")
    assert f["client"].to_list() == ["1.1.1.1", "2.2.2.2", "3.3.3.3"]
    assert f["latency_ms"].to_list() == pytest.approx([200.0, 12.0, 4.0])
    assert f["route"].to_list() == ["/x/{id}", "/x/{id}", "/y"]
    assert f["method"][2] == "POST"
    assert f["request_id"][0] == "r1"


def test_json_lines_with_configured_field_names(tmp_path):
    p = write(
        tmp_path / "j.jsonl",
        [
            json.dumps(
                {"when": "2026-11-20T12:00:01Z", "who": "9.9.9.9", "target": "/z", "code": 404}
            )
        ],
    )
    log = read_access_logs([str(p)], json_fields={"ts": "when", "client": "who", "path": "target"})
    assert log.frame.select("client", "path", "status").row(0) == ("9.9.9.9", "/z", 404)


def test_malformed_lines_are_counted_and_sampled_with_line_numbers(tmp_path):
    lines = [combined("20/Nov/2026:12:00:01", "/a", 200, "0.1")] * 3
    lines.insert(1, "this is not a log line")
    lines.insert(3, "")
    lines.append('1.2.3.4 - - [99/Foo/2026:12:00:01 +0000] "GET /a HTTP/1.1" 200 1')
    log = read_access_logs([str(write(tmp_path / "m.log", lines))])
    assert (log.lines.read, log.lines.parsed, log.lines.skipped) == (5, 3, 2)
    assert [s.line for s in log.lines.samples] == [2, 6]
    assert log.lines.samples[0].text == "this is not a log line"


def test_escaped_quotes_in_user_agent_and_request(tmp_path):
    lines = [
        combined("20/Nov/2026:12:00:01", "/a", 200, "0.1", ua='Mozilla \\"x\\" 5.0'),
        '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "GET /q\\"x HTTP/1.1" 404 1 "-" "ua" 0.2',
    ]
    log = read_access_logs([str(write(tmp_path / "q.log", lines))])
    assert log.lines.skipped == 0
    assert log.frame["latency_ms"].to_list() == pytest.approx([100.0, 200.0])
    assert log.frame["status"].to_list() == [200, 404]


def test_unsorted_lines_and_clock_jumps_come_out_sorted(tmp_path):
    lines = [
        combined("20/Nov/2026:12:05:00", "/a", 200),
        combined("20/Nov/2026:11:00:00", "/a", 200),
        combined("20/Nov/2026:12:01:00", "/a", 200),
    ]
    f = read_access_logs([str(write(tmp_path / "u.log", lines))]).frame
    assert f["ts"].is_sorted()
    assert f.height == 3


def test_mixed_formats_in_one_file_and_across_files(tmp_path):
    a = write(
        tmp_path / "a.log",
        [
            combined("20/Nov/2026:12:00:01", "/a", 200, "0.1"),
            '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "GET /b HTTP/1.1" 500 7',
            json.dumps({"time": "2026-11-20T12:00:03Z", "uri": "/c", "status": 200}),
        ],
    )
    b = write(
        tmp_path / "b.jsonl",
        [json.dumps({"time": "2026-11-20T12:00:04Z", "uri": "/d", "status": 503})],
    )
    log = read_access_logs([str(a), str(b)])
    assert log.lines.skipped == 0
    assert log.frame["path"].to_list() == ["/a", "/b", "/c", "/d"]


def test_empty_file_gives_no_rows_and_no_error(tmp_path):
    p = tmp_path / "empty.log"
    p.write_text("")
    log = read_access_logs([str(p)])
    assert log.frame.height == 0 and log.lines.read == 0


def test_unknown_format_names_the_formats_tried(tmp_path):
    p = write(tmp_path / "syslog.txt", ["Nov 20 12:00:01 host sshd[12]: Accepted key"])
    with pytest.raises(UnknownFormat, match="tried combined, common, json"):
        read_access_logs([str(p)])


def test_bad_options_and_missing_file_are_invalid_input(tmp_path):
    with pytest.raises(InvalidInput, match="use one of combined, common, json"):
        read_access_logs([str(tmp_path)], log_format="parquet")
    with pytest.raises(InvalidInput, match="does not exist"):
        read_access_logs([str(tmp_path / "nope.log")])


def test_json_fast_and_careful_paths_agree(tmp_path):
    from warroom.triage.scenarios import generate

    truth = generate("retry_storm", tmp_path, seed=5, minutes=20, per_minute=50, onset_minute=10)
    clean = read_access_logs([str(truth.access_log)])
    # one malformed line makes the whole block go through the careful per-line parser
    broken = tmp_path / "broken.jsonl"
    broken.write_text(truth.access_log.read_text() + '{"time": "oops"\n')
    careful = read_access_logs([str(broken)])
    assert careful.lines.skipped == 1 and careful.lines.samples[0].line == truth.lines + 1
    assert clean.lines.parsed == truth.lines
    assert clean.frame.equals(careful.frame)


class RecordedProgress:
    """A `ReadProgress` that keeps what the engine told it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def start(self, total: int) -> None:
        self.calls.append(("start", total))

    def advance(self, n: int) -> None:
        self.calls.append(("advance", n))

    def stop(self) -> None:
        self.calls.append(("stop", 0))


def test_progress_is_told_the_size_then_every_byte_read_then_stop(tmp_path):
    lines = [
        combined(f"20/Nov/2026:12:{i // 60:02d}:{i % 60:02d}", "/a", 200, "0.1") for i in range(500)
    ]
    p = write(tmp_path / "a.log", lines)
    progress = RecordedProgress()
    read_access_logs([str(p)], progress=progress)
    size = p.stat().st_size
    assert progress.calls[0] == ("start", size) and progress.calls[-1] == ("stop", 0)
    assert sum(n for kind, n in progress.calls if kind == "advance") == size


def test_progress_is_stopped_when_reading_fails(tmp_path):
    p = write(tmp_path / "x.txt", ["hello world"])
    progress = RecordedProgress()
    with pytest.raises(UnknownFormat):
        read_access_logs([str(p)], progress=progress)
    assert progress.calls[0][0] == "start" and progress.calls[-1] == ("stop", 0)


@pytest.mark.parametrize("native", ["0", "1"])
def test_only_ascii_white_space_makes_a_line_blank_on_every_path(tmp_path, monkeypatch, native):
    """A line of \\xa0 or \\x1c is a skipped line, whichever reader takes it (the careful
    parser once dropped it after the fast path had counted it: read 1, parsed 0, skipped 0)."""
    from warroom.triage import native as scanner
    from warroom.triage.sli import aggregate_access_logs

    if native == "1" and not scanner.available():
        pytest.skip("the compiled scanner is not built")
    monkeypatch.setenv(scanner.DISABLE_ENV, "0" if native == "1" else "1")
    ok = combined("20/Nov/2026:12:00:01", "/a", 200, "0.1")
    p = write(tmp_path / "a.log", [ok, "\xa0", "\x1c", " \t", ""])
    lines = aggregate_access_logs([str(p)]).lines
    assert (lines.read, lines.parsed, lines.skipped) == (3, 1, 2)
    assert [s.line for s in lines.samples] == [2, 3]
