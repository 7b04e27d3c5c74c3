"""Real Prometheus and VictoriaMetrics for the metrics-source tests, loaded with the history of
the generated triage scenarios.

The access log of a scenario (`warroom.triage.scenarios.generate`) is replayed as an app's
instrumentation would have scraped it: `http_requests_total{route, code}` and the histogram
`http_request_duration_seconds{route}` (the client_golang default buckets), every
`SCRAPE` seconds, plus a `deploy_timestamp_seconds{id, kind, service, paths}` marker per change
(its value the change's unix time). Prometheus gets it by backfilling OpenMetrics
(`promtool tsdb create-blocks-from openmetrics`), VictoriaMetrics by importing the same samples
in the Prometheus text format.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np

from warroom.triage.parse import read_access_logs
from warroom.triage.scenarios import START, ScenarioTruth

SCRAPE = 30  # seconds
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Sample = tuple[str, str, float, float]  # name, rendered labels, value, unix seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _labels(**kv: str) -> str:
    inner = ",".join(
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in kv.items()
    )
    return "{" + inner + "}"


def _le(v: float) -> str:
    return "+Inf" if v == float("inf") else repr(float(v))


def scenario_samples(truth: ScenarioTruth, minutes: int) -> dict[str, list[Sample]]:
    """The samples of one scenario by metric family (counter, histogram, marker gauge)."""
    return log_samples(truth.access_log, truth.name, START, minutes, changes=truth.changes)


def log_samples(
    access_log: Path, scen: str, start: datetime, minutes: int, *, changes: Path | None = None
) -> dict[str, list[Sample]]:
    """The samples an app would have exposed while serving `access_log`, scraped every SCRAPE
    seconds from `start` for `minutes`, labelled scenario=`scen`."""
    frame = read_access_logs([str(access_log)]).frame
    end = minutes * 60
    scrapes = np.arange(0, end + 1, SCRAPE, dtype=float)
    stamps = start.timestamp() + scrapes
    secs = np.array([(t - start).total_seconds() for t in frame["ts"].to_list()])
    routes = np.array(frame["route"].to_list())
    status = frame["status"].to_numpy()
    lat_s = frame["latency_ms"].to_numpy() / 1000.0
    out: dict[str, list[Sample]] = {"http_requests": [], "http_request_duration_seconds": []}
    for route in sorted(set(routes)):
        on_route = routes == route
        for code in sorted(set(status[on_route])):
            t = np.sort(secs[on_route & (status == code)])
            counts = np.searchsorted(t, scrapes, side="right")
            lab = _labels(scenario=scen, route=route, code=str(code))
            out["http_requests"] += [
                ("http_requests_total", lab, float(c), float(s))
                for c, s in zip(counts, stamps, strict=True)
            ]
        order = np.argsort(secs[on_route])
        t_r, l_r = secs[on_route][order], lat_s[on_route][order]
        upto = np.searchsorted(t_r, scrapes, side="right")
        cum_sum = np.r_[0.0, np.cumsum(l_r)]
        hist = out["http_request_duration_seconds"]
        for le in (*BUCKETS, float("inf")):
            below = np.r_[0, np.cumsum(l_r <= le)]
            lab = _labels(scenario=scen, route=route, le=_le(le))
            hist += [
                ("http_request_duration_seconds_bucket", lab, float(below[u]), float(s))
                for u, s in zip(upto, stamps, strict=True)
            ]
        lab = _labels(scenario=scen, route=route)
        hist += [
            ("http_request_duration_seconds_count", lab, float(u), float(s))
            for u, s in zip(upto, stamps, strict=True)
        ]
        hist += [
            ("http_request_duration_seconds_sum", lab, float(cum_sum[u]), float(s))
            for u, s in zip(upto, stamps, strict=True)
        ]
    markers: list[Sample] = []
    for line in changes.read_text().splitlines() if changes else []:
        ch = json.loads(line)
        at = datetime.fromisoformat(ch["at"]).timestamp()
        lab = _labels(
            scenario=scen,
            id=ch["id"],
            kind=ch["kind"],
            service=ch["service"],
            paths=",".join(ch["paths"]),
            description=ch["description"],
        )
        markers += [
            ("deploy_timestamp_seconds", lab, float(at), float(s)) for s in stamps if s >= at
        ]
    out["deploy_timestamp"] = markers
    # and the usual build-info gauge: a series per running version, 1 while it runs
    deploys = [json.loads(x) for x in (changes.read_text().splitlines() if changes else [])]
    deploys = sorted(
        (datetime.fromisoformat(d["at"]).timestamp(), d["id"])
        for d in deploys
        if d["kind"] == "deploy"
    )
    build: list[Sample] = []
    for k, (at, version) in enumerate(deploys):
        until = deploys[k + 1][0] if k + 1 < len(deploys) else float("inf")
        lab = _labels(scenario=scen, version=version)
        build += [("app_build_info", lab, 1.0, float(s)) for s in stamps if at <= s < until]
    out["app_build"] = build
    return out


FAMILY_TYPES = {
    "http_requests": "counter",
    "http_request_duration_seconds": "histogram",
    "deploy_timestamp": "gauge",
    "app_build": "info",
}


def write_openmetrics(path: Path, families: list[dict[str, list[Sample]]]) -> Path:
    """OpenMetrics text (timestamps in seconds) for `promtool tsdb create-blocks-from`."""
    with path.open("w") as f:
        for family, kind in FAMILY_TYPES.items():
            f.write(f"# TYPE {family} {kind}\n")
            for fam in families:
                for name, lab, value, ts in fam[family]:
                    f.write(f"{name}{lab} {value!r} {ts:.0f}\n")
        f.write("# EOF\n")
    return path


def write_prometheus_text(path: Path, families: list[dict[str, list[Sample]]]) -> Path:
    """Prometheus text format (timestamps in milliseconds) for VictoriaMetrics' import."""
    with path.open("w") as f:
        for fam in families:
            for samples in fam.values():
                for name, lab, value, ts in samples:
                    f.write(f"{name}{lab} {value!r} {int(ts * 1000)}\n")
    return path


def _wait_ready(
    url: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 60,
    http: httpx.Client | None = None,
) -> None:
    http = http or httpx.Client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if http.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout} s: {log.read_text()[-2000:]}")


def start_prometheus(workdir: Path, openmetrics: Path) -> Iterator[str]:
    """Backfill `openmetrics` into a fresh data directory and serve it on a free port."""
    data = workdir / "data"
    data.mkdir(parents=True)
    done = subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(openmetrics), str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"promtool backfill failed: {done.stderr[-2000:]}")
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\n")
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                shutil.which("prometheus") or "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/-/ready", proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def self_signed_cert(workdir: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1, made with openssl; the certificate is its own CA."""
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return cert, key


def start_victoria_metrics(
    workdir: Path,
    text: Path,
    *,
    args: tuple[str, ...] = (),
    scheme: str = "http",
    http: httpx.Client | None = None,
) -> Iterator[str]:
    """Serve a fresh VictoriaMetrics on a free port (`args`: TLS, auth flags) and import
    `text` into it, through `http` (a client with the credentials and CA it needs)."""
    http = http or httpx.Client()
    port = free_port()
    log = workdir / "victoria-metrics.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                shutil.which("victoria-metrics") or "victoria-metrics",
                f"-storageDataPath={workdir / 'vm-data'}",
                f"-httpListenAddr=127.0.0.1:{port}",
                "-retentionPeriod=100y",
                "-search.disableCache",
                *args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/health", proc, log, http=http)
        with text.open("rb") as body:
            resp = http.post(f"{url}/api/v1/import/prometheus", content=body.read(), timeout=300)
        if resp.status_code >= 300:
            raise RuntimeError(f"VictoriaMetrics import: HTTP {resp.status_code}: {resp.text}")
        http.get(f"{url}/internal/force_flush", timeout=60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
