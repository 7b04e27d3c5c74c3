"""Who is on call: rotations in wall-clock time, layers, overrides, and the gaps between.

A layer hands off at the same local time of day whatever the daylight-saving offset: a daily
rotation at 09:00 Europe/Berlin hands off at 08:00 UTC in summer and 09:00 UTC in winter, so
the shift that spans the change is an hour longer or shorter. Later layers take precedence
where they have someone; an override beats every layer. Pure functions, no database::

    sched = Schedule("payments-l1", "Europe/Berlin", layers=(layer,))
    sched.who_at(utcnow())                  # OnCall(person="ana", source="weekly")
    sched.segments(start, end)              # who, from when to when (None: a gap)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from warroom.core.errors import InvalidInput
from warroom.oncall.model import (
    Override,
    Rotation,
    Window,
    check_name,
    check_person,
    format_duration,
    local_to_utc,
    parse_duration,
    zone,
)

LENGTHS = {Rotation.DAILY: timedelta(days=1), Rotation.WEEKLY: timedelta(days=7)}


@dataclass(frozen=True)
class Layer:
    """A rotation: `members` take turns, each for `length`, from the `handoff` (a wall-clock
    time in the schedule's zone); `restrict` limits the layer to windows of the week."""

    name: str
    rotation: Rotation
    length: timedelta
    handoff: datetime  # naive: wall-clock time in the schedule's zone
    members: tuple[str, ...]
    restrict: tuple[Window, ...] = ()

    @classmethod
    def from_dict(cls, raw: Any, *, where: str) -> Layer:
        if not isinstance(raw, dict):
            raise InvalidInput(
                f"{where}: a layer has rotation, handoff and members", field="layers"
            )
        rotation = Rotation.parse(str(raw.get("rotation", "weekly")))
        if rotation is Rotation.CUSTOM:
            length = parse_duration(raw.get("length"), where=f"{where}, length")
        else:
            length = LENGTHS[rotation]
        text = str(raw.get("handoff") or "").strip()
        try:
            handoff = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"{where}: handoff {text[:40]!r} is the first handoff as a local time, like "
                "2026-11-02T09:00",
                field="handoff",
            ) from None
        if handoff.tzinfo is not None:
            raise InvalidInput(
                f"{where}: give the handoff as a local time without an offset (the schedule's "
                "time zone applies, so the handoff keeps its time across daylight saving)",
                field="handoff",
            )
        members = raw.get("members") or []
        if not isinstance(members, list) or not members:
            raise InvalidInput(f"{where}: name the members who take turns", field="members")
        restrict = raw.get("restrict") or []
        if isinstance(restrict, dict):
            restrict = [restrict]
        return cls(
            name=str(raw.get("name") or where).strip()[:100],
            rotation=rotation,
            length=length,
            handoff=handoff.replace(second=0, microsecond=0),
            members=tuple(check_person(m, field="members") for m in members),
            restrict=tuple(Window.from_dict(w, where=f"{where}, restriction") for w in restrict),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "rotation": self.rotation.value}
        if self.rotation is Rotation.CUSTOM:
            out["length"] = format_duration(self.length)
        out["handoff"] = self.handoff.isoformat(timespec="minutes")
        out["members"] = list(self.members)
        if self.restrict:
            out["restrict"] = [w.to_dict() for w in self.restrict]
        return out

    def shift_start(self, k: int, tz: ZoneInfo) -> datetime:
        """When shift `k` begins (UTC): the k-th handoff in wall-clock time."""
        return local_to_utc(self.handoff + k * self.length, tz)

    def shift_at(self, t: datetime, tz: ZoneInfo) -> int | None:
        """The number of the shift running at `t` (None before the first handoff)."""
        local = t.astimezone(tz).replace(tzinfo=None)
        k = math.floor((local - self.handoff) / self.length)
        # the local-time guess can be one off around a repeated or skipped hour
        while k > 0 and self.shift_start(k, tz) > t:
            k -= 1
        while self.shift_start(k + 1, tz) <= t:
            k += 1
        return k if k >= 0 and self.shift_start(k, tz) <= t else None

    def who_at(self, t: datetime, tz: ZoneInfo) -> str | None:
        k = self.shift_at(t, tz)
        if k is None:
            return None
        if self.restrict and not any(
            w.contains(t.astimezone(tz).replace(tzinfo=None)) for w in self.restrict
        ):
            return None
        return self.members[k % len(self.members)]

    def edges(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
        """Handoffs and restriction edges strictly between two UTC times."""
        out: list[datetime] = []
        k = self.shift_at(start, tz)
        k = 0 if k is None else k + 1
        while True:
            at = self.shift_start(k, tz)
            if at >= end:
                break
            if at > start:
                out.append(at)
            k += 1
        for w in self.restrict:
            out.extend(w.edges(start, end, tz))
        return out


@dataclass(frozen=True)
class OnCall:
    person: str | None
    source: str  # the override, the layer, or "" for nobody


@dataclass(frozen=True)
class Segment:
    """One person on call (or nobody) from `start` to `end`."""

    start: datetime
    end: datetime
    person: str | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "person": self.person,
            "source": self.source,
        }


@dataclass(frozen=True)
class Schedule:
    name: str
    timezone: str
    layers: tuple[Layer, ...] = ()
    overrides: tuple[Override, ...] = ()
    description: str = ""

    @classmethod
    def from_dict(cls, raw: Any) -> Schedule:
        """A schedule from YAML (its overrides are kept apart: see `documents`)."""
        if not isinstance(raw, dict):
            raise InvalidInput("a schedule is a mapping with a name and layers", field="schedules")
        name = check_name(raw.get("name"), noun="schedule")
        tz = str(raw.get("timezone") or "UTC")
        zone(tz, where=f"schedule {name}")
        layers = raw.get("layers") or []
        if not isinstance(layers, list) or not layers:
            raise InvalidInput(f"schedule {name}: give at least one layer", field="layers")
        return cls(
            name=name,
            timezone=tz,
            layers=tuple(
                Layer.from_dict(lv, where=f"schedule {name}, layer {i}")
                for i, lv in enumerate(layers, start=1)
            ),
            description=str(raw.get("description") or "").strip(),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["timezone"] = self.timezone
        out["layers"] = [lv.to_dict() for lv in self.layers]
        return out

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def members(self) -> set[str]:
        return {m for lv in self.layers for m in lv.members} | {o.person for o in self.overrides}

    def who_at(self, t: datetime) -> OnCall:
        """Who is on call at `t`: the latest override covering it, else the last layer with
        someone, else nobody."""
        covering = [o for o in self.overrides if o.starts_at <= t < o.ends_at]
        if covering:
            o = max(covering, key=lambda o: o.id)
            return OnCall(o.person, f"override by {o.created_by}" if o.created_by else "override")
        tz = self.tz
        for layer in reversed(self.layers):
            person = layer.who_at(t, tz)
            if person is not None:
                return OnCall(person, layer.name)
        return OnCall(None, "")

    def segments(self, start: datetime, end: datetime) -> list[Segment]:
        """Who is on call from `start` to `end`, as consecutive segments (nobody: a gap)."""
        tz = self.tz
        edges = {start, end}
        for layer in self.layers:
            edges.update(layer.edges(start, end, tz))
        for o in self.overrides:
            edges.update(t for t in (o.starts_at, o.ends_at) if start < t < end)
        points = sorted(edges)
        out: list[Segment] = []
        for a, b in zip(points, points[1:], strict=False):
            who = self.who_at(a)
            if out and out[-1].person == who.person and out[-1].source == who.source:
                out[-1] = Segment(out[-1].start, b, who.person, who.source)
            else:
                out.append(Segment(a, b, who.person, who.source))
        return out

    def gaps(self, start: datetime, end: datetime) -> list[Segment]:
        """The stretches between `start` and `end` with nobody on call."""
        return [s for s in self.segments(start, end) if s.person is None]
