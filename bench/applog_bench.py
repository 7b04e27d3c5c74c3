"""App-log templating against drain3: grouping accuracy, lines/s and peak RSS in one run.

    .venv/bin/python bench/applog_bench.py             # 1M-line log, corpus of 400 events/system
    .venv/bin/python bench/applog_bench.py --lines 200000

Accuracy: `warroom.triage.applog.corpus`, a labelled set in every header style (written
with the templater, so an optimistic figure; the issue's held-out set is what counts),
scored with loghub's grouping accuracy for warroom and for drain3 with default settings on
the raw lines. Speed and memory: `warroom logs templates --format json` and a drain3
script over the same generated file (bench/out/, reused), each in a child process whose
peak RSS a small wrapper reports.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

from warroom.triage.applog import AppLogMiner
from warroom.triage.applog.corpus import grouping_accuracy, labelled_corpus

OUT = Path(__file__).resolve().parent / "out"
DRAIN3_SCRIPT = """
import sys
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig
miner = TemplateMiner(config=TemplateMinerConfig())
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    for line in f:
        line = line.rstrip("\\n")
        if line.strip():
            miner.add_log_message(line)
print(len(miner.drain.clusters))
"""
LIBRARY_SCRIPT = """
import sys
from warroom.triage.signatures import mine_templates
print(len(mine_templates([sys.argv[1]]).templates))
"""


def accuracy() -> None:
    corpus = labelled_corpus()
    ours, theirs = [], []
    print(f"{'system':<14}{'lines':>7}{'warroom':>9}{'drain3':>8}")
    for name, (lines, labels) in corpus.items():
        m = AppLogMiner(year=2026)
        a = grouping_accuracy([m.feed(line)[0].id for line in lines], labels)
        d = TemplateMiner(config=TemplateMinerConfig())  # the defaults, quietly
        b = grouping_accuracy([d.add_log_message(line)["cluster_id"] for line in lines], labels)
        ours.append(a)
        theirs.append(b)
        print(f"{name:<14}{len(lines):>7}{a:>9.3f}{b:>8.3f}")
    print(
        f"{'mean':<14}{'':>7}{sum(ours) / len(ours):>9.3f}{sum(theirs) / len(theirs):>8.3f}"
        f"   ({len(corpus)} systems)"
    )


def generate(path: Path, lines: int) -> None:
    """Blocks of 500 events from each system in turn, like a node's collected logs."""
    corpus = labelled_corpus(per_system=5000, seed=5)
    blocks = [lines_ for lines_, _ in corpus.values()]
    written = 0
    with path.open("w") as f:
        i = 0
        while written < lines:
            block = blocks[i % len(blocks)]
            start = (i // len(blocks)) * 500 % max(len(block) - 500, 1)
            chunk = block[start : start + 500][: lines - written]
            f.write("\n".join(chunk) + "\n")
            written += len(chunk)
            i += 1


# The peak RSS of a command alone: a small wrapper runs it and reports its children's
# maxrss (measuring from this process would count the memory a forked child inherits).
RSS_WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)
"""


def run(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB of the command alone)."""
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, *cmd], capture_output=True, check=False
    )
    elapsed = time.perf_counter() - t
    rss_kb, code = done.stdout.decode().split()
    if done.returncode or code != "0":
        raise SystemExit(f"{cmd[:3]} failed: {done.stderr.decode()[-2000:]}")
    return elapsed, int(rss_kb) / 1024


def speed(lines: int) -> None:
    OUT.mkdir(exist_ok=True)
    log = OUT / f"app-{lines // 1000}k.log"
    if not log.exists():
        generate(log, lines)
    with log.open("rb") as f:  # into the page cache for both
        while f.read(64 << 20):
            pass
    exe = Path(sys.executable).with_name("warroom")
    warroom = [str(exe), "logs", "templates", str(log), "--format", "json"]
    t_w, rss_w = run(warroom)
    t_l, rss_l = run([sys.executable, "-c", LIBRARY_SCRIPT, str(log)])
    t_d, rss_d = run([sys.executable, "-c", DRAIN3_SCRIPT, str(log)])
    print(f"file: {log.name}, {lines:,} lines, {log.stat().st_size / 1e6:.0f} MB")
    print(f"{'':<28}{'seconds':>9}{'lines/s':>11}{'peak RSS':>10}")
    print(f"{'warroom logs templates':<28}{t_w:>9.2f}{lines / t_w:>11,.0f}{rss_w:>8.0f}MB")
    print(f"{'mine_templates (library)':<28}{t_l:>9.2f}{lines / t_l:>11,.0f}{rss_l:>8.0f}MB")
    print(f"{'drain3 (defaults)':<28}{t_d:>9.2f}{lines / t_d:>11,.0f}{rss_d:>8.0f}MB")
    print(
        f"speed ratio warroom/drain3: {t_d / t_w:.2f}x (target >= 1x); "
        f"load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    if not args.skip_speed:
        speed(args.lines)
    accuracy()


if __name__ == "__main__":
    main()
