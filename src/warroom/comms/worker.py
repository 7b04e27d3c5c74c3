"""The comms job of the worker: queue the reminders that are due, then deliver the outbox.

`tick` is what the registry's worker runs; `run_once` is the same pass with its parts
given directly (tests, `warroom worker --once`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warroom.comms import heartbeat, notify
from warroom.comms.updates import CommsConfig
from warroom.core.config import Settings
from warroom.core.db import Database
from warroom.core.worker import worker_name


@dataclass
class TickResult:
    reminders: list[heartbeat.Reminder]
    delivery: notify.DeliveryStats

    def to_dict(self) -> dict[str, Any]:
        return {
            "reminders_sent": [r.to_dict() for r in self.reminders],
            "delivery": self.delivery.to_dict(),
        }


def run_once(
    db: Database,
    *,
    config: CommsConfig,
    worker: str | None = None,
    sender: notify.Sender | None = None,
) -> TickResult:
    """One pass: queue the reminders that are due, then deliver what the outbox holds."""
    sent = heartbeat.send_reminders(db, config=config, worker=worker or worker_name())
    stats = notify.deliver_pending(db, config=config.notify, sender=sender)
    return TickResult(sent, stats)


def tick(db: Database, settings: Settings, worker: str) -> dict[str, Any]:
    """The worker job: `run_once` with the comms settings of this deployment."""
    return run_once(db, config=CommsConfig.from_settings(settings), worker=worker).to_dict()
