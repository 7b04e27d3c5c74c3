"""Accuracy of `warroom triage` on every generated scenario, over seeds, traffic and log lengths.

    .venv/bin/python bench/triage_accuracy.py                 # --quick: under a minute
    .venv/bin/python bench/triage_accuracy.py --full          # seeds 1-12 x 30/120/600 rpm
                                                              # x 90/150/360 min (slow)
    .venv/bin/python bench/triage_accuracy.py --seeds 1-5 --rpm 120 --minutes 150

Each case is a scenario generated at one (seed, requests a minute, minutes), with its onset
two thirds of the way in. A case is right when triage agrees with the scenario's truth on all
of: incident or not, the onset (within 2 minutes, or the scenario's `onset_tolerance`), the
top route and the top suspect, and where the scenario says so, the end of an outage that ended
and the app-log error reported first. Each check is also counted on its own, per scenario and
per traffic level, and wrong cases are listed.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from warroom.triage.report import triage
from warroom.triage.scenarios import SCENARIOS, ScenarioTruth, generate

QUICK = {"seeds": "1,11", "rpm": "30,120", "minutes": "150"}
FULL = {"seeds": "1-12", "rpm": "30,120,600", "minutes": "90,150,360"}


def checks(truth: ScenarioTruth) -> dict[str, bool]:
    report = triage([str(truth.access_log)], app_logs=[truth.app_log], changes=truth.changes)
    got: dict[str, bool] = {"incident": report.incident is truth.incident}
    if not truth.incident:
        return got
    tol = timedelta(minutes=truth.extra.get("onset_tolerance", 2))
    got["onset"] = bool(report.onset and truth.onset and abs(report.onset - truth.onset) <= tol)
    got["route"] = bool(report.routes) and report.routes[0].route == truth.top_route
    top = report.suspects[0].change.id if report.suspects else None
    got["suspect"] = top == truth.top_suspect
    if "end" in truth.extra:  # an outage that ended inside the log
        end = report.window.get("end")
        got["ended"] = (
            report.window.get("ongoing") is False
            and bool(end)
            and abs(datetime.fromisoformat(str(end)) - truth.extra["end"]) <= timedelta(minutes=2)
        )
    if "signature" in truth.extra:  # the app-log error that must be reported
        first = report.signatures[0].template if report.signatures else ""
        got["signature"] = truth.extra["signature"] in first and not any(
            truth.extra["not_signature"] in s.template for s in report.signatures
        )
    return got


def _ints(spec: str) -> list[int]:
    """The integers of "1-12" or "30,120,600"."""
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


def _tally(totals: dict[str, dict[str, list[int]]], group: str, got: dict[str, bool]) -> None:
    row = totals.setdefault(group, {})
    for k, ok in {**got, "all": all(got.values())}.items():
        cell = row.setdefault(k, [0, 0])
        cell[0] += ok
        cell[1] += 1


def _table(title: str, totals: dict[str, dict[str, list[int]]]) -> None:
    keys = ["all", "incident", "onset", "route", "suspect", "ended", "signature"]
    print(f"\n{title:24}" + "".join(f"{k:>11}" for k in keys))
    for group, row in totals.items():
        cells = [f"{row[k][0]}/{row[k][1]}" if k in row else "-" for k in keys]
        print(f"{group:24}" + "".join(f"{c:>11}" for c in cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--full", action="store_true", help="seeds 1-12, 30/120/600 rpm, 90/150/360")
    ap.add_argument("--seeds", help=f"e.g. 1-12 (quick: {QUICK['seeds']})")
    ap.add_argument("--rpm", help=f"requests a minute, e.g. 30,120,600 (quick: {QUICK['rpm']})")
    ap.add_argument("--minutes", help=f"log lengths, e.g. 90,150,360 (quick: {QUICK['minutes']})")
    ap.add_argument("--scenario", action="append", help="only these scenarios")
    args = ap.parse_args()
    grid = FULL if args.full else QUICK
    seeds = _ints(args.seeds or grid["seeds"])
    rpms = _ints(args.rpm or grid["rpm"])
    lengths = _ints(args.minutes or grid["minutes"])
    names = args.scenario or list(SCENARIOS)
    by_scenario: dict[str, dict[str, list[int]]] = {}
    by_size: dict[str, dict[str, list[int]]] = {}
    overall: dict[str, dict[str, list[int]]] = {}
    wrong: list[str] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, minutes, rpm, seed in itertools.product(names, lengths, rpms, seeds):
            out = Path(tmp) / f"{name}-{minutes}-{rpm}-{seed}"
            truth = generate(
                name, out, seed=seed, minutes=minutes, per_minute=rpm, onset_minute=minutes * 2 // 3
            )
            got = checks(truth)
            _tally(by_scenario, name, got)
            _tally(by_size, f"{rpm} rpm, {minutes} min", got)
            _tally(overall, "all cases", got)
            if not all(got.values()):
                bad = ", ".join(k for k, v in got.items() if not v)
                wrong.append(f"{name} seed {seed}, {rpm} rpm, {minutes} min: {bad}")
    right, cases = overall["all cases"]["all"]
    print(
        f"scenarios right: {right}/{cases} ({right / cases:.0%}); seeds {seeds}, "
        f"rpm {rpms}, minutes {lengths}"
    )
    _table("per scenario", by_scenario)
    _table("per size", by_size)
    _table("overall", overall)
    for line in wrong:
        print("  wrong:", line)
    print(f"({time.perf_counter() - began:.1f} s)")


if __name__ == "__main__":
    main()
