"""verify: recovered / not recovered / inconclusive on generated logs; the verified gate."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from warroom import incidents
from warroom.cli.main import app
from warroom.contain import verify
from warroom.core.db import Database
from warroom.core.errors import InvalidInput, InvalidTransition
from warroom.incidents import timeline

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ONSET = T0 + timedelta(minutes=60)
FIX = T0 + timedelta(minutes=80)
ROUTES = ["/checkout", "/search", "/cart", "/api/orders/1"]


def write_log(path: Path, phases: list[tuple[int, int, float, float]], *, seed: int = 7) -> Path:
    """Combined log with a trailing request time (s); phases of (minutes, per minute, 5xx share,
    median latency ms)."""
    rng = np.random.default_rng(seed)
    lines = []
    t = T0
    for minutes, per_minute, err, median in phases:
        n = minutes * per_minute
        offsets = np.sort(rng.random(n) * minutes * 60)
        statuses = np.where(rng.random(n) < err, 500, 200)
        lat = rng.lognormal(np.log(median), 0.45, n) / 1000
        for off, st, la in zip(offsets, statuses, lat, strict=True):
            ts = t + timedelta(seconds=float(off))
            route = ROUTES[int(rng.integers(0, len(ROUTES)))]
            lines.append(
                f"10.0.0.{int(rng.integers(1, 250))} - - [{ts:%d/%b/%Y:%H:%M:%S} +0000] "
                f'"GET {route} HTTP/1.1" {st} 512 "-" "curl/8.4.0" {la:.3f}\n'
            )
        t += timedelta(minutes=minutes)
    path.write_text("".join(lines))
    return path


BASE = (60, 60, 0.003, 80.0)
INCIDENT = (20, 60, 0.08, 240.0)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three logs, written once for the module."""
    tmp_path = tmp_path_factory.mktemp("verify-logs")
    return {
        "recovered": write_log(tmp_path / "recovered.log", [BASE, INCIDENT, (40, 60, 0.003, 80)]),
        "not_recovered": write_log(tmp_path / "worse.log", [BASE, INCIDENT, (40, 60, 0.05, 170)]),
        # the log stops 12 minutes after the fix: 2 minutes of thin traffic past the soak
        "inconclusive": write_log(tmp_path / "thin.log", [BASE, INCIDENT, (12, 6, 0.0, 80)]),
    }


def fixed_incident(db: Database, clock) -> str:
    clock.set(ONSET + timedelta(minutes=5))
    key = incidents.declare(db, title="Checkout 500s", actor="ana", started_at=ONSET).key
    clock.set(FIX)
    incidents.move(db, key, to="fixed", actor="ana")
    clock.set(T0 + timedelta(hours=3))
    return key


def test_three_generated_logs_give_three_verdicts(db, clock, files):
    key = fixed_incident(db, clock)
    got = {}
    for name, path in files.items():
        got[name] = verify.verify(db, key, [str(path)], actor="ana")
    assert got["recovered"].verdict == "recovered"
    assert got["not_recovered"].verdict == "not_recovered"
    assert got["inconclusive"].verdict == "inconclusive"
    s = got["recovered"].summary
    assert "against the incident" in s and "of baseline" in s and "baseline" in s
    assert s.startswith("p95 -") and "5xx" in s
    assert got["recovered"].windows["after"].start == FIX + timedelta(minutes=10)
    assert got["recovered"].windows["incident"].start == ONSET
    assert any("5xx rate" in r for r in got["not_recovered"].reasons)
    assert any("p95 is +" in r for r in got["not_recovered"].reasons)
    assert "too little traffic" in got["inconclusive"].summary
    events = timeline.read(db, key, kinds=["verification.recorded"])
    assert [e.data["verdict"] for e in events] == ["recovered", "not_recovered", "inconclusive"]
    assert events[0].data["numbers"]["after"]["requests"] > 1000


def test_verified_is_refused_without_a_recovered_verdict(db, clock, files):
    key = fixed_incident(db, clock)
    with pytest.raises(InvalidTransition, match="without evidence"):
        incidents.move(db, key, to="verified", actor="ana")
    verify.verify(db, key, [str(files["not_recovered"])], actor="ana")
    with pytest.raises(InvalidTransition, match="without evidence"):
        incidents.move(db, key, to="verified", actor="ana")
    verify.verify(db, key, [str(files["recovered"])], actor="ana")
    assert incidents.move(db, key, to="verified", actor="ana").stage == "verified"


def test_verdict_is_reproducible_and_windows_can_be_given(db, clock, files):
    key = fixed_incident(db, clock)
    path = str(files["recovered"])
    a = verify.verify(db, key, [path], actor="ana")
    b = verify.verify(db, key, [path], actor="ana")
    assert a.numbers["p95_ratio_vs_baseline"] == b.numbers["p95_ratio_vs_baseline"]
    # Claiming the fix happened at the onset puts the incident inside "after": not recovered.
    c = verify.verify(
        db,
        key,
        [path],
        actor="ana",
        after=ONSET,
        soak=timedelta(0),
        baseline=(T0, T0 + timedelta(minutes=50)),
    )
    assert c.verdict == "not_recovered"
    assert c.windows["baseline"].end == T0 + timedelta(minutes=50)
    assert verify.parse_duration("90s") == timedelta(seconds=90)
    with pytest.raises(InvalidInput):
        verify.parse_range("yesterday")


def test_verify_without_a_fix_time_asks_for_after(db, clock, files):
    clock.set(ONSET + timedelta(minutes=5))
    key = incidents.declare(db, title="Slow", actor="ana", started_at=ONSET).key
    with pytest.raises(InvalidInput, match="fix took effect") as refused:
        verify.verify(db, key, [str(files["recovered"])], actor="ana")
    assert refused.value.field == "after"


def test_cli_verify_and_move(db_url, clock, files, tmp_path):
    database = Database(db_url)
    try:
        key = fixed_incident(database, clock)
    finally:
        database.dispose()
    path = files["recovered"]
    res = CliRunner().invoke(
        app,
        [
            "verify",
            key,
            "--log",
            str(path),
            "--soak",
            "5m",
            "--move",
            "--db",
            db_url,
            "--as",
            "ana",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "recovered" in res.output and "verified" in res.output
    res = CliRunner().invoke(
        app, ["verify", key, "--log", str(tmp_path / "missing.log"), "--db", db_url]
    )
    assert res.exit_code == 2


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"), [(30, 1000, 10, 1000), (5, 400, 9, 380), (0, 50, 0, 60), (7, 7, 1, 9)]
)
def test_error_rate_p_value_is_the_normal_survival_function(x1, n1, x2, n2):
    """verify computes sf(z) with math.erfc, without loading scipy: the same numbers."""
    p1, p2, pooled = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    se = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)) ** 0.5
    expected = float(stats.norm.sf((p1 - p2) / se)) if se else 1.0
    assert verify.two_proportion_p(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_verify_does_not_load_scipy():
    code = "import sys, warroom.contain.verify; assert 'scipy.stats' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
