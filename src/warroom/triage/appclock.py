"""Which clock an app log is stamped in, so its lines line up with the access log.

App logs often carry local time without an offset (`2026-11-20 14:02:11,120 ERROR ...`).
Read as UTC they put every line an hour or more away from the requests: a job that ran an hour
before the incident looks new at the onset, and the real error falls outside the window.

`app_log_clock` takes the offset given (`--app-log-tz`: `+01:00`, `UTC-5`, `Europe/Paris`) or
states it when the lines carry one; otherwise it estimates it: the app log's error lines per
interval are correlated with the access log's 5xx at every shift of 15 minutes within 14 hours
(without 5xx: its error, warning and "slow" lines with the access log's mean latency), and a
shift is taken only when it matches clearly better than none. With nothing to match, a log
whose span lines up with the access log only when shifted by whole hours is shifted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from warroom.core.errors import InvalidInput
from warroom.triage.applog import read_lines
from warroom.triage.applog.headers import HeaderReader
from warroom.triage.applog.mask import structured
from warroom.triage.sli import Grid, Series

MAX_LINES = 500_000  # enough lines to place a clock
STEP = timedelta(minutes=15)
MAX_SHIFT = timedelta(hours=14)
MIN_EVENTS = 20  # error lines and 5xx needed on each side to match bursts
MIN_CORR = 0.5
MIN_GAIN = 0.2  # the shift must match this much better than none

_STATED = re.compile(
    r"^\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}:?\d{2})\b|"
    r"^\[?\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}|^\d{10}(?:\.\d+)?\s"
)
# a JSON line whose time carries its offset
_JSON_STATED = re.compile(
    r'"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})"'
)
_ERROR = re.compile(
    r"\b(?:error|exception|fatal|panic|critical|refused|timed? ?out|failed|failure)\b", re.I
)
_SLOW = re.compile(r"\b(?:warn\w*|slow\w*|latency|timeout)\b", re.I)
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)


@dataclass(frozen=True)
class AppClock:
    """The offset of the app log's clock from UTC (local = UTC + offset), and how it was found."""

    offset: timedelta
    source: str  # "given", "stated" (the lines carry offsets), "estimated", "assumed"
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "offset": format_offset(self.offset),
            "offset_minutes": int(self.offset.total_seconds() // 60),
            "source": self.source,
            "evidence": self.evidence,
        }


def format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_tz(text: str, at: datetime) -> timedelta:
    """An offset from `+01:00`, `-0530`, `UTC+1` or an IANA zone name (its offset at `at`)."""
    m = _OFFSET.match(text.strip())
    if m:
        sign, hours, minutes = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise InvalidInput(f"app-log time zone {text!r} is out of range", field="app_log_tz")
        delta = timedelta(hours=hours, minutes=minutes)
        return -delta if sign == "-" else delta
    if text.strip().upper() in ("UTC", "Z", "GMT"):
        return timedelta(0)
    try:
        zone = ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown app-log time zone {text!r}: use an offset like +01:00 or a zone name "
            "like Europe/Paris",
            field="app_log_tz",
        ) from None
    return zone.utcoffset(at.replace(tzinfo=None)) or timedelta(0)


@dataclass
class _Stamps:
    times: np.ndarray  # seconds since the grid start, every stamped line
    errors: np.ndarray  # the same, error lines only
    slow: np.ndarray  # error, warning and slowness lines
    stated: int  # lines whose stamp carries its offset


def _read(paths: list[str | Path], grid: Grid) -> _Stamps:
    """Every stamped line's time (the header styles `signatures` reads, JSON lines too)."""
    headers = HeaderReader(grid.start.year)
    times: list[float] = []
    errors: list[float] = []
    slow: list[float] = []
    stated = 0
    for raw in read_lines(paths):
        if len(times) >= MAX_LINES:
            break
        parsed = structured(raw) if raw[:1] == "{" else None
        if parsed is not None:
            ts, text = parsed
            has_offset = bool(_JSON_STATED.search(raw))
        else:
            ts, text, _ = headers.split(raw)
            has_offset = bool(_STATED.match(raw))
        if ts is None:
            continue
        stated += has_offset
        t = (ts - grid.start).total_seconds()
        times.append(t)
        if _ERROR.search(text):
            errors.append(t)
            slow.append(t)
        elif _SLOW.search(text):
            slow.append(t)
    return _Stamps(np.array(times), np.array(errors), np.array(slow), stated)


def _binned(seconds: np.ndarray, shift: float, grid: Grid) -> np.ndarray:
    step = grid.interval.total_seconds()
    idx = np.floor((seconds - shift) / step).astype(np.int64)
    idx = idx[(idx >= 0) & (idx < grid.size)]
    return np.bincount(idx, minlength=grid.size).astype(float)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _shifts() -> list[float]:
    n = int(MAX_SHIFT / STEP)
    # nearest first: ties go to the smallest shift
    return [0.0] + [s * k * STEP.total_seconds() for k in range(1, n + 1) for s in (1, -1)]


def app_log_clock(
    paths: list[str | Path], grid: Grid, overall: Series, *, given: str | None = None
) -> AppClock:
    """The clock of the app logs `paths`, against the access log's `overall` series."""
    if given:
        offset = parse_tz(given, grid.start)
        return AppClock(offset, "given", f"--app-log-tz {given}")
    stamps = _read(paths, grid)
    n = len(stamps.times)
    if n == 0:
        return AppClock(timedelta(0), "assumed", "no timestamped app-log lines")
    if stamps.stated >= n / 2:
        return AppClock(timedelta(0), "stated", "the app-log lines carry their UTC offset")
    found = (
        _matched(stamps.errors, overall.errors.astype(float), grid, "error lines", "5xx")
        or _matched(stamps.slow, _latency(overall), grid, "warning lines", "mean latency")
        or _by_span(stamps, grid)
    )
    if found is None:
        return AppClock(
            timedelta(0), "assumed", "no offset in the lines and none matched better: read as UTC"
        )
    return found


def _latency(overall: Series) -> np.ndarray | None:
    ok = np.isfinite(overall.mean_ms)
    if ok.sum() < MIN_EVENTS:
        return None
    return np.where(ok, overall.mean_ms, np.nanmedian(overall.mean_ms[ok]))


def _matched(
    lines: np.ndarray, target: np.ndarray | None, grid: Grid, what: str, against: str
) -> AppClock | None:
    """The shift at which app-log `lines` per interval correlate best with `target`."""
    if target is None or len(lines) < MIN_EVENTS:
        return None
    if against == "5xx" and target.sum() < MIN_EVENTS:
        return None
    scores = [(_corr(_binned(lines, s, grid), target), s) for s in _shifts()]
    at_zero = scores[0][0]
    best, shift = max(scores, key=lambda x: x[0])  # first of equals: the nearest shift
    if shift == 0 or best < MIN_CORR or best - at_zero < MIN_GAIN:
        return None
    offset = timedelta(seconds=shift)
    return AppClock(
        offset,
        "estimated",
        f"app-log {what} match the access log's {against} best shifted by "
        f"{format_offset(offset)} (correlation {best:.2f}, {at_zero:.2f} as UTC)",
    )


def _by_span(stamps: _Stamps, grid: Grid) -> AppClock | None:
    lo, hi = float(stamps.times.min()), float(stamps.times.max())
    span = max(hi - lo, 1.0)
    end = grid.size * grid.interval.total_seconds()

    def overlap(shift: float) -> float:
        return max(0.0, min(hi - shift, end) - max(lo - shift, 0.0)) / span

    if overlap(0.0) >= 0.5:
        return None
    hours = [s for s in _shifts() if s % 3600 == 0]
    best = max(hours, key=overlap)
    if overlap(best) < 0.9:
        return None
    offset = timedelta(seconds=best)
    return AppClock(
        offset,
        "estimated",
        f"the app log spans the access log's time only when shifted by {format_offset(offset)} "
        f"({overlap(0.0):.0%} overlap as UTC)",
    )
