"""Benchmark `warroom triage` against `grep -c` on a ~1 GB combined log with request times.

    .venv/bin/python bench/triage_bench.py            # 5 million lines (~1 GB)
    .venv/bin/python bench/triage_bench.py --scale 4  # 20 million lines, peak must stay < 1.5 GB

The log is generated once into bench/out/ (git-ignored) and reused, and read once before
timing so that grep and triage both find it in the page cache. Figures come from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

OUT = Path(__file__).resolve().parent / "out"
LINES = 5_000_000
ROUTES = [
    "/",
    "/product/{}",
    "/search?q=item{}",
    "/cart",
    "/checkout",
    "/api/orders/{}",
    "/login",
    "/api/inventory",
    "/api/recommendations",
    "/static/app.{}.js",
]
AGENT = (
    '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/120.0 Safari/537.36"'
)


def generate(path: Path, lines: int, seed: int = 1, hours: float = 6) -> None:
    """Six hours of traffic (or `hours`); from three quarters of the way on /checkout answers
    500 for a third of its requests."""
    rng = np.random.default_rng(seed)
    start = int(datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp())
    chunk = 1_000_000
    with path.open("wb") as f:
        for first in range(0, lines, chunk):
            n = min(chunk, lines - first)
            ts = start + (np.arange(first, first + n) * int(hours * 3600) // lines)
            route = rng.integers(0, len(ROUTES), n)
            status = rng.choice([200, 200, 200, 304, 404], n)
            broken = (ts >= start + 0.75 * hours * 3600) & (route == 4) & (rng.random(n) < 0.33)
            status = np.where(broken | (rng.random(n) < 0.002), 500, status)
            df = pl.DataFrame(
                {
                    "ip": rng.integers(0, 2**24, n),
                    "ts": ts,
                    "route": route,
                    "id": rng.integers(1, 1_000_000, n),
                    "status": status,
                    "bytes": rng.integers(200, 60_000, n),
                    "rt": np.round(rng.lognormal(np.log(0.05), 0.5, n), 3),
                }
            )
            paths = pl.col("route").replace_strict(list(range(len(ROUTES))), ROUTES)
            line = pl.format(
                '10.{}.{}.{} - - [{}] "GET {} HTTP/1.1" {} {} "-" '
                + AGENT.replace("{", "")
                + " {}",
                pl.col("ip") // 65536,
                (pl.col("ip") // 256) % 256,
                pl.col("ip") % 256,
                pl.from_epoch("ts").dt.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                paths.str.replace("{}", pl.col("id").cast(pl.String), literal=True),
                "status",
                "bytes",
                pl.col("rt").cast(pl.String),
            )
            df.select(line.alias("l")).write_csv(f, include_header=False, quote_style="never")


def warroom_cmd() -> list[str]:
    """`warroom` next to this Python if it works, else the module fallback."""
    exe = Path(sys.executable).with_name("warroom")
    if exe.exists():
        ok = subprocess.run([str(exe), "triage", "--help"], capture_output=True)
        if ok.returncode == 0:
            return [str(exe)]
    found = shutil.which("warroom")
    if found:
        return [found]
    return [sys.executable, "-m", "warroom.cli.triage"]


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True)
    return time.perf_counter() - t, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=int, default=1, help="multiply the 5M lines by this")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    lines = LINES * args.scale
    log = OUT / f"access-{lines // 1_000_000}M.log"
    if not log.exists() or log.stat().st_size < lines * 100:
        t = time.perf_counter()
        generate(log, lines)
        print(f"generated {log} in {time.perf_counter() - t:.1f}s")
    size = log.stat().st_size
    # both commands are timed on a file already in the page cache: read it once first
    with log.open("rb") as f:
        while f.read(64 << 20):
            pass
    t_grep, g = timed(["grep", "-c", '" 500 ', str(log)])
    t_tri, done = timed([*warroom_cmd(), "triage", str(log), "--format", "json"])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime
    if done.returncode != 0:
        print(done.stderr.decode()[-2000:])
        raise SystemExit(f"warroom triage failed with exit code {done.returncode}")
    report = json.loads(done.stdout)
    limit_mb = 1024 if args.scale == 1 else 1536
    print(f"file: {log.name}, {lines:,} lines, {size / 1e9:.2f} GB")
    print(f"grep -c '\" 500 ': {t_grep:.2f}s ({g.stdout.decode().strip()} lines)")
    print(f"warroom triage --format json: {t_tri:.2f}s")
    print(
        f"CPU time of both children (user+sys): {cpu:.1f}s; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"ratio triage/grep: {t_tri / t_grep:.1f}x (target <= 2x)")
    print(f"peak memory (children maxrss): {peak_mb:.0f} MB (target <= {limit_mb} MB)")
    print(f"headline: {report['headline']}")
    print(f"lines: {report['lines']['parsed']:,} parsed, {report['lines']['skipped']} skipped")


if __name__ == "__main__":
    main()
