"""End to end on loopback with the real binaries: app -> Prometheus -> Alertmanager -> warroom.

A tiny app exposes `http_requests_total`; Prometheus scrapes it every second with the rules
`warroom slo rules` generates (short windows from the SLO file); Alertmanager posts to a
running warroom. An error burst must open exactly one incident, and the recovery must show
on its timeline as resolved alerts.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from conftest import need
from warroom import incidents
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.detect.slo import parse_slos
from warroom.detect.slo.rules import rules_yaml
from warroom.incidents import timeline
from warroom.web.app import create_app

pytestmark = pytest.mark.slow

SLOS = """
alerts:
  - {name: page-fast, severity: page, long: 20s, short: 5s, factor: 14.4}
slos:
  - {name: checkout-availability, service: checkout, objective: 99.9%,
     match: {route: /checkout}}
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MetricsApp:
    """Counts 20 simulated checkout requests every 100 ms, all 200 or all 500."""

    def __init__(self) -> None:
        self.errors = False
        self.counts = {"200": 0, "500": 0}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                with app.lock:
                    body = "# TYPE http_requests_total counter\n" + "".join(
                        f'http_requests_total{{route="/checkout",code="{c}"}} {n}\n'
                        for c, n in app.counts.items()
                    )
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = _port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._tick, daemon=True).start()

    def _tick(self) -> None:
        while not self.stop.wait(0.1):
            with self.lock:
                self.counts["500" if self.errors else "200"] += 20

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def _wait(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def stack(tmp_path: Path, sqlite_url: str) -> Iterator[dict[str, Any]]:
    for binary in ("prometheus", "prometheus-alertmanager"):
        need(shutil.which(binary) is not None, f"{binary} (Debian package) missing")
    procs: list[subprocess.Popen[bytes]] = []
    app = MetricsApp()
    settings = Settings(
        database_url=sqlite_url,
        raw={"detect": {"routes": [{"match": {"slo": "checkout-availability"}, "severity": "P1"}]}},
    )
    wport = _port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=wport, log_level="warning", lifespan="off"
        )
    )
    web = threading.Thread(target=server.run, daemon=True)
    web.start()
    am_port, prom_port = _port(), _port()
    # the workbook pairs only: their windows are scaled to seconds here, the confident alerts'
    # are minutes (tests/test_promtool_confident.py checks those against slo check)
    (tmp_path / "rules.yml").write_text(rules_yaml(parse_slos(SLOS), confident=False))
    (tmp_path / "prometheus.yml").write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(tmp_path / "rules.yml")],
                "alerting": {
                    "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
                },
                "scrape_configs": [
                    {"job_name": "shop", "static_configs": [{"targets": [f"127.0.0.1:{app.port}"]}]}
                ],
            }
        )
    )
    (tmp_path / "alertmanager.yml").write_text(
        yaml.safe_dump(
            {
                "route": {
                    "receiver": "warroom",
                    "group_by": ["slo"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [
                    {
                        "name": "warroom",
                        "webhook_configs": [
                            {
                                "url": f"http://127.0.0.1:{wport}/api/v1/alerts/alertmanager",
                                "send_resolved": True,
                            }
                        ],
                    }
                ],
            }
        )
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        procs.append(
            subprocess.Popen(
                [
                    "prometheus-alertmanager",
                    f"--config.file={tmp_path / 'alertmanager.yml'}",
                    f"--storage.path={tmp_path / 'am'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                stdout=(logs / "am.out").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(
            subprocess.Popen(
                [
                    "prometheus",
                    f"--config.file={tmp_path / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    "--rules.alert.resend-delay=1s",
                ],
                stdout=(logs / "prom.out").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        _wait("warroom to listen", lambda: server.started, 20)

        def target_up() -> bool:
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{prom_port}/api/v1/query",
                    params={"query": 'up{job="shop"}'},
                    timeout=2,
                )
                res = r.json()["data"]["result"]
                return bool(res) and res[0]["value"][1] == "1"
            except (httpx.HTTPError, KeyError, ValueError):
                return False

        _wait("Prometheus to scrape the app", target_up, 40)
        yield {"app": app, "db": Database(sqlite_url), "logs": logs}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        server.should_exit = True
        web.join(10)
        app.close()


def test_error_burst_opens_one_incident_and_recovery_shows_on_timeline(stack) -> None:
    app: MetricsApp = stack["app"]
    db: Database = stack["db"]
    try:
        time.sleep(6)  # healthy traffic fills the windows first
        assert incidents.list_incidents(db) == []
        app.errors = True
        opened = _wait("an incident from the error burst", lambda: incidents.list_incidents(db), 60)
        time.sleep(5)  # the burst goes on: repeated notifications must not open another
        app.errors = False
        key = opened[0].key

        def resolved() -> bool:
            return any(e.kind == "alert.resolved" for e in timeline.read(db, key))

        _wait("the recovery on the timeline", resolved, 60)
        items = incidents.list_incidents(db)
        assert [i.key for i in items] == [key]
        inc = items[0]
        assert inc.severity == "P1" and inc.stage == incidents.Stage.DETECTED
        events = timeline.read(db, key)
        kinds = [e.kind for e in events]
        assert kinds[:2] == ["incident.declared", "alert.firing"]
        assert "verify recovery" in events[-1].summary()
        assert events[1].data["alerts"][0]["labels"]["slo"] == "checkout-availability"
    except AssertionError:
        for f in sorted(stack["logs"].iterdir()):
            print(f"--- {f.name}\n{f.read_text()[-3000:]}")
        raise
