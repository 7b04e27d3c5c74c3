"""`warroom watch`: follow a log while a test writes it, across rotation and a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from slo_helpers import START, log_line
from warroom.core.db import Database
from warroom.detect import watch
from warroom.detect.slo import parse_slos
from warroom.detect.slo.follow import Follower
from warroom.detect.tables import alert_deliveries, alert_states
from warroom.detect.watch import Watcher
from warroom.incidents.tables import incidents
from warroom.triage import native

SLOS = "slos:\n  - {name: checkout, service: shop, objective: 99.9%, match: {route: /checkout}}\n"


# --- the follower ---------------------------------------------------------------------------


def _lines(data: bytes) -> list[str]:
    return data.decode().splitlines()


def test_follower_reads_whole_lines_across_rotation_truncation_and_restart(
    tmp_path: Path,
) -> None:
    log = tmp_path / "access.log"
    log.write_text("a\nb\npartial")
    f = Follower(str(log))
    data, first = f.read()
    assert (_lines(data), first) == (["a", "b"], 1)
    with log.open("a") as fh:
        fh.write(" line\nc\n")
    assert _lines(f.read()[0]) == ["partial line", "c"]
    assert f.read() == (b"", 5)
    # rotation: the rest of the old file first, then the new file from its start
    with log.open("a") as fh:
        fh.write("d\n")
    log.rename(tmp_path / "access.log.1")
    log.write_text("e\n")
    assert _lines(f.read()[0]) == ["d"]
    data, first = f.read()
    assert (_lines(data), first) == (["e"], 1)
    with log.open("a") as fh:
        fh.write("e2\ne3\n")
    assert _lines(f.read()[0]) == ["e2", "e3"]
    # copytruncate: the file shrinks below the offset, read again from the start
    saved = f.to_state()
    f.close()
    with log.open("w") as fh:
        fh.write("")
    with log.open("a") as fh:
        fh.write("f\n")
    g = Follower.from_state(str(log), saved)
    assert _lines(g.read()[0]) == ["f"]
    # a restart on the same file resumes at the saved offset
    with log.open("a") as fh:
        fh.write("g\n")
    h = Follower.from_state(str(log), g.to_state())
    g.close()
    data, first = h.read()
    assert (_lines(data), first) == (["g"], 2)
    h.close()
    # rotated while stopped: the rest of the saved file (now access.log.2), then the new one
    with log.open("a") as fh:
        fh.write("g2\n")
    log.rename(tmp_path / "access.log.2")
    log.write_text("h\n")
    k = Follower.from_state(str(log), h.to_state())
    assert _lines(k.read()[0]) == ["g2"]
    assert _lines(k.read()[0]) == ["h"]
    k.close()
    # the saved file is gone: the path's file from its start
    (tmp_path / "access.log.2").unlink()
    m = Follower.from_state(str(log), {**h.to_state(), "ino": -1})
    assert _lines(m.read()[0]) == ["h"]
    m.close()


# --- warroom watch, a real process on a log written while it runs ---------------------------


class LogWriter:
    """Writes one request per second of log time, as fast as asked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.t = START
        self.written = 0

    def write(self, seconds: int, status: int) -> None:
        with self.path.open("a") as fh:
            for _ in range(seconds):
                fh.write(log_line(self.t, "/checkout", status, 0.05))
                self.t += timedelta(seconds=1)
                self.written += 1


def _start(tmp_path: Path, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    out = (tmp_path / "watch.out").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "warroom",
            "watch",
            "--slo",
            str(tmp_path / "slos.yaml"),
            "--log",
            str(log),
            "--state",
            str(tmp_path / "state.json"),
            "--interval",
            "0.2",
            "--db",
            db_url,
            "--json",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if k != "WARROOM_CONFIG"},
    )


def _wait(what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes], tmp: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if check():
            return
        assert proc.poll() is None, (tmp / "watch.out").read_text()
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {(tmp / 'watch.out').read_text()}")


def _state(tmp: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads((tmp / "state.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return loaded


def _counted(tmp: Path) -> int:
    steps = _state(tmp).get("slos", {}).get("checkout", {}).get("tracker", {}).get("steps", {})
    return sum(int(v[1]) for v in steps.values())


def _firing(tmp: Path) -> bool:
    return bool(_state(tmp).get("slos", {}).get("checkout", {}).get("firing_since"))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_watch_pages_once_across_rotation_and_restart(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "slos.yaml").write_text(SLOS)
    log = tmp_path / "access.log"
    writer = LogWriter(log)
    writer.write(20 * 60, 200)  # 20 healthy minutes: warm, nothing to page
    proc = _start(tmp_path, db_url, log)
    try:
        _wait("the healthy log", lambda: _counted(tmp_path) == writer.written, proc, tmp_path)
        assert not _firing(tmp_path)
        writer.write(90, 503)  # the checkout fails: every request for 90 s
        _wait("the page", lambda: _firing(tmp_path), proc, tmp_path)
        # rotation while it burns: the old file renamed, a new one written
        log.rename(tmp_path / "access.log.1")
        writer.write(60, 503)
        _wait("the new file", lambda: _counted(tmp_path) == writer.written, proc, tmp_path)
        _stop(proc)
        # lines written while it is down are read after the restart, once
        writer.write(60, 503)
        proc = _start(tmp_path, db_url, log)
        _wait("the backlog", lambda: _counted(tmp_path) == writer.written, proc, tmp_path)
        assert _firing(tmp_path)
        writer.write(20 * 60, 200)  # recovered
        _wait("the resolution", lambda: not _firing(tmp_path), proc, tmp_path)
    finally:
        if proc.poll() is None:
            _stop(proc)
    out = [json.loads(line) for line in (tmp_path / "watch.out").read_text().splitlines()]
    assert [(c["status"], c["outcome"]) for c in out] == [
        ("firing", "opened"),
        ("resolved", "attached"),
    ]
    assert out[0]["incident"] == out[1]["incident"]
    assert "page-outage" in out[0]["alerts"]
    # paged at the log time the outage became certain (1 request/s: within a minute)
    outage = START + timedelta(minutes=20)
    assert outage < datetime.fromisoformat(out[0]["at"]) <= outage + timedelta(minutes=1)
    db = Database(db_url)
    try:
        with db.read() as conn:
            keys = conn.execute(sa.select(incidents.c.key)).scalars().all()
            deliveries = conn.execute(
                sa.select(sa.func.count()).select_from(alert_deliveries)
            ).scalar_one()
            states = conn.execute(sa.select(alert_states.c.status, alert_states.c.labels)).all()
    finally:
        db.dispose()
    assert keys == [out[0]["incident"]]
    assert deliveries == 2
    assert [(s.status, s.labels["slo"], s.labels["severity"]) for s in states] == [
        ("resolved", "checkout", "page")
    ]


@pytest.mark.parametrize("scanner", [False, True], ids=["rows", "scanner"])
def test_a_backlog_read_at_once_pages_each_outage_at_its_log_time(
    tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch, scanner: bool
) -> None:
    # a large read is a backlog's: folded by the compiled scanner into per-minute counts
    monkeypatch.setattr(watch, "BACKLOG_BYTES", 1 if scanner else 1 << 40)
    if scanner and not native.available():
        pytest.skip("the compiled scanner is not built")
    log = tmp_path / "access.log"
    writer = LogWriter(log)
    for _ in range(2):  # two 5-minute outages an hour apart
        writer.write(60 * 60, 200)
        writer.write(5 * 60, 503)
    writer.write(60 * 60, 200)
    slos = parse_slos(SLOS)
    watcher = Watcher(db, slos, [str(log)], state_path=tmp_path / "state.json")
    try:
        changes = watcher.poll()
        assert watcher.poll() == []  # nothing new: nothing sent again
        counted = sum(int(v[1]) for v in watcher.trackers["checkout"].to_state()["steps"].values())
        assert counted == writer.written
    finally:
        watcher.close()
    assert [(c.status, c.outcome) for c in changes] == [
        ("firing", "opened"),
        ("resolved", "attached"),
        ("firing", "attached"),  # the incident is still open: the same one
        ("resolved", "attached"),
    ]
    first, second = START + timedelta(minutes=60), START + timedelta(minutes=125)
    assert first < changes[0].at <= first + timedelta(minutes=1)
    assert first + timedelta(minutes=5) < changes[1].at <= first + timedelta(minutes=30)
    assert second < changes[2].at <= second + timedelta(minutes=1)
    assert {c.incident for c in changes} == {changes[0].incident}
    # a restart over the same state sends nothing either
    again = Watcher(db, slos, [str(log)], state_path=tmp_path / "state.json")
    try:
        assert again.poll() == []
    finally:
        again.close()
