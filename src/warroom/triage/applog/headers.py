"""Recognise the header of an app-log line: its time, and the header fields (pid, level,
thread, logger) that are not part of the message to template.

Styles: ISO 8601 (also in brackets, with a comma or a dot before the fraction), syslog
RFC 3164 (with host and program) and RFC 5424, Apache error logs with day names
(`[Sun Dec 04 04:51:08 2005]`), nginx and Go (`2026/11/20 13:00:01`), Spark (`yy/mm/dd`),
CLF times, log4j/logback/Python logging levels and loggers after the time, Go klog/glog
(`E1120 13:00:01.123456 1 file.go:42]`), java.util.logging (`Nov 20, 2026 1:00:01 PM`),
HDFS (`yymmdd hhmmss`), Android logcat (`mm-dd hh:mm:ss.mmm`), epoch seconds, BGL-style
`- epoch yyyy.mm.dd` (with a syslog or RAS header after it), `id node component state
epoch flag`, pipe-separated `yyyymmdd-h:m:s:ms|component|pid|`, time-only
logback (`13:00:01.123`), and Python's `LEVEL:logger:` without a time. The style that
matched the previous line is tried first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from warroom.core.errors import InvalidInput
from warroom.triage.lineparse import parse_timestamp

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_LEVEL = (
    r"(?:TRACE|DEBUG|FINE|FINER|FINEST|CONFIG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|"
    r"CRITICAL|CRIT|ALERT|EMERG|PANIC|Trace|Debug|Info|Notice|Warn|Warning|Error|Fatal|"
    r"Critical|trace|debug|info|notice|warn|warning|error|fatal|critical)"
)
# after the time: pids, a [thread], "- ", the level (bare, bracketed or one letter after a
# pid as in logcat) and a "logger:" right after the level
_AFTER = re.compile(
    r"(?:(?:\d+|-)\s+){0,2}"
    r"(?:\[[^\]]{0,80}\]\s+)?"
    r"(?:[-|]\s+)?"
    rf"(?:[\w.$]+ - (?={_LEVEL} ))?"  # Python's "%(name)s - %(levelname)s"
    rf"(?:(?:\[(?:\w+:)?{_LEVEL}\]|{_LEVEL}\b:?|(?<=\d )[VDIWEFA](?= ))\s*)?"
    r"(?:\[(?:[^\[\]]|\[[^\]]*\]){0,200}\]\s+(?:-\s+)?)?"
    r"(?:-\s+)?"
)
# a logger name, not an exception's ("NullPointerException: x" is the message)
_LOGGER = re.compile(r"(?![\w.$]*(?:Exception|Error)\b)[\w.$/()<>-]+(?:\[\d+\])?(?::| -) ")
_SYSLOG_SOURCE = re.compile(r"[\w.:-]+ [\w./()@-]+(?:\[\d+\])?: ")


def _num(s: str | None, default: int = 0) -> int:
    return int(s) if s else default


def _micros(frac: str | None) -> int:
    return int((frac or "0")[:6].ljust(6, "0"))


Conv = Callable[[re.Match[str], int], datetime | None]


def _iso(m: re.Match[str], year: int) -> datetime:
    ts = datetime(
        int(m["Y"]), int(m["m"]), int(m["d"]), int(m["H"]), int(m["M"]), int(m["S"]),
        _micros(m["f"]), tzinfo=UTC,
    )  # fmt: skip
    tz = m["tz"]
    if tz and tz not in ("Z", "UTC"):
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        ts -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return ts


def _named_month(m: re.Match[str], year: int) -> datetime:
    g = m.groupdict()
    y = _num(g.get("Y"), year)
    hour = int(g["H"])
    if g.get("ampm"):
        hour = hour % 12 + (12 if g["ampm"] == "PM" else 0)
    ts = datetime(
        y + 2000 if y < 100 else y, _MONTHS[g["b"][:3].lower()], int(g["d"]), hour,
        int(g["M"]), int(g["S"]), _micros(g.get("f")), tzinfo=UTC,
    )  # fmt: skip
    tz = g.get("tz")
    if tz:
        sign = -1 if tz[0] == "-" else 1
        ts -= sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5]))
    return ts


def _numeric(m: re.Match[str], year: int) -> datetime:
    g = m.groupdict()
    y = _num(g.get("Y"), year)
    return datetime(
        y + 2000 if y < 100 else y, int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]),
        int(g["S"]), _micros(g.get("f")), tzinfo=UTC,
    )  # fmt: skip


def _epoch(m: re.Match[str], year: int) -> datetime:
    return datetime.fromtimestamp(int(m["e"]), UTC) + timedelta(microseconds=_micros(m["f"]))


def _none(m: re.Match[str], year: int) -> None:
    return None


_ISO = (
    r"(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})[T ](?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})"
    r"(?:[.,](?P<f>\d{1,9}))?\s?(?P<tz>Z|UTC|[+-]\d{2}:?\d{2})?"
)
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MON = r"(?P<b>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_HMS = r"(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})"
# (name, pattern, time, strip the after-time fields)
_STYLES: list[tuple[str, str, Conv, bool]] = [
    ("iso", rf"[\[(]?{_ISO}[\])]?[,:]?\s+", _iso, True),
    ("rfc5424", rf"<\d{{1,3}}>1 {_ISO} \S+ \S+ \S+ \S+ (?:-|(?:\[[^\]]*\])+)\s?", _iso, False),
    (
        "syslog",
        rf"(?:<\d{{1,3}}>)?{_MON} +(?P<d>\d{{1,2}}) {_HMS}(?: (?P<Y>\d{{4}}))?\s+",
        _named_month,
        False,
    ),
    (
        "dayname",
        rf"\[?{_DAY},? {_MON} +(?P<d>\d{{1,2}}) {_HMS}(?:\.(?P<f>\d+))? (?P<Y>\d{{4}})\]?\s+",
        _named_month,
        True,
    ),
    (
        "clf",
        rf"\[?(?P<d>\d{{2}})/{_MON}/(?P<Y>\d{{4}}):{_HMS}(?:\.(?P<f>\d+))?"
        r"(?: (?P<tz>[+-]\d{4}))?\]?\s+",
        _named_month,
        True,
    ),
    (
        "slashes",
        rf"(?P<Y>\d{{4}}|\d{{2}})/(?P<m>\d{{2}})/(?P<d>\d{{2}}) {_HMS}(?:[.,](?P<f>\d+))?\s+",
        _numeric,
        True,
    ),
    (
        "klog",
        rf"[IWEF](?P<m>\d{{2}})(?P<d>\d{{2}}) {_HMS}\.(?P<f>\d{{6}}) +\d+ [\w.-]+:\d+\] ",
        _numeric,
        False,
    ),
    (
        "jul",
        rf"{_MON} (?P<d>\d{{1,2}}), (?P<Y>\d{{4}}) {_HMS} (?P<ampm>[AP]M)\s+",
        _named_month,
        True,
    ),
    (
        "hdfs",
        r"(?P<Y>\d{2})(?P<m>\d{2})(?P<d>\d{2}) (?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})\s+",
        _numeric,
        True,
    ),
    (
        "logcat",
        rf"(?P<m>\d{{2}})-(?P<d>\d{{2}}) {_HMS}\.(?P<f>\d{{3}})\s+",
        _numeric,
        True,
    ),
    (
        "pipes",
        rf"(?P<Y>\d{{4}})(?P<m>\d{{2}})(?P<d>\d{{2}})-{_HMS}:(?P<f>\d{{1,3}})\|[^|]*\|[^|]*\|",
        _numeric,
        False,
    ),
    (  # label epoch date node month day time node program[pid]: (Thunderbird)
        "epoch-syslog",
        r"\S+ (?P<e>\d{10}) \d{4}\.\d{2}\.\d{2} \S+ \w{3} +\d{1,2} \d\d:\d\d:\d\d "
        r"\S+ [\w./()@-]+(?:\[\d+\])?: ()(?P<f>)",
        _epoch,
        False,
    ),
    (  # label epoch date node time node type component level (BGL)
        "epoch-ras",
        r"\S+ (?P<e>\d{10}) \d{4}\.\d{2}\.\d{2} \S+ \d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d\.\d+ "
        r"\S+ [A-Z]+ [A-Z_]+ [A-Z]+ ()(?P<f>)",
        _epoch,
        False,
    ),
    ("bgl", r"\S+ (?P<e>\d{10}) \d{4}\.\d{2}\.\d{2} ()(?P<f>)", _epoch, False),
    (  # id node component state epoch flag (HPC)
        "epoch-state",
        r"\d+ \S+ \S+ \S+ (?P<e>\d{10}) \d+ ()(?P<f>)",
        _epoch,
        False,
    ),
    ("epoch", r"\[?(?P<e>\d{10})(?:\.(?P<f>\d+))?\]?\s+", _epoch, True),
    ("month-dot", rf"\[(?P<m>\d{{2}})\.(?P<d>\d{{2}}) {_HMS}\]\s+", _numeric, True),
    ("time-only", r"\[?\d{2}:\d{2}:\d{2}[.,]\d{3}\]?\s+", _none, True),
    ("python", rf"{_LEVEL}:[\w.]+:", _none, False),
    ("level", rf"{_LEVEL}:\s+", _none, False),  # java.util.logging's second line
    ("file-iso", rf"[\w.-]+\.log[\w.:-]* {_ISO}\s+", _iso, True),  # OpenStack
]
_COMPILED = [(name, re.compile(p), conv, after) for name, p, conv, after in _STYLES]


class HeaderReader:
    """Splits lines into (time, message); remembers the style of the last line.

    `header`, a per-source override: a regular expression matching the header at the start
    of a line, its `ts` group (if any) read with `time_format` (strptime; without one, ISO
    8601 or epoch). Lines it does not match go through the built-in styles.
    """

    def __init__(
        self,
        year: int | None = None,
        *,
        header: str | None = None,
        time_format: str | None = None,
    ) -> None:
        self.year = year or datetime.now(UTC).year
        self._order = list(range(len(_COMPILED)))
        try:
            self._custom = re.compile(header) if header else None
        except re.error as exc:
            raise InvalidInput(f"header pattern is not a regular expression: {exc}") from exc
        self._time_format = time_format

    def _split_custom(self, m: re.Match[str], line: str) -> tuple[datetime | None, str, bool]:
        text = m.groupdict().get("ts")
        ts = None
        if text:
            try:
                if self._time_format:
                    ts = datetime.strptime(text, self._time_format)  # noqa: DTZ007 - UTC below
                    ts = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
                    if "%Y" not in self._time_format and "%y" not in self._time_format:
                        ts = ts.replace(year=self.year)
                else:
                    ts = parse_timestamp(text)
            except ValueError:
                ts = None
        return ts, line[m.end() :], True

    def split(self, line: str) -> tuple[datetime | None, str, bool]:
        """(time or None, the message, whether a header was recognised)."""
        if self._custom is not None:
            m = self._custom.match(line)
            if m:
                return self._split_custom(m, line)
        for pos, i in enumerate(self._order):
            name, rx, conv, after = _COMPILED[i]
            m = rx.match(line)
            if m is None:
                continue
            try:
                ts = conv(m, self.year)
            except (ValueError, KeyError, OverflowError):
                continue
            if pos:
                self._order.insert(0, self._order.pop(pos))
            end = m.end()
            if name == "syslog":
                src = _SYSLOG_SOURCE.match(line, end)
                end = src.end() if src else end
            elif after:
                end = _AFTER.match(line, end).end()  # type: ignore[union-attr]
                # "logger - " (or, after a level or pid, "logger: ") names the source
                lg = _LOGGER.match(line, end)
                if lg and (end > m.end() or lg[0].endswith(" - ")):
                    end = lg.end()
            return ts, line[end:], True
        return None, line, False
