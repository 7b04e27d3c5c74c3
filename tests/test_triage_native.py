"""The compiled scanner (`_scan.c`) reads exactly what the Python parsers read.

Routes, per-line values and whole-file aggregates are compared with the careful Python
parser and the polars path (WARROOM_NO_NATIVE=1) on generated scenarios, odd lines and
hypothesis-made paths and lines.
"""

from __future__ import annotations

import gzip
import math
import random
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import need
from triage_helpers import apache_logs, combined, write
from warroom.triage import native, sli
from warroom.triage.lineparse import text_row
from warroom.triage.onset import f_sf
from warroom.triage.routes import normalise_route, normalise_route_expr
from warroom.triage.scenarios import SCENARIOS, generate

_scan = native._scan


@pytest.fixture(autouse=True)
def _scanner_built() -> None:
    need(
        _scan is not None, "the compiled scanner warroom.triage._scan is not built (no C compiler)"
    )


# --- routes --------------------------------------------------------------------------------

FILE_NAMES = [
    ("/static/app.123.js", "/static/app.{id}.js"),
    ("/a/main.3f2a1b9c77.js", "/a/main.{id}.js"),
    ("/_next/chunks/index-3f2a1b9c8d7e6f5a.js", "/_next/chunks/index-{id}.js"),
    ("/x/jquery.1.12.4.min.js", "/x/jquery.{id}.{id}.{id}.min.js"),
    ("/file-9f1c2e3d-0000-4000-8000-000000000001.png", "/file-{id}.png"),
    ("/api/v1.2/x", "/api/v1.2/x"),
    ("/f-1234.js", "/f-1234.js"),
    (
        "/presentations/logstash-monitorama-2013/x.png",
        "/presentations/logstash-monitorama-2013/x.png",
    ),
    ("/price/12.50", "/price/12.50"),
]


@pytest.mark.parametrize(("path", "route"), FILE_NAMES)
def test_file_name_fingerprints_fold_the_same_in_all_three_normalisers(path, route):
    assert normalise_route(path) == route
    assert _scan.normalise_route(path) == route
    assert pl.DataFrame({"p": [path]}).select(normalise_route_expr(pl.col("p")))[0, 0] == route


PATH_ALPHABET = "/..--0123456789abcdefABCDEFxyz?#:"


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(PATH_ALPHABET, max_size=12),
            st.sampled_from(
                ["9f1c2e3d-0000-4000-8000-000000000001", "deadbeef99", "http://h", "https://h/"]
            ),
        ),
        max_size=6,
    )
)
def test_compiled_route_normalisation_agrees_with_python(parts):
    path = "".join(parts)
    got = _scan.normalise_route(path)
    expected = normalise_route(path)
    assert got == expected
    assert pl.DataFrame({"p": [path]}).select(normalise_route_expr(pl.col("p")))[0, 0] == expected


def test_paths_the_scanner_does_not_judge_are_left_to_python_and_control_bytes_are_plain():
    assert _scan.normalise_route("/caf\u00e9/1") is None  # non-ASCII: Python rules decide
    assert _scan.normalise_route("/a\tb/12") == normalise_route("/a\tb/12") == "/a\tb/{id}"
    assert _scan.normalise_route("/" + "1/" * 3000) is None  # longer than the scanner's buffer


# --- one line at a time ----------------------------------------------------------------------


def _scan_lines(lines: list[str], time_unit: str = "s") -> tuple[dict[int, dict], list[int]]:
    """Per input line index: what the scanner read, and the indexes it left to Python."""
    block = "".join(line + "\n" for line in lines).encode()
    factor = {"s": 1000.0, "ms": 1.0, "us": 0.001}[time_unit]
    read, blank, minute, route, status, latency, client, bad, names = _scan.scan_clf(block, factor)
    assert read == len(lines)
    bad_idx = np.frombuffer(bad, np.int64).reshape(-1, 3)[:, 0].tolist()
    plain = [i for i, line in enumerate(lines) if i not in set(bad_idx) and line.strip() != ""]
    assert blank == sum(1 for line in lines if line.strip() == "")
    m = np.frombuffer(minute, np.int32)
    r = np.frombuffer(route, np.int32)
    s = np.frombuffer(status, np.int16)
    lat = np.frombuffer(latency, np.float64)
    c = np.frombuffer(client, np.uint64)
    assert len(plain) == len(m)
    rows = {
        i: {
            "minute": int(m[k]),
            "route": names[r[k]],
            "status": int(s[k]),
            "latency_ms": None if math.isnan(lat[k]) else float(lat[k]),
            "client": int(c[k]),
        }
        for k, i in enumerate(plain)
    }
    return rows, bad_idx


def _expected(line: str, time_unit: str = "s") -> dict | None:
    try:
        row = text_row(line.strip(), time_unit)
    except (ValueError, TypeError, KeyError):
        return None
    if row is None:
        return None
    key = row["user"] if row["user"] is not None else row["client"]
    return {
        "minute": int(row["ts"].timestamp() // 60),
        "route": normalise_route(row["path"]),
        "status": row["status"],
        "latency_ms": row["latency_ms"],
        "client": _scan.client_hash(key),
    }


def _assert_same_as_python(lines: list[str], time_unit: str = "s") -> tuple[int, int]:
    rows, bad = _scan_lines(lines, time_unit)
    for i, got in rows.items():
        assert got == _expected(lines[i], time_unit), lines[i]
    return len(rows), len(bad)


ODD_LINES = [
    combined("20/Nov/2026:12:00:01", "/a/1", 200, "0.25"),
    combined("20/Nov/2026:12:00:01", "/a/1", 200),
    '1.2.3.4 - bob [20/Nov/2026:12:00:01 +0130] "POST /cart/42 HTTP/1.0" 503 10 0.5',
    '1.2.3.4 - - [20/Nov/2026:12:00:02 -0800] "GET /cart/43?x=1 HTTP/1.0" 200 -',
    '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "GET /x HTTP/1.1" 200 5 "-" "a \\"quoted\\" ua" 0.1',
    '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "GET /x HTTP/1.1" 200 5 "-" "ua" "10.0.0.9" 0.125',
    '1.2.3.4 - - [31/Feb/2026:12:00:02 +0000] "GET /x HTTP/1.1" 200 5 "-" "ua"',
    '1.2.3.4 - - [20/nov/2026:12:00:02 +0000] "GET /x HTTP/1.1" 200 5 "-" "ua"',
    '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "get /x HTTP/1.1" 200 5 "-" "ua"',
    '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "-" 400 0 "-" "-"',
    '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "GET /caf\u00e9 HTTP/1.1" 200 5 "-" "ua"',
    '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "GET /x HTTP/1.1" 999 5 "-" "ua"',
    '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "GET /x HTTP/1.1" 200 5 "-" "ua" 1e3',
    '1.2.3.4 - - [20/Nov/2026:12:00:02 +0000] "GET /x HTTP/1.1" 200 5 "-" "ua" 0.1234567890123456',
    "not an access log line",
    "",
    "   ",
    '{"time": "2026-11-20T12:00:00Z", "path": "/x", "status": 200}',
]


def test_odd_lines_are_read_exactly_or_left_to_python():
    plain, left = _assert_same_as_python(ODD_LINES)
    assert plain >= 6 and left >= 8
    rows, bad = _scan_lines(ODD_LINES)
    assert rows[2]["minute"] == int(datetime(2026, 11, 20, 10, 30, tzinfo=UTC).timestamp() // 60)
    assert rows[5]["latency_ms"] == 125.0  # a third quoted field before the request time
    assert 4 in bad  # escaped quotes in the user agent: the careful parser reads it
    assert 14 in bad  # not a log line at all: Python counts and samples it


LINE_PARTS = st.fixed_dictionaries(
    {
        "client": st.sampled_from(["10.0.0.1", "::1", "-", "host.example", "a\tb"]),
        "user": st.sampled_from(["-", "bob", "al-ice"]),
        "day": st.sampled_from(["01", "31", "29", "1", "00"]),
        "mon": st.sampled_from(["Jan", "Feb", "nov", "Foo"]),
        "year": st.sampled_from(["2024", "2026", "1899"]),
        "tz": st.sampled_from(["+0000", "-0530", "+1400", "Z", "+00:00"]),
        "method": st.sampled_from(["GET", "POST", "get", "M-SEARCH", ""]),
        "path": st.text(PATH_ALPHABET, max_size=20),
        "status": st.sampled_from(["200", "500", "099", "600", "20"]),
        "bytes": st.sampled_from(["0", "-", "123"]),
        "tail": st.sampled_from(
            ["", ' "-" "ua"', ' "ref" "ua" 0.5', ' "r" "u" "x" 12', " 7", ' "r" "u"  0.010 ']
        ),
    }
)


@settings(max_examples=400, deadline=None)
@given(LINE_PARTS, st.sampled_from(["s", "us"]))
def test_generated_lines_read_the_same_as_the_careful_parser(p, unit):
    line = (
        f"{p['client']} - {p['user']} [{p['day']}/{p['mon']}/{p['year']}:12:34:56 {p['tz']}] "
        f'"{p["method"]} {p["path"]} HTTP/1.1" {p["status"]} {p["bytes"]}{p["tail"]}'
    )
    _assert_same_as_python([line], unit)


# --- whole files: compiled vs polars ------------------------------------------------------------


def _aggregates(paths: list[str], monkeypatch, *, compiled: bool) -> sli.Aggregates:
    monkeypatch.setenv(native.DISABLE_ENV, "0" if compiled else "1")
    assert native.available() == compiled
    return sli.aggregate_access_logs(paths)


def _counts(frame: pl.DataFrame, keys: list[str]) -> list[tuple]:
    return sorted(frame.group_by(keys).agg(pl.col("n").sum()).rows())


def _assert_same_aggregates(paths: list[str], monkeypatch) -> sli.Aggregates:
    fast = _aggregates(paths, monkeypatch, compiled=True)
    slow = _aggregates(paths, monkeypatch, compiled=False)
    assert _counts(fast.status, ["minute", "route", "status"]) == _counts(
        slow.status, ["minute", "route", "status"]
    )
    assert _counts(fast.latency, ["minute", "route", "bucket"]) == _counts(
        slow.latency, ["minute", "route", "bucket"]
    )
    assert fast.lines.to_dict() == slow.lines.to_dict()
    assert fast.client_sample_level == slow.client_sample_level == 0
    # client hashes differ between the paths; the distinct counts must not
    assert fast.clients["client"].n_unique() == slow.clients["client"].n_unique()
    assert (
        fast.clients.filter(pl.col("last_error").is_not_null())["client"].n_unique()
        == slow.clients.filter(pl.col("last_error").is_not_null())["client"].n_unique()
    )
    return fast


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_aggregate_the_same_with_and_without_the_scanner(name, tmp_path, monkeypatch):
    truth = generate(name, tmp_path, seed=3, minutes=60, per_minute=80, onset_minute=40)
    agg = _assert_same_aggregates([str(truth.access_log)], monkeypatch)
    assert agg.lines.parsed == truth.lines


def test_real_apache_log_aggregates_the_same(monkeypatch):
    agg = _assert_same_aggregates([str(apache_logs())], monkeypatch)
    assert agg.lines.parsed == 10_000


def test_odd_lines_gzip_and_blank_lines_aggregate_the_same(tmp_path, monkeypatch):
    rng = random.Random(5)
    lines = []
    for i in range(3000):
        lines.append(
            combined(
                f"20/Nov/2026:12:{i // 60 % 60:02d}:{i % 60:02d}",
                rng.choice(["/a/1", "/b/x.123.js", "/c?q=1", "/d/deadbeef99"]),
                rng.choice([200, 200, 500, 404]),
                rng.choice(["0.05", "0.5", None]),
            )
        )
        if i % 97 == 0:
            lines.append(rng.choice(ODD_LINES))
    plain = write(tmp_path / "mixed.log", lines)
    gz = tmp_path / "mixed.log.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    agg = _assert_same_aggregates([str(plain), str(gz)], monkeypatch)
    assert agg.lines.skipped > 0 and agg.lines.samples[0].line > 1


def test_client_sampling_keeps_the_table_bounded():
    agg = _scan.Aggregator()
    n = _scan.MAX_CLIENTS + 200_000
    block = "".join(
        f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255} - u{i} [20/Nov/2026:12:00:01 +0000] "
        f'"GET /a HTTP/1.1" 200 1\n'
        for i in range(n)
    ).encode()
    read, blank, bad = agg.feed(block, 1000.0)
    assert (read, blank, bad) == (n, 0, b"")
    result = agg.result()
    kept = len(result["client"]) // 8
    assert result["client_level"] >= 1
    assert 0 < kept <= _scan.MAX_CLIENTS
    estimate = kept * 2 ** result["client_level"]
    assert abs(estimate - n) / n < 0.05


def test_start_level_follows_the_input_size():
    assert native.client_level_for(0) == 0
    assert native.client_level_for(50_000_000) == 0
    assert native.client_level_for(1_000_000_000) == 4  # about 6.7 million lines
    assert native.client_level_for(4_000_000_000) == 6


def test_the_f_test_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(1)
    for _ in range(500):
        d1 = int(rng.integers(1, 4))
        d2 = int(rng.integers(3, 3000))
        x = float(10 ** rng.uniform(-3, 3))
        assert f_sf(x, d1, d2) == pytest.approx(float(stats.f.sf(x, d1, d2)), rel=1e-9, abs=1e-300)
    assert f_sf(0.0, 2, 10) == 1.0 and f_sf(math.inf, 2, 10) == 0.0


def test_triage_cli_starts_without_the_database_stack(tmp_path):
    import subprocess
    import sys

    log = write(tmp_path / "a.log", [combined("20/Nov/2026:12:00:01", "/a", 200, "0.1")])
    code = (
        f"import sys; sys.argv = ['warroom', 'triage', {str(log)!r}, '--format', 'json'];"
        "from warroom.cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'sqlalchemy' not in sys.modules and 'scipy.stats' not in sys.modules, "
        "sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'scipy')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"incident": false' in done.stdout


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("suffix", [".log", ".log.gz"])
def test_small_blocks_keep_line_numbers_and_long_lines(tmp_path, monkeypatch, compiled, suffix):
    """Many blocks (mapped windows for plain files, reads for gzip): skipped lines keep their
    numbers in the file, a line longer than a block is read whole, a last line without a
    newline counts."""
    from warroom.triage import reader

    monkeypatch.setattr(reader, "BLOCK_SIZE", 4096)
    lines = [
        combined(f"20/Nov/2026:12:{i // 60 % 60:02d}:{i % 60:02d}", f"/p/{i}", 200, "0.1")
        for i in range(2000)
    ]
    bad_at = [7, 777, 1500]  # 0-based
    for i in bad_at:
        lines[i] = f"garbage line {i}"
    lines[1000] = combined("20/Nov/2026:12:16:40", "/long/" + "x" * 20_000, 200, "0.1")
    data = ("".join(line + "\n" for line in lines)).rstrip("\n").encode()
    path = tmp_path / f"many{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    agg = _aggregates([str(path)], monkeypatch, compiled=compiled)
    assert agg.lines.read == 2000
    assert agg.lines.skipped == len(bad_at)
    assert agg.lines.parsed == 2000 - len(bad_at)
    assert [s.line for s in agg.lines.samples] == [i + 1 for i in bad_at]
    assert [s.text for s in agg.lines.samples] == [f"garbage line {i}" for i in bad_at]
    assert "/long/" + "x" * 20_000 in agg.status["route"].to_list()


def test_odd_bytes_anywhere_in_a_line_send_it_to_python():
    """The 32-byte line splitter must see a backslash or a non-ASCII byte wherever it sits,
    and only in its own line."""
    base = combined("20/Nov/2026:12:00:01", "/a/1", 200, "0.25")
    for odd in ("\\", "\u00e9"):
        for at in range(0, len(base) + 1, 3):
            line = base[:at] + odd + base[at:]
            lines = [base[: 40 + at % 7] + "x", line, base]
            rows, bad = _scan_lines(lines)
            assert 1 in bad, (odd, at)
            assert 2 in rows  # the next line is unaffected
    for n in range(1, 100):
        rows, bad = _scan_lines([base, "x" * n, base])
        assert set(rows) == {0, 2} and bad == [1]


def test_histogram_quantiles_match_a_direct_count():
    rng = np.random.default_rng(4)
    rows = [
        (int(g), int(b), int(n))
        for g, b, n in zip(
            rng.integers(0, 40, 3000),
            rng.integers(-5, 90, 3000),
            rng.integers(1, 50, 3000),
            strict=True,
        )
    ]
    hist = pl.DataFrame(
        rows, schema={"g": pl.Int64, "bucket": pl.Int32, "n": pl.UInt32}, orient="row"
    )
    qs = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "p100": 1.0}
    got = {r["g"]: r for r in sli.quantiles(hist, ["g"], qs).iter_rows(named=True)}
    for g in {r[0] for r in rows}:
        counts: dict[int, int] = {}
        for gg, b, n in rows:
            if gg == g:
                counts[b] = counts.get(b, 0) + n
        total = sum(counts.values())
        assert got[g]["latency_n"] == total
        for name, q in qs.items():
            running = 0
            for b in sorted(counts):
                running += counts[b]
                if running >= q * total:
                    break
            assert got[g][name] == pytest.approx(sli.LATENCY_BASE ** (b + 0.5)), (g, name)
