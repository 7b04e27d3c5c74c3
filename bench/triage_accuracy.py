"""Accuracy of `warroom triage` on every generated scenario, over several seeds.

    .venv/bin/python bench/triage_accuracy.py             # seeds 1-3
    .venv/bin/python bench/triage_accuracy.py --seeds 5

A case is right when triage agrees with the scenario's truth on all of: incident or not, the
onset (within 2 minutes, or the scenario's `onset_tolerance`), the top route and the top
suspect, and where the scenario says so, the end of an outage that ended and the app-log error
reported first. Each check is also counted on its own, and wrong cases are listed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from warroom.triage.report import triage
from warroom.triage.scenarios import SCENARIOS, ScenarioTruth, generate


def checks(truth: ScenarioTruth, out: Path) -> dict[str, bool]:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    totals: dict[str, list[int]] = {}
    right = cases = 0
    wrong: list[str] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in SCENARIOS:
            for seed in range(1, args.seeds + 1):
                out = Path(tmp) / f"{name}-{seed}"
                got = checks(generate(name, out, seed=seed), out)
                for k, ok in got.items():
                    totals.setdefault(k, [0, 0])
                    totals[k][0] += ok
                    totals[k][1] += 1
                cases += 1
                if all(got.values()):
                    right += 1
                else:
                    wrong.append(
                        f"{name} seed {seed}: " + ", ".join(k for k, v in got.items() if not v)
                    )
    print(f"scenarios right: {right}/{cases} ({right / cases:.0%})")
    for k, (ok, n) in totals.items():
        print(f"  {k:9} {ok}/{n}")
    for line in wrong:
        print("  wrong:", line)
    print(f"({time.perf_counter() - began:.1f} s)")


if __name__ == "__main__":
    main()
