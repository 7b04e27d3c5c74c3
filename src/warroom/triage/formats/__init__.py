"""Access-log formats beyond combined/common/JSON: one regular expression per format.

Each `LineFormat` names its fields with regex groups (`ts`, `client`, `user`, `method`,
`path`, `status`, `latency`, `request_id`; `url` for a full URL whose path is taken;
`latency_b`, `latency_c` added to `latency`). A block is parsed vectorised with polars
(`parse_fast`); lines it cannot read go through `row` with Python's `re`, so both paths
share one pattern. W3C extended logs (IIS, CloudFront) name their columns in a `#Fields:`
header instead (`warroom.triage.formats.w3c`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from warroom.core.errors import InvalidInput

_CLF_HEAD = (
    r"(?P<client>\S+) \S+ (?P<user>\S+) \[(?P<ts>[^\]]+)\] "
    r'"(?P<method>[A-Z]+) (?P<path>\S+)(?: [^"]*)?" (?P<status>\d{3}) \S+'
)
_ISO = "%Y-%m-%dT%H:%M:%S%.fZ"


@dataclass(frozen=True)
class LineFormat:
    """One access-log format read with a regular expression.

    `time`: the polars/strptime format of the `ts` group and whether it carries an offset
    (naive times are UTC). `unit`: the unit of `latency` (s, ms, us, ns). `search`: the
    pattern may start anywhere in the line (HAProxy behind a syslog prefix).
    """

    name: str
    pattern: str
    time: str
    aware: bool
    unit: str | None
    search: bool = False
    describe: str = ""

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern, self.search)


_CACHE: dict[tuple[str, bool], re.Pattern[str]] = {}


def _compiled(pattern: str, search: bool) -> re.Pattern[str]:
    key = (pattern, search)
    rx = _CACHE.get(key)
    if rx is None:
        rx = _CACHE[key] = re.compile(pattern if search else "^" + pattern)
    return rx


LINE_FORMATS: dict[str, LineFormat] = {
    f.name: f
    for f in (
        LineFormat(
            "ingress-nginx",
            _CLF_HEAD + r' "[^"]*" "(?:[^"\\]|\\.)*" \d+ (?P<latency>[\d.]+) '
            r"\[[^\]]*\] \[[^\]]*\] .* (?P<request_id>[0-9a-f]{16,})$",
            "%d/%b/%Y:%H:%M:%S %z",
            True,
            "s",
            describe="Kubernetes ingress-nginx upstream log ($request_time, $req_id)",
        ),
        LineFormat(
            "traefik",
            _CLF_HEAD + r' "[^"]*" "(?:[^"\\]|\\.)*" \d+ "[^"]*" "[^"]*" (?P<latency>\d+)ms$',
            "%d/%b/%Y:%H:%M:%S %z",
            True,
            "ms",
            describe="Traefik common log format (router, backend URL, duration in ms)",
        ),
        LineFormat(
            "alb",
            r"(?:https?|h2|grpcs?|wss?) (?P<ts>\S+) \S+ (?P<client>[^ ]+?):\d+ \S+ "
            r"(?P<latency>-?[\d.]+) (?P<latency_b>-?[\d.]+) (?P<latency_c>-?[\d.]+) "
            r'(?P<status>\d{3}) \S+ \d+ \d+ "(?P<method>[A-Z]+) (?P<url>\S+) [^"]*" '
            r'"(?:[^"\\]|\\.)*" \S+ \S+ \S+ "(?P<request_id>[^"]*)"',
            _ISO,
            False,
            "s",
            describe="AWS Application Load Balancer",
        ),
        LineFormat(
            "elb",
            r"(?P<ts>\d{4}-\d\d-\d\dT\S+) \S+ (?P<client>[^ ]+?):\d+ \S+ "
            r"(?P<latency>-?[\d.]+) (?P<latency_b>-?[\d.]+) (?P<latency_c>-?[\d.]+) "
            r'(?P<status>\d{3}) \S+ \d+ \d+ "(?P<method>[A-Z]+) (?P<url>\S+) [^"]*"',
            _ISO,
            False,
            "s",
            describe="AWS Classic Load Balancer (HTTP listener)",
        ),
        LineFormat(
            "haproxy",
            r"(?P<client>[0-9A-Fa-f.:]+?):\d+ \[(?P<ts>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d+)\] "
            r"\S+ \S+ -?\d+/-?\d+/-?\d+/-?\d+/\+?(?P<latency>-?\d+) (?P<status>\d{3}) \S+ "
            r'.*?"(?P<method>[A-Z]+) (?P<path>\S+)',
            "%d/%b/%Y:%H:%M:%S%.f",
            False,
            "ms",
            search=True,
            describe="HAProxy HTTP log (option httplog), with or without the syslog prefix",
        ),
        LineFormat(
            "envoy",
            r'\[(?P<ts>\d{4}-[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" '
            r"(?P<status>\d{3}) \S+ \d+ \d+ (?P<latency>\d+) \S+ "
            r'"(?P<client>[^"]*)" "(?:[^"\\]|\\.)*" "(?P<request_id>[^"]*)"',
            _ISO,
            False,
            "ms",
            describe="Envoy default access log",
        ),
    )
}


BUILT_IN = frozenset(LINE_FORMATS)
_UNITS = ("s", "ms", "us", "ns")


def declare_formats(table: dict[str, Any], source: str = "warroom.toml") -> list[str]:
    """Add the formats of a `[triage.formats.NAME]` table (pattern, time, unit, utc,
    search); they are detected like the built-in ones. Returns their names."""
    names = []
    for name, spec in table.items():
        where = f"{source}: [triage.formats.{name}]"
        if name in BUILT_IN or name in ("combined", "common", "json", "w3c"):
            raise InvalidInput(f"{where} redefines a built-in format: pick another name")
        if not isinstance(spec, dict) or not isinstance(spec.get("pattern"), str):
            raise InvalidInput(f"{where} needs pattern = '<regex with named groups>'")
        try:
            groups = set(re.compile(spec["pattern"]).groupindex)
        except re.error as exc:
            raise InvalidInput(f"{where}: pattern is not a regular expression: {exc}") from exc
        missing = [g for g in ("ts", "status", "method") if g not in groups]
        if "path" not in groups and "url" not in groups:
            missing.append("path (or url)")
        if missing:
            raise InvalidInput(f"{where}: pattern has no (?P<{'>), (?P<'.join(missing)}>) group")
        unit = spec.get("unit", "ms")
        if unit not in _UNITS:
            raise InvalidInput(f"{where}: unit {unit!r} is not one of {', '.join(_UNITS)}")
        time_format = spec.get("time", "%Y-%m-%dT%H:%M:%S%.fZ")
        LINE_FORMATS[name] = LineFormat(
            name,
            spec["pattern"],
            time_format,
            aware="%z" in time_format,
            unit=unit,
            search=bool(spec.get("search", False)),
            describe=f"declared in {source}",
        )
        names.append(name)
    return names


def path_of(url: str) -> str:
    """The path (and query) of a full URL; a path stays as it is."""
    if url.startswith(("http://", "https://", "ws://", "wss://", "grpc://")):
        rest = url.split("//", 1)[1]
        slash = rest.find("/")
        return rest[slash:] if slash >= 0 else "/"
    return url


def _strptime_format(polars_format: str) -> str:
    return polars_format.replace("%.f", ".%f")


def row(fmt: LineFormat, line: str, units: dict[str, float]) -> dict[str, Any] | None:
    """One line as a row (the careful path); None when the line is not in this format."""
    m = fmt.regex.search(line) if fmt.search else fmt.regex.match(line)
    if not m:
        return None
    g = m.groupdict()
    text = g["ts"]
    ts = datetime.strptime(text, _strptime_format(fmt.time))  # noqa: DTZ007 - naive is UTC
    ts = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
    latency = _latency([g.get("latency"), g.get("latency_b"), g.get("latency_c")])
    path = g.get("path") or path_of(g.get("url") or "")
    client = g.get("client") or "-"
    user = g.get("user")
    request_id = g.get("request_id")
    return {
        "ts": ts,
        "client": client if client not in ("", "-") else "-",
        "user": None if user in (None, "-") else user,
        "method": g["method"],
        "path": path,
        "status": int(g["status"]),
        "latency_ms": latency * units[fmt.unit or "s"] if latency is not None else None,
        "request_id": None if request_id in (None, "", "-") else request_id,
    }


def _latency(parts: list[str | None]) -> float | None:
    values = [float(p) for p in parts if p is not None]
    if not values or any(v < 0 for v in values):
        return None  # -1: the load balancer never reached a target
    return sum(values)
