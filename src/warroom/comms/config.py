"""The comms settings: update cadence per severity, reminder timings, notification channels.

    config = CommsConfig.from_settings(settings)   # [comms], [notify] of warroom.toml
    config.cadence_for("P1")                       # timedelta(minutes=30)

`CommsConfig()` is the defaults alone (P0 15, P1 30, P2 60 minutes; no channels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from warroom.comms.notify import NotifyConfig
from warroom.core.config import Settings
from warroom.core.errors import InvalidInput
from warroom.core.severity import Severity


@dataclass(frozen=True)
class CommsConfig:
    """`[comms]` of warroom.toml: cadence per severity and reminder timings (minutes)."""

    cadence: dict[str, int] = field(default_factory=lambda: {"P0": 15, "P1": 30, "P2": 60})
    due_soon_minutes: int = 5
    grace_minutes: int = 10
    commander_every_minutes: int = 5
    severity_every_minutes: int = 15
    stale_task_minutes: int = 30
    notify: NotifyConfig = field(default_factory=NotifyConfig)

    @classmethod
    def from_settings(cls, settings: Settings) -> CommsConfig:
        """The `[comms]` and `[notify]` sections of this deployment's settings."""
        raw = settings.section("comms")
        cadence = {"P0": 15, "P1": 30, "P2": 60}
        for k, v in (raw.get("cadence", {}) or {}).items():
            sev = Severity.parse(k).value
            if v in (None, 0, False, "none"):
                cadence.pop(sev, None)
            else:
                if int(v) <= 0:
                    raise InvalidInput(
                        f"[comms.cadence] {k} must be minutes > 0 (or 0 for none)",
                        field="comms.cadence",
                    )
                cadence[sev] = int(v)

        def minutes(name: str, default: int) -> int:
            value = int(raw.get(name, default))
            if value <= 0:
                raise InvalidInput(
                    f"[comms] {name} must be a positive number of minutes", field=f"comms.{name}"
                )
            return value

        return cls(
            cadence=cadence,
            due_soon_minutes=minutes("due_soon_minutes", 5),
            grace_minutes=minutes("grace_minutes", 10),
            commander_every_minutes=minutes("commander_every_minutes", 5),
            severity_every_minutes=minutes("severity_every_minutes", 15),
            stale_task_minutes=minutes("stale_task_minutes", 30),
            notify=NotifyConfig.from_settings(settings),
        )

    def cadence_for(self, severity: Severity | str | None) -> timedelta | None:
        if severity is None:
            return None
        minutes = self.cadence.get(Severity.parse(severity).value)
        return timedelta(minutes=minutes) if minutes else None
