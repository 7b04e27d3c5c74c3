"""Continuous detection: follow live access logs, evaluate SLOs, page through the alert intake.

    w = Watcher(db, slos, ["/var/log/nginx/access.log"], state_path=Path("watch.json"))
    changes = w.poll()          # read new lines, evaluate, send transitions; saves the state
    w.close()

Each poll reads the new whole lines of every log (`Follower`: rotation, truncation), parses
them with the triage parser (a backlog: triage's compiled scanner into per-minute counts, spread
over their 10-second steps, when every SLO needs only routes and statuses), counts them per
10-second step (`Tracker`) and evaluates every
SLO at the newest request's time. When an SLO starts paging, one Alertmanager-shaped
notification goes through the same intake as Prometheus alerts (opens or attaches to an
incident, deduplicated by payload and group); when it stops, a resolved one. The state
(offsets, step counts, what is firing) is written after every poll, so a restart resumes
where it stopped and does not page again for a firing it already sent.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from warroom.core.db import Database
from warroom.core.errors import InvalidInput
from warroom.detect.alerts.intake import receive_alertmanager
from warroom.detect.alerts.routing import Routing
from warroom.detect.slo import stream
from warroom.detect.slo.follow import MAX_READ, Follower
from warroom.detect.slo.logs import sli_events
from warroom.detect.slo.model import SLO
from warroom.detect.slo.rules import ALERT_NAME
from warroom.detect.slo.tracker import Status, Tracker
from warroom.triage.lineparse import trailing_number
from warroom.triage.parse import FileSpec, parse_block

SOURCE = "warroom-watch"
# a read this large is a backlog's (live logs bring less per poll): the compiled scanner folds
# it into per-minute counts, as triage and `slo check` do
BACKLOG_BYTES = MAX_READ // 2
ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class Change:
    """A page that started or stopped, and what the intake did with it."""

    slo: str
    status: str  # firing or resolved
    at: datetime
    alerts: list[str]
    outcome: str
    incident: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "slo": self.slo,
            "status": self.status,
            "at": self.at.isoformat(),
            "alerts": self.alerts,
            "outcome": self.outcome,
            "incident": self.incident,
        }


def _spec(path: str, data: bytes, log_format: str | None) -> FileSpec | None:
    """The format of a log from its first lines (JSON lines or combined/common text)."""
    lines = [s for s in data[: 1 << 16].decode("utf-8", "replace").split("\n") if s.strip()]
    if not lines:
        return None
    fmt = log_format or ("json" if lines[0].lstrip().startswith("{") else "combined")
    unit = None
    if fmt != "json":
        numbers = [n for n in (trailing_number(s) for s in lines[:50]) if n is not None]
        if numbers:
            unit = "s" if any("." in n for n in numbers) else "us"
    return FileSpec(label=path, log_format=fmt, time_unit=unit)


def _payload(slo: SLO, status: str, since: datetime, until: datetime | None, why: str) -> Any:
    labels = {"alertname": ALERT_NAME, "slo": slo.name, "severity": "page"}
    if slo.service:
        labels["service"] = slo.service
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {
            "summary": f"SLO {slo.name} ({slo.objective * 100:g}%) is burning its error budget",
            "description": why,
        },
        "startsAt": since.isoformat(),
        "endsAt": until.isoformat() if until else ZERO_TIME,
        "generatorURL": "",
    }
    return {
        "version": "4",
        "groupKey": f'{SOURCE}:{{slo="{slo.name}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": SOURCE,
        "groupLabels": {"slo": slo.name},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": [alert],
    }


def _why(status: Status) -> str:
    parts = []
    for a in status.alerts:
        if a.firing:
            low = f", burn at least {a.burn_low:.1f}x" if a.burn_low is not None else ""
            parts.append(f"{a.alert.name}: {a.bad} of {a.total} requests bad{low}")
    return "; ".join(parts) or "the burn stopped"


class Watcher:
    def __init__(
        self,
        db: Database,
        slos: list[SLO],
        paths: list[str],
        *,
        state_path: Path,
        routing: Routing | None = None,
        log_format: str | None = None,
    ) -> None:
        if not paths:
            raise InvalidInput("give at least one --log to follow", field="log")
        self.db = db
        self.slos = slos
        self.state_path = state_path
        self.routing = routing or Routing()
        self.log_format = log_format
        saved = self._load()
        files = saved.get("files", {})
        self.followers = [Follower.from_state(p, files.get(p)) for p in paths]
        self.specs: dict[str, FileSpec] = {}
        slo_state = saved.get("slos", {})
        self.minutes_serve = all(stream.streamable(s) for s in slos)
        self.trackers = {
            s.name: Tracker.from_state(s, slo_state.get(s.name, {}).get("tracker", {}))
            for s in slos
        }
        # the start of the page each SLO has sent and not resolved yet (ISO), or None
        self.firing: dict[str, str | None] = {
            s.name: slo_state.get(s.name, {}).get("firing_since") for s in slos
        }
        # the log time each SLO was last evaluated at (ISO)
        self.evaluated: dict[str, str | None] = {
            s.name: slo_state.get(s.name, {}).get("evaluated") for s in slos
        }

    def _load(self) -> dict[str, Any]:
        try:
            loaded: dict[str, Any] = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            raise InvalidInput(
                f"{self.state_path} is not a watch state file (JSON): move it away to start "
                "from the beginning of the logs",
                field="state",
            ) from None
        return loaded

    def save(self) -> None:
        state = {
            "files": {f.path: f.to_state() for f in self.followers},
            "slos": {
                name: {
                    "tracker": tr.to_state(),
                    "firing_since": self.firing[name],
                    "evaluated": self.evaluated[name],
                }
                for name, tr in self.trackers.items()
            },
        }
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_path)

    def _read(self, f: Follower) -> tuple[pl.DataFrame, bool] | None:
        """The next block of new lines of one log (None: nothing new): parsed rows, or per-minute
        counts (True) when the block is a backlog's and every SLO can use them."""
        while True:
            data, first = f.read()
            if not data:
                return None
            spec = self.specs.get(f.path) or _spec(f.path, data, self.log_format)
            if spec is not None:
                self.specs[f.path] = spec
                if len(data) >= BACKLOG_BYTES and self.minutes_serve:
                    counts = stream.fold_block(spec, data, first)
                    if counts is not None:
                        return counts, True
                frame, _stats = parse_block(spec, data, first)
                return frame, False

    def poll(self) -> list[Change]:
        """Read what is new, evaluate every SLO, send the pages that started or stopped.

        A backlog is read a block (up to 8 MB) of each log at a time and evaluated after
        each round, so memory stays bounded and a page inside the backlog is not missed.
        """
        changes: list[Change] = []
        while True:
            reads = [r for r in (self._read(f) for f in self.followers) if r is not None]
            if not reads:
                return changes  # nothing new: the last evaluation stands, as saved
            rows = [frame for frame, minutes in reads if not minutes]
            counts = [frame for frame, minutes in reads if minutes]
            for slo in self.slos:
                tracker = self.trackers[slo.name]
                if rows:
                    tracker.add(sli_events(pl.concat(rows), slo))
                for c in counts:
                    tracker.add(stream.spread(stream.minute_events(c, slo)))
                status = tracker.status()
                if status.now is not None:
                    changes += self._transition(slo, status)
            self.save()  # after every round: a restart resumes here, pages sent are known

    def _transition(self, slo: SLO, status: Status) -> list[Change]:
        """Send the pages that started or stopped since the last evaluation, in order."""
        assert status.now is not None
        seen = self.evaluated.get(slo.name)
        done = datetime.fromisoformat(seen) if seen else None
        out: list[Change] = []
        for begin, end in status.page_runs:
            if end is not None and done is not None and end <= done:
                continue  # over before the last evaluation: already handled
            if self.firing[slo.name] is None:
                # which alerts fire is known for a page going on now, not one inside a backlog
                names = status.firing if end is None else []
                out.append(self._send(slo, status, "firing", begin, None, names))
            if end is not None:
                out.append(self._send(slo, status, "resolved", begin, end, []))
        if self.firing[slo.name] is not None and not status.paging:
            # the firing run left the tracked windows (a long gap in the log)
            begin = datetime.fromisoformat(self.firing[slo.name] or "")
            out.append(self._send(slo, status, "resolved", begin, status.now, []))
        self.evaluated[slo.name] = status.now.isoformat()
        return out

    def _send(
        self,
        slo: SLO,
        status: Status,
        kind: str,
        begin: datetime,
        end: datetime | None,
        names: list[str],
    ) -> Change:
        if kind == "firing":
            since = begin
            self.firing[slo.name] = begin.isoformat()
        else:
            since = datetime.fromisoformat(self.firing[slo.name] or begin.isoformat())
            self.firing[slo.name] = None
        if kind == "resolved":
            why = f"the burn stopped at {end or status.now:%Y-%m-%d %H:%M:%S} (log time)"
        else:
            why = _why(status) if names else f"the requests of {begin:%Y-%m-%d %H:%M} (log time)"
        payload = _payload(slo, kind, since, end, why)
        result = receive_alertmanager(self.db, payload, routing=self.routing, actor=SOURCE)
        return Change(slo.name, kind, end or begin, names, result.outcome, result.incident)

    def close(self) -> None:
        for f in self.followers:
            f.close()
