"""Benchmark triage from a real Prometheus against triage from the access log it was scraped from.

    .venv/bin/python bench/metrics_bench.py                 # 3 h at 2,000 requests a minute
    .venv/bin/python bench/metrics_bench.py --per-minute 8000

The deploy_5xx scenario is generated, replayed as scraped metrics (tests/metrics_helpers.py),
backfilled into a Prometheus started on a free port; then both triages run in this process,
each timed on its second run (the first warms imports and the page cache). The log's cost
grows with the requests, the store's with the series and the window: the point of pushing the
query to the engine that already holds the data.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from metrics_helpers import scenario_samples, start_prometheus, write_openmetrics  # noqa: E402
from warroom.triage.metrics.config import MetricsSettings  # noqa: E402
from warroom.triage.metrics.source import triage_prometheus  # noqa: E402
from warroom.triage.report import triage  # noqa: E402
from warroom.triage.scenarios import START, generate  # noqa: E402

MARKERS = "max by (id, kind, service, paths) (deploy_timestamp_seconds{{{selector}}})"


def timed(fn):  # type: ignore[no-untyped-def]
    fn()
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-minute", type=int, default=2000)
    ap.add_argument("--minutes", type=int, default=180)
    args = ap.parse_args()
    if not (shutil.which("promtool") and shutil.which("prometheus")):
        sys.exit("needs promtool and prometheus (Debian package prometheus)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        truth = generate(
            "deploy_5xx",
            work / "scenario",
            seed=1,
            minutes=args.minutes,
            per_minute=args.per_minute,
            onset_minute=args.minutes - 60,
        )
        size = truth.access_log.stat().st_size
        om = write_openmetrics(work / "h.om", [scenario_samples(truth, args.minutes)])
        (work / "prom").mkdir()
        server = start_prometheus(work / "prom", om)
        url = next(server)
        try:
            settings = MetricsSettings.from_config(
                {"selector": 'scenario="deploy_5xx"', "changes_query": MARKERS}, url=url
            )
            end = START + timedelta(minutes=args.minutes)
            logs, t_logs = timed(lambda: triage([str(truth.access_log)], changes=truth.changes))
            metrics, t_metrics = timed(lambda: triage_prometheus(settings, since=START, until=end))
        finally:
            server.close()
    asked = metrics.window["metrics"]
    print(f"requests in the log        {truth.lines:>12,} ({size / 1e6:.0f} MB)")
    print(
        f"series asked              {sum(asked['series'].values()):>12,} "
        f"({asked['requests_made']} range queries, step {asked['step_seconds']} s)"
    )
    print(f"triage from the log        {t_logs:>11.2f} s")
    print(f"triage from Prometheus     {t_metrics:>11.2f} s")
    print(f"ratio log / Prometheus     {t_logs / t_metrics:>11.1f} x")
    same = (
        logs.onset == metrics.onset
        and logs.routes[0].route == metrics.routes[0].route
        and logs.suspects[0].change.id == metrics.suspects[0].change.id
    )
    print(f"same onset, route, suspect {'yes' if same else 'NO':>12}")


if __name__ == "__main__":
    main()
