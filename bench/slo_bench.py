"""Benchmark `warroom slo check` against `warroom triage` on the same ~1 GB combined log.

    .venv/bin/python bench/slo_bench.py              # 5 million lines (~1 GB), 6 hours
    .venv/bin/python bench/slo_bench.py --scale 2    # 10 million lines
    .venv/bin/python bench/slo_bench.py --days 30    # the same lines over a month

The log is triage_bench's (generated once into bench/out/, git-ignored, and reused), read
once before timing so both commands find it in the page cache. Each command runs as its own
child; its wall time and peak RSS (wait4's ru_maxrss) are printed, with the ratio.
Targets (issue 19): slo check within 1.3x of triage's time, under 1 GB peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import triage_bench  # noqa: E402

SLOS = """slos:
  - {name: checkout, service: shop, objective: 99.9%, match: {route: /checkout}}
  - {name: orders, service: shop, objective: 99.5%, match: {route: "/api/orders/*"}}
  - {name: site, service: shop, objective: 99%}
"""


def run(cmd: list[str]) -> tuple[float, float, int, bytes, bytes]:
    """Wall seconds, peak RSS in MB, exit code, stdout and stderr of one child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_maxrss / 1024, proc.returncode, out.read(), err.read()


def main() -> None:
    import argparse  # lazy: only the script entry point parses arguments

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=int, default=1, help="multiply the 5M lines by this")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each; the best is kept")
    ap.add_argument("--days", type=float, help="spread the lines over this many days (6 h)")
    args = ap.parse_args()
    triage_bench.OUT.mkdir(exist_ok=True)
    lines = triage_bench.LINES * args.scale
    span = f"-{args.days:g}d" if args.days else ""
    log = triage_bench.OUT / f"access-{lines // 1_000_000}M{span}.log"
    if not log.exists() or log.stat().st_size < lines * 100:
        t = time.perf_counter()
        triage_bench.generate(log, lines, hours=args.days * 24 if args.days else 6)
        print(f"generated {log} in {time.perf_counter() - t:.1f}s")
    slo_file = triage_bench.OUT / "slo-bench.yaml"
    slo_file.write_text(SLOS)
    with log.open("rb") as f:
        while f.read(64 << 20):
            pass
    wr = triage_bench.warroom_cmd()
    cmds = {
        "triage": [*wr, "triage", str(log), "--format", "json"],
        "slo check": [*wr, "slo", "check", "--slo", str(slo_file), "--log", str(log), "--json"],
    }
    best: dict[str, tuple[float, float]] = {}
    outputs: dict[str, bytes] = {}
    for _ in range(args.repeat):
        for name, cmd in cmds.items():
            wall, rss, code, out, err = run(cmd)
            if code not in (0, 3):  # slo check exits 3 when a page fires
                print(err.decode()[-2000:])
                raise SystemExit(f"{name} failed with exit code {code}")
            prev = best.get(name)
            best[name] = (min(wall, prev[0]) if prev else wall, max(rss, prev[1]) if prev else rss)
            outputs[name] = out
    size = log.stat().st_size
    t_tri, rss_tri = best["triage"]
    t_slo, rss_slo = best["slo check"]
    print(f"file: {log.name}, {lines:,} lines, {size / 1e9:.2f} GB; best of {args.repeat}")
    print(f"warroom triage --format json:  {t_tri:6.2f}s  peak {rss_tri:5.0f} MB")
    print(f"warroom slo check --json:      {t_slo:6.2f}s  peak {rss_slo:5.0f} MB")
    print(f"ratio slo check/triage: {t_slo / t_tri:.2f}x (target <= 1.3x)")
    print(f"slo check peak: {rss_slo:.0f} MB (target < 1024 MB)")
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores shared: figures vary with it)")
    report = json.loads(outputs["slo check"])
    for s in report["slos"]:
        conf = s["confident"] or {}
        print(
            f"  {s['slo']}: {s['events']:,} requests, {s['bad']:,} bad, status {s['status']}, "
            f"confident firing {conf.get('firing')}"
        )


if __name__ == "__main__":
    main()
