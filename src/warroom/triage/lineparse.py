"""Careful parsers for one access-log line at a time: text (combined/common) and JSON.

The vectorised block parser in `parse` sends here only the lines it cannot read, and every
JSON line; these handle escaped quotes, nested JSON fields and any time format.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

TIME_UNITS = {"s": 1000.0, "ms": 1.0, "us": 0.001, "ns": 0.000001}
CLF_TIME = "%d/%b/%Y:%H:%M:%S %z"
CLF_TIME_LOCAL = "%d/%b/%Y:%H:%M:%S"

# Field names recognised in JSON lines without configuration, first match wins.
# Dotted names reach into nested objects (Caddy logs the request as an object).
JSON_FIELDS: dict[str, tuple[str, ...]] = {
    "ts": (
        "time",
        "ts",
        "timestamp",
        "@timestamp",
        "time_iso8601",
        "time_local",
        "start_time",
        "StartUTC",  # Traefik
        "EdgeStartTimestamp",  # Cloudflare
    ),
    "client": (
        "remote_addr",
        "client_ip",
        "client",
        "remote_ip",
        "ip",
        "request.remote_ip",
        "request.client_ip",
        "downstream_remote_address",
        "httpRequest.remoteIp",  # Google Cloud HTTP(S) load balancer
        "ClientHost",
        "ClientIP",
    ),
    "user": ("remote_user", "user", "user_id"),
    "method": (
        "method",
        "request_method",
        "request.method",
        "httpRequest.requestMethod",
        "RequestMethod",
        "ClientRequestMethod",
    ),
    "path": (
        "uri",
        "path",
        "request_uri",
        "request.uri",
        "url",
        "httpRequest.requestUrl",
        "RequestPath",
        "ClientRequestURI",
        "ClientRequestPath",
    ),
    "status": (
        "status",
        "status_code",
        "response_code",
        "code",
        "httpRequest.status",
        "DownstreamStatus",
        "EdgeResponseStatus",
    ),
    "latency": (
        "request_time",
        "duration_ms",
        "latency_ms",
        "duration",
        "response_time",
        "httpRequest.latency",
        "Duration",
        "EdgeTimeToFirstByteMs",
        "OriginResponseDurationMs",
    ),
    "request_id": (
        "request_id",
        "x_request_id",
        "x-request-id",
        "req_id",
        "requestId",
        "trace_id",
        "RayID",
        "RequestID",
        "trace",
    ),
}
# unit of each latency field; None means: a float is seconds, an integer is milliseconds.
# A string with a unit ("0.123s", Google Cloud's latency) is read in its own unit.
JSON_LATENCY_UNIT: dict[str, str | None] = {
    "request_time": "s",
    "duration_ms": "ms",
    "latency_ms": "ms",
    "duration": None,
    "response_time": None,
    "httpRequest.latency": "s",
    "Duration": "ns",
    "EdgeTimeToFirstByteMs": "ms",
    "OriginResponseDurationMs": "ms",
}
UNIT_SUFFIX_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*(ns|us|µs|ms|s)?\s*$")

CLF_RE = re.compile(
    r"^(?P<client>\S+) \S+ (?P<user>\S+) \[(?P<ts>[^\]]+)\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\S+)'
    r'(?P<agent> "(?:[^"\\]|\\.)*" "(?:[^"\\]|\\.)*")?(?P<rest>.*)$'
)
# What makes a line blank, for every reader alike (polars, the careful parser and the
# compiled scanner): ASCII white space only. str.strip() would also take \x1c-\x1f and
# Unicode spaces, which the scanner keeps, and the line counts would differ between paths.
BLANK = " \t\r\n\x0b\x0c"
NUMBER_RE = re.compile(r"^\d+(?:\.\d+)?$")


def trailing_number(rest: str | None) -> str | None:
    if not rest:
        return None
    tokens = rest.split()
    return tokens[-1] if tokens and NUMBER_RE.match(tokens[-1]) else None


def text_row(line: str, time_unit: str | None) -> dict[str, Any] | None:
    m = CLF_RE.match(line)
    if not m:
        return None
    request = m.group("request").split(" ")
    if len(request) < 2 or not request[0].isalpha():
        raise ValueError(f"request {m.group('request')[:60]!r} has no method and path")
    ts = datetime.strptime(m.group("ts"), CLF_TIME).astimezone(UTC)
    rt = trailing_number(m.group("rest"))
    return {
        "ts": ts,
        "client": m.group("client"),
        "user": None if m.group("user") == "-" else m.group("user"),
        "method": request[0].upper(),
        "path": request[1],
        "status": int(m.group("status")),
        "latency_ms": float(rt) * TIME_UNITS[time_unit or "s"] if rt is not None else None,
        "request_id": None,
    }


def lookup(obj: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, Any]:
    for name in names:
        value: Any = obj
        for part in name.split("."):
            if not isinstance(value, dict) or part not in value:
                value = None
                break
            value = value[part]
        if value is not None and value != "":
            return name, value
    return None, None


def json_row(
    line: str, fields: dict[str, tuple[str, ...]], time_unit: str | None
) -> dict[str, Any] | None:
    obj = json.loads(line)
    if not isinstance(obj, dict):
        return None
    _, ts_value = lookup(obj, fields["ts"])
    _, path = lookup(obj, fields["path"])
    _, status = lookup(obj, fields["status"])
    if ts_value is None or path is None or status is None:
        missing = [
            n for n, v in (("time", ts_value), ("path", path), ("status", status)) if v is None
        ]
        raise ValueError(f"JSON line has no {', '.join(missing)} field")
    _, client = lookup(obj, fields["client"])
    _, user = lookup(obj, fields["user"])
    _, method = lookup(obj, fields["method"])
    lat_name, lat = lookup(obj, fields["latency"])
    _, request_id = lookup(obj, fields["request_id"])
    latency_ms = None
    if lat is not None:
        suffix = None
        if isinstance(lat, str):
            m = UNIT_SUFFIX_RE.match(lat)
            if not m:
                raise ValueError(f"unreadable latency {lat[:20]!r}")
            lat, suffix = (float(m.group(1)), (m.group(2) or "").replace("µ", "u") or None)
        value = float(lat)
        unit = suffix or time_unit or JSON_LATENCY_UNIT.get(lat_name or "", "ms")
        if unit is None:
            unit = "ms" if isinstance(lat, int) else "s"
        latency_ms = value * TIME_UNITS[unit]
    path = str(path)
    if path.startswith(("http://", "https://")):
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    return {
        "ts": parse_timestamp(ts_value),
        "client": str(client) if client is not None else "-",
        "user": str(user) if user is not None else None,
        "method": str(method).upper() if method is not None else "-",
        "path": path,
        "status": int(status),
        "latency_ms": latency_ms,
        "request_id": str(request_id) if request_id is not None else None,
    }


def parse_timestamp(value: Any) -> datetime:
    """An ISO-8601 string, a CLF time or epoch seconds/ms/us/ns as an aware UTC datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        for scale in (1.0, 1e3, 1e6, 1e9):
            if number / scale < 1e11:
                return datetime.fromtimestamp(number / scale, UTC)
    text = str(value).strip()
    if NUMBER_RE.match(text):
        return parse_timestamp(float(text))
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00").replace(",", "."))
    except ValueError:
        try:
            ts = datetime.strptime(text.strip("[]"), CLF_TIME).astimezone(UTC)
        except ValueError:
            raise ValueError(f"unreadable time {text[:40]!r}") from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
