"""Time: timezone-aware UTC everywhere, one clock tests can replace, one way to read and show it.

utcnow()                          # the current time (tests: set_clock)
parse_time("2026-11-24T14:03Z")   # ISO-8601 -> aware UTC; naive means UTC
duration(timedelta(minutes=65))   # '1h05m'
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from warroom.core.errors import InvalidInput

_clock: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (tests may replace the clock with `set_clock`)."""
    if _clock is not None:
        return _clock()
    return datetime.now(UTC)


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); `None` restores the real one."""
    global _clock
    _clock = clock


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_time(value: str | datetime | None, *, field: str = "time") -> datetime | None:
    """ISO-8601 (`2026-11-24T14:03Z`, with an offset, or naive = UTC); None or blank -> None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return ensure_utc(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return ensure_utc(
            datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        )
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{value!r} is not a time: use ISO-8601 like 2026-11-24T14:03:00Z", field=field
        ) from None


def duration(delta: timedelta | None) -> str:
    """'45s', '12m', '1h05m', '2d03h'; '--' when unknown; negative with a minus sign."""
    if delta is None:
        return "--"
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "-" + duration(timedelta(seconds=-seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600:02d}h"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago `when` was, as `duration` writes it ('' when unknown, never negative)."""
    if when is None:
        return ""
    return duration(max(timedelta(0), (now or utcnow()) - when))
