"""CLI start-up time: `warroom --help` and `warroom list` against the interpreter alone and
against the whole CLI imported up front (what every command cost before the lazy entry).

    .venv/bin/python bench/cli_startup.py            # 15 runs of each, median and best
    .venv/bin/python bench/cli_startup.py --runs 40

Each run is a fresh process (like hyperfine). On a shared machine the best run says most about
the code and the median about the machine; the ratio to `python -c pass` in the same loop is
the figure to compare across machines. The children may write bytecode (PYTHONDONTWRITEBYTECODE
is dropped from their environment, as on a machine without it) and each command runs once
untimed first: with that variable set every run compiled some 80 modules from source again.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
WARROOM = str(Path(PY).with_name("warroom"))


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], runs: int, cwd: str) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/w.db"
        subprocess.run([WARROOM, "db", "upgrade", "--db", url], check=True, capture_output=True)
        full = "import sys; from warroom.cli.main import main; sys.argv[0] = 'warroom'; main()"
        cases = {
            "python -c pass": [PY, "-c", "pass"],
            "warroom --help": [WARROOM, "--help"],
            "warroom list (empty db)": [WARROOM, "list", "--db", url],
            "warroom triage --help": [WARROOM, "triage", "--help"],
            "full CLI --help (before)": [PY, "-c", full, "--help"],
            "full CLI list (before)": [PY, "-c", full, "list", "--db", url],
        }
        for cmd in cases.values():
            timed(cmd, 1, tmp)  # warm the page cache and write the .pyc files
        base = None
        print(f"{'command':<28} {'median':>8} {'best':>8} {'x python':>9}  (runs: {args.runs})")
        for name, cmd in cases.items():
            runs = timed(cmd, args.runs, tmp)
            med, best = statistics.median(runs), min(runs)
            base = base or med
            print(f"{name:<28} {med * 1000:7.0f}ms {best * 1000:7.0f}ms {med / base:8.1f}x")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
