"""The on-call records and how they are read from YAML-shaped dicts: people and their contact
methods, schedules (layers of rotations, overrides), escalation policies, paging routes.

Times of day and handoffs are wall-clock times in a time zone (`zoneinfo`); durations are
written `15m`, `12h`, `7d`, `1h30m`. Every parser names where the bad value was::

    person = Person.from_dict({"name": "ana", "timezone": "Europe/Lisbon",
                               "contacts": [{"url": "mailto://ana@example.com"}]})
    layer = Layer.from_dict({"rotation": "weekly", "handoff": "2026-11-02T09:00",
                             "members": ["ana", "bob"]}, where="schedule L1, layer 1")
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from warroom.core.choices import Choice
from warroom.core.clock import ensure_utc
from warroom.core.errors import InvalidInput
from warroom.core.severity import Severity

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = (0, 1, 2, 3, 4)


class Rotation(Choice):
    DAILY = "daily"
    WEEKLY = "weekly"
    CUSTOM = "custom"


class Urgency(Choice):
    HIGH = "high"
    LOW = "low"


def check_name(value: Any, *, noun: str, field: str = "name") -> str:
    """A schedule's or policy's name: lowercase letters, digits, '.', '_' or '-'."""
    text = str(value or "").strip().lower()
    if not NAME_RE.match(text):
        raise InvalidInput(
            f"{str(value)[:60]!r} is not a {noun} name: use lowercase letters, digits, '.', "
            "'_' or '-' (e.g. payments-l1)",
            field=field,
        )
    return text


def check_person(value: Any, *, field: str = "person") -> str:
    """A person's name as incidents record it (the account or `--as` name)."""
    text = str(value or "").strip()
    if not text or len(text) > 200 or any(c.isspace() for c in text):
        raise InvalidInput(
            f"{str(value)[:60]!r} is not a person's name: one word, the name they act under",
            field=field,
        )
    return text


def zone(name: Any, *, where: str) -> ZoneInfo:
    """An IANA time zone (`Europe/Lisbon`, `UTC`)."""
    text = str(name or "").strip()
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{where}: {text[:60]!r} is not a time zone: use an IANA name like Europe/Lisbon "
            "or America/New_York",
            field="timezone",
        ) from None


def parse_duration(value: Any, *, where: str) -> timedelta:
    """`15m`, `1h30m`, `12h`, `7d`, `90s`, or a number of seconds; at least one minute."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        text = str(value or "").strip().lower().replace(" ", "")
        m = _DURATION_RE.match(text)
        if not text or not m or not any(m.groups()):
            raise InvalidInput(
                f"{where}: {str(value)[:40]!r} is not a duration: use 15m, 1h30m, 12h or 7d",
                field="duration",
            )
        d, h, mi, s = (int(g or 0) for g in m.groups())
        seconds = ((d * 24 + h) * 60 + mi) * 60 + s
    if seconds < 60 or seconds > 366 * 86400:
        raise InvalidInput(
            f"{where}: a duration must be between one minute and a year", field="duration"
        )
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The inverse of `parse_duration`: `1h30m`, `7d`."""
    seconds = int(delta.total_seconds())
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"


def parse_clock(value: Any, *, where: str) -> time:
    """A time of day, `09:00`."""
    text = str(value or "").strip()
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{where}: {text[:20]!r} is not a time of day: use HH:MM like 09:00", field="time"
        ) from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def parse_days(value: Any, *, where: str) -> tuple[int, ...]:
    """`[mon, tue]`, `mon-fri`, `every day` -> weekday numbers (Monday is 0)."""
    if value in (None, "", "every day", "daily", "all"):
        return tuple(range(7))
    items = value if isinstance(value, list) else str(value).replace(",", " ").split()
    out: set[int] = set()
    for raw in items:
        word = str(raw).strip().lower()[:3] if "-" not in str(raw) else str(raw).strip().lower()
        if "-" in word:
            first, _, last = word.partition("-")
            a, b = _day(first[:3], where), _day(last[:3], where)
            out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        else:
            out.add(_day(word, where))
    return tuple(sorted(out))


def _day(word: str, where: str) -> int:
    if word not in DAYS:
        raise InvalidInput(
            f"{where}: {word!r} is not a day: use mon, tue, wed, thu, fri, sat, sun or mon-fri",
            field="days",
        )
    return DAYS.index(word)


def local_to_utc(naive: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` as UTC (the first of two in a repeated hour; a time skipped
    by a spring-forward change lands just after it)."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def parse_local(value: Any, tz: ZoneInfo, *, where: str) -> datetime:
    """`2026-11-24T18:00` in `tz` (or with its own offset) -> aware UTC."""
    if isinstance(value, datetime):
        return ensure_utc(value) if value.tzinfo else local_to_utc(value, tz)
    if isinstance(value, date):
        return local_to_utc(datetime.combine(value, time()), tz)
    text = str(value or "").strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{where}: {text[:40]!r} is not a time: use 2026-11-24T18:00 (local) or with an offset",
            field="time",
        ) from None
    return ensure_utc(parsed) if parsed.tzinfo else local_to_utc(parsed, tz)


@dataclass(frozen=True)
class Window:
    """Days of the week and a time of day range; `end <= start` runs past midnight."""

    days: tuple[int, ...] = tuple(range(7))
    start: time = time(0)
    end: time = time(0)

    @classmethod
    def from_dict(cls, raw: Any, *, where: str) -> Window:
        if not isinstance(raw, dict):
            raise InvalidInput(
                f"{where}: give days, start and end (e.g. {{days: mon-fri, start: '09:00', "
                "end: '17:00'}})",
                field="window",
            )
        return cls(
            days=parse_days(raw.get("days"), where=where),
            start=parse_clock(raw.get("start", "00:00"), where=where),
            end=parse_clock(raw.get("end", "00:00"), where=where),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": [DAYS[d] for d in self.days],
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }

    def contains(self, local: datetime) -> bool:
        """Whether a wall-clock time falls in the window."""
        now = local.time()
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= now < self.end
        # past midnight (or the whole day when start == end): the day is the one it starts on
        return (local.weekday() in self.days and now >= self.start) or (
            (local.weekday() - 1) % 7 in self.days and now < self.end
        )

    def edges(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
        """Where the window opens or closes between two UTC times."""
        out = []
        day = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date() + timedelta(days=1)
        while day <= last:
            for t in (self.start, self.end):
                at = local_to_utc(datetime.combine(day, t), tz)
                if start < at < end:
                    out.append(at)
            day += timedelta(days=1)
        return out

    def next_open(self, after: datetime, tz: ZoneInfo) -> datetime:
        """`after` when inside the window, else the next time it opens (UTC)."""
        if self.contains(after.astimezone(tz).replace(tzinfo=None)):
            return after
        day = after.astimezone(tz).date()
        for offset in range(8):
            d = day + timedelta(days=offset)
            if d.weekday() in self.days:
                at = local_to_utc(datetime.combine(d, self.start), tz)
                if at > after:
                    return at
        return after  # no day in the window: never wait forever


@dataclass(frozen=True)
class Contact:
    """One way to reach a person: an apprise URL, for some urgencies."""

    url: str
    urgencies: tuple[Urgency, ...] = (Urgency.HIGH, Urgency.LOW)
    label: str = ""

    @classmethod
    def from_dict(cls, raw: Any, *, where: str) -> Contact:
        if isinstance(raw, str):
            raw = {"url": raw}
        if not isinstance(raw, dict):
            raise InvalidInput(f"{where}: a contact is a URL or {{url: ...}}", field="contacts")
        url = str(raw.get("url") or "").strip()
        if "://" not in url or len(url) > 2000 or any(c.isspace() for c in url):
            raise InvalidInput(
                f"{where}: {url[:60]!r} is not an apprise URL (mailto://..., json://host/path, "
                "slack://..., ntfy://...)",
                field="url",
            )
        wanted = raw.get("urgency", raw.get("urgencies", ["high", "low"]))
        items = wanted if isinstance(wanted, list) else [wanted]
        urgencies = tuple(dict.fromkeys(Urgency.parse(str(u)) for u in items))
        if not urgencies:
            raise InvalidInput(f"{where}: name at least one urgency", field="urgency")
        return cls(url=url, urgencies=urgencies, label=str(raw.get("label") or "").strip()[:100])

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower()

    @property
    def shown(self) -> str:
        """The URL without its secrets: scheme and host only (tokens and passwords stay out)."""
        rest = self.url.split("://", 1)[1]
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1].split("?", 1)[0]
        return f"{self.scheme}://{host}/..." if host else f"{self.scheme}://..."

    def to_dict(self, *, secrets: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "url": self.url if secrets else self.shown,
            "urgency": [u.value for u in self.urgencies],
        }
        if self.label:
            out["label"] = self.label
        return out


@dataclass(frozen=True)
class Person:
    """Someone who can be paged: time zone, working hours (low urgency waits for them),
    contact methods."""

    name: str
    display_name: str = ""
    timezone: str = "UTC"
    working_hours: Window = Window(WEEKDAYS, time(9), time(17))
    contacts: tuple[Contact, ...] = ()

    @classmethod
    def from_dict(cls, raw: Any) -> Person:
        if not isinstance(raw, dict):
            raise InvalidInput("a person is a mapping with a name", field="people")
        name = check_person(raw.get("name"))
        where = f"person {name}"
        tz = str(raw.get("timezone") or "UTC")
        zone(tz, where=where)
        hours = raw.get("working_hours")
        contacts = raw.get("contacts") or []
        if not isinstance(contacts, list):
            raise InvalidInput(f"{where}: contacts is a list", field="contacts")
        return cls(
            name=name,
            display_name=str(raw.get("display_name") or "").strip()[:200],
            timezone=tz,
            working_hours=(
                Window.from_dict(hours, where=f"{where}, working hours")
                if hours
                else Window(WEEKDAYS, time(9), time(17))
            ),
            contacts=tuple(
                Contact.from_dict(c, where=f"{where}, contact {i}")
                for i, c in enumerate(contacts, start=1)
            ),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def reach(self, urgency: Urgency) -> list[Contact]:
        """The contact methods to use at this urgency."""
        return [c for c in self.contacts if urgency in c.urgencies]

    def deliver_at(self, urgency: Urgency, now: datetime) -> datetime:
        """High urgency: now. Low urgency: now in working hours, else when they next start."""
        if urgency is Urgency.HIGH:
            return now
        return self.working_hours.next_open(now, self.tz)

    def to_dict(self, *, secrets: bool = False) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "timezone": self.timezone,
            "working_hours": self.working_hours.to_dict(),
            "contacts": [c.to_dict(secrets=secrets) for c in self.contacts],
        }


@dataclass(frozen=True)
class Override:
    """Someone covers a schedule from `starts_at` to `ends_at` ("I cover Tuesday night")."""

    id: int
    person: str
    starts_at: datetime
    ends_at: datetime
    reason: str = ""
    created_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "person": self.person,
            "start": self.starts_at.isoformat(),
            "end": self.ends_at.isoformat(),
            "reason": self.reason,
            "created_by": self.created_by,
        }


@dataclass(frozen=True)
class Target:
    """Whom a level pages: whoever is on call for a schedule, or one person."""

    kind: str  # "schedule" or "person"
    name: str

    def to_dict(self) -> dict[str, str]:
        return {self.kind: self.name}


@dataclass(frozen=True)
class Level:
    targets: tuple[Target, ...]
    timeout: timedelta

    @classmethod
    def from_dict(cls, raw: Any, *, where: str) -> Level:
        if not isinstance(raw, dict):
            raise InvalidInput(
                f"{where}: a level is {{schedule: NAME, timeout: 15m}} or {{person: NAME, ...}}",
                field="levels",
            )
        items = raw.get("targets") or [raw]
        targets = []
        for item in items if isinstance(items, list) else [items]:
            if not isinstance(item, dict):
                raise InvalidInput(f"{where}: a target is {{schedule: NAME}}", field="targets")
            if item.get("schedule"):
                targets.append(Target("schedule", check_name(item["schedule"], noun="schedule")))
            elif item.get("person"):
                targets.append(Target("person", check_person(item["person"])))
        if not targets:
            raise InvalidInput(f"{where}: name a schedule or a person to page", field="levels")
        return cls(
            targets=tuple(targets),
            timeout=parse_duration(raw.get("timeout", "15m"), where=where),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = (
            dict(self.targets[0].to_dict())
            if len(self.targets) == 1
            else {"targets": [t.to_dict() for t in self.targets]}
        )
        out["timeout"] = format_duration(self.timeout)
        return out


@dataclass(frozen=True)
class Policy:
    """Ordered levels, each paged when the one before did not acknowledge in time; the whole
    list is gone through `repeat` more times before the pager gives up."""

    name: str
    levels: tuple[Level, ...]
    repeat: int = 0
    description: str = ""

    @classmethod
    def from_dict(cls, raw: Any) -> Policy:
        if not isinstance(raw, dict):
            raise InvalidInput("a policy is a mapping with a name and levels", field="policies")
        name = check_name(raw.get("name"), noun="policy")
        levels = raw.get("levels") or []
        if not isinstance(levels, list) or not levels:
            raise InvalidInput(f"policy {name}: give at least one level", field="levels")
        repeat = raw.get("repeat", 0)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or not 0 <= repeat <= 10:
            raise InvalidInput(
                f"policy {name}: repeat is a whole number from 0 to 10", field="repeat"
            )
        return cls(
            name=name,
            levels=tuple(
                Level.from_dict(lv, where=f"policy {name}, level {i}")
                for i, lv in enumerate(levels, start=1)
            ),
            repeat=repeat,
            description=str(raw.get("description") or "").strip(),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["repeat"] = self.repeat
        out["levels"] = [lv.to_dict() for lv in self.levels]
        return out


@dataclass(frozen=True)
class Route:
    """Incidents of `service` at `severities` page `policy`, at `urgency`."""

    service: str
    severities: tuple[Severity, ...]
    policy: str
    urgency: Urgency = Urgency.HIGH

    @classmethod
    def from_dict(cls, raw: Any) -> Route:
        if not isinstance(raw, dict):
            raise InvalidInput(
                "a paging entry is {service: NAME, severities: [P0, P1], policy: NAME}",
                field="paging",
            )
        service = check_name(raw.get("service"), noun="service", field="service")
        sevs = raw.get("severities", ["P0", "P1"])
        items = sevs if isinstance(sevs, list) else [sevs]
        severities = tuple(sorted({Severity.parse(str(s)) for s in items}, key=lambda s: s.rank))
        if not severities:
            raise InvalidInput(f"paging for {service}: name the severities", field="severities")
        return cls(
            service=service,
            severities=severities,
            policy=check_name(raw.get("policy"), noun="policy", field="policy"),
            urgency=Urgency.parse(str(raw.get("urgency", "high"))),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "severities": [s.value for s in self.severities],
            "policy": self.policy,
            "urgency": self.urgency.value,
        }
