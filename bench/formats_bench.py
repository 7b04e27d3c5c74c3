"""Lines per second of each access-log format, read by `read_access_logs` in one process.

    .venv/bin/python bench/formats_bench.py            # each sample repeated to ~200k lines

The samples of tests/data/accesslogs are repeated into bench/out/ (git-ignored). combined
is the baseline: the format the compiled scanner folds in `triage` (here, as for every
format, `read_access_logs` parses with polars, so the ratios compare the parsers alone).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from warroom.triage.parse import read_access_logs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "accesslogs"
OUT = Path(__file__).resolve().parent / "out"
SAMPLES = [
    "ingress-nginx.log",
    "traefik.log",
    "envoy.log",
    "alb.log",
    "elb.log",
    "haproxy.log",
    "iis.log",
    "cloudfront.log",
    "caddy.json",
    "gcp-lb.json",
    "cloudflare.json",
]


def repeated(name: str, lines: int) -> Path:
    src = (DATA / name).read_text().splitlines()
    header = [line for line in src if line.startswith("#")]
    body = [line for line in src if not line.startswith("#")]
    out = OUT / f"fmt-{lines // 1000}k-{name}"
    if not out.exists():
        times = max(1, lines // len(body))
        out.write_text("\n".join(header + body * times) + "\n")
    return out


def combined_like(lines: int) -> Path:
    """The ingress-nginx sample cut to plain combined lines (the baseline)."""
    out = OUT / f"fmt-{lines // 1000}k-combined.log"
    if not out.exists():
        src = (DATA / "ingress-nginx.log").read_text().splitlines()
        body = [line.split(" 312 ", 1)[0] + f" {i % 97 / 1000:.3f}" for i, line in enumerate(src)]
        out.write_text("\n".join(body * max(1, lines // len(body))) + "\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=200_000)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    files = {"combined": combined_like(args.lines)} | {n: repeated(n, args.lines) for n in SAMPLES}
    base = None
    print(
        f"{'sample':<22}{'format':<15}{'lines':>9}{'seconds':>9}{'lines/s':>11}{'vs combined':>13}"
    )
    for name, path in files.items():
        t = time.perf_counter()
        log = read_access_logs([str(path)])
        elapsed = time.perf_counter() - t
        rate = log.lines.parsed / elapsed
        base = base or rate
        fmt = next(iter(log.formats.values()))
        print(
            f"{name:<22}{fmt:<15}{log.lines.parsed:>9,}{elapsed:>9.2f}{rate:>11,.0f}"
            f"{rate / base:>12.2f}x"
        )


if __name__ == "__main__":
    main()
