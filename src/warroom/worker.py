"""The worker: sends due reminders and delivers the outbox, in a loop or once.

Run it as `warroom worker` (a separate process) or let `warroom serve` run the same loop in a
background thread. Several workers may run against one PostgreSQL database: reminders are
recorded under a unique key and outbox rows are claimed with `FOR UPDATE SKIP LOCKED`, so
each reminder and each message is sent by one of them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

from warroom import comms_heartbeat, notify
from warroom.comms import CommsConfig
from warroom.config import Settings, load_settings
from warroom.db import Database

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class TickResult:
    reminders: list[comms_heartbeat.Reminder]
    delivery: notify.DeliveryStats

    def to_dict(self) -> dict[str, Any]:
        return {
            "reminders_sent": [r.to_dict() for r in self.reminders],
            "delivery": self.delivery.to_dict(),
        }


def run_once(
    db: Database,
    *,
    config: CommsConfig | None = None,
    worker: str | None = None,
    sender: notify.Sender | None = None,
) -> TickResult:
    """One pass: queue the reminders that are due, then deliver what the outbox holds."""
    cfg = config or CommsConfig.from_settings()
    sent = comms_heartbeat.send_reminders(db, config=cfg, worker=worker or worker_name())
    stats = notify.deliver_pending(db, config=cfg.notify, sender=sender)
    return TickResult(sent, stats)


def run_forever(
    db: Database,
    *,
    config: CommsConfig | None = None,
    interval: float = 30.0,
    stop: threading.Event | None = None,
) -> None:
    """Tick every `interval` seconds until `stop` is set; an error is logged, not fatal."""
    stop = stop or threading.Event()
    name = worker_name()
    while not stop.is_set():
        try:
            run_once(db, config=config, worker=name)
        except Exception:  # noqa: BLE001 - the loop must survive a bad tick
            log.exception("warroom worker tick failed; retrying in %ss", interval)
        stop.wait(interval)


class Scheduler:
    """The worker loop in a daemon thread (used by `warroom serve`)."""

    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        raw = self.settings.section("worker")
        self.enabled = bool(raw.get("in_serve", True))
        self.interval = float(raw.get("interval_seconds", 30))
        self.db = db
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.enabled or self.thread is not None:
            return
        config = CommsConfig.from_settings(self.settings)

        def loop() -> None:
            # First tick after one interval: short-lived servers (tests) do not tick at once.
            if self.stop.wait(self.interval):
                return
            run_forever(self.db, config=config, interval=self.interval, stop=self.stop)

        self.thread = threading.Thread(target=loop, name="warroom-scheduler", daemon=True)
        self.thread.start()

    def shutdown(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
            self.thread = None
