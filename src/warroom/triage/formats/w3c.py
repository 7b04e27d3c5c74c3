"""W3C extended log files (IIS, Amazon CloudFront): columns named by a `#Fields:` header.

IIS separates fields with spaces and writes `time-taken` in milliseconds; CloudFront
separates them with tabs and writes `time-taken` in seconds (its `x-edge-*` fields tell it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ROLES: dict[str, tuple[str, ...]] = {
    "date": ("date",),
    "time": ("time",),
    "client": ("c-ip",),
    "user": ("cs-username",),
    "method": ("cs-method",),
    "path": ("cs-uri-stem",),
    "status": ("sc-status",),
    "latency": ("time-taken",),
    "request_id": ("x-edge-request-id", "x-request-id"),
}
REQUIRED = ("date", "time", "path", "status")


@dataclass(frozen=True)
class W3CLayout:
    fields: tuple[str, ...]
    separator: str

    def role(self, role: str) -> str | None:
        for name in ROLES[role]:
            if name in self.fields:
                return name
        return None

    def missing(self) -> list[str]:
        return [ROLES[r][0] for r in REQUIRED if self.role(r) is None]


def layout_from(sample: list[str]) -> W3CLayout | None:
    """The layout named by the last `#Fields:` header among the sample lines, None without."""
    fields: tuple[str, ...] | None = None
    separator = " "
    for line in sample:
        if line.startswith("#Fields:"):
            fields = tuple(line[len("#Fields:") :].split())
        elif fields is not None and line and not line.startswith("#"):
            separator = "\t" if "\t" in line else " "
            break
    return W3CLayout(fields, separator) if fields else None


def time_taken_unit(layout: W3CLayout) -> str:
    return "s" if any(f.startswith("x-edge") for f in layout.fields) else "ms"


def w3c_row(layout: W3CLayout, line: str, units: dict[str, float]) -> dict[str, Any] | None:
    """One data line as a row; None for a line with the wrong number of fields."""
    values = line.split(layout.separator)
    if len(values) != len(layout.fields):
        raise ValueError(f"{len(values)} fields where #Fields names {len(layout.fields)}")
    by = dict(zip(layout.fields, values, strict=True))

    def get(role: str) -> str | None:
        name = layout.role(role)
        value = by.get(name) if name else None
        return None if value in (None, "", "-") else value

    ts = datetime.strptime(  # noqa: DTZ007 - W3C extended logs write UTC
        f"{get('date')} {get('time')}", "%Y-%m-%d %H:%M:%S"
    )
    latency = get("latency")
    return {
        "ts": ts.replace(tzinfo=UTC),
        "client": get("client") or "-",
        "user": get("user"),
        "method": get("method"),
        "path": get("path"),
        "status": int(get("status") or ""),
        "latency_ms": float(latency) * units[time_taken_unit(layout)] if latency else None,
        "request_id": get("request_id"),
    }
