"""The worker: runs every area's background jobs (reminders, the outbox, ...) in a loop or once.

Run it as `warroom worker` (a separate process) or let `warroom serve` run the same loop in a
background thread (`[worker] in_serve = false` turns that off). Each job is
`fn(db, settings, worker_name) -> dict`, declared by its area in the registry. Several workers
may run against one PostgreSQL database: each job makes its own work exactly-once (reminders
under a unique key, outbox rows claimed with `FOR UPDATE SKIP LOCKED`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from warroom.core.config import Settings
from warroom.core.db import Database

log = logging.getLogger(__name__)

Job = Callable[[Database, Settings, str], dict[str, Any]]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


def run_once(
    db: Database, settings: Settings, jobs: Sequence[Job], *, worker: str | None = None
) -> dict[str, Any]:
    """One pass over every job; their results merged into one dict."""
    name = worker or worker_name()
    out: dict[str, Any] = {}
    for job in jobs:
        out.update(job(db, settings, name))
    return out


def run_forever(
    db: Database,
    settings: Settings,
    jobs: Sequence[Job],
    *,
    interval: float = 30.0,
    stop: threading.Event | None = None,
) -> None:
    """Tick every `interval` seconds until `stop` is set; an error is logged, not fatal."""
    stop = stop or threading.Event()
    name = worker_name()
    while not stop.is_set():
        try:
            run_once(db, settings, jobs, worker=name)
        except Exception:  # noqa: BLE001 - the loop must survive a bad tick
            log.exception("warroom worker tick failed; retrying in %ss", interval)
        stop.wait(interval)


class Scheduler:
    """The worker loop in a daemon thread (used by `warroom serve`)."""

    def __init__(self, db: Database, settings: Settings, jobs: Sequence[Job]) -> None:
        raw = settings.section("worker")
        self.enabled = bool(raw.get("in_serve", True))
        self.interval = float(raw.get("interval_seconds", 30))
        self.db = db
        self.settings = settings
        self.jobs = list(jobs)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.enabled or self.thread is not None:
            return

        def loop() -> None:
            # First tick after one interval: short-lived servers (tests) do not tick at once.
            if self.stop.wait(self.interval):
                return
            run_forever(self.db, self.settings, self.jobs, interval=self.interval, stop=self.stop)

        self.thread = threading.Thread(target=loop, name="warroom-scheduler", daemon=True)
        self.thread.start()

    def shutdown(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
            self.thread = None
