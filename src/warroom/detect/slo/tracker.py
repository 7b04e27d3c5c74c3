"""Streaming burn evaluation: counts per 10-second step, never the rows.

A tracker keeps, for one SLO, the bad and total requests of each step inside its longest
alert window (3 days of steps at most), so memory does not grow with the log. Rows may
arrive in blocks and a little out of order; `status()` evaluates every confident alert at
the end of the step of the newest request seen (log time, not the wall clock).

    tr = Tracker(slo)
    tr.add(sli_events(frame, slo))          # ts, good, total
    st = tr.status()                         # st.paging, st.firing ["page-burn"], st.now
    state = tr.to_state(); Tracker.from_state(slo, state)   # survives restarts
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from warroom.detect.slo.confidence import (
    STEP,
    ConfidentAlert,
    confident_alerts,
    fire_steps,
    lower_bound,
    window_counts,
)
from warroom.detect.slo.model import SLO

STEP_S = int(STEP.total_seconds())


@dataclass(frozen=True)
class AlertNow:
    alert: ConfidentAlert
    firing: bool
    bad: int
    total: int
    warming_up: bool  # the data does not cover the window yet
    burn_low: float | None  # lower confidence bound of the burn rate

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.alert.to_dict(),
            "firing": self.firing,
            "bad": self.bad,
            "total": self.total,
            "warming_up": self.warming_up,
            "burn_low": self.burn_low,
        }


@dataclass(frozen=True)
class Status:
    slo: SLO
    now: datetime | None
    alerts: list[AlertNow] = field(default_factory=list)
    # the periods during which some page alert fired, within the longest window (end None:
    # still firing), so a block read at once (a backlog) shows every page, not just the last
    page_runs: list[tuple[datetime, datetime | None]] = field(default_factory=list)

    @property
    def firing(self) -> list[str]:
        return [a.alert.name for a in self.alerts if a.firing]

    @property
    def paging(self) -> bool:
        return any(a.firing and a.alert.severity == "page" for a in self.alerts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "slo": self.slo.name,
            "now": self.now.isoformat() if self.now else None,
            "paging": self.paging,
            "firing": self.firing,
            "page_runs": [[a.isoformat(), b.isoformat() if b else None] for a, b in self.page_runs],
            "alerts": [a.to_dict() for a in self.alerts],
        }


class Tracker:
    """Bad and total requests per step of one SLO, within its longest alert window."""

    def __init__(self, slo: SLO, alerts: tuple[ConfidentAlert, ...] | None = None) -> None:
        self.slo = slo
        self.alerts = alerts if alerts is not None else confident_alerts(slo)
        longest = max(max(a.window, a.short or a.window) for a in self.alerts)
        self.horizon = int(longest.total_seconds()) // STEP_S + 1
        self.first_step: int | None = None  # the step of the first request ever seen
        self.last_step: int | None = None
        self.steps: dict[int, list[int]] = {}  # step -> [bad, total]

    def add(self, events: pl.DataFrame) -> None:
        """Count rows (ts, good, total) into their steps."""
        if events.height == 0:
            return
        agg = (
            events.select(
                (pl.col("ts").dt.epoch("s") // STEP_S).alias("step"),
                (pl.col("total") - pl.col("good")).alias("bad"),
                pl.col("total"),
            )
            .group_by("step")
            .agg(pl.col("bad").sum(), pl.col("total").sum())
        )
        for step, bad, total in agg.iter_rows():
            if self.last_step is not None and step <= self.last_step - self.horizon:
                continue  # too late to matter to any window
            cell = self.steps.setdefault(int(step), [0, 0])
            cell[0] += int(bad)
            cell[1] += int(total)
        lo, hi = int(agg["step"].min()), int(agg["step"].max())  # type: ignore[arg-type]
        self.first_step = lo if self.first_step is None else min(self.first_step, lo)
        self.last_step = hi if self.last_step is None else max(self.last_step, hi)
        cut = self.last_step - self.horizon
        for step in [s for s in self.steps if s <= cut]:
            del self.steps[step]

    def status(self, at: datetime | None = None) -> Status:
        """Every alert at the end of the newest step (or of the step holding `at`, if later:
        the end of the whole input, when this SLO's last request came before it)."""
        if self.last_step is None or self.first_step is None:
            return Status(self.slo, None, [])
        last = self.last_step
        if at is not None:
            last = max(last, int(at.timestamp()) // STEP_S)
        start = last - self.horizon + 1
        bad = np.zeros(self.horizon, dtype=np.int64)
        total = np.zeros(self.horizon, dtype=np.int64)
        for step, (b, t) in self.steps.items():
            if step >= start:
                bad[step - start] += b
                total[step - start] += t
        budget = self.slo.error_budget
        fired = fire_steps(bad, total, STEP_S, start - self.first_step, self.alerts, budget)
        covered = (last - self.first_step + 1) * STEP_S
        out = []
        for alert in self.alerts:
            wb, wt = window_counts(bad, total, STEP_S, alert.window)
            b, t = int(wb[-1]), int(wt[-1])
            low = lower_bound(b, t, alert.alpha)
            out.append(
                AlertNow(
                    alert,
                    bool(fired[alert.name][-1]),
                    b,
                    t,
                    covered < alert.window.total_seconds(),
                    None if low is None else low / budget,
                )
            )
        now = datetime.fromtimestamp((last + 1) * STEP_S, UTC)
        pages = [fired[a.name] for a in self.alerts if a.severity == "page"]
        runs: list[tuple[datetime, datetime | None]] = []
        if pages:
            paging = np.logical_or.reduce(pages).astype(np.int8)
            edges = np.flatnonzero(np.diff(np.concatenate([[0], paging, [0]])))
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                begin = datetime.fromtimestamp((start + int(a) + 1) * STEP_S, UTC)
                end = (
                    None
                    if b >= len(paging)
                    else datetime.fromtimestamp((start + int(b) + 1) * STEP_S, UTC)
                )
                runs.append((begin, end))
        return Status(self.slo, now, out, runs)

    def to_state(self) -> dict[str, Any]:
        return {
            "first_step": self.first_step,
            "last_step": self.last_step,
            "steps": {str(k): v for k, v in sorted(self.steps.items())},
        }

    @classmethod
    def from_state(cls, slo: SLO, state: dict[str, Any]) -> Tracker:
        tr = cls(slo)
        tr.first_step = state.get("first_step")
        tr.last_step = state.get("last_step")
        tr.steps = {int(k): [int(v[0]), int(v[1])] for k, v in (state.get("steps") or {}).items()}
        return tr
